/* mcuboot-smp: a reference Interface (docs/protocol.md) for an MCUboot microcontroller
 * behind a serial line, driven with MCUmgr's SMP protocol. Documented in
 * docs/interfaces.md.
 *
 *   mcuboot-smp <State> <work dir> <component_type> <device> [key=value ...]
 *
 * interface_args: the serial device (/dev/ttyACM0, /dev/serial/by-id/...), then
 * baud=115200, id=<Component id> (default: the device's base name), timeout_ms=3000,
 * retries=4, mtu=256, reset_wait_ms=1000, boot_timeout_ms=30000, confirm_wait_ms=0.
 *
 * The update is MCUboot's test-and-confirm swap: Download streams the image into the
 * secondary slot, ArtifactInstall marks it for test, ArtifactReboot resets the MCU
 * (NeedsArtifactReboot: Yes), ArtifactVerifyReboot checks that the new image runs,
 * ArtifactCommit confirms it, ArtifactRollback brings the previous image back from any
 * point (rollback.h). What must outlive a call is in tmp/ of the work dir (txn.h).
 *
 * Files: ctx (arguments, messages), serial (the tty), frame (SMP serial framing), smp
 * (requests, CBOR with libcbor), img (image/OS group commands), mcuboot_image (the
 * streamed image), txn (the record), download, states, rollback. CBOR comes from Debian's
 * libcbor rather than a parser of our own (the answers come from a device, possibly a
 * broken one); base64 and SHA-256 from libcrypto; the CRC16-XMODEM is frame.c's. */
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "download.h"
#include "rollback.h"
#include "states.h"

static const struct {
    const char *state;
    int (*run)(const struct msmp_ctx *c);
} STATES[] = {
    { "Provides", msmp_provides },
    { "NeedsArtifactReboot", msmp_needs_reboot },
    { "Download", msmp_download },
    { "DownloadWithFileSizes", msmp_download },
    { "ArtifactInstall", msmp_install },
    { "ArtifactReboot", msmp_reboot },
    { "ArtifactVerifyReboot", msmp_verify_reboot },
    { "ArtifactCommit", msmp_commit },
    { "ArtifactRollback", msmp_rollback },
};

/* Fixed answers that need neither the device nor the work dir. */
static const struct {
    const char *state;
    const char *answer;
} ANSWERS[] = {
    { "SupportsRollback", "Yes" },
    { "ProvidePayloadFileSizes", "Yes" },
};

int main(int argc, char **argv)
{
    const char *state = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < sizeof ANSWERS / sizeof ANSWERS[0]; i++)
        if (!strcmp(state, ANSWERS[i].state)) {
            puts(ANSWERS[i].answer);
            return 0;
        }
    struct msmp_ctx c;
    if (!strcmp(state, "Identity")) {
        if (msmp_ctx_init(&c, argc, argv) < 0)
            return 1;
        printf("id=%s\n", c.id);
        return 0;
    }
    for (size_t i = 0; i < sizeof STATES / sizeof STATES[0]; i++)
        if (!strcmp(state, STATES[i].state)) {
            if (msmp_ctx_init(&c, argc, argv) < 0)
                return 1;
            return STATES[i].run(&c) < 0 ? 1 : 0;
        }
    return 0; /* every other call: nothing to do (ArtifactFailure, Cleanup, unknown calls) */
}
