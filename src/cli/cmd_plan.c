/* `plan [--format text|json|dot] MANIFEST` (docs/mender-orchestrator.1): a dry run of install's
 * preparation: every Component's Identity and Provides are asked, no other state or query;
 * nothing is written. */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/context.h"
#include "cli/exitcodes.h"
#include "deploy/deployment.h"
#include "deploy/plan.h"
#include "deploy/prepare.h"
#include "store/journal.h"
#include "util/log.h"

/* The NeedsArtifactReboot answer recorded for Component m in the latest deployment that
 * asked it (ctx: the read-only journal, or NULL when there is none yet). */
static int plan_last_reboot_answer(void *ctx, const struct member *m)
{
    int answer = ANSWER_UNSET;
    if (ctx && journal_last_reboot_answer(ctx, m, &answer) != 1)
        answer = ANSWER_UNSET;
    return answer;
}

/* The journal, read-only, for the answers of past deployments: 0 (*j NULL when there is
 * none yet), or -1 logged when install could not use it either (lost, unreadable). */
static int open_journal(const struct config *cfg, const char *manifest, struct journal **j)
{
    bool missing = false;
    _cleanup_error_ struct error *err = NULL;
    *j = journal_open_readonly(cfg->datastore_dir, &missing, &err);
    if (*j || missing)
        return 0;
    log_error("%s", error_message(err));
    log_error("%s: install would not proceed: the journal cannot be used", manifest);
    return -1;
}

int cmd_plan(const struct cli_args *args)
{
    assert(args && args->positional.n == 1);
    const char *manifest = args->positional.v[0];
    enum plan_format fmt;
    if (plan_format_parse(args->format, &fmt) != 0) {
        /* cli.c already refuses unknown values; kept for direct callers */
        log_error("unknown --format \"%s\" (text, json, dot)", args->format);
        return EXIT_FAILED;
    }
    _cleanup_(config_free) struct config cfg = { 0 };
    _cleanup_journal_ struct journal *j = NULL;
    if (context_load_config(args, &cfg) != 0 || context_check_datastore(&cfg) != 0 ||
        open_journal(&cfg, manifest, &j) != 0)
        return EXIT_FAILED; /* before any Interface is called */
    const struct prepare_opts o = context_prepare_opts(args, &cfg);
    _cleanup_(deployment_free) struct deployment d = { 0 };
    _cleanup_(states_report_free) struct states_report states = { 0 };
    struct diag_list diag = { 0 };
    int r = prepare_deployment(&o, &cfg, &d, &states, &diag);
    size_t nerrors = diag.nerrors;
    diag_flush(&diag);
    if (r != 0 || nerrors != 0) {
        log_error("%s: install would not proceed: %zu error(s)", manifest, nerrors ? nerrors : 1);
        return EXIT_FAILED;
    }
    plan_print(stdout, &d, &states, fmt, plan_last_reboot_answer, j);
    fflush(stdout);
    return EXIT_OK;
}
