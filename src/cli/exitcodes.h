/* Exit codes (docs/mender-orchestrator.1). What an engine run ends with becomes one of them in
 * cli/engine_map.c. */
#ifndef MO_EXITCODES_H
#define MO_EXITCODES_H

enum {
    EXIT_OK = 0,           /* success, or stopped on the success path */
    EXIT_FAILED = 1,       /* failed and rolled back; usage, config or validation error */
    EXIT_NOTHING = 2,      /* resume/rollback with nothing in progress */
    EXIT_INCONSISTENT = 3, /* failed and the System may be inconsistent */
    EXIT_REBOOT = 4,       /* System-device reboot required (--exit-on-reboot) */
};

#endif
