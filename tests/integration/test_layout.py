"""The install layout (docs/configuration.md): `meson install` into a DESTDIR puts every file
in its FHS place with the right mode; the man page renders without warnings and documents
every command, option, variable and key; the default config is accepted; the boot-time
resume wrapper resumes only what it should."""
import json
import os
import pathlib
import re
import stat
import subprocess

import pytest

from conftest import BIN
from kit import BUILD
from system import System

ROOT = pathlib.Path(__file__).resolve().parents[2]

# (source file, directory option or prefix-relative folder, name, mode); a source that does
# not exist yet (another area's file) is not expected. "unitdir" is systemdsystemunitdir,
# by default {prefix}/lib/systemd/system; mender_datadir is the Mender Client's folder.
EXPECTED = [
    (None, "bindir", "mender-orchestrator", 0o755),
    ("interfaces/directory.in", "datadir", "mender-orchestrator/interfaces/v1/directory", 0o755),
    ("interfaces/single-file.in", "datadir", "mender-orchestrator/interfaces/v1/single-file", 0o755),
    ("dist/mender-orchestrator.conf", "sysconfdir", "mender-orchestrator/mender-orchestrator.conf", 0o644),
    ("docs/mender-orchestrator.1", "mandir", "man1/mender-orchestrator.1", 0o644),
    ("docs/mender-orchestrator-manifest-gen.1", "mandir", "man1/mender-orchestrator-manifest-gen.1", 0o644),
    ("docs/interfaces.md", "datadir", "doc/mender-orchestrator/interfaces.md", 0o644),
    ("dist/mender-orchestrator-resume.in", "libexecdir", "mender-orchestrator/mender-orchestrator-resume", 0o755),
    ("dist/mender-orchestrator-resume.service.in", "unitdir", "mender-orchestrator-resume.service", 0o644),
    # managed mode (modules/, inventory/): where the Mender Client looks for them
    ("modules/mender-orchestrator-manifest.in", "mender_datadir", "modules/v3/mender-orchestrator-manifest", 0o755),
    ("modules/mender-orchestrator-manifest-gen", "bindir", "mender-orchestrator-manifest-gen", 0o755),
    ("inventory/mender-inventory-orchestrator-inventory.in", "mender_datadir",
     "inventory/mender-inventory-orchestrator-inventory", 0o755),
]

# the same files with --prefix=/usr: the paths the program and the Mender Client expect
USR = {
    "mender-orchestrator": "/usr/bin/mender-orchestrator",
    "directory": "/usr/share/mender-orchestrator/interfaces/v1/directory",
    "single-file": "/usr/share/mender-orchestrator/interfaces/v1/single-file",
    "mender-orchestrator.conf": "/etc/mender-orchestrator/mender-orchestrator.conf",
    "mender-orchestrator.1": "/usr/share/man/man1/mender-orchestrator.1",
    "mender-orchestrator-manifest-gen.1": "/usr/share/man/man1/mender-orchestrator-manifest-gen.1",
    "mender-orchestrator-resume": "/usr/libexec/mender-orchestrator/mender-orchestrator-resume",
    "mender-orchestrator-resume.service": "/usr/lib/systemd/system/mender-orchestrator-resume.service",
    "mender-orchestrator-manifest": "/usr/share/mender/modules/v3/mender-orchestrator-manifest",
    "mender-orchestrator-manifest-gen": "/usr/bin/mender-orchestrator-manifest-gen",
    "mender-inventory-orchestrator-inventory": "/usr/share/mender/inventory/mender-inventory-orchestrator-inventory",
}


class Layout:
    def __init__(self, dest, options):
        self.dest = pathlib.Path(dest)
        self.opts = options

    def dir(self, option):
        """The folder an option names, under the DESTDIR."""
        return self.dest / self.abs(option).lstrip("/")

    def abs(self, option):
        """The folder an option names, as the installed System sees it."""
        prefix = self.opts["prefix"]
        if option == "unitdir":
            value = self.opts["systemdsystemunitdir"] or "lib/systemd/system"
        else:
            value = self.opts[option]
        return value if value.startswith("/") else os.path.join(prefix, value)

    def path(self, option, rel):
        return self.dir(option) / rel


def meson(*args, **kw):
    return subprocess.run(["meson", *map(str, args)], capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    # scripts/test has just built it; --no-rebuild keeps us from running a second ninja in a
    # build dir another test run may be using
    r = meson("install", "-C", BUILD, "--destdir", dest, "--no-rebuild")
    assert r.returncode == 0, r.stdout + r.stderr
    r = meson("introspect", "--buildoptions", BUILD)
    assert r.returncode == 0, r.stderr
    return Layout(dest, {o["name"]: o["value"] for o in json.loads(r.stdout)})


def expected():
    return [e for e in EXPECTED if e[0] is None or (ROOT / e[0]).exists()]


@pytest.mark.parametrize("src,option,rel,mode", expected(), ids=[e[2].split("/")[-1] for e in expected()])
def test_installed_with_mode(layout, src, option, rel, mode):
    p = layout.path(option, rel)
    assert p.is_file(), f"{p} missing; installed: {sorted(str(x) for x in layout.dest.rglob('*') if x.is_file())}"
    assert stat.S_IMODE(p.stat().st_mode) == mode, oct(p.stat().st_mode)
    if src and not src.endswith(".in"):
        assert p.read_bytes() == (ROOT / src).read_bytes()


def test_inventory_script_under_the_yocto_name_too(layout):
    link = layout.path("mender_datadir", "inventory/mender-inventory-mender-orchestrator")
    assert link.is_symlink() and os.readlink(link) == "mender-inventory-orchestrator-inventory"


def test_usr_prefix_paths(tmp_path):
    """With --prefix=/usr every file lands where the program's defaults and the spec say, and
    the program and the scripts are configured with the same folders."""
    r = meson("setup", "--prefix=/usr", tmp_path / "b", ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    r = meson("introspect", "--installed", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    installed = {pathlib.Path(dst).name: dst for dst in json.loads(r.stdout).values()}
    for name, want in USR.items():
        assert installed.get(name) == want, (name, installed.get(name))
    unit = (tmp_path / "b" / "mender-orchestrator-resume.service").read_text()
    assert "ExecStart=/usr/libexec/mender-orchestrator/mender-orchestrator-resume\n" in unit
    b = tmp_path / "b"
    for script in ("mender-orchestrator-resume", "modules/mender-orchestrator-manifest"):
        text = (b / script).read_text()
        assert "MO=${MENDER_ORCHESTRATOR_BIN:-/usr/bin/mender-orchestrator}\n" in text, script
    for script in ("mender-orchestrator-resume", "modules/mender-orchestrator-manifest", "interfaces/directory",
                   "interfaces/single-file"):
        text = (b / script).read_text()
        assert "datastore=${MENDER_ORCHESTRATOR_DATASTORE_DIR:-/var/lib/mender-orchestrator}\n" in text, script
    inventory = (b / "inventory/mender-inventory-orchestrator-inventory").read_text()
    assert "mo=${MENDER_ORCHESTRATOR_BIN:-/usr/bin/mender-orchestrator}\n" in inventory
    # the program's own defaults, as the compiler gets them
    commands = json.loads((b / "compile_commands.json").read_text())
    config_c = next(c["command"] for c in commands if c["file"].endswith("src/inputs/config.c"))
    for define in ('-DMO_CONF_DIR="/etc/mender-orchestrator"', '-DMO_DATA_DIR="/usr/share/mender-orchestrator"',
                   '-DMO_DATASTORE_DIR="/var/lib/mender-orchestrator"'):
        assert define in config_c.replace("\\", ""), define


def help_folders():
    """The folders `--help` prints: {variable: this build's default}."""
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\nFolders")[1].split("\n\n")[0].splitlines()[1:]
    return {l.split()[0]: l.split()[1] for l in lines}


def test_program_looks_where_install_puts_things(layout):
    """This build's defaults (whatever its prefix) are the folders `meson install` fills,
    and the installed scripts use the program's datastore."""
    folders = help_folders()
    assert folders["MENDER_ORCHESTRATOR_CONF_DIR"] == layout.abs("sysconfdir") + "/mender-orchestrator"
    conf = layout.path("sysconfdir", "mender-orchestrator/mender-orchestrator.conf")
    assert conf.is_file()
    data = folders["MENDER_ORCHESTRATOR_DATA_DIR"]
    assert (layout.dest / data.lstrip("/") / "interfaces" / "v1" / "directory").is_file()
    datastore = folders["MENDER_ORCHESTRATOR_DATASTORE_DIR"]
    assert datastore == layout.abs("localstatedir") + "/lib/mender-orchestrator"
    bindir = layout.abs("bindir")
    for option, rel in [("libexecdir", "mender-orchestrator/mender-orchestrator-resume"),
                        ("mender_datadir", "modules/v3/mender-orchestrator-manifest"),
                        ("datadir", "mender-orchestrator/interfaces/v1/directory"),
                        ("datadir", "mender-orchestrator/interfaces/v1/single-file")]:
        text = layout.path(option, rel).read_text()
        assert f"datastore=${{MENDER_ORCHESTRATOR_DATASTORE_DIR:-{datastore}}}\n" in text, rel
    for option, rel in [("libexecdir", "mender-orchestrator/mender-orchestrator-resume"),
                        ("mender_datadir", "modules/v3/mender-orchestrator-manifest"),
                        ("mender_datadir", "inventory/mender-inventory-orchestrator-inventory")]:
        assert f"${{MENDER_ORCHESTRATOR_BIN:-{bindir}/mender-orchestrator}}" in layout.path(option, rel).read_text()


def test_unit_and_wrapper(layout):
    unit = layout.path("unitdir", "mender-orchestrator-resume.service").read_text()
    wrapper = layout.path("libexecdir", "mender-orchestrator/mender-orchestrator-resume")
    assert "@" not in unit and "@" not in wrapper.read_text()
    lines = set(unit.splitlines())
    for want in ["Type=oneshot", f"ExecStart={wrapper.relative_to(layout.dest).as_posix().join(['/', ''])}",
                 "SuccessExitStatus=2", "After=local-fs.target", "Before=mender-client.service mender-updated.service",
                 "WantedBy=multi-user.target"]:
        assert want in lines, want
    assert subprocess.run(["dash", "-n", str(wrapper)]).returncode == 0


# ---- the man page ---------------------------------------------------------------------

def man_text(path):
    """The page's text from its source: escapes and requests removed, \\- as -."""
    return man_text_lines(path.read_text().splitlines())


def test_man_page_renders_without_warnings(layout):
    page = layout.path("mandir", "man1/mender-orchestrator.1")
    r = subprocess.run(["man", "-l", str(page)], env=dict(os.environ, MANWIDTH="80"), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS", "EXIT STATUS", "FILES",
                    "ENVIRONMENT", "CONFIGURATION", "JSON OUTPUTS", "SEE ALSO"]:
        assert re.search(rf"^{section}$", r.stdout, re.M), section
    r = subprocess.run(["groff", "-ww", "-man", "-z", str(page)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def help_of(*args):
    r = subprocess.run([BIN, "help", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def man_commands(path):
    """COMMANDS of the man page source: {command: its entry, as text}."""
    src = path.read_text().split(".SH COMMANDS\n")[1].split("\n.SH ")[0].splitlines()
    entries, name, depth = {}, None, 0
    for i, line in enumerate(src):
        if line == ".RS":
            depth += 1
        elif line == ".RE":
            depth -= 1
        elif line == ".TP" and depth == 0:
            tag = man_text_lines([src[i + 1]]).split()
            name = tag[0]
            entries[name] = []
            continue
        if name:
            entries[name].append(line)
    return {k: man_text_lines(v) for k, v in entries.items()}


def man_text_lines(lines):
    out = []
    for line in lines:
        if line.startswith('.\\"'):
            continue
        line = re.sub(r"^\.[A-Za-z]+ ?", "", line)
        line = line.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
        line = re.sub(r"\\f[BIRP]", "", line)
        out.append(line.replace('"', " "))
    return " ".join(out)


def test_generator_man_page(layout):
    """The generator's page renders without warnings and names every option of its --help."""
    page = layout.path("mandir", "man1/mender-orchestrator-manifest-gen.1")
    r = subprocess.run(["man", "-l", str(page)], env=dict(os.environ, MANWIDTH="80"), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = subprocess.run(["groff", "-ww", "-man", "-z", str(page)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    usage = subprocess.run([str(ROOT / "modules" / "mender-orchestrator-manifest-gen"), "--help"],
                           capture_output=True, text=True, timeout=60).stdout
    text = man_text(page)
    for opt in set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage)):
        assert opt in text, opt


def test_man_page_mirrors_help():
    """Every command of `help`, with the options and exit codes of `help COMMAND`."""
    page = ROOT / "docs" / "mender-orchestrator.1"
    text = man_text(page)
    entries = man_commands(page)
    top = help_of()
    commands = re.findall(r"^  ([a-z][a-z-]+)  ", top.split("Commands:")[1].split("Global options:")[0], re.M)
    assert "install" in commands and "status" in commands
    for cmd in commands:
        assert cmd in entries, (cmd, sorted(entries))
        entry = entries[cmd]
        usage = help_of(cmd)
        own = usage.split("Options:")[1].split("Global options")[0] if "Options:" in usage else ""
        for opt in re.findall(r"^  (--?[a-z][a-z-]*)", own, re.M):
            assert opt in entry, (cmd, opt)
        assert "Exit status" in entry, cmd
        codes = entry.split("Exit status")[1]
        for code in re.findall(r"^  (\d)  ", usage.split("Exit codes:")[1], re.M):
            assert re.search(rf"\b{code}\b", codes), (cmd, code)
    assert "--version" in entries
    for opt in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", top.split("Global options:")[1]):
        assert opt in text, opt


def test_man_page_documents_environment_config_and_json():
    text = man_text(ROOT / "docs" / "mender-orchestrator.1")
    for var in ["MENDER_ORCHESTRATOR_CONF_DIR", "MENDER_ORCHESTRATOR_DATA_DIR", "MENDER_ORCHESTRATOR_DATASTORE_DIR",
                "MENDER_ORCHESTRATOR_TOPOLOGY_DIR", "MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE",
                "MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR", "MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR", "HTTP_PROXY",
                "HTTPS_PROXY", "NO_PROXY"]:
        assert var in text, var
    for key in ["ArtifactVerifyKey", "ArtifactVerifyKeys", "ArtifactsCache.Enabled", ".Path", ".MaxSizeBytes",
                "HttpsClient.Certificate", ".Key", "InterfaceTimeoutSeconds", "LogLevel", "ManifestStore",
                "ServerCertificate", "TopologyComponents", "RollbackRebootRetries", "MaxParallelInterfaces",
                "RebootCommand", "RebootTimeoutSeconds", "ArtifactRepository.URL"]:
        assert key in text, key
    for key in ["plan_hash", "expected_reboot", "new_provides", "reboot_pending", "inconsistent", "last_step",
                "phase", "changed", "call_start", "call_end", "bytes", "total"]:
        assert key in text, key


def test_man_page_names_what_plan_calls(mo, tmp_path):
    """The plan entry names every Interface call plan makes, and claims no call-free dry run."""
    system = System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10)])
    assert mo.run("plan", system.manifest).rc == 0
    called = {c["call"] for c in system.kit.calls()}
    assert called == {"Identity", "Provides"}
    entry = man_commands(ROOT / "docs" / "mender-orchestrator.1")["plan"]
    for call in called:
        assert call in entry, call
    assert "without calling" not in entry


def json_keys(v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            out.add(k)
            json_keys(x, out)
    elif isinstance(v, list):
        for x in v:
            json_keys(x, out)
    return out


def test_man_page_names_every_json_key(mo, tmp_path):
    """Every key the JSON outputs really print is in the man page."""
    text = man_text(ROOT / "docs" / "mender-orchestrator.1")
    system = System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)])
    keys = set()
    r = mo.run("plan", "--format", "json", system.manifest)
    assert r.rc == 0, r
    json_keys(json.loads(r.out), keys)
    r = system.install("--stop-before", "ArtifactCommit", "--progress", "json")
    assert r.rc == 0, r
    for line in r.out.splitlines():
        json_keys(json.loads(line), keys)
    r = mo.run("status", "--json")
    json_keys(json.loads(r.out), keys)
    assert mo.run("resume").rc == 0
    json_keys(json.loads(mo.run("history", "--json").out), keys)
    keys -= {"artifact_name", "rootfs-image.gw-if.version", "rootfs-image.rtos-if.version"}  # provides values
    missing = sorted(k for k in keys if not re.search(rf"\b{re.escape(k)}\b", text))
    assert missing == []


# ---- the default configuration --------------------------------------------------------

def test_default_config_is_json_and_accepted(layout, tmp_path):
    conf = layout.path("sysconfdir", "mender-orchestrator/mender-orchestrator.conf")
    assert isinstance(json.loads(conf.read_text()), dict)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENDER_ORCHESTRATOR_")}
    env.update(MENDER_ORCHESTRATOR_CONF_DIR=str(conf.parent), MENDER_ORCHESTRATOR_DATASTORE_DIR=str(tmp_path / "ds"),
               MENDER_ORCHESTRATOR_DATA_DIR=str(tmp_path / "share"))
    for args in (["status"], ["check", "--help"]):
        r = subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "unknown key" not in r.stderr and "severity=warning" not in r.stderr, r.stderr
    # a malformed copy is refused: the file really is read
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mender-orchestrator.conf").write_text(conf.read_text().replace("}", ",}"))
    r = subprocess.run([BIN, "status"], env=dict(env, MENDER_ORCHESTRATOR_CONF_DIR=str(bad)), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1, r.stderr


# ---- the boot-time resume wrapper -----------------------------------------------------

class Boot:
    """Runs the installed wrapper against a simulated System."""

    def __init__(self, layout, mo, tmp_path):
        self.wrapper = layout.path("libexecdir", "mender-orchestrator/mender-orchestrator-resume")
        self.mo = mo
        self.system = System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10),
                                                       ("r1", "rtos", "rtos-if", "R1", 20)])

    def run(self):
        return self.mo.boot_resume(self.wrapper)

    def in_progress(self):
        return json.loads(self.mo.run("status", "--json").out) is not None

    def last_result(self):
        return json.loads(self.mo.run("history", "--json").out)[0]["result"]


@pytest.fixture
def boot(layout, mo, tmp_path):
    return Boot(layout, mo, tmp_path)


def test_boot_with_nothing_in_progress(boot):
    p = boot.run()
    assert p.returncode == 2, p.stderr
    assert "no deployment in progress" in p.stderr


def test_boot_resumes_after_the_reboot_it_asked_for(boot):
    boot.system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    r = boot.system.install("--exit-on-reboot")
    assert r.rc == 4, r
    p = boot.run()
    assert p.returncode == 0, p.stderr
    assert "after the System-device reboot" in p.stderr
    assert not boot.in_progress() and boot.last_result() == "success"
    assert boot.system.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}


def test_boot_resumes_after_an_interrupted_call(boot):
    boot.system.configure("r1", kill_parent=["ArtifactInstall"])
    r = boot.system.install()
    assert r.rc == -9, r
    p = boot.run()
    # an interrupted ArtifactInstall is a failure: the System is rolled back
    assert p.returncode == 1, p.stderr
    assert "interruption" in p.stderr
    assert not boot.in_progress() and boot.last_result() == "failed"
    assert boot.system.versions() == {"gw": "gateway-v1", "r1": "rtos-v1"}


def test_boot_takes_a_managed_deployment_only_to_the_client_stop_points(boot):
    """{datastore}/managed: after the reboot it asked for, the unit goes on only up to the
    Update Module's stop points (docs/managed-mode.md, "Reboots in later groups"); with no
    reboot pending it leaves the deployment to the Mender Client."""
    boot.system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    r = boot.system.install("--exit-on-reboot", "--stop-before", "ArtifactCommit")
    assert r.rc == 4, r
    marker = boot.mo.datastore / "managed"
    marker.write_text("")
    p = boot.run()
    assert p.returncode == 0, p.stderr
    assert "resuming the Mender Client's deployment" in p.stderr
    assert boot.system.calls("gw")[-1] == "ArtifactVerifyReboot"
    st = json.loads(boot.mo.run("status", "--json").out)
    assert st["stopped_before"] == "ArtifactCommit", st
    calls = len(boot.system.kit.calls())
    p = boot.run()
    assert p.returncode == 0, p.stderr
    assert "belongs to the Mender Client" in p.stderr
    assert boot.in_progress() and len(boot.system.kit.calls()) == calls


def test_boot_leaves_a_deployment_parked_at_a_stop_point(boot):
    r = boot.system.install("--stop-before", "ArtifactCommit")
    assert r.rc == 0, r
    calls = len(boot.system.kit.calls())
    p = boot.run()
    assert p.returncode == 0, p.stderr
    assert "parked at a stop point" in p.stderr
    assert boot.in_progress() and len(boot.system.kit.calls()) == calls


def test_boot_with_a_lost_journal_fails(boot):
    """Not "nothing in progress" (2, a success for the unit): the unit fails and says why."""
    r = boot.system.install("--stop-before", "ArtifactCommit")
    assert r.rc == 0, r
    os.truncate(boot.mo.datastore / "orchestrator.db", 0)
    p = boot.run()
    assert p.returncode == 1, p.stderr
    assert "the journal is missing or empty" in p.stderr
    assert "cannot read the deployment in progress" in p.stderr


def test_boot_retries_a_failed_rollback_then_waits(boot):
    """A rollback that failed (its deployment open, rollback-failed) is retried by the boot-time
    resume, 3 times at most; then the deployment waits for an operator; once the cause is fixed,
    the operator's rollback completes it."""
    s = boot.system
    s.configure("gw", exit={"ArtifactRollback": 1})
    s.configure("r1", exit={"ArtifactCommit": 1})
    r = s.install()
    assert r.rc == 3, r
    for i in (1, 2, 3):
        n = len(s.calls("gw"))
        p = boot.run()
        assert p.returncode == 3, p.stderr
        assert "to retry its failed rollback" in p.stderr and f"({i} of 3)" in p.stderr, p.stderr
        assert s.calls("gw")[n:] == ["ArtifactRollback"]
    n = len(s.calls("gw"))
    p = boot.run()
    assert p.returncode == 3, p.stderr
    assert "does not retry it again by itself" in p.stderr, p.stderr
    assert s.calls("gw")[n:] == []
    assert boot.in_progress()
    s.configure("gw", exit={"ArtifactRollback": 0})
    r = boot.mo.run("rollback")
    assert r.rc == 0, r
    assert not boot.in_progress() and boot.last_result() == "failed"
    assert s.versions() == {"gw": "gateway-v1", "r1": "rtos-v1"}
