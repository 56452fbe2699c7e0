/* Provides, ArtifactInstall, ArtifactReboot, ArtifactVerifyReboot, ArtifactCommit. */
#include "states.h"

#include <stdio.h>
#include <string.h>

#include "img.h"
#include "txn.h"

int msmp_provides(const struct msmp_ctx *c)
{
    struct smp s;
    struct img_list l;
    if (smp_open(&s, c) < 0)
        return -1;
    int r = img_list(&s, &l, 0);
    smp_close(&s);
    if (r < 0)
        return -1;
    const struct img_slot *run = img_running(&l);
    if (!run)
        return msmp_fail(c, "the device reports no running image");
    char hex[IMG_HEX_LEN];
    img_hex(run->hash, IMG_HASH_LEN, hex);
    printf("rootfs-image.%s.version=%s\n%s.hash=%s\n", c->iface, run->version, c->iface, hex);
    return 0;
}

int msmp_needs_reboot(const struct msmp_ctx *c)
{
    struct txn t;
    int r = txn_load(c, &t);
    if (r < 0)
        return -1;
    /* after ArtifactRollback, which resets by itself: No; on the forward path: Yes */
    puts(r == 1 && !strcmp(t.phase, "rolled-back") ? "No" : "Yes");
    return 0;
}

/* A state after Download: the record of the finished Download and the device's list
 * are read, then step runs, then the device is closed. */
typedef int (*step_fn)(const struct msmp_ctx *c, struct smp *s, struct txn *t, struct img_list *l);

static int after_download(const struct msmp_ctx *c, step_fn step)
{
    struct smp s;
    struct txn t;
    struct img_list l;
    int r = txn_load(c, &t);
    if (r < 0)
        return -1;
    if (r == 0 || !t.has_new)
        return msmp_fail(c, "%s: no uploaded image recorded in the work dir (%s): Download did not finish", c->state,
                         TXN_PATH);
    if (smp_open(&s, c) < 0)
        return -1;
    r = img_list(&s, &l, 0) < 0 ? -1 : step(c, &s, &t, &l);
    smp_close(&s);
    return r;
}

static int install(const struct msmp_ctx *c, struct smp *s, struct txn *t, struct img_list *l)
{
    if (!img_same(&l->slot[1], t->new_hash))
        return msmp_fail(c, "slot 1 no longer holds the uploaded image %s: something else wrote it since Download",
                         t->new_version);
    snprintf(t->phase, sizeof t->phase, "installed");
    if (txn_save(c, t) < 0 || img_state_write(s, t->new_hash, false, l) < 0)
        return -1;
    if (!img_same(&l->slot[1], t->new_hash) || !l->slot[1].pending)
        return msmp_fail(c, "the device did not mark image %s in slot 1 for test", t->new_version);
    msmp_note(c, "image %s marked for test; it runs after ArtifactReboot", t->new_version);
    return 0;
}

static int reboot(const struct msmp_ctx *c, struct smp *s, struct txn *t, struct img_list *l)
{
    (void)c;
    (void)t;
    return img_reset(s, l);
}

/* The new image runs, or a clear error. */
static int runs_new(const struct msmp_ctx *c, const struct txn *t, const struct img_list *l)
{
    const struct img_slot *run = img_running(l);
    if (!img_same(run, t->new_hash))
        return msmp_fail(
            c,
            "%s: the MCU runs %s, not the new image %s: MCUboot did not boot it or reverted it (invalid image, or it reset before it was confirmed)",
            c->state, run ? run->version : "nothing", t->new_version);
    return 0;
}

static int verify_reboot(const struct msmp_ctx *c, struct smp *s, struct txn *t, struct img_list *l)
{
    int r = runs_new(c, t, l);
    /* confirm_wait_ms > 0: the image confirms itself after its own checks; wait for it */
    long long deadline = serial_now_ms() + c->confirm_wait_ms;
    while (r == 0 && c->confirm_wait_ms > 0 && !img_running(l)->confirmed) {
        if (serial_now_ms() >= deadline)
            return msmp_fail(
                c, "image %s runs but did not confirm itself within %d ms (confirm_wait_ms): its self-test failed",
                t->new_version, c->confirm_wait_ms);
        serial_sleep_ms(200);
        r = img_list(s, l, 0) < 0 ? -1 : runs_new(c, t, l);
    }
    return r;
}

static int commit(const struct msmp_ctx *c, struct smp *s, struct txn *t, struct img_list *l)
{
    if (runs_new(c, t, l) < 0)
        return -1;
    if (img_running(l)->confirmed)
        return 0;
    if (img_state_write(s, t->new_hash, true, l) < 0)
        return -1;
    if (runs_new(c, t, l) < 0 || !img_running(l)->confirmed)
        return msmp_fail(c, "the device did not confirm image %s", t->new_version);
    return 0;
}

int msmp_install(const struct msmp_ctx *c) { return after_download(c, install); }
int msmp_reboot(const struct msmp_ctx *c) { return after_download(c, reboot); }
int msmp_verify_reboot(const struct msmp_ctx *c) { return after_download(c, verify_reboot); }
int msmp_commit(const struct msmp_ctx *c) { return after_download(c, commit); }
