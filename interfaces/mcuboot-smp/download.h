/* Download: the payload (one MCUboot image) streamed into upload chunks to the secondary
 * slot as it arrives, never stored on the gateway. */
#ifndef MSMP_DOWNLOAD_H
#define MSMP_DOWNLOAD_H

#include "ctx.h"

/* The Download (and DownloadWithFileSizes) state. 0, or -1 (printed). */
int msmp_download(const struct msmp_ctx *c);

#endif
