"""The orchestrator killed alone (issue 16, item 5): SIGKILL of its pid only, as the OOM killer,
a crash or a supervisor that stops only the main process do it, while an Interface call runs.
Its Interface processes are not killed with it by anyone else. docs/state-machine.md
(Interruptions) says what must hold: the call's own process dies with the orchestrator (it is
tied to the orchestrator's lifetime), and whatever the call left running (a child doing the
work, as a shell's command would) is killed by the next `resume` before its first call. So
no call of the killed run still runs when the next run starts its first call, and the System
ends consistent: an interrupted forward state is a failure and everything is rolled back; an
interrupted ArtifactRollback is called again.

The scripted Interface (tests/kit/scripted-interface, `slow` and `trace`) does the slow call's
work in a child process that ticks every 50 ms, and every call records, as it starts, which
traced processes of another orchestrator are still alive (`foreign_alive`)."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import command
from system import System, version_key

SLOW = 4.0      # seconds the slow call's work would take (it is killed long before)
KILL_AT = 0.3   # seconds into the slow work when the orchestrator is killed

# scenario: (instance, slow call, extra settings per instance)
SCENARIOS = {
    "forward": ("r1", "ArtifactInstall", {}),
    "forward-two-calls": ("r1", "ArtifactInstall", {"r2": {"slow": {"ArtifactInstall": SLOW}}}),
    "rollback": ("r1", "ArtifactRollback", {"s1": {"exit": {"ArtifactInstall": 1}}}),
    "download": ("r1", "Download", {}),
}


def trace(system):
    path = system.kit.dir / "trace.log"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def start_time(pid):
    """/proc/<pid>/stat field 22, or None once the process is gone (a zombie counts as gone)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] in "ZX" else int(fields[19])


def alive(event):
    return start_time(event["pid"]) == event["start_time"]


@pytest.fixture
def system(mo, tmp_path):
    s = System(mo, tmp_path)
    for inst, *_ in s.components:
        s.configure(inst, trace=True)
    yield s
    for e in trace(s):   # whatever a failed test left running
        if alive(e):
            os.kill(e["pid"], signal.SIGKILL)


def wait_for(system, pred, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in trace(system) if pred(e)]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no {what} within {timeout} s: {trace(system)}")


def install_and_kill_alone(system, inst, call):
    """Starts install, SIGKILLs the orchestrator's pid alone KILL_AT s into inst's slow call.
    Returns the orchestrator's pid and the trace events of that call's own process and child."""
    p = subprocess.Popen(command("install", system.manifest), env=system.mo.env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        tick = wait_for(system, lambda e: e["ev"] == "tick" and e["instance"] == inst and e["call"] == call,
                        f"{inst} {call}")
        time.sleep(KILL_AT)
        assert p.poll() is None, p.stderr.read()
        os.kill(p.pid, signal.SIGKILL)
    finally:
        _, err = p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL, err
    events = [e for e in trace(system) if e["orch"] == p.pid and e["instance"] == inst and e["call"] == call]
    own = [e for e in events if e["ev"] == "begin"][-1]
    child = [e for e in events if e["ev"] == "child" and e["pid"] == tick["pid"]][0]
    return p.pid, own, child


def check_consistent(system):
    """Every Component on the old version: its own state, show-provides and history agree."""
    want = {inst: f"{ctype}-v1" for inst, ctype, *_ in system.components}
    assert system.versions() == want
    r = system.mo.run("show-provides")
    assert r.rc == 0, r
    for inst, ctype, iface, cid, _ in system.components:
        assert f"{ctype}.{cid}.{version_key(iface)}={ctype}-v1\n" in r.out, r.out
    history = json.loads(system.mo.run("history", "--json").out)
    assert history[0]["result"] == "failed", history
    assert system.mo.run("resume").rc == 2


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_killed_alone_in_a_call_then_resume(system, scenario):
    inst, call, extra = SCENARIOS[scenario]
    system.configure(inst, slow={call: SLOW})
    for other, settings in extra.items():
        system.configure(other, **settings)
    killed, own, child = install_and_kill_alone(system, inst, call)

    # (a) the call's own process dies with the orchestrator, at once
    deadline = time.monotonic() + 5
    while alive(own) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(own), own

    r = system.mo.run("resume")
    assert r.rc == 1, r   # rolled back (docs/state-machine.md, How a deployment ends)
    # (b) what the call left running was stopped before the next run's first call
    later = [e for e in trace(system) if e["ev"] == "begin" and e["orch"] != killed]
    assert later, trace(system)
    assert all(e["foreign_alive"] == [] for e in later), [e for e in later if e["foreign_alive"]]
    assert not alive(child)
    if scenario == "download":
        # the child was blocked opening stream-next, which nobody will write any more
        assert "stopping 1 Interface call(s) left running by an earlier run" in r.err, r
    if scenario == "forward-two-calls":
        assert "stopping 2 Interface call(s) left running by an earlier run" in r.err, r
    # the killed call's work never ended: it was not done behind the rollback's back
    assert not [e for e in trace(system) if e["orch"] == killed and e["ev"] == "end" and (e["instance"], e["call"]) == (inst, call)]
    calls = system.calls(inst)
    if scenario == "rollback":
        assert calls.count("ArtifactRollback") == 1, calls   # the killed one never logged itself
    check_consistent(system)
