"""The crash-point matrix (docs/state-machine.md: reboots, rollback, interruptions): a power cut at any point of an
install must end, after `resume`, with the whole System on the old Manifest or on the new one.

The System: 3 order groups, 5 Components (system.DEFAULT_COMPONENTS); r1 answers
NeedsArtifactReboot `Automatic` (a System-device reboot: RebootCommand is a script that
SIGKILLs the orchestrator, as a real reboot would end it) and s2 answers `Yes`
(ArtifactReboot). Two flows: "happy" and "fail" (s1's ArtifactCommit fails, in the last
group, so the whole System is rolled back, with a rollback System-device reboot for r1 and
ArtifactRollbackReboot for s2).

 (a) commit-<flow>-<k>: the orchestrator SIGKILLs itself right after the k-th durable journal
     commit of the flow (MO_TEST_CRASH_AFTER_COMMIT, counted per process: the flow is run
     process by process and the variable set, k adjusted, for the process in which commit k
     falls). The commits of each flow are counted once per session (MO_TEST_COMMIT_LOG).
 (b) kill-<instance>-<call>[-<n>] (happy flow) and kill-fail-<instance>-<call>[-<n>] (the
     fail flow, from the commit phase on): the Interface SIGKILLs the orchestrator from
     inside its n-th call of that name (tests/kit/scripted-interface kill_parent_at).

After each death the Interfaces still running for that System are killed too (a power cut
stops everything), then `resume` runs until the deployment ends, and for every point:
the outcome is final (0 all new, 1 all old; 3 never: every Component supports rollback),
every Component's installed version agrees with it, no work files, query scratch dirs or
*.tmp files are left, `history` records the outcome, `status --json` prints null and one
more `resume` exits 2. Where docs/state-machine.md fixes the outcome (Interruptions), it is checked too.

The points run concurrently (MO_CRASHPOINTS_JOBS processes' worth of threads; 1 runs each
point inside its own test). MO_CRASHPOINTS_EVERY=N keeps every Nth point of each family
(for slow builds, e.g. ASan)."""
import collections
import json
import os
import pathlib
import shutil
import tempfile
import threading

import pytest

# one xdist worker runs the whole module: its pool starts every point (scripts/test)
pytestmark = pytest.mark.xdist_group("crashpoints")

from conftest import Orchestrator
from matrix import Pool, files_under, power_off
from system import DEFAULT_COMPONENTS, FORWARD_CALLS, System

AUTOMATIC = "r1"   # NeedsArtifactReboot: Automatic (group 20)
YES = "s2"         # NeedsArtifactReboot: Yes (group 30)
FAILING = ("s1", "ArtifactCommit")   # the fail flow: the last group's commit fails
FLOWS = ("happy", "fail")
MAX_PROCESSES = 10   # install + resumes for one point, crashes and reboots included
RUN_TIMEOUT = 60     # one orchestrator process
EVERY = max(1, int(os.environ.get("MO_CRASHPOINTS_EVERY", "1") or 1))
JOBS = int(os.environ.get("MO_CRASHPOINTS_JOBS", "0") or 0) or max(2, (os.cpu_count() or 1) + 1)

INSTANCES = [c[0] for c in DEFAULT_COMPONENTS]
INSTANCE_OF_ID = {c[3]: c[0] for c in DEFAULT_COMPONENTS}
OLD = {inst: f"{ctype}-v1" for inst, ctype, *_ in DEFAULT_COMPONENTS}
NEW = {inst: f"{ctype}-v2" for inst, ctype, *_ in DEFAULT_COMPONENTS}
OUTCOME_NAME = {0: "success", 1: "failed", 3: "inconsistent"}

# ---- the expected Interface calls of each flow (docs/state-machine.md) ------------------------

PREP = ["Identity", "Provides"]
REBOOT_CALLS = {AUTOMATIC: ["ArtifactVerifyReboot"], YES: ["ArtifactReboot", "ArtifactVerifyReboot"]}
ROLLBACK_CALLS = {AUTOMATIC: ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactVerifyRollbackReboot"],
                  YES: ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactRollbackReboot",
                        "ArtifactVerifyRollbackReboot"]}


def expected_calls(flow):
    calls = {}
    for inst in INSTANCES:
        c = PREP + FORWARD_CALLS + REBOOT_CALLS.get(inst, []) + ["ArtifactCommit"]
        if flow == "fail":
            c += ROLLBACK_CALLS.get(inst, ["ArtifactRollback", "NeedsArtifactReboot"]) + ["ArtifactFailure"]
        calls[inst] = c + ["Cleanup"]
    return calls


# The outcome of a kill inside a call of the happy flow (Interruptions): None = nothing recorded yet
# (preparation), 0 = the call is asked again / run again / taken as done, 1 = rolled back.
KILL_OUTCOME = {"Identity": None, "Provides": None, "NeedsUnpackedArtifact": 0, "ProvidePayloadFileSizes": 0,
                "Download": 1, "SupportsRollback": 0, "ArtifactInstall": 1, "NeedsArtifactReboot": 0,
                "ArtifactReboot": 0, "ArtifactVerifyReboot": 1, "ArtifactCommit": 1, "Cleanup": 0}


# ---- one System ------------------------------------------------------------------------------

def make_system(base, flow, cache):
    base.mkdir(parents=True)
    mo = Orchestrator(base / "sys")
    system = System(mo, base, artifact_cache=cache)
    mo.fake_reboot(base)
    system.configure(AUTOMATIC, answers={"NeedsArtifactReboot": "Automatic\n"})
    system.configure(YES, answers={"NeedsArtifactReboot": "Yes\n"})
    if flow == "fail":
        system.configure(FAILING[0], exit={FAILING[1]: 1})
    return system


def check_sanitizers(r, what):
    assert "Sanitizer" not in r.err and "runtime error:" not in r.err, f"{what}: {r}"


def run_process(system, i, env):
    r = system.install(env=env, timeout=RUN_TIMEOUT) if i == 0 else system.mo.run("resume", env=env,
                                                                                   timeout=RUN_TIMEOUT)
    check_sanitizers(r, "install" if i == 0 else f"resume #{i}")
    if r.rc == -9:
        power_off(system.mo.base.parent)
    return r


def drive(system, crash=None, log_dir=None, first=0):
    """Runs the flow from process `first` (0 = install, then resume) until the deployment ends:
    again after every death (crash, fake reboot) or exit 4. crash = (process, k): that process
    SIGKILLs itself after its k-th commit. Returns the results, one per process."""
    results = []
    for i in range(first, MAX_PROCESSES):
        env = {}
        if log_dir:
            env["MO_TEST_COMMIT_LOG"] = str(log_dir / f"commits-{i}.log")
        if crash and crash[0] == i:
            env["MO_TEST_CRASH_AFTER_COMMIT"] = str(crash[1])
        r = run_process(system, i, env)
        results.append(r)
        if r.rc in (-9, 4):
            continue
        return results
    raise AssertionError(f"no end after {MAX_PROCESSES} processes: {[r.rc for r in results]}\nlast: {results[-1]}")


def check_calls(system, outcome):
    """The Interfaces' side (the forward and rollback programs): every touched Component ends with Cleanup; after a
    success every installed one was committed, after a rollback every installed one was
    rolled back and got ArtifactFailure. (Calls cut by a power cut may be missing from the
    log; the calls after the last one are complete.)"""
    for inst in INSTANCES:
        calls = system.calls(inst)
        if len(calls) > len(PREP) or any(c not in PREP for c in calls):
            assert calls[-1] == "Cleanup", (inst, calls)
        if "ArtifactInstall" not in calls:
            continue
        after = calls[len(calls) - calls[::-1].index("ArtifactInstall"):]
        if outcome == 0:
            assert "ArtifactCommit" in after and "ArtifactRollback" not in calls, (inst, calls)
        else:
            assert "ArtifactRollback" in after, (inst, calls)
            assert "ArtifactFailure" in after[after.index("ArtifactRollback"):], (inst, calls)


def check_end(system, results, want=None):
    """The invariants of an ended flow; returns the outcome (0, 1, or None: nothing recorded)."""
    mo = system.mo
    rcs = [r.rc for r in results]
    last = results[-1]
    history = mo.run("history", "--json")
    assert history.rc == 0, history
    history = json.loads(history.out)
    if last.rc == 2:
        # nothing in progress: died during preparation (nothing recorded: Preparation), or after the
        # deployment's final commit; the history tells
        assert len(results) >= 2 and results[-2].rc == -9, f"resume found nothing to do: {rcs}\n{last}"
        outcome = {"success": 0, "failed": 1, "inconsistent": 3}[history[0]["result"]] if history else None
    else:
        outcome = last.rc
        assert outcome in (0, 1, 3), f"unexpected exit code {rcs}\n{last}"
    assert outcome != 3, f"inconsistent: every Component supports rollback (exit codes {rcs})\n{last}"
    versions = system.versions()
    assert versions == (NEW if outcome == 0 else OLD), f"outcome {outcome}, exit codes {rcs}: {versions}"
    if want != "any":
        assert outcome == want, f"outcome {outcome}, expected {want}; exit codes {rcs}\n{last}"
    if outcome is None:
        assert history == [], history
    else:
        assert history and history[0]["result"] == OUTCOME_NAME[outcome], history[:1]
        assert len(history) == 1, history
    st = mo.run("status", "--json")
    assert st.rc == 0 and st.out.strip() == "null", st
    again = mo.run("resume")
    check_sanitizers(again, "final resume")
    assert again.rc == 2, again
    check_calls(system, outcome)
    ds = mo.datastore
    assert files_under(ds / "work") == [], "work files left"
    tmp = [p for p in files_under(ds) if ".tmp" in pathlib.Path(p).name]
    assert tmp == [], "temporary files left"
    assert files_under(ds / "query") == [], "query scratch files left"
    if outcome == 0:  # The journal: the Manifest store keeps a copy of the last successful Manifest
        copy = ds / "manifests" / f"{history[0]['id']}.yaml"
        assert copy.exists() and copy.read_text() == system.manifest.read_text(), \
            f"{copy} is not a copy of the installed Manifest (store: {files_under(ds / 'manifests')})"
    return outcome


# ---- the baselines: each flow once, its commits counted ----------------------------------------

class Baseline:
    def __init__(self, flow, counts=None, error=None):
        self.flow = flow
        self.counts = counts or []  # commits per process
        self.error = error

    @property
    def total(self):
        return sum(self.counts)

    def locate(self, k):
        """(process, k within it) of the flow's k-th commit (from 1)."""
        for i, n in enumerate(self.counts):
            if k <= n:
                return i, k
            k -= n
        raise ValueError(k)


def run_baseline(base, flow, cache):
    """Runs a flow with the commit log; returns (system, results, commits per process)."""
    system = make_system(base, flow, cache)
    logs = base / "commit-logs"
    logs.mkdir()
    results = drive(system, log_dir=logs)
    counts = []
    for i in range(len(results)):
        p = logs / f"commits-{i}.log"
        counts.append(len(p.read_text().splitlines()) if p.exists() else 0)
    return system, results, counts


_baselines = {}
_baseline_lock = threading.Lock()


def baselines(cache=None):
    """The commit counts of both flows, measured once per session (at collection)."""
    with _baseline_lock:
        if not _baselines:
            tmp = pathlib.Path(tempfile.mkdtemp(prefix="mo-crashpoints-baseline-"))
            try:
                for flow in FLOWS:
                    try:
                        _, results, counts = run_baseline(tmp / flow, flow, cache or tmp / "artifacts")
                        if not any(counts):
                            raise RuntimeError("no commit logged: is the binary built with -Dtest_hooks=true?")
                        _baselines[flow] = Baseline(flow, counts)
                    except Exception as e:  # reported by the tests, not at collection
                        _baselines[flow] = Baseline(flow, error=f"{type(e).__name__}: {e}")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return _baselines


# ---- the points ------------------------------------------------------------------------------

Point = collections.namedtuple("Point", "kind flow k inst call n")


def commit_points():
    out = []
    for flow, b in baselines().items():
        if b.error:
            out.append(pytest.param(Point("commit", flow, 0, None, None, 0), id=f"commit-{flow}-baseline"))
            continue
        pts = [Point("commit", flow, k, None, None, 0) for k in range(1, b.total + 1)]
        out += [pytest.param(p, id=f"commit-{flow}-{p.k:03d}") for p in pts[::EVERY]]
    return out


def kill_points():
    out = []
    for flow in FLOWS:
        for inst, calls in expected_calls(flow).items():
            seen = collections.Counter()
            first_commit = calls.index("ArtifactCommit")
            for i, call in enumerate(calls):
                seen[call] += 1
                if flow == "fail" and i < first_commit:
                    continue  # the same kills as in the happy flow
                pid = ("kill-" if flow == "happy" else "kill-fail-") + f"{inst}-{call}"
                if seen[call] > 1:
                    pid += f"-{seen[call]}"
                out.append(pytest.param(Point("kill", flow, 0, inst, call, seen[call]), id=pid))
    return out[::EVERY]


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == "test_commit_point":
        metafunc.parametrize("point", commit_points())
    elif metafunc.function.__name__ == "test_kill_point":
        metafunc.parametrize("point", kill_points())


def predicted_after_crash(system, flow):
    """The outcome the Interruptions rules give for the deployment as the crash left it (read with `status`)."""
    if flow == "fail":
        return 1
    st = system.mo.run("status", "--json")
    assert st.rc == 0, st
    st = json.loads(st.out)
    if st is None:
        return 0  # the deployment had ended
    if st["direction"] == "rollback":
        return 1
    for c in st["components"]:
        if c["result"] == "failed":
            return 1
        if c["result"] != "running":
            continue
        if c["state"] in ("ArtifactInstall", "ArtifactVerifyReboot", "ArtifactCommit"):
            return 1
        # "Download" is first the work dir (run again), then the Download call (failed)
        if c["state"] == "Download" and "ProvidePayloadFileSizes" in system.calls(INSTANCE_OF_ID[c["id"]]):
            return 1
    return 0


def run_commit_point(point, base, cache):
    b = baselines()[point.flow]
    if b.error:
        raise AssertionError(f"the {point.flow} baseline failed: {b.error}")
    proc, k = b.locate(point.k)
    system = make_system(base, point.flow, cache)
    results = []
    if proc > 0:  # the processes before the one that crashes run as in the baseline
        logs = base / "commit-logs"
        logs.mkdir()
        for i in range(proc):
            r = run_process(system, i, {"MO_TEST_COMMIT_LOG": str(logs / f"commits-{i}.log")})
            results.append(r)
            n = len((logs / f"commits-{i}.log").read_text().splitlines())
            assert r.rc in (-9, 4) and n == b.counts[i], (
                f"process {i}: exit {r.rc} after {n} commits; the baseline made {b.counts[i]}\n{r}")
    r = run_process(system, proc, {"MO_TEST_CRASH_AFTER_COMMIT": str(k)})
    results.append(r)
    assert r.rc == -9, f"process {proc} did not crash after its commit {k}: {r}"
    want = predicted_after_crash(system, point.flow)
    results += drive(system, first=proc + 1)
    check_end(system, results, want)


def run_kill_point(point, base, cache):
    system = make_system(base, point.flow, cache)
    system.configure(point.inst, kill_parent_at={point.call: point.n})
    results = drive(system)
    assert (system.kit.dir / f"killed-{point.inst}-{point.call}").exists(), "the Interface never killed"
    want = 1 if point.flow == "fail" else KILL_OUTCOME[point.call]
    check_end(system, results, want)


RUNNERS = {"commit": run_commit_point, "kill": run_kill_point}


def run_point(point, base, cache):
    RUNNERS[point.kind](point, base, cache)
    shutil.rmtree(base, ignore_errors=True)  # kept when the point failed


# ---- pytest plumbing: the points run concurrently, each test waits for its own ------------------

@pytest.fixture(scope="module")
def artifact_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def pool(request, tmp_path_factory, artifact_cache):
    baselines(artifact_cache)
    p = Pool(request.session, __name__, "point", JOBS, tmp_path_factory.mktemp("points"), run_point, artifact_cache)
    yield p
    p.close()


# ---- the tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("flow", FLOWS)
def test_baseline(flow, tmp_path, artifact_cache):
    """Each flow without a crash: its calls, exit codes and commits (the matrix is built on them)."""
    system, results, counts = run_baseline(tmp_path / "p", flow, artifact_cache)
    want_rcs = {"happy": [-9, 0], "fail": [-9, -9, 1]}[flow]   # -9: the fake System-device reboots
    assert [r.rc for r in results] == want_rcs, results[-1]
    for inst, calls in expected_calls(flow).items():
        assert system.calls(inst) == calls, inst
    logs = tmp_path / "p" / "commit-logs"
    lines = [l for i in range(len(results)) for l in (logs / f"commits-{i}.log").read_text().splitlines()]
    assert lines[0].split()[1] == "insert" and lines[-1].split()[1] == "finish", (lines[0], lines[-1])
    b = baselines(artifact_cache)[flow]
    assert b.error is None, b.error
    assert counts == b.counts, f"the commit counts changed between two runs: {b.counts} then {counts}"
    check_end(system, results, 0 if flow == "happy" else 1)


def test_commit_point(point, pool):
    pool.run(point)


def test_kill_point(point, pool):
    pool.run(point)


def test_query_scratch_dir_of_a_kill_in_preparation_is_removed(tmp_path, artifact_cache):
    """Regression: killed inside the first Identity call, nothing was recorded (Preparation), so
    `resume` has nothing to do; it removes the scratch dir that Identity call left."""
    system = make_system(tmp_path / "p", "happy", artifact_cache)
    system.configure("gw", kill_parent=["Identity"])
    r = run_process(system, 0, {})
    assert r.rc == -9, r
    assert system.mo.run("resume").rc == 2
    assert system.versions() == OLD
    assert files_under(system.mo.datastore / "query") == []


def test_manifest_store_copy_after_a_crash_right_after_insert(tmp_path, artifact_cache):
    """Regression: the power goes right after the deployment record's first commit; `resume`
    installs everything and writes the store's copy of the now last successful Manifest."""
    system = make_system(tmp_path / "p", "happy", artifact_cache)
    r = run_process(system, 0, {"MO_TEST_CRASH_AFTER_COMMIT": "1"})
    assert r.rc == -9, r
    results = [r] + drive(system, first=1)
    assert results[-1].rc == 0, results[-1]
    check_end(system, results, 0)
