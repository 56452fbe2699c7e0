"""Command-line behaviour common to every command."""
import re

LOG_LINE = re.compile(r'^record_id=\d+ severity=(trace|debug|info|warning|error|fatal) '
                      r'time="\d{4}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}" (name="[^"]*" )?(id="[^"]*" )?msg=".*"$')


def test_version_is_a_bare_number(mo):
    r = mo.run("--version")
    assert r.rc == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", r.out)


def test_help_lists_commands_on_stdout(mo):
    for args in (("--help",), ("-h",), ("help",)):
        r = mo.run(*args)
        assert r.rc == 0
        for c in ("install", "resume", "rollback", "show-provides", "show-inventory", "check", "plan"):
            assert f"  {c} " in r.out


def test_help_of_one_command(mo):
    for args in (("help", "check"), ("check", "--help"), ("-h", "check")):
        r = mo.run(*args)
        assert r.rc == 0, r
        assert r.out.startswith("Usage: mender-orchestrator check [--topology FILE] MANIFEST")


def test_no_command_is_a_usage_error(mo):
    r = mo.run()
    assert r.rc == 1
    assert "Usage:" in r.err


def test_unknown_command_and_option(mo):
    r = mo.run("frobnicate")
    assert r.rc == 1 and 'unknown command "frobnicate"' in r.err
    r = mo.run("check", "--frob", "x")
    assert r.rc == 1 and 'unknown option "--frob"' in r.err


def test_option_not_valid_for_the_command(mo, bundle):
    r = mo.run("check", "--exit-on-reboot", bundle / "manifest.yaml")
    assert r.rc == 1
    assert 'option "--exit-on-reboot" is not valid for the check command' in r.err


def test_bad_log_level(mo, bundle):
    r = mo.run("--log-level", "loud", "check", bundle / "manifest.yaml")
    assert r.rc == 1
    assert 'unknown log level "loud"' in r.err


def test_options_before_or_after_and_with_equals(mo, bundle):
    t, m = bundle / "topology.yaml", bundle / "manifest.yaml"
    for args in (("check", "--topology", t, m), ("--topology", t, "check", m), ("check", m, f"--topology={t}"),
                 ("--log-level=error", "check", m, "--topology", t)):
        r = mo.run(*args)
        assert r.rc == 0, (args, r)


def test_log_lines_have_the_mender_format(mo, bundle):
    r = mo.run("--log-level", "debug", "check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 0
    lines = r.err.splitlines()
    assert lines, r
    assert all(LOG_LINE.match(l) for l in lines), r.err
    assert lines[0].endswith('msg="Running mender-orchestrator %s"' % mo.run("--version").out.strip())
    assert [int(l.split()[0].split("=")[1]) for l in lines] == list(range(1, len(lines) + 1))


def test_log_level_error_hides_info(mo, bundle):
    r = mo.run("--log-level", "error", "check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 0
    assert r.err == ""


def test_log_level_from_config(mo, bundle):
    mo.write_config('{"LogLevel": "error"}')
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 0 and r.err == "", r


def test_config_with_a_bom_or_empty_is_accepted(mo, bundle):
    args = ("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    mo.write_config("\ufeff" + '{"LogLevel": "error"}\n')  # as some editors save it
    r = mo.run(*args)
    assert (r.rc, r.err) == (0, ""), r
    mo.write_config("")  # empty: every key takes its default (LogLevel info)
    mo.write_config("\n", fallback=True)
    r = mo.run(*args)
    assert r.rc == 0 and "severity=info" in r.err and "severity=error" not in r.err, r


def test_malformed_config_is_reported(mo, bundle):
    p = mo.write_config('{"LogLevel": "error",\n  oops}')
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 1
    assert f"{p}:2:" in r.err, r



def _section(text, title):
    """The lines of a help section: from the line starting with title to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(title))
    out = []
    for l in lines[start + 1:]:
        if not l.strip():
            break
        out.append(l)
    return out


def _help_commands_and_options(mo):
    text = mo.run("--help").out
    commands = [l.split()[0] for l in _section(text, "Commands:")]
    options = set()
    for title in ("Global options", "Command options"):
        for l in _section(text, title):
            options.update(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", l.split("  ")[1]))
    return commands, options - {"-h", "--help", "--version"}


def test_help_separates_global_and_command_options(mo):
    text = mo.run("--help").out
    glob = "\n".join(_section(text, "Global options"))
    for o in ("--log-level", "--topology-components", "--manifest-components", "--help", "--version"):
        assert o in glob
    for o in ("--format", "--stop-before", "--progress", "--json", "--output", "-n COUNT", "--plan-hash"):
        assert o not in glob, o
    cmd = _section(text, "Command options")
    assert any(l.split()[0] == "--progress" and "install, resume, rollback:" in l for l in cmd), cmd
    assert any(l.split()[0] == "--format" and "plan, interface-check:" in l for l in cmd), cmd


def _mentions(text, option):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", text) is not None


def test_every_option_a_command_accepts_is_in_its_help(mo):
    commands, options = _help_commands_and_options(mo)
    assert {"install", "resume", "status", "help"} <= set(commands)
    assert {"--progress", "--stop-before", "--log-level", "-t", "-n", "--json"} <= options
    for c in commands:
        usage = mo.run("help", c).out
        synopsis = usage.splitlines()[0]
        own = "\n".join(_section(usage, "Options:")) if "\nOptions:\n" in usage else ""
        accepted = []
        for o in sorted(options):
            # Surplus arguments: the parser judges the option, then stops at the argument count.
            r = mo.run(c, o, "x1", "x2", "x3", "x4", "x5")
            assert r.rc == 1, (c, o, r)
            if f"is not valid for the {c} command" in r.err:
                continue
            assert "wrong number of arguments" in r.err, (c, o, r)
            accepted.append(o)
            assert _mentions(usage, o), f"help {c} does not mention {o}"
        for o in accepted:
            if o in ("--log-level", "-t", "--topology-components", "--manifest-components"):
                continue  # global: named in the closing note
            assert _mentions(synopsis, o) and _mentions(own, o), f"help {c}: {o} missing from the synopsis or the options"


def test_help_lists_exit_codes_in_order(mo):
    commands, _ = _help_commands_and_options(mo)
    for c in commands:
        codes = [int(l.split()[0]) for l in _section(mo.run("help", c).out, "Exit codes:") if re.match(r"  \d  ", l)]
        assert codes and codes == sorted(set(codes)), (c, codes)
