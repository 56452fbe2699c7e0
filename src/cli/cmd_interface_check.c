/* interface-check: the Interface conformance kit (docs/interface-check.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exitcodes.h"
#include "conform/conform.h"
#include "util/cleanup.h"
#include "util/log.h"

int cmd_interface_check(const struct cli_args *args)
{
    if (args->format && strcmp(args->format, "text") != 0 && strcmp(args->format, "json") != 0) {
        fprintf(stderr, "mender-orchestrator: interface-check: --format is text or json\n");
        return EXIT_FAILED;
    }
    double timeout = 300;
    if (args->timeout) {
        char *end;
        timeout = strtod(args->timeout, &end);
        if (*end || end == args->timeout || !(timeout > 0)) {
            fprintf(stderr, "mender-orchestrator: interface-check: --timeout \"%s\": give seconds, more than 0\n",
                    args->timeout);
            return EXIT_FAILED;
        }
    }
    if (!args->log_level) /* the report is the output; the Interfaces' lines only on request */
        log_set_level(LOG_WARNING);
    struct conform_opts o = {
        .interface = args->positional.v[0],
        .component_type = args->component_type,
        .args = &args->interface_args,
        .artifacts = { args->positional.v[1], args->positional.n > 2 ? args->positional.v[2] : NULL },
        .watch = &args->watch,
        .timeout_seconds = timeout,
        .scratch_parent = args->scratch,
        .keep = args->keep,
        .reboot_command = args->reboot_command,
    };
    struct conform_report rep;
    _cleanup_error_ struct error *err = NULL;
    if (conform_run(&o, &rep, &err) != 0) {
        fprintf(stderr, "mender-orchestrator: interface-check: %s\n", error_message(err));
        report_free(&rep);
        return EXIT_FAILED;
    }
    if (args->format && strcmp(args->format, "json") == 0)
        report_print_json(stdout, &rep);
    else
        report_print_text(stdout, &rep);
    int rc = report_failed(&rep) ? EXIT_FAILED : EXIT_OK;
    report_free(&rep);
    return rc;
}
