/* The Interface calls of a run, as the next run needs them (docs/state-machine.md,
 * Interruptions): the calls file {datastore}/orchestrator.calls holds one slot per
 * running call, its process group, start time and session, written by the call's own
 * process before it executes the Interface (proc.c). A run that dies leaves its slots
 * behind; the next install, resume or rollback kills what they name before its first
 * call. The file is never synced: it only has to outlive the orchestrator's process,
 * not the machine (a reboot ends every call, and the boot id in the file tells). */
#ifndef MO_CALLS_H
#define MO_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

#define CALLS_FILE "orchestrator.calls"
#define CALLS_SLOT_SIZE 64 /* bytes of the header and of each slot: a text line */

struct call_registry;

/* Opens the calls file of datastore (the caller holds the deployment lock): SIGKILLs every
 * process group an earlier run of this boot recorded that still lives, waits until their
 * processes are gone (at most wait_seconds), then starts the file afresh. Returns NULL
 * with *err when the file cannot be used or a group does not die in time. */
MO_MUST_CHECK struct call_registry *calls_open(const char *datastore, double wait_seconds, struct error **err);
void calls_close(struct call_registry *r);

/* A free slot for one call (0, 1, ...); its offset in the file; released once the call's
 * process group is killed. The three are thread-safe. */
int calls_slot_take(struct call_registry *r);
off_t calls_slot_offset(int slot);
void calls_slot_release(struct call_registry *r, int slot);
/* The file, for the call's process to write its slot. */
int calls_fd(const struct call_registry *r);

/* In the call's process, once it leads its own process group and before it executes the
 * Interface: writes its record into the slot at offset of fd. Async-signal-safe (it runs
 * in a vfork child). Returns 0, or -1 with errno. */
int calls_record_self(int fd, off_t offset);

/* The fields of /proc/<pid>/stat that tell a process apart. */
struct proc_stat {
    char state;                    /* field 3: R, S, D, Z (zombie), ... */
    long pgrp, session;            /* fields 5 and 6 */
    unsigned long long start_time; /* field 22: clock ticks after boot */
};

/* Parses the text of /proc/<pid>/stat (the command name may hold anything, even ") ").
 * Async-signal-safe. Returns 0, or -1 on text of another shape. */
MO_MUST_CHECK int proc_stat_parse(const char *buf, size_t len, struct proc_stat *out);

#endif
