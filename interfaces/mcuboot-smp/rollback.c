/* ArtifactRollback: see rollback.h. */
#include "rollback.h"

#include <stdio.h>
#include <string.h>

#include "img.h"
#include "txn.h"

#define MAX_RESETS 3

/* One step from what the device runs now: 1 when done, 0 after a reset (look again), -1. */
static int step(const struct msmp_ctx *c, struct smp *s, const struct txn *t, struct img_list *l)
{
    const struct img_slot *run = img_running(l);
    if (img_same(run, t->old_hash)) {
        if (!run->confirmed && img_state_write(s, t->old_hash, true, l) < 0)
            return -1;
        if (l->slot[1].present && l->slot[1].pending && !l->slot[1].active) {
            msmp_note(c, "cancelling the test of image %s in slot 1", l->slot[1].version);
            if (img_erase(s) < 0 || img_list(s, l, 0) < 0)
                return -1;
            if (l->slot[1].present && l->slot[1].pending)
                return msmp_fail(c, "slot 1 is still marked for test after its erase");
        }
        return 1;
    }
    if (!t->has_new || !img_same(run, t->new_hash))
        return msmp_fail(c, "the MCU runs %s, neither the previous image %s nor the new one %s: roll it back by hand",
                         run ? run->version : "nothing", t->old_version, t->has_new ? t->new_version : "(none)");
    if (run->confirmed) {
        if (!img_same(&l->slot[1], t->old_hash))
            return msmp_fail(
                c,
                "the new image %s is confirmed and the previous image %s is no longer in slot 1: it cannot be restored",
                t->new_version, t->old_version);
        msmp_note(c, "image %s is confirmed: marking the previous image %s permanent, then resetting", t->new_version,
                  t->old_version);
        if (img_state_write(s, t->old_hash, true, l) < 0)
            return -1;
    } else {
        msmp_note(c, "image %s runs in test: resetting (MCUboot reverts to %s)", t->new_version, t->old_version);
    }
    return img_reset(s, l) < 0 ? -1 : 0;
}

int msmp_rollback(const struct msmp_ctx *c)
{
    struct txn t;
    int r = txn_load(c, &t);
    if (r <= 0)
        return r; /* no record: Download never reached the device's slots; nothing to undo */
    if (!t.has_old)
        return 0;
    struct smp s;
    struct img_list l;
    if (smp_open(&s, c) < 0)
        return -1;
    r = img_list(&s, &l, 0);
    for (int resets = 0; r == 0; resets++) {
        if (resets > MAX_RESETS) {
            r = msmp_fail(c, "the MCU still does not run the previous image %s after %d resets", t.old_version,
                          MAX_RESETS);
            break;
        }
        int st = step(c, &s, &t, &l);
        if (st < 0)
            r = -1;
        else if (st == 1)
            break;
    }
    smp_close(&s);
    if (r < 0)
        return -1;
    snprintf(t.phase, sizeof t.phase, "rolled-back");
    if (txn_save(c, &t) < 0)
        return -1;
    msmp_note(c, "back on image %s", t.old_version);
    return 0;
}
