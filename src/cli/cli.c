#include "cli/cli.h"

#include <assert.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/exitcodes.h"
#include "inputs/config.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/version.h"

/* Commands, as bits, so each option can list the commands it is valid for. */
enum {
    C_INSTALL = 1 << 0,
    C_RESUME = 1 << 1,
    C_ROLLBACK = 1 << 2,
    C_SHOW_PROVIDES = 1 << 3,
    C_SHOW_INVENTORY = 1 << 4,
    C_CHECK = 1 << 5,
    C_PLAN = 1 << 6,
    C_STATUS = 1 << 7,
    C_HISTORY = 1 << 8,
    C_REPO_INDEX = 1 << 9,
    C_HELP = 1 << 10,
    C_IFACE_CHECK = 1 << 11,
    C_ALL = (1 << 12) - 1,
};

struct command {
    const char *name;
    unsigned bit;
    int (*run)(const struct cli_args *args);
    int min_args, max_args;
    const char *synopsis;
    const char *summary;
    const char *exits; /* the exit codes this command gives */
};

/* Exit code lines, in ascending order of code: a command's list is pieced together from
 * these. */
#define EXITS_DEPLOY_0 "  0  done, or stopped on the success path\n"
#define EXITS_DEPLOY_1                                                                              \
    "  1  the update failed and the System was rolled back (or the failure path stopped at a\n"     \
    "     stop point); usage, configuration or validation error; another process holds the lock;\n" \
    "     the journal is lost or the datastore unusable\n"
#define EXITS_DEPLOY_34                                                                         \
    "  3  failed, and the System may be inconsistent (a failed rollback keeps the deployment\n" \
    "     open: see rollback); or the journal cannot be written: free space, then run resume\n" \
    "  4  a System-device reboot is needed (--exit-on-reboot): reboot, then run resume\n"
#define EXITS_SIMPLE "  0  success\n  1  usage, configuration or validation error\n"

static int cmd_help(const struct cli_args *args);

static const struct command commands[] = {
    { "install", C_INSTALL, cmd_install, 1, 1,
      "install [--stop-before STATE]... [--exit-on-reboot] [--progress MODE] [--plan-hash HASH] MANIFEST",
      "Update the System to the Manifest; roll everything back if any step fails.",
      EXITS_DEPLOY_0 EXITS_DEPLOY_1 EXITS_DEPLOY_34 },
    { "resume", C_RESUME, cmd_resume, 0, 0, "resume [--stop-before STATE]... [--exit-on-reboot] [--progress MODE]",
      "Continue the deployment in progress after a reboot, stop or interruption.",
      EXITS_DEPLOY_0 EXITS_DEPLOY_1 "  2  nothing in progress\n" EXITS_DEPLOY_34 },
    { "rollback", C_ROLLBACK, cmd_rollback, 0, 0,
      "rollback [--stop-before STATE]... [--exit-on-reboot] [--progress MODE] [--give-up]",
      "Roll the whole System back to the previous Manifest; after a failed rollback, retry it (or give it up).",
      "  0  rolled back (or stopped) with every rollback step successful\n"
      "  1  cannot roll back: the deployment already succeeded and is cleaning up; --give-up while the rollback\n"
      "     has not failed; usage or configuration error; another process holds the lock; the journal is lost\n"
      "     or the datastore unusable\n"
      "  2  nothing in progress\n"
      "  3  a rollback step failed: the System may be inconsistent; the deployment stays open (fix the cause, then\n"
      "     run rollback again, or rollback --give-up); also after --give-up; or the journal cannot be\n"
      "     written: free space, then run rollback again\n"
      "  4  a System-device reboot is needed (--exit-on-reboot): reboot, then run resume\n" },
    { "show-provides", C_SHOW_PROVIDES, cmd_show_provides, 0, 0, "show-provides",
      "Print every Component's provides as <component_type>.<id>.<key>=<value>.",
      "  0  every Component answered\n  1  a query failed (the others are still printed), or bad input\n" },
    { "show-inventory", C_SHOW_INVENTORY, cmd_show_inventory, 0, 0, "show-inventory",
      "Print the System's inventory in the Mender inventory-script format.",
      "  0  printed (a Component whose Interface fails is left out)\n  1  the Topology is unusable\n" },
    { "check", C_CHECK, cmd_check, 1, 1, "check [--topology FILE] MANIFEST",
      "Validate Topology, Manifest and every local Artifact offline; one line per component type.",
      "  0  all is well\n  1  at least one error (every error found is printed)\n" },
    { "plan", C_PLAN, cmd_plan, 1, 1, "plan [--format text|json|dot] [--topology FILE] MANIFEST",
      "Show what install would do: selection, skipped Components, groups, reboots, states (constraints).",
      "  0  install would proceed\n  1  it would not (every error is printed), e.g. the journal is lost\n" },
    { "status", C_STATUS, cmd_status, 0, 0, "status [--json]", "Show the deployment in progress.",
      "  0  shown, also when nothing is in progress\n"
      "  1  the journal cannot be read or is lost, or the datastore is unusable\n" },
    { "history", C_HISTORY, cmd_history, 0, 0, "history [--json] [-n COUNT]", "Show past deployments.",
      "  0  shown\n  1  the journal cannot be read or is lost, the datastore is unusable, or a bad COUNT\n" },
    { "repo-index", C_REPO_INDEX, cmd_repo_index, 1, 1, "repo-index [--output FILE] DIR",
      "Check every *.mender in DIR and write the repository index.json.", EXITS_SIMPLE },
    { "interface-check", C_IFACE_CHECK, cmd_interface_check, 2, 3,
      "interface-check [--component-type TYPE] [--interface-arg ARG]... [--watch DIR]... [--timeout SECONDS] "
      "[--format text|json] [--scratch DIR] [--keep] [--reboot-command PROGRAM] INTERFACE ARTIFACT [ARTIFACT2]",
      "Drive an Interface through the protocol as the engine would; report one line per check.",
      "  0  no check failed (warnings allowed)\n"
      "  1  a check failed; or usage error, an unreadable Artifact or one for another component type\n" },
    { "help", C_HELP, cmd_help, 0, 1, "help [COMMAND]", "Show usage of the program or of one command.", EXITS_SIMPLE },
};

/* More of `help COMMAND` than the one-line summary, for the commands that need it. */
static const struct {
    unsigned bit;
    const char *text;
} details[] = {
    { C_IFACE_CHECK,
      "It works in a scratch datastore (under $TMPDIR or /tmp, removed at the end) and touches nothing\n"
      "else: no configuration, Topology or journal. The Interface itself does what its interface_args tell\n"
      "it and installs the Artifacts for real: point them at a test unit or a scratch folder, never at a\n"
      "Component in use. Every check: docs/interface-check.md.\n" },
};

enum opt_kind { OPT_STRING, OPT_LIST, OPT_FLAG };

struct option_def {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    enum opt_kind kind;
    unsigned commands; /* where it is valid; C_ALL = global */
    size_t offset;     /* field of struct cli_args */
    const char *arg_name;
    const char *help;
};

#define FIELD(f) offsetof(struct cli_args, f)

static const struct option_def options[] = {
    { "log-level", 0, OPT_STRING, C_ALL, FIELD(log_level), "LEVEL",
      "trace, debug, info, warning, error or fatal (overrides LogLevel)" },
    { "topology-components", 't', OPT_STRING, C_ALL, FIELD(topology_components), "FILE",
      "YAML file holding the Topology's components list" },
    { "manifest-components", 0, OPT_STRING, C_ALL, FIELD(manifest_components), "FILE",
      "legacy format: YAML file holding the Manifest's components list" },
    { "topology", 0, OPT_STRING, C_CHECK | C_PLAN, FIELD(topology), "FILE",
      "Topology to use instead of the one in the topology directory" },
    { "format", 0, OPT_STRING, C_PLAN | C_IFACE_CHECK, FIELD(format), "FORMAT",
      "text, json or dot (interface-check: text or json)" },
    { "component-type", 0, OPT_STRING, C_IFACE_CHECK, FIELD(component_type), "TYPE",
      "the Component's component_type (default: the Artifact's first device type)" },
    { "interface-arg", 0, OPT_LIST, C_IFACE_CHECK, FIELD(interface_args), "ARG",
      "one interface_args item, in order; repeatable (point them at a test unit)" },
    { "watch", 0, OPT_LIST, C_IFACE_CHECK, FIELD(watch), "DIR", "a folder no call may write into; repeatable" },
    { "timeout", 0, OPT_STRING, C_IFACE_CHECK, FIELD(timeout), "SECONDS", "limit of each call (default 300)" },
    { "scratch", 0, OPT_STRING, C_IFACE_CHECK, FIELD(scratch), "DIR",
      "where the scratch dir is made (default $TMPDIR or /tmp)" },
    { "keep", 0, OPT_FLAG, C_IFACE_CHECK, FIELD(keep), NULL, "keep the scratch dir (its path is logged)" },
    { "reboot-command", 0, OPT_STRING, C_IFACE_CHECK, FIELD(reboot_command), "PROGRAM",
      "run where the System device would reboot (NeedsArtifactReboot Automatic)" },
    { "output", 0, OPT_STRING, C_REPO_INDEX, FIELD(output), "FILE", "where to write the index" },
    { "stop-before", 0, OPT_LIST, C_INSTALL | C_RESUME | C_ROLLBACK, FIELD(stop_before), "STATE",
      "ArtifactCommit, ArtifactRollback or Cleanup; repeatable" },
    { "exit-on-reboot", 0, OPT_FLAG, C_INSTALL | C_RESUME | C_ROLLBACK, FIELD(exit_on_reboot), NULL,
      "exit with code 4 instead of rebooting the System device" },
    { "progress", 0, OPT_STRING, C_INSTALL | C_RESUME | C_ROLLBACK, FIELD(progress), "MODE",
      "json (JSON lines on stdout), text (the default on a terminal) or none" },
    { "give-up", 0, OPT_FLAG, C_ROLLBACK, FIELD(give_up), NULL,
      "after a failed rollback: record the System as inconsistent and run Cleanup" },
    { "plan-hash", 0, OPT_STRING, C_INSTALL, FIELD(plan_hash), "HASH",
      "refuse to install unless the plan has this hash (from 'plan --format json')" },
    { "json", 0, OPT_FLAG, C_STATUS | C_HISTORY, FIELD(json), NULL, "print JSON" },
    { NULL, 'n', OPT_STRING, C_HISTORY, FIELD(count), "COUNT", "number of deployments to show" },
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_ELEMS(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void option_left(const struct option_def *o, char *left, size_t n)
{
    const char *sp = o->arg_name ? " " : "", *arg = o->arg_name ? o->arg_name : "";
    if (o->name && o->short_name)
        snprintf(left, n, "-%c, --%s%s%s", o->short_name, o->name, sp, arg);
    else if (o->name)
        snprintf(left, n, "--%s%s%s", o->name, sp, arg);
    else
        snprintf(left, n, "-%c %s", o->short_name, arg);
}

/* The options valid for command bit mask (not the global ones), or with mask C_ALL the
 * global ones only. With names, each line says which commands take the option. */
static void print_options(FILE *f, unsigned mask, bool names)
{
    for (size_t i = 0; i < N_ELEMS(options); i++) {
        const struct option_def *o = &options[i];
        bool global = o->commands == C_ALL;
        if (mask == C_ALL ? !global : (global || !(o->commands & mask)))
            continue;
        char left[64];
        option_left(o, left, sizeof(left));
        fprintf(f, "  %-36s ", left);
        for (size_t k = 0; names && k < N_ELEMS(commands); k++)
            if (o->commands & commands[k].bit)
                fprintf(f, "%s%s", commands[k].name, (o->commands & ~((commands[k].bit << 1) - 1)) ? ", " : ": ");
        fprintf(f, "%s\n", o->help);
    }
}

static void print_usage(FILE *f)
{
    fputs("Usage: mender-orchestrator [OPTIONS] COMMAND [ARGS] [OPTIONS]\n\n"
          "Updates every Component of a System to the Artifacts a Manifest names, in order,\n"
          "and rolls the whole System back if any step fails.\n\nCommands:\n",
          f);
    for (size_t i = 0; i < N_ELEMS(commands); i++)
        fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fputs("\nGlobal options:\n", f);
    print_options(f, C_ALL, false);
    fprintf(f, "  %-36s %s\n  %-36s %s\n", "-h, --help", "show usage (of a command after its name)", "--version",
            "print the version number");
    fputs("\nCommand options (each valid with the commands it names):\n", f);
    print_options(f, C_ALL & ~C_HELP, true);
    /* the folders this build looks in (meson's install folders, docs/installation.md) */
    fprintf(f,
            "\nFolders (environment variable, then this build's default):\n"
            "  %-34s %s (mender-orchestrator.conf)\n  %-34s %s (interfaces/v1/)\n"
            "  %-34s %s (state, topology.yaml)\n",
            "MENDER_ORCHESTRATOR_CONF_DIR", CONFIG_DEFAULT_CONF_DIR, "MENDER_ORCHESTRATOR_DATA_DIR",
            CONFIG_DEFAULT_DATA_DIR, "MENDER_ORCHESTRATOR_DATASTORE_DIR", CONFIG_DEFAULT_DATASTORE_DIR);
    fputs("\nExit codes: 0 success, 1 failed (rolled back) or bad input, 2 nothing in progress,\n"
          "3 failed and possibly inconsistent, 4 System-device reboot required.\n"
          "Run 'mender-orchestrator help COMMAND' for a command's options.\n",
          f);
}

static void print_command_usage(FILE *f, const struct command *c)
{
    fprintf(f, "Usage: mender-orchestrator %s\n\n%s\n", c->synopsis, c->summary);
    for (size_t i = 0; i < N_ELEMS(details); i++)
        if (details[i].bit == c->bit)
            fprintf(f, "\n%s", details[i].text);
    unsigned mask = c->bit;
    int any = 0;
    for (size_t i = 0; i < N_ELEMS(options); i++)
        if ((options[i].commands & mask) && options[i].commands != C_ALL)
            any = 1;
    if (any) {
        fputs("\nOptions:\n", f);
        print_options(f, mask, false);
    }
    fputs("\nGlobal options (--log-level, -t/--topology-components, --manifest-components, -h/--help)\n"
          "may be given before or after the command.\n",
          f);
    fprintf(f, "\nExit codes:\n%s", c->exits);
}

static int cmd_help(const struct cli_args *args)
{
    if (args->positional.n == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    const struct command *c = find_command(args->positional.v[0]);
    if (!c) {
        fprintf(stderr, "mender-orchestrator: unknown command \"%s\"; run 'mender-orchestrator help'\n",
                args->positional.v[0]);
        return EXIT_FAILED;
    }
    print_command_usage(stdout, c);
    return EXIT_OK;
}

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    fputs("mender-orchestrator: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("; run 'mender-orchestrator help' for usage\n", stderr);
    return EXIT_FAILED;
}

static const struct option_def *find_option(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    if (arg[1] != '-') { /* -x or -xVALUE */
        for (size_t i = 0; i < N_ELEMS(options); i++)
            if (options[i].short_name && options[i].short_name == arg[1]) {
                if (arg[2])
                    *inline_value = arg + 2;
                return &options[i];
            }
        return NULL;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < N_ELEMS(options); i++)
        if (options[i].name && strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0) {
            if (eq)
                *inline_value = eq + 1;
            return &options[i];
        }
    return NULL;
}

struct seen_option {
    const struct option_def *def;
    const char *spelling;
};

/* What the command line held besides struct cli_args. */
struct parse_state {
    struct seen_option *seen; /* every option given, in order (room for argc) */
    size_t nseen;
    bool want_help, want_version;
};

/* Stores the option at argv[*i] (with its value, which may be the next argument) into
 * args. Returns -1 to go on, or an exit code to return now. */
static int read_option(int argc, char **argv, int *i, struct cli_args *args, struct parse_state *ps)
{
    const char *a = argv[*i];
    const char *value;
    const struct option_def *o = find_option(a, &value);
    if (!o)
        return usage_error("unknown option \"%s\"", a);
    if (o->kind == OPT_FLAG) {
        if (value)
            return usage_error("option \"%s\" takes no value%s", a, "");
        *(bool *)((char *)args + o->offset) = true;
    } else {
        if (!value) {
            if (*i + 1 >= argc)
                return usage_error("option \"%s\" needs a value%s", a, "");
            value = argv[++*i];
        }
        if (o->kind == OPT_LIST)
            strv_push((struct strv *)((char *)args + o->offset), value);
        else
            *(const char **)((char *)args + o->offset) = value;
    }
    ps->seen[ps->nseen++] = (struct seen_option){ .def = o, .spelling = a };
    return -1;
}

/* Reads argv into args and ps. Returns -1 to go on, or an exit code to return now. */
static int read_argv(int argc, char **argv, struct cli_args *args, struct parse_state *ps)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                strv_push(&args->positional, argv[i]);
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            ps->want_help = true;
        } else if (strcmp(a, "--version") == 0) {
            ps->want_version = true;
        } else if (a[0] != '-' || a[1] == '\0') {
            if (!args->command)
                args->command = a;
            else
                strv_push(&args->positional, a);
        } else {
            int rc = read_option(argc, argv, &i, args, ps);
            if (rc >= 0)
                return rc;
        }
    }
    return -1;
}

/* Checks the values of the options that take one of a few words, and applies
 * --log-level. Returns -1 to go on, or an exit code to return now. */
static int check_values(const struct cli_args *args)
{
    if (args->log_level) {
        enum log_level l;
        if (log_level_parse(args->log_level, &l) != 0)
            return usage_error("unknown log level \"%s\" (trace, debug, info, warning, error, fatal)", args->log_level);
        log_set_level(l);
    }
    static const char *const stop_points[] = { "ArtifactCommit", "ArtifactRollback", "Cleanup" };
    for (size_t k = 0; k < args->stop_before.n; k++) {
        int ok = 0;
        for (size_t j = 0; j < N_ELEMS(stop_points); j++)
            ok |= strcmp(args->stop_before.v[k], stop_points[j]) == 0;
        if (!ok)
            return usage_error("unknown --stop-before state \"%s\" (ArtifactCommit, ArtifactRollback, Cleanup)",
                               args->stop_before.v[k]);
    }
    if (args->progress && strcmp(args->progress, "json") != 0 && strcmp(args->progress, "text") != 0 &&
        strcmp(args->progress, "none") != 0)
        return usage_error("unknown --progress \"%s\" (json, text, none)", args->progress);
    if (args->format && strcmp(args->format, "text") != 0 && strcmp(args->format, "json") != 0 &&
        strcmp(args->format, "dot") != 0)
        return usage_error("unknown --format \"%s\" (text, json, dot)", args->format);
    return -1;
}

/* Parses argv into args. Returns -1 to go on, or an exit code to return now. */
static int parse(int argc, char **argv, struct cli_args *args)
{
    _cleanup_free_ struct seen_option *seen = calloc((size_t)argc, sizeof(*seen));
    if (!seen)
        return EXIT_FAILED;
    struct parse_state ps = { .seen = seen };
    int rc = read_argv(argc, argv, args, &ps);
    if (rc >= 0)
        return rc;

    if (ps.want_version && !args->command) {
        printf("%s\n", mo_version());
        return EXIT_OK;
    }
    if (!args->command) {
        print_usage(ps.want_help ? stdout : stderr);
        return ps.want_help ? EXIT_OK : EXIT_FAILED;
    }
    const struct command *c = find_command(args->command);
    if (!c)
        return usage_error("unknown command \"%s\"", args->command);
    if (ps.want_help) {
        print_command_usage(stdout, c);
        return EXIT_OK;
    }
    for (size_t k = 0; k < ps.nseen; k++)
        if (!(seen[k].def->commands & c->bit))
            return usage_error("option \"%s\" is not valid for the %s command", seen[k].spelling, c->name);
    if ((int)args->positional.n < c->min_args || (int)args->positional.n > c->max_args) {
        fprintf(stderr, "mender-orchestrator: wrong number of arguments; usage: mender-orchestrator %s\n", c->synopsis);
        return EXIT_FAILED;
    }
    return check_values(args);
}

int cli_main(int argc, char **argv)
{
    assert(argc >= 1 && argv);
    struct cli_args args = { 0 };
    /* A reader of a stream that goes away must give EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* Buffers of 128 KiB and more (the hashing ring, a file read whole) are mapped on
     * their own and unmapped when freed. glibc would raise that threshold to the largest
     * such buffer freed so far (the 1 MiB read buffer of the call registry, at start),
     * after which the ring came from the heap and stayed resident after the Download:
     * +256 KiB for the rest of the install (docs/benchmarks.md, "Memory"). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    int rc = parse(argc, argv, &args);
    if (rc < 0) {
        const struct command *c = find_command(args.command);
        rc = c->run(&args);
    }
    strv_free(&args.positional);
    strv_free(&args.stop_before);
    strv_free(&args.interface_args);
    strv_free(&args.watch);
    return rc;
}
