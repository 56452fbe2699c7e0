/* `plan [--format text|json|dot] MANIFEST` (orchestrator.md §8): a dry run of install's
 * preparation. Only Identity and Provides are asked; nothing is written. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/context.h"
#include "cli/exitcodes.h"
#include "engine/deployment.h"
#include "plan.h"
#include "prepare.h"
#include "util/log.h"

/* The NeedsArtifactReboot answer recorded for an Interface in the latest deployment.
 * Not wired yet: to be answered from journal_last_reboot_answer (read-only journal,
 * ctx = the journal). Until then every expected reboot shows as unknown. */
static int plan_last_reboot_answer(void *ctx, const char *interface)
{
    (void)ctx;
    (void)interface;
    return ANSWER_UNSET;
}

int cmd_plan(const struct cli_args *args)
{
    const char *manifest = args->positional.v[0];
    enum plan_format fmt;
    if (plan_format_parse(args->format, &fmt) != 0) {
        /* cli.c already refuses unknown values; kept for direct callers */
        log_error("unknown --format \"%s\" (text, json, dot)", args->format);
        return EXIT_FAILED;
    }
    struct config cfg = { 0 };
    if (context_load_config(args, &cfg) != 0) {
        config_free(&cfg);
        return EXIT_FAILED;
    }
    struct deployment d = { 0 };
    struct diag_list diag = { 0 };
    int r = prepare_deployment(args, &cfg, manifest, &d, &diag);
    size_t nerrors = diag.nerrors;
    diag_flush(&diag);
    int rc = EXIT_FAILED;
    if (r == 0 && nerrors == 0) {
        plan_print(stdout, &d, fmt, plan_last_reboot_answer, NULL);
        fflush(stdout);
        rc = EXIT_OK;
    } else {
        log_error("%s: install would not proceed: %zu error(s)", manifest, nerrors ? nerrors : 1);
    }
    deployment_free(&d);
    config_free(&cfg);
    return rc;
}
