/* Threads of the orchestrator's own (an Interface call's monitor, a step's workers):
 * started with a stack of THREAD_STACK_SIZE instead of glibc's default of 8 MiB
 * (RLIMIT_STACK). glibc keeps the stacks of ended threads for reuse only up to 40 MiB in
 * all, so with 8 MiB stacks a step of many parallel calls unmapped and mapped a stack
 * per call, with a TLB flush on every CPU each time (docs/benchmarks.md, "Interface calls
 * at scale"). The deepest user is a call's monitor: a 64 KiB read buffer, logging, and
 * the journal (SQLite) when it runs on a step's worker. */
#ifndef MO_THREAD_H
#define MO_THREAD_H

#include <pthread.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THREAD_STACK_SIZE (2u * 1024 * 1024) /* sanitizers' redzones and shadow frames */
#else
#define THREAD_STACK_SIZE (256u * 1024)
#endif

/* pthread_create with that stack size: 0 or an errno value, as pthread_create. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
