/* Progress of install/resume/rollback for people and machines: a compact live view on
 * a terminal, or JSON lines (--progress=json), from the engine's events. */
#ifndef MO_PROGRESS_H
#define MO_PROGRESS_H

#include <stdio.h>

#include "engine/engine.h"

enum progress_mode { PROGRESS_NONE, PROGRESS_TEXT, PROGRESS_JSON };

struct progress {
    enum progress_mode mode;
    FILE *out;
    int last_percent;
};

/* mode_name: "json", "text", "none", or NULL for text when out is a terminal.
 * Returns -1 for an unknown name. */
int progress_init(struct progress *p, const char *mode_name, FILE *out);
/* An engine_event_fn; ctx is the struct progress. */
void progress_event(void *ctx, const struct engine_event *ev);

#endif
