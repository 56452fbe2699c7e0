"""status and history (docs/mender-orchestrator.1) over a journal written by the test-only
seeder built from tests/tools/journal_seed.c, without the engine."""
import json
import subprocess

import pytest

from kit import BUILD

SEED = BUILD / "tests" / "tools" / "mo-journal-seed"
T0 = 1714557600  # 2024-05-01T10:00:00Z


def member(ctype, cid, interface, order, selected=True, artifact=None, state=None, call_seq=0, done_seq=0,
           last_rc=0, error=None, needs_reboot=None, install_started=None):
    if install_started is None:
        install_started = state not in (None, "Download")
    return {
        "component_type": ctype, "id": cid, "interface": interface, "args": [], "legacy": False,
        "order": order, "selected": selected,
        "artifact_path": f"/rel/{artifact}.mender" if artifact else None, "artifact_name": artifact,
        "artifact_size": 1024, "manifest_sha256": "ab" * 32,
        "provides": {"rootfs-image.version": "v1"}, "new_provides": {},
        "needs_unpacked": "No", "provide_sizes": "No", "supports_rollback": "Yes",
        "needs_reboot": needs_reboot, "rollback_reboot": None,
        "touched": call_seq > 0, "install_started": install_started, "rollback_ok": False, "rb_attempts": 0,
        "rb_verified": False, "rb_given_up": False,
        "call_seq": call_seq, "done_seq": done_seq, "last_rc": last_rc,
        "last_state": state, "last_error": error,
    }


def deployment(name, members, status="in_progress", started=T0, ended=0, direction="forward",
               inconsistent=False, reboot_pending=False, failure=None):
    return {
        "id": 0, "status": status, "manifest_name": name, "manifest_path": "/rel/manifest.yaml",
        "manifest_dir": "/rel", "manifest_text": f"name: {name}\n", "manifest_format": 0,
        "topology_text": "kind: topology\n", "plan_hash": "00",
        "members": members, "direction": direction, "cursor": 0, "seq": 0, "rollback_top": 0,
        "inconsistent": inconsistent, "reboot_pending": reboot_pending, "boot_id": None,
        "resume_seq": 0, "resumes_without_progress": 0, "failure": failure,
        "started": started, "ended": ended,
    }


def seed(mo, *deployments):
    ids = []
    for d in deployments:
        p = subprocess.run([str(SEED), str(mo.datastore), "-"], input=json.dumps(d), capture_output=True,
                           text=True, check=True)
        ids.append(int(p.stdout))
    return ids


def system_members(state_rtos2="ArtifactInstall", call2=7, done2=6):
    return [
        member("gateway", "gw1", "gateway-interface", 10, artifact="gateway-v2", state="ArtifactVerifyReboot",
               call_seq=5, done_seq=5, needs_reboot="Automatic"),
        member("rtos", "R1", "rtos-interface", 20, selected=False, artifact="rtos-v2"),
        member("rtos", "R2", "rtos-interface", 20, artifact="rtos-v2", state=state_rtos2, call_seq=call2,
               done_seq=done2),
    ]


@pytest.fixture
def utc(mo):
    mo.env["TZ"] = "UTC"
    return mo


def test_idle_without_database(mo):
    r = mo.run("status")
    assert r.rc == 0, r
    assert r.out == "No deployment in progress\n"
    r = mo.run("status", "--json")
    assert r.rc == 0, r
    assert json.loads(r.out) is None
    r = mo.run("history")
    assert (r.rc, r.out) == (0, ""), r
    r = mo.run("history", "--json")
    assert r.rc == 0, r
    assert json.loads(r.out) == []
    assert not (mo.datastore / "orchestrator.db").exists()  # read-only: nothing created


def test_idle_with_only_ended_deployments(utc):
    seed(utc, deployment("old", system_members(), status="success", ended=T0 + 60))
    r = utc.run("status")
    assert (r.rc, r.out) == (0, "No deployment in progress\n"), r


def test_status_text(utc):
    (did,) = seed(utc, deployment("system-core-v2", system_members(), reboot_pending=True))
    r = utc.run("status")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == f"Deployment {did} in progress"
    assert "Manifest:        system-core-v2" in lines
    assert "Started:         2024-05-01T10:00:00+00:00" in lines
    assert "Direction:       forward" in lines
    assert "Groups:          10, 20" in lines
    assert "Current group:   order 20" in lines
    assert "Last step:       ArtifactInstall on rtos.R2 (running)" in lines
    assert "Reboot pending:  yes" in lines
    assert "Inconsistent:    no" in lines
    table = lines[lines.index("") + 1:]
    assert table[0].split() == ["COMPONENT", "INTERFACE", "ORDER", "ACTION", "ARTIFACT", "STATE", "RESULT"]
    assert table[1].split() == ["gateway.gw1", "gateway-interface", "10", "install", "gateway-v2",
                                "ArtifactVerifyReboot", "ok"]
    assert table[2].split() == ["rtos.R1", "rtos-interface", "20", "skip", "rtos-v2", "-", "none"]
    assert table[3].split() == ["rtos.R2", "rtos-interface", "20", "install", "rtos-v2", "ArtifactInstall",
                                "running"]
    # columns line up
    assert table[0].index("INTERFACE") == table[1].index("gateway-interface")


def test_status_of_a_failed_rollback(utc):
    """A deployment whose rollback failed (seeded as the engine leaves it, on the journal's
    recorded form): the phase, the Component and step, and what to do next."""
    members = system_members(state_rtos2="ArtifactFailure", call2=9, done2=9)
    members[2].update(rb_failed_step="ArtifactRollback", rb_failed_error="ArtifactRollback: Process exited with "
                      "status 1", install_started=True)
    d = deployment("system-core-v2", members, direction="rollback", failure="rtos.R2: ArtifactCommit: boom")
    d.update(rollback_failed=True, rollback_retries=1)
    seed(utc, d)
    r = utc.run("status")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert "Phase:           rollback-failed" in lines
    assert "Inconsistent:    yes" in lines
    assert "Rollback failed: rtos.R2: ArtifactRollback: Process exited with status 1" in lines
    assert any(l.startswith("Next:") and "mender-orchestrator rollback --give-up" in l for l in lines), lines
    s = json.loads(utc.run("status", "--json").out)
    assert (s["phase"], s["rollback_failed"], s["inconsistent"]) == ("rollback-failed", True, True)
    assert s["components"][2]["rollback_failure"] == {"state": "ArtifactRollback",
                                                     "error": "ArtifactRollback: Process exited with status 1"}
    assert s["components"][0]["rollback_failure"] is None


def test_status_json(utc):
    (did,) = seed(utc, deployment("system-core-v2", system_members(), direction="rollback", inconsistent=True,
                                  failure="ArtifactInstall failed on rtos.R2"))
    r = utc.run("status", "--json")
    assert r.rc == 0, r
    s = json.loads(r.out)
    assert s["id"] == did
    assert s["manifest"] == "system-core-v2"
    assert s["status"] == "in_progress"
    assert s["direction"] == "rollback"
    assert s["inconsistent"] is True
    assert s["reboot_pending"] is False
    assert s["failure"] == "ArtifactInstall failed on rtos.R2"
    assert s["started"] == "2024-05-01T10:00:00+00:00"
    assert s["groups"] == [10, 20]
    assert s["group"] == 20
    assert s["last_step"] == {"state": "ArtifactInstall", "component_type": "rtos", "id": "R2", "result": "running"}
    assert s["components"] == [
        {"component_type": "gateway", "id": "gw1", "interface": "gateway-interface", "order": 10,
         "action": "install", "artifact": "gateway-v2", "state": "ArtifactVerifyReboot", "result": "ok",
         "error": None, "rollback_failure": None},
        {"component_type": "rtos", "id": "R1", "interface": "rtos-interface", "order": 20, "action": "skip",
         "artifact": "rtos-v2", "state": None, "result": "none", "error": None, "rollback_failure": None},
        {"component_type": "rtos", "id": "R2", "interface": "rtos-interface", "order": 20, "action": "install",
         "artifact": "rtos-v2", "state": "ArtifactInstall", "result": "running", "error": None, "rollback_failure": None},
    ]


def test_status_failed_member_shows_its_error(utc):
    members = system_members(state_rtos2="Download", call2=4, done2=4)
    members[2]["last_rc"] = 1
    members[2]["last_error"] = "Download: exit status 1"
    seed(utc, deployment("m", members))
    r = utc.run("status", "--json")
    comp = json.loads(r.out)["components"][2]
    assert (comp["state"], comp["result"], comp["error"]) == ("Download", "failed", "Download: exit status 1")
    r = utc.run("status")
    assert "  error: Download: exit status 1" in r.out.splitlines()


def test_status_before_any_call(utc):
    members = [member("rtos", "R1", "rtos-interface", 20, artifact="rtos-v2")]
    seed(utc, deployment("fresh", members))
    r = utc.run("status")
    assert r.rc == 0, r
    assert "Last step:       none yet" in r.out
    assert "Current group:   -" in r.out
    s = json.loads(utc.run("status", "--json").out)
    assert s["group"] is None and s["last_step"] is None
    assert s["components"][0]["result"] == "none"


def test_history_text_and_json(utc):
    ids = seed(utc,
               deployment("v1", system_members(), status="success", started=T0, ended=T0 + 90),
               deployment("v2", system_members(), status="failed", started=T0 + 3600, ended=T0 + 3700),
               deployment("v3", system_members(), status="inconsistent", started=T0 + 7200, ended=T0 + 7300),
               deployment("v4", system_members()))  # in progress: not history
    r = utc.run("history")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert len(lines) == 3
    assert lines[0].split("  ") == [str(ids[2]), "v3", "2024-05-01T12:00:00+00:00", "2024-05-01T12:01:40+00:00",
                                    "inconsistent", "0.1.0", "gateway.gw1: gateway-v2, rtos.R2: rtos-v2"]
    assert lines[2].split() [:5] == [str(ids[0]), "v1", "2024-05-01T10:00:00+00:00", "2024-05-01T10:01:30+00:00",
                                     "success"]
    r = utc.run("history", "--json")
    assert r.rc == 0, r
    h = json.loads(r.out)
    assert [e["id"] for e in h] == [ids[2], ids[1], ids[0]]
    assert h[1] == {"id": ids[1], "manifest": "v2", "started": "2024-05-01T11:00:00+00:00",
                    "ended": "2024-05-01T11:01:40+00:00", "result": "failed",
                    "changed": ["gateway.gw1: gateway-v2", "rtos.R2: rtos-v2"],
                    "versions": ["0.1.0"],  # records without versions are 0.1.0's (docs/compatibility.md)
                    "failure": None}
    r = utc.run("history", "-n", "2", "--json")
    assert [e["manifest"] for e in json.loads(r.out)] == ["v3", "v2"]
    r = utc.run("history", "-n1")
    assert len(r.out.splitlines()) == 1 and r.out.split()[1] == "v3"


def test_history_keeps_the_last_100(utc):
    seed(utc, *[deployment(f"m{i}", system_members(), status="failed", ended=T0 + i) for i in range(103)])
    h = json.loads(utc.run("history", "--json").out)
    assert len(h) == 100
    assert h[0]["manifest"] == "m102" and h[-1]["manifest"] == "m3"


def test_history_nothing_changed(utc):
    seed(utc, deployment("same", [member("rtos", "R1", "rtos-interface", 20, selected=False, artifact="a")],
                         status="success", ended=T0 + 1))
    r = utc.run("history")
    assert r.out.rstrip().endswith("success  0.1.0  -")
    assert json.loads(utc.run("history", "--json").out)[0]["changed"] == []


def test_history_lists_only_components_whose_install_started(utc):
    """A deployment that failed at Download modified nothing: no Component is listed as changed."""
    members = [member("gateway", "gw1", "gateway-interface", 10, artifact="gateway-v2", state="Cleanup",
                      call_seq=3, done_seq=3, install_started=False),
               member("rtos", "R2", "rtos-interface", 20, artifact="rtos-v2")]
    members[0]["last_error"] = None
    seed(utc, deployment("dl-failed", members, status="failed", ended=T0 + 5, failure="Download failed"),
         deployment("half", system_members(state_rtos2="Download", call2=4, done2=4), status="failed",
                    ended=T0 + 9))
    h = json.loads(utc.run("history", "--json").out)
    assert h[1]["manifest"] == "dl-failed" and h[1]["changed"] == []
    assert h[0]["manifest"] == "half" and h[0]["changed"] == ["gateway.gw1: gateway-v2"]
    lines = utc.run("history").out.splitlines()
    # and why it failed, at the end of the line
    assert lines[1].endswith("failed  0.1.0  -  (Download failed)"), lines
    assert h[1]["failure"] == "Download failed"


@pytest.mark.parametrize("count", ["0", "-1", "abc", "", "1.5", "2x"])
def test_history_bad_count_is_a_usage_error(mo, count):
    r = mo.run("history", "-n", count)
    assert r.rc == 1, r
    assert "-n needs a positive integer" in r.err
    assert r.out == ""


def test_status_takes_no_options_of_other_commands(mo):
    r = mo.run("status", "-n", "3")
    assert r.rc == 1, r
    r = mo.run("status", "extra")
    assert r.rc == 1, r


def test_corrupt_journal_is_an_error(mo):
    (mo.datastore / "orchestrator.db").write_text("this is not a database" * 100)
    r = mo.run("status")
    assert r.rc == 1, r
    assert "orchestrator.db" in r.err
    r = mo.run("history")
    assert r.rc == 1, r
