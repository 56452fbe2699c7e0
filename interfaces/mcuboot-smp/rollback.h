/* ArtifactRollback of the mcuboot-smp Interface: the MCU back on the image that ran
 * before the deployment, whatever it runs now, decided from the device's image list each
 * time (so a second call, or one after a power cut, carries on where the first stopped):
 *
 *   runs the old image         clear a test mark left on slot 1 (erase it); done
 *   runs the new one, in test  reset: MCUboot reverts by itself
 *   runs the new one, confirmed  mark the old image (now in slot 1) permanent, reset
 *   runs something else        fail: a person must look
 *
 * The resets happen here (NeedsArtifactReboot then answers No), each followed by the wait
 * for the device, and the loop goes round until the old image runs, three resets at most. */
#ifndef MSMP_ROLLBACK_H
#define MSMP_ROLLBACK_H

#include "ctx.h"

int msmp_rollback(const struct msmp_ctx *c);

#endif
