#include "cli/engine_map.h"

#include <assert.h>

#include "cli/exitcodes.h"

unsigned engine_map_stop_points(const struct strv *names)
{
    assert(names);
    unsigned set = 0;
    for (size_t i = 0; i < names->n; i++)
        set |= stop_point_from_name(names->v[i]);
    return set;
}

int engine_map_exit_code(enum engine_outcome outcome, enum engine_command cmd)
{
    switch (outcome) {
    case ENGINE_DONE:
    case ENGINE_STOPPED: return EXIT_OK;
    case ENGINE_REBOOT_REQUIRED: return EXIT_REBOOT;
    case ENGINE_ROLLED_BACK:
    case ENGINE_STOPPED_ROLLBACK:
        /* What the user asked for is a success; the same end reached after a failure is not. */
        return cmd == ENGINE_ROLLBACK ? EXIT_OK : EXIT_FAILED;
    case ENGINE_INCONSISTENT:
    case ENGINE_ROLLBACK_FAILED:
    case ENGINE_JOURNAL_FAILED: return EXIT_INCONSISTENT;
    }
    assert(!"not an engine outcome");
    return EXIT_FAILED;
}
