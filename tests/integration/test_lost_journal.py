"""A journal that is lost (deleted, emptied) or a datastore that cannot be used is an error
with a next step, never "nothing in progress" (README, Troubleshooting)."""
import json
import os
import shutil

import pytest

from system import System

LOST = "orchestrator.db: the journal is missing or empty, but "


@pytest.fixture
def system(mo, tmp_path):
    return System(mo, tmp_path, components=[("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)])


def every_deploying_command(system):
    """The commands that need the journal."""
    m = system.manifest
    return [("status",), ("status", "--json"), ("history",), ("resume",), ("rollback",), ("install", m),
            ("plan", m)]


def assert_refused(system, needle):
    calls = len(system.kit.calls())
    db = system.mo.datastore / "orchestrator.db"
    size = db.stat().st_size if db.exists() else None
    for argv in every_deploying_command(system):
        r = system.mo.run(*argv)
        assert r.rc == 1, (argv, r)
        assert LOST in r.err and needle in r.err, (argv, r)
        assert r.out == "", (argv, r)  # never "No deployment in progress" (or null)
        lines = [l for l in r.err.splitlines() if LOST in l]
        assert len(lines) == 1 and "then remove" in lines[0] and "README: Troubleshooting" in lines[0], r.err
    # nothing was called, and the journal is as it was
    assert len(system.kit.calls()) == calls
    assert (db.stat().st_size if db.exists() else None) == size


def test_emptied_journal_mid_deployment(system):
    assert system.install("--stop-before", "ArtifactCommit").rc == 0
    before = system.versions()
    os.truncate(system.mo.datastore / "orchestrator.db", 0)
    assert_refused(system, "work holds the work dirs of a deployment in progress (")
    r = system.mo.run("resume")
    assert "its Components may be half-updated" in r.err
    assert system.versions() == before


def test_deleted_journal_mid_deployment(system):
    assert system.install("--stop-before", "ArtifactCommit").rc == 0
    for p in system.mo.datastore.glob("orchestrator.db*"):
        p.unlink()
    assert_refused(system, "and 1 more): its Components may be half-updated")


def test_deleted_journal_when_idle_then_a_new_one(system):
    assert system.install().rc == 0
    assert not any((system.mo.datastore / "work").glob("*/*"))
    (system.mo.datastore / "orchestrator.db").unlink()
    marker = system.mo.datastore / "orchestrator.created"
    assert_refused(system, f"{marker} shows that this datastore had one: the history is lost")
    r = system.mo.run("status")
    assert f"then remove {marker} to start a new journal" in r.err, r
    # the operator did what the message says: a new journal
    marker.unlink()
    r = system.mo.run("status")
    assert (r.rc, r.out) == (0, "No deployment in progress\n"), r
    system.write_manifest("v3")
    assert system.install().rc == 0
    assert marker.is_file()
    assert json.loads(system.mo.run("history", "--json").out)[0]["result"] == "success"


def test_a_new_datastore_is_not_a_lost_journal(mo):
    r = mo.run("status")
    assert (r.rc, r.out) == (0, "No deployment in progress\n"), r
    assert mo.run("resume").rc == 2
    assert (mo.datastore / "orchestrator.created").is_file()  # resume opened the journal


@pytest.mark.parametrize("argv", [("status",), ("history",), ("resume",), ("rollback",), ("install", "M"),
                                  ("plan", "M"), ("show-provides",), ("show-inventory",)])
def test_datastore_that_is_a_file_is_an_error(system, argv):
    shutil.copy(system.mo.datastore / "topology.yaml", system.release)
    shutil.rmtree(system.mo.datastore)
    system.mo.datastore.write_text("not a directory\n")
    argv = [system.manifest if a == "M" else a for a in argv]
    r = system.mo.run(*argv, env={"MENDER_ORCHESTRATOR_TOPOLOGY_DIR": str(system.release)})
    assert r.rc == 1, r
    want = (f"datastore {system.mo.datastore} is not a directory; move the file away, or point "
            "MENDER_ORCHESTRATOR_DATASTORE_DIR at the datastore directory")
    assert want in r.err, r
    assert system.kit.calls() == []
    assert system.mo.datastore.read_text() == "not a directory\n"
