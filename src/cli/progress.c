#include "cli/progress.h"

#include <jansson.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

int progress_init(struct progress *p, const char *mode_name, FILE *out)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->last_percent = -1;
    if (!mode_name)
        p->mode = isatty(fileno(out)) ? PROGRESS_TEXT : PROGRESS_NONE;
    else if (strcmp(mode_name, "json") == 0)
        p->mode = PROGRESS_JSON;
    else if (strcmp(mode_name, "text") == 0)
        p->mode = PROGRESS_TEXT;
    else if (strcmp(mode_name, "none") == 0)
        p->mode = PROGRESS_NONE;
    else
        return -1;
    return 0;
}

static const char *const kind_names[] = { "step", "call_start", "call_end", "progress", "reboot", "direction" };

static void emit_json(struct progress *p, const struct engine_event *ev)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(kind_names[ev->kind]));
    json_object_set_new(o, "time", json_real((double)tv.tv_sec + (double)tv.tv_usec / 1e6));
    json_object_set_new(o, "deployment", json_integer(ev->d->id));
    json_object_set_new(o, "direction", json_string(ev->d->direction == DIR_FORWARD ? "forward" : "rollback"));
    if (ev->group_order)
        json_object_set_new(o, "group", json_integer(ev->group_order));
    if (ev->state)
        json_object_set_new(o, "state", json_string(ev->state));
    if (ev->m) {
        json_object_set_new(o, "component_type", json_string(ev->m->component_type));
        json_object_set_new(o, "id", json_string(ev->m->id));
        json_object_set_new(o, "group", json_integer(ev->m->order));
    }
    if (ev->kind == EV_CALL_END)
        json_object_set_new(o, "result", json_string(ev->rc == 0 ? "ok" : "failed"));
    if (ev->kind == EV_PROGRESS) {
        json_object_set_new(o, "bytes", json_integer((json_int_t)ev->bytes));
        json_object_set_new(o, "total", json_integer((json_int_t)ev->total));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        fprintf(p->out, "%s\n", s);
        free(s);
    }
    json_decref(o);
    fflush(p->out);
}

static void emit_text(struct progress *p, const struct engine_event *ev)
{
    const struct member *m = ev->m;
    switch (ev->kind) {
    case EV_CALL_START: p->last_percent = -1; break;
    case EV_CALL_END: {
        char who[256];
        snprintf(who, sizeof(who), "%s.%s", m->component_type, m->id);
        fprintf(p->out, "\r[group %3d] %-22s %-29s %s\n", m->order, who, ev->state, ev->rc == 0 ? "ok" : "FAILED");
        break;
    }
    case EV_PROGRESS: {
        int pct = ev->total ? (int)(ev->bytes * 100 / ev->total) : 0;
        if (pct != p->last_percent) {
            p->last_percent = pct;
            fprintf(p->out, "\r[group %3d] %s.%s Download %3d%% (%llu KiB)", m->order, m->component_type, m->id, pct,
                    (unsigned long long)(ev->bytes / 1024));
        }
        break;
    }
    case EV_REBOOT: fprintf(p->out, "[group %3d] rebooting the System device\n", ev->group_order); break;
    case EV_DIRECTION: fprintf(p->out, "update failed: rolling the System back\n"); break;
    case EV_STEP: break;
    }
    fflush(p->out);
}

void progress_event(void *ctx, const struct engine_event *ev)
{
    struct progress *p = ctx;
    if (p->mode == PROGRESS_JSON)
        emit_json(p, ev);
    else if (p->mode == PROGRESS_TEXT)
        emit_text(p, ev);
}
