/* The command line's side of the engine: the --stop-before names as the engine's set of
 * stop points, and what an engine outcome means for the user (an exit code). */
#ifndef MO_CLI_ENGINE_MAP_H
#define MO_CLI_ENGINE_MAP_H

#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* The set of stop points named (names cli.c has checked). */
MO_MUST_CHECK unsigned engine_map_stop_points(const struct strv *names);

/* The exit code (cli/exitcodes.h) of a run of the engine for command cmd. */
MO_MUST_CHECK int engine_map_exit_code(enum engine_outcome outcome, enum engine_command cmd);

#endif
