/* The install-phase states after Download, and the queries, of the mcuboot-smp Interface
 * (docs/interfaces.md). Each returns 0 or -1 (printed). */
#ifndef MSMP_STATES_H
#define MSMP_STATES_H

#include "ctx.h"

int msmp_provides(const struct msmp_ctx *c);
int msmp_needs_reboot(const struct msmp_ctx *c);
int msmp_install(const struct msmp_ctx *c);
int msmp_reboot(const struct msmp_ctx *c);
int msmp_verify_reboot(const struct msmp_ctx *c);
int msmp_commit(const struct msmp_ctx *c);

#endif
