"""install / resume / rollback: exact Interface call sequences, exit codes and the
provides each Component ends with (docs/state-machine.md)."""
import json
import time

import pytest

from system import FORWARD_CALLS, System

HAPPY = ["Identity", "Provides"] + FORWARD_CALLS + ["ArtifactCommit", "Cleanup"]


@pytest.fixture
def system(mo, tmp_path):
    return System(mo, tmp_path)


def test_happy_path_three_groups_five_components(system):
    r = system.install()
    assert r.rc == 0, r
    for inst in ("gw", "r1", "r2", "s1", "s2"):
        assert system.calls(inst) == HAPPY, inst
    assert system.versions() == {"gw": "gateway-v2", "r1": "rtos-v2", "r2": "rtos-v2", "s1": "sensor-v2",
                                 "s2": "sensor-v2"}
    # groups run in ascending order; every install finished before the first commit
    calls = system.kit.calls()
    first = {c["instance"]: c["start"] for c in calls if c["call"] == "Download"}
    assert first["gw"] < first["r1"] < first["s1"]
    last_install = max(c["end"] for c in calls if c["call"] == "ArtifactInstall")
    first_commit = min(c["start"] for c in calls if c["call"] == "ArtifactCommit")
    assert last_install <= first_commit
    # nothing left in progress; the work dirs are gone
    assert system.mo.run("resume").rc == 2
    assert not any((system.mo.datastore / "work").rglob("version"))


def test_payload_reaches_the_interface(system):
    system.configure("r1", save=True)
    r = system.install()
    assert r.rc == 0, r
    got = (system.kit.dir / "received" / "r1" / "rtos-v2.mender.payload").read_bytes()
    assert got == b"rtos v2\n"


def overlaps(calls, state):
    spans = sorted((c["start"], c["end"]) for c in calls if c["call"] == state)
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def test_group_members_run_in_parallel(system):
    for inst in ("r1", "r2"):
        system.configure(inst, sleep={"ArtifactInstall": 0.6})
    r = system.install()
    assert r.rc == 0, r
    calls = [c for c in system.kit.calls() if c["instance"] in ("r1", "r2")]
    assert overlaps(calls, "ArtifactInstall")


def test_a_group_of_three_runs_in_parallel(mo, tmp_path):
    comps = [("gw", "gateway", "gw-if", "GW", 10)] + [
        (f"s{i}", "sensor", "sensor-if", f"S{i}", 30) for i in (1, 2, 3)]
    system = System(mo, tmp_path, components=comps)
    for i in (1, 2, 3):
        system.configure(f"s{i}", sleep={"Download": 0.5, "ArtifactInstall": 0.5})
    r = system.install()
    assert r.rc == 0, r
    calls = [c for c in system.kit.calls() if c["instance"] in ("s1", "s2", "s3")]
    for state in ("Download", "ArtifactInstall"):
        spans = [(c["start"], c["end"]) for c in calls if c["call"] == state]
        assert len(spans) == 3
        # all three were running at one moment
        assert max(s for s, _ in spans) < min(e for _, e in spans), (state, spans)


def test_parallel_cap_is_respected(system):
    system.mo.write_config('{"MaxParallelInterfaces": 1}')
    for inst in ("r1", "r2"):
        system.configure(inst, sleep={"ArtifactInstall": 0.3})
    r = system.install()
    assert r.rc == 0, r
    calls = [c for c in system.kit.calls() if c["instance"] in ("r1", "r2")]
    assert not overlaps(calls, "ArtifactInstall")


def test_partial_update_skips_installed_components(system):
    system.configure("r2", provides={"rootfs-image.rtos-if.version": "rtos-v2", "artifact_name": "rtos-v2"})
    r = system.install()
    assert r.rc == 0, r
    assert system.calls("r2") == ["Identity", "Provides"]
    assert system.calls("r1") == HAPPY


def test_no_candidate_touches_nothing(system):
    (system.release / "sensor-v2.mender").unlink()
    r = system.install()
    assert r.rc == 1
    assert "component sensor.S1" in r.err
    for inst in ("gw", "r1", "r2", "s1", "s2"):
        assert system.calls(inst) == ["Identity", "Provides"]
    assert system.mo.run("resume").rc == 2


def expected_calls(system, fail_inst, fail_state):
    """The call sequences of docs/state-machine.md (forward, rollback) when fail_state fails on fail_inst."""
    groups = {}
    for inst, _, _, _, order in system.components:
        groups.setdefault(order, []).append(inst)
    orders = sorted(groups)
    calls = {inst: ["Identity", "Provides"] for g in orders for inst in groups[g]}
    failed = False
    soft = fail_state in ("SupportsRollback", "Cleanup")  # logged; the update goes on
    for g in orders:
        for state in FORWARD_CALLS:
            for inst in groups[g]:
                calls[inst].append(state)
                if (inst, state) == (fail_inst, fail_state) and not soft:
                    failed = True
            if failed:
                break
        if failed:
            break
    if not failed:
        for g in orders:
            for inst in groups[g]:
                calls[inst].append("ArtifactCommit")
                failed |= (inst, "ArtifactCommit") == (fail_inst, fail_state)
            if failed:
                break
    if failed:
        touched = [i for i in calls if len(calls[i]) > 2]
        started = [i for i in calls if "ArtifactInstall" in calls[i]]
        for g in reversed(orders):
            members = [i for i in groups[g] if i in started]
            rolled = [i for i in members if not (i == fail_inst and fail_state == "SupportsRollback")]
            for i in rolled:
                calls[i].append("ArtifactRollback")
            for i in rolled:
                calls[i].append("NeedsArtifactReboot")
            for i in members:
                calls[i].append("ArtifactFailure")
        if fail_state == "NeedsArtifactReboot":  # failed again after ArtifactRollback: the deployment waits
            return calls, failed
        for i in touched:
            calls[i].append("Cleanup")
    else:
        for i in calls:
            calls[i].append("Cleanup")
    return calls, failed


STATES = FORWARD_CALLS + ["ArtifactCommit", "Cleanup"]


@pytest.mark.parametrize("inst", ["gw", "r2", "s1"])
@pytest.mark.parametrize("state", STATES)
def test_failure_at_every_state_of_every_group(system, inst, state):
    system.configure(inst, exit={state: 1})
    r = system.install()
    want, failed = expected_calls(system, inst, state)
    # NeedsArtifactReboot is asked again after ArtifactRollback; failing there too leaves
    # the System possibly inconsistent and the deployment open for a retry (docs/state-machine.md)
    assert r.rc == (0 if not failed else 3 if state == "NeedsArtifactReboot" else 1), r
    for i in want:
        assert system.calls(i) == want[i], (i, system.calls(i))
    if state == "NeedsArtifactReboot":
        assert json.loads(system.mo.run("status", "--json").out)["phase"] == "rollback-failed"
        system.configure(inst, exit={state: 0})
        r = system.mo.run("rollback")  # the retry asks that member again; then the cleanups
        assert r.rc == 0, r
        assert system.calls(inst)[len(want[inst]):] == ["NeedsArtifactReboot", "Cleanup"]
    v = system.versions()
    if failed:
        for i, ctype, *_ in system.components:
            assert v[i] == f"{ctype}-v1", (i, v)
    else:
        for i, ctype, *_ in system.components:
            assert v[i] == f"{ctype}-v2", (i, v)


def test_component_without_rollback_support_makes_it_inconsistent(system):
    system.configure("r1", answers={"SupportsRollback": "No\n"})
    system.configure("s1", exit={"ArtifactInstall": 1})
    r = system.install("--stop-before", "Cleanup")
    assert r.rc == 3, r
    st = json.loads(system.mo.run("status", "--json").out)
    assert st["inconsistent"] is True and st["direction"] == "rollback"
    r = system.mo.run("resume")
    assert r.rc == 3, r
    assert "ArtifactRollback" not in system.calls("r1")
    assert system.calls("r1")[-2:] == ["ArtifactFailure", "Cleanup"]
    assert system.versions()["r1"] == "rtos-v2"  # modified and not restored
    h = system.mo.run("history", "--json")
    assert h.rc == 0, h
    assert json.loads(h.out)[0]["result"] == "inconsistent"


@pytest.mark.parametrize("state", ["ArtifactRollback", "ArtifactFailure"])
def test_failing_rollback_steps_make_it_inconsistent(system, state):
    """The rollback pass goes on past the failure, then the deployment waits (no Cleanup)
    until the step is retried, or given up."""
    system.configure("gw", exit={state: 1})
    system.configure("s2", exit={"ArtifactCommit": 1})
    r = system.install()
    assert r.rc == 3, r
    assert system.calls("gw")[-1] == "ArtifactFailure"
    assert all("Cleanup" not in system.calls(i) for i in ("gw", "r1", "r2", "s1", "s2"))
    st = json.loads(system.mo.run("status", "--json").out)
    assert st["phase"] == "rollback-failed" and st["inconsistent"] is True, st
    r = system.mo.run("rollback", "--give-up")
    assert r.rc == 3, r
    assert system.calls("gw")[-1] == "Cleanup"
    assert json.loads(system.mo.run("history", "--json").out)[0]["result"] == "inconsistent"


def test_reboot_yes(system):
    system.configure("r1", answers={"NeedsArtifactReboot": "Yes\n"})
    r = system.install()
    assert r.rc == 0, r
    assert system.calls("r1") == ["Identity", "Provides"] + FORWARD_CALLS + [
        "ArtifactReboot", "ArtifactVerifyReboot", "ArtifactCommit", "Cleanup"]
    assert "ArtifactReboot" not in system.calls("r2")


def test_reboot_automatic_with_exit_on_reboot(system):
    system.configure("r1", answers={"NeedsArtifactReboot": "Automatic\n"})
    r = system.install("--exit-on-reboot")
    assert r.rc == 4, r
    assert system.calls("r1") == ["Identity", "Provides"] + FORWARD_CALLS
    assert system.calls("s1") == ["Identity", "Provides"]  # the next group waits for the reboot
    r = system.mo.run("resume")
    assert r.rc == 0, r
    assert system.calls("r1") == ["Identity", "Provides"] + FORWARD_CALLS + [
        "ArtifactVerifyReboot", "ArtifactCommit", "Cleanup"]
    assert "ArtifactReboot" not in system.calls("r1")
    assert "ArtifactVerifyReboot" not in system.calls("r2")


def test_reboot_automatic_with_reboot_command(system, tmp_path):
    """RebootCommand is a script that 'reboots' by killing the orchestrator."""
    reboots = system.mo.fake_reboot(tmp_path)
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    r = system.install()
    assert r.rc == -9, r
    assert reboots.read_text() == "\n"
    r = system.mo.run("resume")
    assert r.rc == 0, r
    assert system.calls("gw") == ["Identity", "Provides"] + FORWARD_CALLS + [
        "ArtifactVerifyReboot", "ArtifactCommit", "Cleanup"]


def test_reboot_that_never_happens_fails(system, tmp_path):
    system.mo.write_config(json.dumps({"RebootCommand": "/bin/true", "RebootTimeoutSeconds": 1}))
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    r = system.install()
    assert r.rc == 1, r
    assert "did not reboot within 1 s" in r.err
    # the rollback asks again, gets Automatic, "reboots" (fails too: only logged), verifies
    assert system.calls("gw") == ["Identity", "Provides"] + FORWARD_CALLS + [
        "ArtifactRollback", "NeedsArtifactReboot", "ArtifactVerifyRollbackReboot", "ArtifactFailure", "Cleanup"]
    assert system.versions()["gw"] == "gateway-v1"


@pytest.mark.parametrize("stop", ["ArtifactCommit", "Cleanup"])
def test_stop_points_then_resume(system, stop):
    r = system.install("--stop-before", stop)
    assert r.rc == 0, r
    n = len(system.kit.calls())
    r = system.mo.run("resume", "--stop-before", stop)  # the same stop point stops again at once
    assert r.rc == 0, r
    assert len(system.kit.calls()) == n
    st = system.mo.run("status", "--json")
    assert st.rc == 0 and json.loads(st.out)["direction"] == "forward"
    assert json.loads(st.out)["phase"] == {"ArtifactCommit": "commit", "Cleanup": "cleanup"}[stop]
    r = system.mo.run("resume")
    assert r.rc == 0, r
    for inst in ("gw", "r1", "s2"):
        assert system.calls(inst) == HAPPY


def test_status_says_where_a_deployment_stopped_and_what_continues_it(system):
    def stop():
        st = json.loads(system.mo.run("status", "--json").out)
        return st["stopped_before"], st["continue_with"]

    assert system.install("--stop-before", "ArtifactCommit").rc == 0
    assert stop() == ("ArtifactCommit", ["resume", "rollback"])
    r = system.mo.run("status")
    assert ("Stopped before:  ArtifactCommit; run 'mender-orchestrator resume' to continue, or "
            "'mender-orchestrator rollback' to roll the System back") in r.out.splitlines(), r
    assert system.mo.run("resume", "--stop-before", "Cleanup").rc == 0
    assert stop() == ("Cleanup", ["resume", "rollback"])
    assert system.mo.run("resume").rc == 0
    # the failure path: stopped before the rollback pass, then before its Cleanup
    system.write_manifest("v3")
    system.configure("s1", exit={"ArtifactInstall": 1})
    assert system.install("--stop-before", "ArtifactRollback").rc == 1
    assert stop() == ("ArtifactRollback", ["rollback", "resume"])
    assert "Stopped before:  ArtifactRollback; run 'mender-orchestrator rollback' (or resume) to roll the System " \
           "back" in system.mo.run("status").out
    assert system.mo.run("rollback", "--stop-before", "Cleanup").rc == 0
    assert stop() == ("Cleanup", ["resume", "rollback"])
    assert "Stopped before:  Cleanup; run 'mender-orchestrator resume' (or rollback) to clean up and end the " \
           "deployment" in system.mo.run("status").out
    assert system.mo.run("resume").rc == 1


def test_status_of_a_deployment_waiting_for_a_reboot_is_not_stopped(system):
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    assert system.install("--exit-on-reboot").rc == 4
    st = json.loads(system.mo.run("status", "--json").out)
    assert (st["stopped_before"], st["continue_with"], st["reboot_pending"]) == (None, [], True)
    assert "Stopped before" not in system.mo.run("status").out


def test_stop_before_rollback_then_rollback(system):
    system.configure("s1", exit={"ArtifactInstall": 1})
    r = system.install("--stop-before", "ArtifactRollback", "--stop-before", "Cleanup")
    assert r.rc == 1, r
    assert "ArtifactRollback" not in system.calls("gw")
    r = system.mo.run("rollback", "--stop-before", "Cleanup")
    assert r.rc == 0, r
    assert system.calls("gw")[-3:] == ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactFailure"]
    r = system.mo.run("resume")
    assert r.rc == 1, r  # resume reports the deployment: it failed and was rolled back
    assert system.calls("gw")[-1] == "Cleanup"
    assert system.versions()["gw"] == "gateway-v1"


def test_rollback_command_after_stop_before_commit(system):
    r = system.install("--stop-before", "ArtifactCommit")
    assert r.rc == 0, r
    r = system.mo.run("rollback")
    assert r.rc == 0, r
    for inst, ctype, *_ in system.components:
        assert system.versions()[inst] == f"{ctype}-v1"
        assert system.calls(inst)[-4:] == ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactFailure", "Cleanup"]


def test_requested_rollback_is_recorded_as_rolled_back_not_failed(system):
    assert system.install("--stop-before", "ArtifactCommit").rc == 0
    r = system.mo.run("rollback", "--stop-before", "Cleanup")
    assert r.rc == 0, r
    r = system.mo.run("resume")  # resume reports the deployment: it did not install
    assert r.rc == 1, r
    assert "rolled back as requested" in r.err and "severity=error" not in r.err, r.err
    h = json.loads(system.mo.run("history", "--json").out)
    assert (h[0]["result"], h[0]["manifest"]) == ("rolled_back", "sys-v2")
    assert "rolled_back" in system.mo.run("history").out.splitlines()[0]
    # a failure rolled back, even finished by the rollback command, stays "failed"
    system.configure("s1", exit={"ArtifactInstall": 1})
    assert system.install("--stop-before", "ArtifactRollback").rc == 1
    r = system.mo.run("rollback")
    assert r.rc == 0, r
    assert json.loads(system.mo.run("history", "--json").out)[0]["result"] == "failed"


def test_first_group_download_failure_goes_straight_to_cleanup(system):
    system.configure("gw", exit={"Download": 1})
    r = system.install("--stop-before", "ArtifactRollback")
    assert r.rc == 1, r
    assert system.calls("gw") == ["Identity", "Provides", "NeedsUnpackedArtifact", "ProvidePayloadFileSizes",
                                  "Download", "Cleanup"]


def test_history_lists_only_the_components_whose_install_started(system):
    system.configure("gw", exit={"Download": 1})
    assert system.install().rc == 1
    h = json.loads(system.mo.run("history", "--json").out)
    assert (h[0]["result"], h[0]["changed"]) == ("failed", [])  # nothing was modified
    system.configure("gw", exit={"Download": 0})
    system.configure("r1", exit={"Download": 1})
    assert system.install().rc == 1
    h = json.loads(system.mo.run("history", "--json").out)
    assert (h[0]["result"], h[0]["changed"]) == ("failed", ["gateway.GW: gateway-v2"])  # installed, rolled back


def test_preparation_failure_parked_before_cleanup(system):
    (system.release / "sensor-v2.mender").unlink()
    r = system.install("--stop-before", "Cleanup")
    assert r.rc == 1
    r = system.mo.run("rollback", "--stop-before", "Cleanup")
    assert r.rc == 0, r
    r = system.mo.run("resume")
    assert r.rc == 1, r
    assert system.mo.run("resume").rc == 2


def test_nothing_in_progress(system):
    assert system.mo.run("resume").rc == 2
    assert system.mo.run("rollback").rc == 2


def test_install_while_one_is_in_progress(system):
    assert system.install("--stop-before", "ArtifactCommit").rc == 0
    r = system.install()
    assert r.rc == 1
    assert "is in progress; run 'mender-orchestrator resume'" in r.err


def test_install_while_another_process_runs(system):
    import subprocess
    from conftest import BIN
    system.configure("gw", sleep={"Download": 3})
    p = subprocess.Popen([BIN, "install", str(system.manifest)], env=system.mo.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(1)
    r = system.install()
    p.wait(timeout=60)
    assert r.rc == 1
    lock = system.mo.datastore / "orchestrator.lock"
    assert (f"another mender-orchestrator process is running (PID {p.pid} holds {lock}); wait for it to end, "
            "then try again") in r.err, r


def test_rollback_refused_once_cleanup_started(system):
    system.configure("gw", kill_parent=["Cleanup"])
    assert system.install().rc == -9
    r = system.mo.run("rollback")
    assert r.rc == 1
    assert "run 'mender-orchestrator resume' to finish it" in r.err
    assert system.mo.run("resume").rc == 0
    assert system.versions()["gw"] == "gateway-v2"


def test_rollback_before_cleanup_undoes_committed_components(system):
    assert system.install("--stop-before", "Cleanup").rc == 0
    r = system.mo.run("rollback")
    assert r.rc == 0, r
    for inst, ctype, *_ in system.components:
        assert system.versions()[inst] == f"{ctype}-v1"
        assert system.calls(inst)[-5:] == ["ArtifactCommit", "ArtifactRollback", "NeedsArtifactReboot",
                                           "ArtifactFailure", "Cleanup"]


@pytest.mark.parametrize("state,outcome", [
    ("Download", "rolled back"),
    ("ArtifactInstall", "rolled back"),
    ("ArtifactCommit", "rolled back"),
    ("NeedsArtifactReboot", "success"),   # a query: asked again
    ("Cleanup", "success"),               # run again
])
def test_killed_inside_a_state_then_resume(system, state, outcome):
    system.configure("r1", kill_parent=[state])
    r = system.install()
    assert r.rc == -9, r
    r = system.mo.run("resume")
    if outcome == "success":
        assert r.rc == 0, r
        assert system.versions()["r1"] == "rtos-v2"
        assert system.calls("r1").count(state) == 2
    else:
        assert r.rc == 1, r
        for inst, ctype, *_ in system.components:
            assert system.versions()[inst] == f"{ctype}-v1"
    assert system.mo.run("resume").rc == 2


def test_interrupted_artifact_reboot_continues_with_verify(system):
    system.configure("r1", answers={"NeedsArtifactReboot": "Yes\n"}, kill_parent=["ArtifactReboot"])
    assert system.install().rc == -9
    r = system.mo.run("resume")
    assert r.rc == 0, r
    assert system.calls("r1").count("ArtifactReboot") == 1
    assert "ArtifactVerifyReboot" in system.calls("r1")


def test_everything_already_installed_still_passes_every_phase(system):
    assert system.install().rc == 0
    n = len(system.kit.calls())
    r = system.install("--stop-before", "ArtifactCommit")
    assert r.rc == 0, r
    assert [c["call"] for c in system.kit.calls()[n:]] == ["Identity", "Provides"] * 5
    assert system.mo.run("resume").rc == 0


def test_status_and_history(system):
    assert system.install("--stop-before", "ArtifactCommit").rc == 0
    st = json.loads(system.mo.run("status", "--json").out)
    assert [c["id"] for c in st["components"]] == ["GW", "R1", "R2", "S1", "S2"]
    assert system.mo.run("resume").rc == 0
    h = json.loads(system.mo.run("history", "--json").out)
    assert h[0]["result"] == "success"
    assert h[0]["manifest"] == "sys-v2"


def test_legacy_seed_manifest_end_to_end(mo, tmp_path):
    """The 2024 product description's example (indentation corrected), end to end."""
    import shutil
    from conftest import ROOT, make_artifact
    from kit import Kit
    kit = Kit(tmp_path / "kit", mo.data)
    mo.env.update(kit.env())
    for ctype in ("gateway", "rtos"):
        kit.install(ctype)
    rel = tmp_path / "bundle"
    rel.mkdir()
    shutil.copy(ROOT / "tests" / "unit" / "data" / "legacy-seed-2024-fixed.yaml", rel / "manifest.yaml")
    make_artifact(rel / "gateway-v1.mender", "gateway-v1", ["gateway"], payload_type="gateway")
    make_artifact(rel / "rtos-v1.mender", "rtos-v1", ["rtos"], payload_type="rtos")
    for cid, ctype in (("G13", "gateway"), ("R456", "rtos"), ("R998", "rtos")):
        kit.configure(cid, answers={"SupportsRollback": "Yes"}, provides={f"rootfs-image.{ctype}.version": "v0"})
    r = mo.run("install", rel / "manifest.yaml")
    assert r.rc == 0, r
    for cid, ctype in (("G13", "gateway"), ("R456", "rtos"), ("R998", "rtos")):
        calls = kit.calls(cid)
        # no Identity for legacy Manifests; the id follows the component type in argv
        assert [c["call"] for c in calls] == ["Provides"] + [
            "NeedsUnpackedArtifact", "ProvidePayloadFileSizes", "Download", "SupportsRollback", "ArtifactInstall",
            "NeedsArtifactReboot", "ArtifactCommit", "Cleanup"]
        assert calls[-1]["argv"][3:5] == [ctype, cid]
    g13 = kit.calls("G13")[0]["start"]
    assert all(c["start"] > g13 for c in kit.calls("R456"))
    r = mo.run("show-provides", "--manifest-components", rel / "manifest.yaml")
    assert r.rc == 0, r
    assert "gateway.G13.rootfs-image.gateway.version=gateway-v1\n" in r.out
    assert "rtos.R998.rootfs-image.rtos.version=rtos-v1\n" in r.out
    h = json.loads(mo.run("history", "--json").out)
    assert h[0]["manifest"] == "system-core-v1" and h[0]["result"] == "success"


def test_install_with_plan_hash(system):
    plan = json.loads(system.mo.run("plan", "--format", "json", system.manifest).out)
    r = system.install("--plan-hash", "0" * 64)
    assert r.rc == 1
    assert f"the plan is {plan['plan_hash']}" in r.err
    assert system.calls("gw") == ["Identity", "Provides", "Identity", "Provides"]
    r = system.install("--plan-hash", plan["plan_hash"])
    assert r.rc == 0, r


def test_progress_json_lines(system):
    r = system.install("--progress=json")
    assert r.rc == 0, r
    events = [json.loads(l) for l in r.out.splitlines()]
    ends = [(e["id"], e["state"]) for e in events if e["event"] == "call_end"]
    assert ("GW", "ArtifactInstall") in ends and ("S2", "Cleanup") in ends
    assert all(e["result"] == "ok" for e in events if e["event"] == "call_end")


def test_plan_shows_the_reboot_answer_of_the_last_deployment(system):
    system.configure("gw", answers={"NeedsArtifactReboot": "Yes\n"})
    assert system.install().rc == 0
    system.write_manifest("v3")
    plan = json.loads(system.mo.run("plan", "--format", "json", system.manifest).out)
    gw = [c for g in plan["groups"] for c in g["components"] if c["id"] == "GW"][0]
    assert gw["expected_reboot"] == "Yes"


def test_plan_shows_each_components_own_reboot_answer(system):
    """R1 and R2 share an Interface; each one's answer is shown, neither hides the other."""
    system.configure("r1", answers={"NeedsArtifactReboot": "Yes\n"})
    system.configure("r2", answers={"NeedsArtifactReboot": "No\n"})
    assert system.install().rc == 0
    system.write_manifest("v3")
    plan = json.loads(system.mo.run("plan", "--format", "json", system.manifest).out)
    got = {c["id"]: (c["expected_reboot"], c["expected_reboot_source"]) for g in plan["groups"]
           for c in g["components"]}
    assert got["R1"][0] == "Yes" and got["R2"][0] == "No", got
    assert got["R1"][1] == got["R2"][1] != "deployment", got
    text = system.mo.run("plan", system.manifest).out
    assert "rtos.R1:" in text and "rtos.R2:" in text
    assert [l for l in text.splitlines() if "rtos.R2:" in l][0].count("expected reboot: No") == 1, text


def test_every_command_documents_its_exit_codes(mo):
    for cmd in ("install", "resume", "rollback", "show-provides", "show-inventory", "check", "plan", "status",
                "history", "repo-index", "help"):
        r = mo.run(cmd, "--help")
        assert r.rc == 0 and "\nExit codes:\n  0  " in r.out, (cmd, r)


def test_loop_guard_rolls_back_a_deployment_that_never_progresses(system):
    system.configure("r1", kill_parent_always=["SupportsRollback"])
    assert system.install().rc == -9
    rcs = [system.mo.run("resume").rc for _ in range(7)]
    assert rcs[:5] == [-9] * 5, rcs
    assert rcs[5] == 1, rcs          # failed by the loop guard, then rolled back
    assert rcs[6] == 2, rcs          # nothing left in progress
    assert system.versions()["gw"] == "gateway-v1"
    assert system.calls("gw")[-4:] == ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactFailure", "Cleanup"]
    assert system.calls("r1")[-1] == "Cleanup"
