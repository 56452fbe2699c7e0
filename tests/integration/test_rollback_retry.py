"""A rollback that fails keeps the deployment open (docs/state-machine.md, "When the rollback
fails"): no Cleanup, so the Interfaces' rollback data survive; `rollback` (and, a few times,
`resume`) retries the steps that did not complete; `rollback --give-up` records the System
as inconsistent and cleans up. Also: NeedsArtifactReboot is asked again after
ArtifactRollback, and a full datastore at the end of a successful deployment."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from conftest import command
from kit import BUILD
from system import FORWARD_CALLS, System

SINGLE_FILE = BUILD / "interfaces" / "single-file"  # configured by meson from interfaces/single-file.in
V1, V2 = b"setting = v1\n", b"setting = v2\n"


class FileSystem:
    """One Component, conf.conf, driven by a copy of the reference single-file Interface (a
    copy: tests change its mode or replace it) that owns the file target/app.conf."""

    def __init__(self, mo, tmp_path):
        self.mo = mo
        self.tmp = tmp_path
        self.iface = mo.data / "interfaces" / "v1" / "single-file"
        self.iface.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SINGLE_FILE, self.iface)
        self.iface.chmod(0o755)
        self.target = tmp_path / "target" / "app.conf"
        (mo.datastore / "topology.yaml").write_text("\n".join([
            "api_version: mender/v1", "kind: topology", 'system_type: "sys"', "components:",
            "  - component_type: conf", "    interface: single-file",
            f'    interface_args: ["conf", "{self.target}"]']) + "\n")
        self.release = tmp_path / "release"
        self.release.mkdir()
        self.work = mo.datastore / "work" / "conf" / "conf"
        self.backup = self.work / "tmp" / "backup" / "file"

    def manifest(self, version):
        m = self.release / f"manifest-{version}.yaml"
        if m.exists():
            return m
        src = self.tmp / f"src-{version}"
        src.mkdir()
        (src / "app.conf").write_bytes(f"setting = {version}\n".encode())
        art = self.release / f"conf-{version}.mender"
        subprocess.run(["mender-artifact", "write", "module-image", "-T", "single-file", "-t", "conf", "-n",
                        f"conf-{version}", "-o", str(art), "-f", str(src / "app.conf")], check=True,
                       capture_output=True)
        m.write_text("\n".join([
            'api_version: "mender/v1"', 'kind: "manifest"', f'name: "sys-{version}"',
            'system_types_compatible: ["sys"]', "component_types:",
            f"  conf: {{artifact_path: {art.name}, update_strategy: {{order: 10}}}}"]) + "\n")
        return m

    def install(self, version, *args):
        return self.mo.run("install", self.manifest(version), *args)

    def version(self):
        r = self.mo.run("show-provides")
        assert r.rc == 0, r
        return dict(l.split("=", 1) for l in r.out.splitlines())["conf.conf.rootfs-image.single-file.version"]

    def status(self):
        r = self.mo.run("status", "--json")
        assert r.rc == 0, r
        return json.loads(r.out)

    def history(self):
        r = self.mo.run("history", "--json")
        assert r.rc == 0, r
        return json.loads(r.out)

    def on_v2_before_commit(self):
        """v1 installed, then v2 installed and stopped before ArtifactCommit."""
        assert self.install("v1").rc == 0
        assert self.target.read_bytes() == V1
        r = self.install("v2", "--stop-before", "ArtifactCommit")
        assert r.rc == 0, r
        assert self.target.read_bytes() == V2
        assert self.backup.read_bytes() == V1


@pytest.fixture
def fs(mo, tmp_path):
    return FileSystem(mo, tmp_path)


def error_lines(r):
    return [l for l in r.err.splitlines() if "severity=error" in l]


def assert_parked(fs, r, step="ArtifactRollback"):
    """The rollback failed at step: exit 3, the deployment open and waiting, its backup kept,
    and the last message names the Component, the step and what to do next."""
    assert r.rc == 3, r
    last = error_lines(r)[-1]
    assert f"conf.conf: {step}" in last, last
    assert "mender-orchestrator rollback" in last and "rollback --give-up" in last, last
    assert "rollback requested" not in last, last  # not the original failure again
    st = fs.status()
    assert st["phase"] == "rollback-failed" and st["rollback_failed"] is True and st["inconsistent"] is True, st
    (c,) = st["components"]
    assert c["rollback_failure"]["state"] == step, c
    text = fs.mo.run("status").out
    assert f"Rollback failed: conf.conf: {step}" in text, text
    assert "Phase:           rollback-failed" in text, text
    assert fs.backup.read_bytes() == V1  # the Interface's rollback data: no Cleanup ran
    assert fs.target.read_bytes() == V2


def assert_rolled_back(fs, result="rolled_back"):
    """result: `rolled_back` when the operator's rollback turned back a deployment that had not
    failed, `failed` when a failure did."""
    assert fs.target.read_bytes() == V1
    assert fs.version() == "conf-v1"
    assert fs.mo.run("status").out == "No deployment in progress\n"
    assert fs.history()[0]["result"] == result
    assert not fs.work.exists()  # Cleanup ran once the rollback completed


def test_non_executable_interface_at_rollback_then_retry(fs):
    fs.on_v2_before_commit()
    fs.iface.chmod(0o644)
    r = fs.mo.run("rollback")
    assert_parked(fs, r)
    # nothing new starts meanwhile; the refusal says what to do
    r = fs.install("v1")
    assert r.rc == 1, r
    assert "failed to roll back" in r.err and "rollback --give-up" in r.err, r
    fs.iface.chmod(0o755)
    r = fs.mo.run("rollback")
    assert r.rc == 0, r
    assert "retrying the rollback steps that did not complete: conf.conf: ArtifactRollback" in r.err, r
    assert_rolled_back(fs)


def test_missing_interface_during_resume_then_resume_retries(fs, tmp_path):
    fs.on_v2_before_commit()
    hidden = tmp_path / "single-file.away"
    fs.iface.rename(hidden)
    r = fs.mo.run("resume")  # ArtifactCommit fails, then the rollback
    assert_parked(fs, r)
    hidden.rename(fs.iface)
    r = fs.mo.run("resume")  # at boot: retries by itself; reports the deployment (failed, rolled back)
    assert r.rc == 1, r
    assert "resume retries the failed rollback (1 of 3)" in r.err, r
    assert_rolled_back(fs, "failed")


def test_artifact_rollback_failing_once(fs, tmp_path):
    fs.on_v2_before_commit()
    real = tmp_path / "real" / "single-file"  # the same name: the Interface's version key follows it
    real.parent.mkdir()
    shutil.move(fs.iface, real)
    mark = tmp_path / "failed-once"
    fs.iface.write_text(f"""#!/bin/sh
if [ "$1" = ArtifactRollback ] && [ ! -e {mark} ]; then
    : > {mark}
    echo "cannot restore the file this time" >&2
    exit 1
fi
exec {real} "$@"
""")
    fs.iface.chmod(0o755)
    r = fs.mo.run("rollback")
    assert_parked(fs, r)
    assert "Process exited with status 1" in error_lines(r)[-1]
    r = fs.mo.run("rollback")
    assert r.rc == 0, r
    assert_rolled_back(fs)


def test_resume_retries_three_times_then_the_operator_gives_up(fs):
    fs.on_v2_before_commit()
    r = fs.mo.run("rollback", "--give-up")  # nothing failed yet: nothing to give up
    assert r.rc == 1, r
    assert "nothing to give up" in r.err, r
    fs.iface.chmod(0o644)
    assert_parked(fs, fs.mo.run("rollback"))
    for i in (1, 2, 3):
        r = fs.mo.run("resume")
        assert f"resume retries the failed rollback ({i} of 3)" in r.err, r
        assert_parked(fs, r)
    r = fs.mo.run("resume")  # the fourth boot: no more calls until an operator acts
    assert "already retried the failed rollback 3 times" in r.err, r
    assert 'msg="ArtifactRollback"' not in r.err, r
    assert_parked(fs, r)
    r = fs.mo.run("rollback")  # the operator's retry: a new count for resume
    assert 'msg="ArtifactRollback"' in r.err, r
    assert_parked(fs, r)
    assert fs.status()["phase"] == "rollback-failed"
    r = fs.mo.run("resume")
    assert "(1 of 3)" in r.err, r
    assert_parked(fs, r)

    fs.iface.chmod(0o755)  # Cleanup must be able to run
    r = fs.mo.run("rollback", "--give-up")
    assert r.rc == 3, r
    assert "giving up the rollback of conf.conf: ArtifactRollback" in r.err, r
    last = error_lines(r)[-1]
    assert "conf.conf did not roll back" in last and "given up" in last, last
    assert fs.mo.run("status").out == "No deployment in progress\n"
    assert fs.history()[0]["result"] == "inconsistent"
    assert not fs.work.exists()
    assert fs.target.read_bytes() == V2  # left as the failed rollback left it
    assert fs.mo.run("rollback", "--give-up").rc == 2


def test_failed_rollback_retry_survives_a_power_cut(mo, tmp_path):
    """A retry pass cut short by a power cut goes on with resume; what completed before is
    not called again."""
    s = System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)])
    s.configure("gw", exit={"ArtifactRollback": 1})
    s.configure("r1", exit={"ArtifactCommit": 1})
    r = s.install()
    assert r.rc == 3, r
    assert s.calls("gw")[-2:] == ["ArtifactRollback", "ArtifactFailure"]  # no Cleanup
    assert s.calls("r1")[-3:] == ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactFailure"]
    n = {i: len(s.calls(i)) for i in ("gw", "r1")}
    s.configure("gw", exit={"ArtifactRollback": 0}, kill_parent=["ArtifactRollback"])
    r = mo.run("rollback")
    assert r.rc == -9, r
    r = mo.run("resume")
    assert r.rc == 1, r
    assert s.calls("gw")[n["gw"]:] == ["ArtifactRollback", "ArtifactRollback", "NeedsArtifactReboot", "Cleanup"]
    assert s.calls("r1")[n["r1"]:] == ["Cleanup"]
    assert s.versions() == {"gw": "gateway-v1", "r1": "rtos-v1"}
    assert json.loads(mo.run("history", "--json").out)[0]["result"] == "failed"


# ---- NeedsArtifactReboot after ArtifactRollback -------------------------------------------

@pytest.mark.parametrize("install_answer,rollback_answer,rollback_calls", [
    ("Yes", "No", []),
    ("No", "Yes", ["ArtifactRollbackReboot", "ArtifactVerifyRollbackReboot"]),
])
def test_reboot_question_is_asked_again_after_rollback(mo, tmp_path, install_answer, rollback_answer,
                                                       rollback_calls):
    """docs/state-machine.md: the answer after ArtifactRollback decides the rollback reboot;
    the one after ArtifactInstall is not reused."""
    s = System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)])
    s.configure("r1", answer_at={"NeedsArtifactReboot": {"1": f"{install_answer}\n", "2": f"{rollback_answer}\n"}})
    s.configure("gw", exit={"ArtifactCommit": 1})
    r = s.install()
    assert r.rc == 1, r
    reboot = ["ArtifactReboot", "ArtifactVerifyReboot"] if install_answer == "Yes" else []
    assert s.calls("r1") == ["Identity", "Provides"] + FORWARD_CALLS + reboot + [
        "ArtifactRollback", "NeedsArtifactReboot"] + rollback_calls + ["ArtifactFailure", "Cleanup"]


# ---- a full datastore at the end of a successful deployment -------------------------------

def fill(fs):
    """Fills the filesystem until ENOSPC."""
    filler = fs / "filler"
    chunk = b"\xa5" * 65536
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            assert e.errno == 28, e
    return filler


def stopped(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("reserve", [True, False])
def test_full_datastore_when_a_successful_deployment_ends(mo, tmp_path, tiny_datastore, reserve):
    """Every Component is on v2 and cleaned up when the datastore fills up, just before the
    end is recorded: the reserve is used for it (exit 0); without one, exit 3 and "free space,
    then run resume", which finishes it (exit 0): never exit 1, "failed and rolled back"."""
    s = System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)])
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as o, open(err, "w") as e:
        p = subprocess.Popen(command("install", s.manifest), env=dict(mo.env, MO_TEST_PAUSE_AT="finish"),
                             stdout=o, stderr=e)
    try:
        deadline = time.monotonic() + 120
        while not stopped(p.pid):
            if p.poll() is not None:
                pytest.skip(f"not paused (rc={p.returncode}): is the binary built with -Dtest_hooks=true?")
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
        if not reserve:
            (tiny_datastore / "orchestrator.reserve").unlink()
        filler = fill(tiny_datastore)
    finally:
        os.kill(p.pid, signal.SIGCONT)
    rc = p.wait(timeout=120)
    log = err.read_text()
    if reserve:
        assert rc == 0, log
        assert "using the space kept in reserve" in log, log
        filler.unlink()
    else:
        assert rc == 3, log
        last = [l for l in log.splitlines() if "severity=error" in l][-1]
        assert "ran to its end, but the end cannot be recorded" in last and "then run 'mender-orchestrator resume'" \
            in last, last
        filler.unlink()
        st = json.loads(mo.run("status", "--json").out)
        assert st["phase"] == "cleanup", st
        r = mo.run("resume")
        assert r.rc == 0, r
    assert mo.run("status").out == "No deployment in progress\n"
    h = json.loads(mo.run("history", "--json").out)
    assert [x["result"] for x in h] == ["success"], h
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}


@pytest.mark.parametrize("reserve", [True, False])
def test_full_datastore_when_resume_or_rollback_starts(mo, tmp_path, tiny_datastore, reserve):
    """A deployment stopped before ArtifactCommit, then the datastore fills up: rollback uses
    the reserve to open the journal and goes on; without one, resume and rollback change
    nothing and exit 3, "free space, then run ... again" (never 1, "failed and rolled back")."""
    s = System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)])
    r = s.install("--stop-before", "ArtifactCommit")
    assert r.rc == 0, r
    if not reserve:
        (tiny_datastore / "orchestrator.reserve").unlink()
    filler = fill(tiny_datastore)
    if reserve:
        r = mo.run("rollback")
        assert r.rc == 0, r
        assert "using the space kept in reserve" in r.err, r
        assert s.versions() == {"gw": "gateway-v1", "r1": "rtos-v1"}
        filler.unlink()
        assert json.loads(mo.run("history", "--json").out)[0]["result"] == "rolled_back"  # the operator's
        return
    calls = len(s.kit.calls())
    for cmd in ("resume", "rollback"):
        r = mo.run(cmd)
        assert r.rc == 3, r
        last = error_lines(r)[-1]
        assert "the datastore is full and nothing was done" in last and f"then run 'mender-orchestrator {cmd}'" in last
    assert len(s.kit.calls()) == calls
    filler.unlink()
    r = mo.run("resume")
    assert r.rc == 0, r
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
    assert json.loads(mo.run("history", "--json").out)[0]["result"] == "success"
