/* Command line: global and per-command options, dispatch to one function per command. */
#ifndef MO_CLI_H
#define MO_CLI_H

#include <stdbool.h>

#include "util/cleanup.h"
#include "util/strv.h"

/* Everything the command line said, after parsing. */
struct cli_args {
    const char *command;
    struct strv positional; /* arguments after the command name */
    const char *log_level;
    const char *topology_components;
    const char *manifest_components;
    const char *topology;    /* check, plan */
    const char *format;      /* plan */
    const char *output;      /* repo-index */
    const char *count;       /* history -n */
    const char *plan_hash;   /* install --plan-hash */
    const char *progress;    /* install, resume, rollback: json, text or none */
    struct strv stop_before; /* install, resume, rollback */
    bool exit_on_reboot;
    bool give_up; /* rollback --give-up */
    bool json;
    /* interface-check */
    const char *component_type;
    struct strv interface_args;
    struct strv watch;
    const char *timeout;
    const char *scratch;
    bool keep;
    const char *reboot_command;
};

/* Runs the command line; returns the exit code. */
MO_MUST_CHECK int cli_main(int argc, char **argv);

/* Commands. Each returns an exit code of cli/exitcodes.h. */
int cmd_check(const struct cli_args *args);
int cmd_show_provides(const struct cli_args *args);
int cmd_install(const struct cli_args *args);
int cmd_resume(const struct cli_args *args);
int cmd_rollback(const struct cli_args *args);
int cmd_show_inventory(const struct cli_args *args);
int cmd_status(const struct cli_args *args);
int cmd_history(const struct cli_args *args);
int cmd_plan(const struct cli_args *args);
int cmd_repo_index(const struct cli_args *args);
int cmd_interface_check(const struct cli_args *args);

#endif
