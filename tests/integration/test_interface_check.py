"""interface-check, the Interface conformance kit (docs/interface-check.md): the shipped
Interfaces pass it, and each deliberately broken Interface (tests/kit/scripted-interface
with one misbehaviour) is caught by exactly the check meant to catch it."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT, make_artifact
from kit import BUILD, KIT_SCRIPT, alive

IFACES = BUILD / "interfaces"
DEMO = ROOT / "demo" / "interfaces"
TYPE = "sensor"
IFACE = "sensor-if"
VERSION_KEY = f"rootfs-image.{IFACE}.version"
GOOD = {"answers": {"SupportsRollback": "Yes\n", "Identity": "id=S1\n"}, "provides": {VERSION_KEY: "v0"}}


def check(*args, env=None, timeout=300):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("MENDER_ORCHESTRATOR_"):
            del e[k]
    e.update(env or {})
    return subprocess.run([BIN, "interface-check", *map(str, args)], env=e, capture_output=True, text=True,
                          timeout=timeout)


def all_pass(st):
    """Every check passed; a query slower than 1 s on a loaded machine is only a warning."""
    return all(s == "pass" for c, s in st.items() if c != "timing") and st["timing"] in ("pass", "warn")


def statuses(p):
    report = json.loads(p.stdout)
    return {c["check"]: c["status"] for c in report["checks"]}, report


class Scripted:
    """The scripted Interface as sensor-if, one instance s1, and a sensor Artifact."""

    def __init__(self, tmp_path):
        self.kit = tmp_path / "kit"
        (self.kit / "instances").mkdir(parents=True)
        self.iface = tmp_path / "bin" / IFACE
        self.iface.parent.mkdir()
        self.iface.symlink_to(KIT_SCRIPT)
        # an extra provides key: an Interface that drops it is not "already installed"
        self.artifact = make_artifact(tmp_path / "sensor-v1.mender", "sensor-v1", [TYPE], payload_type=IFACE,
                                      extra=["--provides", f"rootfs-image.{IFACE}.build:42"])

    def run(self, *extra, **cfg):
        conf = json.loads(json.dumps(GOOD))
        conf.update(cfg)
        (self.kit / "instances" / "s1.json").write_text(json.dumps(conf))
        return check("--format", "json", "--interface-arg", "s1", *extra, self.iface, self.artifact,
                     env={"MO_KIT_DIR": str(self.kit)})


@pytest.fixture
def scripted(tmp_path):
    return Scripted(tmp_path)


def test_a_good_interface_passes_every_check(scripted):
    p = scripted.run()
    assert p.returncode == 0, p.stderr
    st, report = statuses(p)
    assert all_pass(st), st
    assert report["interface"] == IFACE and report["component_type"] == TYPE and report["result"] == "pass"
    cycles = {c["cycle"] for c in report["calls"]}
    assert cycles == {"queries", "rollback-after-install", "power-cut", "rollback-after-commit", "install"}
    assert all(c["seconds"] >= 0 for c in report["calls"])
    # the calls as the engine makes them: the install cycle's order
    install = [c["call"] for c in report["calls"] if c["cycle"] == "install"]
    assert install == ["Provides", "NeedsUnpackedArtifact", "ProvidePayloadFileSizes", "Download", "SupportsRollback",
                       "ArtifactInstall", "NeedsArtifactReboot", "ArtifactCommit", "Provides", "Cleanup", "Provides",
                       "Cleanup"]
    rollback = [c["call"] for c in report["calls"] if c["cycle"] == "rollback-after-install"]
    assert rollback[-7:] == ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactFailure", "Provides",
                             "ArtifactRollback", "Provides", "Cleanup"]



def test_scratch_dir_is_removed_unless_kept(scripted, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.chdir(tmp_path)  # a relative --scratch works too (the kit makes it absolute)
    assert scripted.run("--scratch", "scratch").returncode == 0
    assert list(scratch.iterdir()) == []
    assert scripted.run("--scratch", scratch, "--keep").returncode == 0
    kept, = scratch.iterdir()
    assert kept.name.startswith("mo-interface-check.")
    assert (kept / "data" / "interfaces" / "v1" / IFACE).resolve() == KIT_SCRIPT.resolve()


def test_text_report_one_line_per_check_with_hints(scripted):
    (scripted.kit / "instances" / "s1.json").write_text(json.dumps(dict(GOOD, exit={"ArtifactCommit": 3})))
    p = check("--interface-arg", "s1", scripted.iface, scripted.artifact, env={"MO_KIT_DIR": str(scripted.kit)})
    assert p.returncode == 1, p
    lines = p.stdout.splitlines()
    assert len(lines) == 22
    commit = [l for l in lines if l.split()[1] == "commit"][0]
    assert commit.startswith("fail  commit ")
    assert "ArtifactCommit: Process exited with status 3" in commit
    assert commit.endswith("(docs/protocol.md#what-each-state-should-do)")
    assert lines[-1].startswith("21 checks: ") and "1 failed" in lines[-1]


# One deliberately broken Interface per check: (check, scripted-interface keys).
BROKEN = [
    ("unknown-call", {"stdout": {"InterfaceCheckUnknownCall": "what?\n"}}),
    ("identity", {"answers": {"SupportsRollback": "Yes\n", "Identity": "id=a b\n"}}),
    ("provides", {"answer_at": {"Provides": {"1": "version=v0\n"}}}),
    ("inventory", {"answers": {"SupportsRollback": "Yes\n", "Identity": "id=S1\n", "Inventory": "no equals sign\n"}}),
    ("answers", {"answers": {"SupportsRollback": "Yes\n", "Identity": "id=S1\n", "ProvidePayloadFileSizes": "yes\n"}}),
    ("download", {"download": "open-only"}),
    ("install", {"exit": {"ArtifactInstall": 1}}),
    ("reboot", {"answers": {"SupportsRollback": "Yes\n", "Identity": "id=S1\n", "NeedsArtifactReboot": "Yes\n"},
                "exit": {"ArtifactVerifyReboot": 1}}),
    ("commit", {"exit": {"ArtifactCommit": 1}}),
    ("provides-after-install", {"install_keeps": True}),
    ("already-installed", {"drop_provides": [f"rootfs-image.{IFACE}.build"]}),
    ("rollback", {"no_restore": True}),
    ("rollback-repeat", {"exit_at": {"ArtifactRollback": {"2": 1}}}),
    ("rollback-after-commit", {"commit_drops_backup": True}),
    ("power-cut", {"install_backup_late": True}),
    ("cleanup", {"cleanup_restores": True}),
    ("cleanup-repeat", {"cleanup_once": True}),
    ("processes", {"daemon": ["ArtifactInstall"]}),
    ("writes", {"write_datastore": {"ArtifactCommit": "stray"}}),
]


@pytest.mark.parametrize("name,cfg", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_interface_is_caught_by_its_check(scripted, name, cfg):
    p = scripted.run(**cfg)
    assert p.returncode == 1, p.stderr
    st, report = statuses(p)
    assert {c for c, s in st.items() if s == "fail"} == {name}, st
    assert report["result"] == "fail"
    if name == "processes":  # the daemon was killed
        pid = int((scripted.kit / "daemon-s1-ArtifactInstall").read_text())
        assert not alive(pid)


def test_broken_executable(scripted, tmp_path):
    plain = tmp_path / "plain" / IFACE
    plain.parent.mkdir()
    shutil.copy(KIT_SCRIPT, plain)
    plain.chmod(0o644)
    p = check("--format", "json", plain, scripted.artifact)
    assert p.returncode == 1
    st, _ = statuses(p)
    assert st["executable"] == "fail"
    assert {s for c, s in st.items() if c != "executable"} == {"skip"}


def test_slow_query_is_a_timing_warning(scripted):
    p = scripted.run(sleep={"Inventory": 1.3})
    assert p.returncode == 0, p.stderr
    st, report = statuses(p)
    assert {c: s for c, s in st.items() if s != "pass"} == {"timing": "warn"}
    reason = [c["reason"] for c in report["checks"] if c["check"] == "timing"][0]
    assert reason.startswith("Inventory took ")


def test_a_call_killed_by_the_timeout_fails_timing(scripted):
    """ArtifactRollbackReboot's failure is only logged (the verify decides): a call that
    runs into --timeout there is caught by the timing check alone."""
    p = scripted.run("--timeout", "2", answers={"SupportsRollback": "Yes\n", "Identity": "id=S1\n",
                                                "NeedsArtifactReboot": "Yes\n"},
                     sleep={"ArtifactRollbackReboot": 30})
    assert p.returncode == 1, p.stderr
    st, report = statuses(p)
    assert {c for c, s in st.items() if s == "fail"} == {"timing"}, st
    reason = [c["reason"] for c in report["checks"] if c["check"] == "timing"][0]
    assert reason.startswith("ArtifactRollbackReboot (") and "--timeout of 2 s" in reason, reason


def test_a_process_left_in_the_group_is_a_warning(scripted):
    """The end of the call kills it (docs/protocol.md); the kit says so."""
    p = scripted.run(orphan=["ArtifactCommit"])
    assert p.returncode == 0, p.stderr
    st, report = statuses(p)
    assert st["processes"] == "warn" and "fail" not in st.values(), st
    reason = [c["reason"] for c in report["checks"] if c["check"] == "processes"][0]
    assert reason.startswith("ArtifactCommit (rollback-after-commit) left 1 process(es) in its process group")


def test_watched_folder(scripted, tmp_path):
    """--watch: a folder no call may write into (here the one the kit's log lives in)."""
    p = scripted.run("--watch", scripted.kit)
    st, report = statuses(p)
    assert st["writes"] == "fail"  # the scripted Interface logs every call into MO_KIT_DIR
    assert str(scripted.kit) in [c["reason"] for c in report["checks"] if c["check"] == "writes"][0]


def test_help_says_what_it_touches():
    p = subprocess.run([BIN, "help", "interface-check"], capture_output=True, text=True)
    assert p.returncode == 0
    assert "touches nothing" in p.stdout and "test unit" in p.stdout and "docs/interface-check.md" in p.stdout


def test_bad_input_is_one_line(scripted, tmp_path):
    p = check("--component-type", "other", scripted.iface, scripted.artifact)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.count("\n") == 1
    assert "not made for the component type other" in p.stderr
    p = check(scripted.iface, tmp_path / "missing.mender")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "missing.mender" in p.stderr


# ---- the shipped Interfaces --------------------------------------------------------------

def tar_release(tmp_path, name, target, version):
    tree = tmp_path / f"tree-{version}"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "data.txt").write_text(f"data {version}\n")
    (tree / f"{version}.txt").write_text(version + "\n")
    src = tmp_path / f"src-{version}"
    src.mkdir()
    subprocess.run(["tar", "-cf", str(src / "update.tar"), "-C", str(tree), "."], check=True)
    (src / "dest_dir").write_text(str(target) + "\n")
    out = tmp_path / f"{name}-{version}.mender"
    subprocess.run(["mender-artifact", "write", "module-image", "-T", "directory", "-t", "app", "-n",
                    f"app-{version}", "-f", str(src / "update.tar"), "-f", str(src / "dest_dir"), "-o", str(out)],
                   check=True, capture_output=True)
    return out


def passes(p):
    assert p.returncode == 0, p
    st, _ = statuses(p)
    assert "fail" not in st.values(), st
    return st


def test_directory_passes_with_two_artifacts(tmp_path):
    target = tmp_path / "target" / "app"
    a1, a2 = (tar_release(tmp_path, "app", target, v) for v in ("v1", "v2"))
    p = check("--format", "json", "--interface-arg", "app", "--interface-arg", target, IFACES / "directory", a1, a2)
    st = passes(p)
    assert all_pass(st), st
    _, report = statuses(p)
    assert "upgrade" in {c["cycle"] for c in report["calls"]}
    # the Interface did what its interface_args said: the folder holds v2, the last install
    assert (target / "v2.txt").read_text() == "v2\n" and not (target / "v1.txt").exists()


def test_single_file_passes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.conf").write_text("setting = 1\n")
    (src / "dest_dir").write_text(str(tmp_path / "etc"))
    (src / "filename").write_text("app.conf")
    (tmp_path / "etc").mkdir()
    art = tmp_path / "conf-v1.mender"
    subprocess.run(["mender-artifact", "write", "module-image", "-T", "single-file", "-t", "conf", "-n", "conf-v1",
                    "-f", str(src / "app.conf"), "-f", str(src / "dest_dir"), "-f", str(src / "filename"),
                    "-o", str(art)], check=True, capture_output=True)
    st = passes(check("--format", "json", "--interface-arg", "conf", IFACES / "single-file", art))
    assert all_pass(st), st
    assert (tmp_path / "etc" / "app.conf").read_text() == "setting = 1\n"


def demo_devices(tmp_path):
    dev = tmp_path / "devices"
    (dev / "gateway" / "rootfs").mkdir(parents=True)
    (dev / "gateway" / "Identity").write_text("id=G13\n")
    (dev / "gateway" / "version").write_text("gateway-v0\n")
    (dev / "1" / "firmware").mkdir(parents=True)
    for f, text in {"Identity": "id=R123\n", "Provides": "version=rtos-v0\n", "NeedsArtifactReboot": "No\n",
                    "SupportsRollback": "Yes\n", "NeedsUnpackedArtifact": "Yes\n"}.items():
        (dev / "1" / f).write_text(text)
    return dev


@pytest.mark.parametrize("iface,ctype,args", [("rtos-interface", "rtos", ["1"]), ("gateway-interface", "gateway", [])])
def test_demo_interfaces_pass(tmp_path, iface, ctype, args):
    dev = demo_devices(tmp_path)
    art = make_artifact(tmp_path / f"{ctype}-v1.mender", f"{ctype}-v1", [ctype], payload_type=iface)
    extra = [a for arg in args for a in ("--interface-arg", arg)]
    st = passes(check("--format", "json", *extra, DEMO / iface, art, env={"DEMO_DEVICES": str(dev)}))
    assert all_pass(st), st
