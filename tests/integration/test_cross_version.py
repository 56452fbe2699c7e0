"""Cross-version deployments (docs/compatibility.md): a deployment started by one build of
mender-orchestrator and continued by another, as after the gateway's reboot into a new root
file system (the update path) or back into the old one (the rollback path).

The builds: 0.1.0 (the first release, built from this repository's history by
tests/compat/build-release), this build (0.2.0), and this build playing the next release
(MO_TEST_NEXT_RELEASE=1, util/testhook.h: another version string, program 2 with a query
moved and one more step in the forward and in the rollback program, and fields of its own in
the record). Directions A -> B: 0.1.0 -> 0.2.0, 0.2.0 -> 0.1.0, 0.2.0 -> next, next -> 0.2.0.

The System: 2 order groups; the first is the "gateway" (NeedsArtifactReboot Automatic: a
System-device reboot, whose RebootCommand SIGKILLs the orchestrator as a real reboot would),
the second an RTOS Component. Flows: "happy", and "fail" (r1's ArtifactCommit fails: the
whole System rolls back, with a rollback reboot of the gateway).

Each cell: build A runs the flow until it is interrupted at a step boundary, then build B
continues it to its end:
  commit-<flow>-<k>   A SIGKILLs itself right after its k-th durable journal commit (counted
                      over A's processes): at every step boundary, the first commit of each
                      step (the step entered, its first call recorded as about to run) and the
                      last of the flow; every commit with MO_CROSSVERSION_FULL=1
  stop-<point>-<flow> A stops before a stop point (--stop-before), B runs resume
  reboot-<flow>       A exits at the gateway's reboot (--exit-on-reboot), B resumes
  rbreboot-fail       A exits at the gateway's rollback reboot, B resumes
and, per direction and flow, "gateway": each process is run by the build of the version the
gateway runs (A on v1, B on v2), as on a real System, so both switches happen.

Every cell ends with the System all-old or all-new, as the outcome says, `history` agreeing
(its result, and the versions that wrote the deployment), nothing left in progress, no work
files; fields the next release wrote are still in its record after 0.2.0 continued it.
MO_CROSSVERSION_EVERY=N keeps every Nth commit cell (for slow builds, e.g. ASan)."""
import collections
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import tempfile
import threading

import pytest

# one xdist worker runs the whole module: its pool starts every point (scripts/test)
pytestmark = pytest.mark.xdist_group("cross-version")

from conftest import BIN, ROOT, Orchestrator
from matrix import Pool, files_under, power_off
from system import System

RELEASE_0_1_0 = "266817e"  # v0.1.0: the landed main before step 10
EVERY = max(1, int(os.environ.get("MO_CROSSVERSION_EVERY", "1") or 1))
FULL = os.environ.get("MO_CROSSVERSION_FULL") == "1"  # every commit, not only step boundaries
JOBS = int(os.environ.get("MO_CROSSVERSION_JOBS", "0") or 0) or max(2, (os.cpu_count() or 1) + 1)
MAX_PROCESSES = 10
RUN_TIMEOUT = 60

COMPONENTS = [("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)]
OLD = {inst: f"{ctype}-v1" for inst, ctype, *_ in COMPONENTS}
NEW = {inst: f"{ctype}-v2" for inst, ctype, *_ in COMPONENTS}
FLOWS = ("happy", "fail")
DIRECTIONS = (("0.1.0", "0.2.0"), ("0.2.0", "0.1.0"), ("0.2.0", "next"), ("next", "0.2.0"))
VERSION_STRING = {"0.1.0": "0.1.0", "0.2.0": "0.2.0", "next": "0.2.0+next"}


# ---- the builds --------------------------------------------------------------------------

_old_build = {}
_old_lock = threading.Lock()


def old_binary():
    """0.1.0's binary, built once (kept in build-0.1.0/ between runs)."""
    with _old_lock:
        if "bin" not in _old_build:
            out = ROOT / "build-0.1.0"
            p = subprocess.run([str(ROOT / "tests/compat/build-release"), RELEASE_0_1_0, str(out)],
                               capture_output=True, text=True)
            _old_build["bin"] = str(out / "mender-orchestrator") if p.returncode == 0 else None
            _old_build["error"] = p.stderr
        if not _old_build["bin"]:
            raise AssertionError(f"cannot build 0.1.0: {_old_build['error']}")
        return _old_build["bin"]


def use(system, release):
    """Makes the System's next runs use that build."""
    system.mo.binary = old_binary() if release == "0.1.0" else BIN
    system.mo.env["MO_TEST_NEXT_RELEASE"] = "1" if release == "next" else "0"


# ---- one System ----------------------------------------------------------------------------

def make_system(base, flow, cache):
    base.mkdir(parents=True)
    mo = Orchestrator(base / "sys")
    system = System(mo, base, components=COMPONENTS, artifact_cache=cache)
    mo.fake_reboot(base)
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    if flow == "fail":
        system.configure("r1", exit={"ArtifactCommit": 1})
    return system


def run_process(system, first, release, args=(), env=None):
    use(system, release)
    cmd = ("install", system.manifest) if first else ("resume",)
    r = system.mo.run(*cmd, *args, env=env or {}, timeout=RUN_TIMEOUT)
    assert "Sanitizer" not in r.err and "runtime error:" not in r.err, r
    if r.rc == -9:
        power_off(system.mo.base.parent)
    return r


def gateway_release(system, pair):
    """The build on the gateway's root file system: A on v1, B on v2."""
    return pair[0] if system.versions()["gw"] == OLD["gw"] else pair[1]


def drive(system, release, first=False, args=(), results=None, pick=None):
    """Runs processes (release, or pick(system) for each) until the deployment ends: again after
    every death or exit 4. Returns the results."""
    results = results if results is not None else []
    for _ in range(MAX_PROCESSES):
        r = run_process(system, first, pick(system) if pick else release, args)
        first = False
        results.append(r)
        if r.rc not in (-9, 4):
            return results
    raise AssertionError(f"no end after {MAX_PROCESSES} processes: {[r.rc for r in results]}\nlast: {results[-1]}")


def check_end(system, results, last, want, writers):
    """The invariants of an ended cell, checked with build `last`: the history's result (want:
    "success", "failed", "rolled_back", or None: either of the first two) and the System agree,
    and so does the last exit code. Returns the result."""
    mo = system.mo
    use(system, last)
    rcs = [r.rc for r in results]
    end = results[-1]
    history = mo.run("history", "--json")
    assert history.rc == 0, history
    history = json.loads(history.out)
    assert len(history) == 1, (rcs, history)
    result = history[0]["result"]
    assert result in ("success", "failed", "rolled_back"), (rcs, history)
    if want is not None:
        assert result == want, f"{result}, expected {want}; exit codes {rcs}\n{end}"
    if end.rc == 2:  # died after the deployment's final commit
        assert len(results) >= 2 and results[-2].rc == -9, f"nothing to resume: {rcs}\n{end}"
    else:
        # rolled_back: 0 from the rollback command itself, 1 from a resume that finished it
        assert end.rc in {"success": (0,), "failed": (1,), "rolled_back": (0, 1)}[result], f"exit codes {rcs}\n{end}"
    assert system.versions() == (NEW if result == "success" else OLD), f"{result}, exit codes {rcs}"
    if "versions" in history[0]:  # 0.1.0 shows none
        assert set(history[0]["versions"]) <= {VERSION_STRING[w] for w in writers}, history[0]
    st = mo.run("status", "--json")
    assert st.rc == 0 and st.out.strip() == "null", st
    assert mo.run("resume").rc == 2
    ds = mo.datastore
    assert files_under(ds / "work") == [], "work files left"
    assert [p for p in files_under(ds) if ".tmp" in pathlib.Path(p).name] == [], "temporary files left"
    return result


def check_next_release_fields(system):
    """The record of a deployment the next release started still has the fields it wrote."""
    db = sqlite3.connect(system.mo.datastore / "orchestrator.db")
    try:
        state = json.loads(db.execute("SELECT state FROM deployment ORDER BY id DESC LIMIT 1").fetchone()[0])
    finally:
        db.close()
    assert state.get("next_release") == {"note": "written by the next release"}, sorted(state)
    assert [m.get("next_release_mark") for m in state["members"]] == list(range(len(COMPONENTS)))


def predicted(system, flow):
    """The result the Interruptions rules (docs/state-machine.md) give for a deployment the crash
    left (read with `status` of the build that goes on)."""
    if flow == "fail":
        return "failed"
    st = system.mo.run("status", "--json")
    assert st.rc == 0, st
    st = json.loads(st.out)
    if st is None:
        return None  # ended: the history tells
    if st["direction"] == "rollback":
        return "failed"
    inst_of = {c[3]: c[0] for c in COMPONENTS}
    for c in st["components"]:
        if c["result"] == "failed":
            return "failed"
        if c["result"] != "running":
            continue
        if c["state"] in ("ArtifactInstall", "ArtifactVerifyReboot", "ArtifactCommit"):
            return "failed"
        calls = system.calls(inst_of[c["id"]])
        # "Download" is first the work dir (run again), then the Download call (failed)
        if c["state"] == "Download" and {"NeedsUnpackedArtifact", "ProvidePayloadFileSizes"} <= set(calls):
            return "failed"
    return "success"


# ---- the cells ------------------------------------------------------------------------------

Cell = collections.namedtuple("Cell", "a b kind flow k")

_counts = {}
_counts_lock = threading.Lock()


def commit_counts(release, flow, cache):
    """Commits per process of the flow run by one build alone, measured once."""
    return commit_log(release, flow, cache)[0]


def commit_log(release, flow, cache):
    """(commits per process, the step number of each commit) of the flow run by one build alone,
    measured once. 0.1.0 logs no step numbers: its program is 0.2.0's, whose are taken."""
    with _counts_lock:
        key = (release, flow)
        if key not in _counts:
            tmp = pathlib.Path(tempfile.mkdtemp(prefix="mo-xver-baseline-"))
            try:
                system = make_system(tmp / "s", flow, cache)
                counts, seqs = [], []
                first = True
                for i in range(MAX_PROCESSES):
                    log = tmp / f"commits-{i}.log"
                    r = run_process(system, first, release, env={"MO_TEST_COMMIT_LOG": str(log)})
                    first = False
                    lines = log.read_text().splitlines() if log.exists() else []
                    counts.append(len(lines))
                    seqs += [int(l.split()[2]) if len(l.split()) > 2 else None for l in lines]
                    if r.rc not in (-9, 4):
                        break
                _counts[key] = (counts, seqs)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    if release == "0.1.0":
        same = commit_log("0.2.0", flow, cache)
        assert same[0] == _counts[key][0], f"0.1.0 and 0.2.0 commit differently: {_counts[key][0]}, {same[0]}"
        return _counts[key][0], same[1]
    return _counts[key]


def boundaries(seqs):
    """The commits (from 1) at step boundaries: the first one at each step number (the step
    entered, its first call about to run), and the last one of the flow."""
    return [k + 1 for k, seq in enumerate(seqs) if k == 0 or seq != seqs[k - 1]] + [len(seqs)]


def locate(counts, k):
    for i, n in enumerate(counts):
        if k <= n:
            return i, k
        k -= n
    raise ValueError(k)


def run_commit_cell(cell, base, cache):
    counts = commit_counts(cell.a, cell.flow, cache)
    proc, k = locate(counts, cell.k)
    system = make_system(base, cell.flow, cache)
    results = []
    for i in range(proc):  # A's processes before the one that crashes run as alone
        results.append(run_process(system, i == 0, cell.a))
        assert results[-1].rc in (-9, 4), results[-1]
    r = run_process(system, proc == 0, cell.a, env={"MO_TEST_CRASH_AFTER_COMMIT": str(k)})
    results.append(r)
    assert r.rc == -9, f"process {proc} did not crash after its commit {k}: {r}"
    use(system, cell.b)
    want = predicted(system, cell.flow)
    drive(system, cell.b, results=results)
    return system, check_end(system, results, cell.b, want, (cell.a, cell.b))


STOPS = {  # kind: (flow, --stop-before point, the command that continues, result)
    "stop-commit-happy": ("happy", "ArtifactCommit", "resume", "success"),
    "stop-commit-rollback": ("happy", "ArtifactCommit", "rollback", "rolled_back"),
    "stop-rollback-fail": ("fail", "ArtifactRollback", "resume", "failed"),
    "stop-cleanup-happy": ("happy", "Cleanup", "resume", "success"),
    "stop-cleanup-fail": ("fail", "Cleanup", "resume", "failed"),
}


def run_stop_cell(cell, base, cache):
    flow, point, cont, want = STOPS[cell.kind]
    system = make_system(base, flow, cache)
    results = drive(system, cell.a, first=True, args=("--stop-before", point))
    assert results[-1].rc in (0, 1), results[-1]
    st = system.mo.run("status", "--json")
    assert json.loads(st.out)["stopped_before"] == point, st
    use(system, cell.b)
    st = system.mo.run("status", "--json")  # B shows where A stopped
    if cell.b != "0.1.0" or cell.a != "next":
        assert json.loads(st.out)["stopped_before"] == point, st
    r = system.mo.run(cont, timeout=RUN_TIMEOUT)
    results.append(r)
    if r.rc in (-9, 4):
        if r.rc == -9:
            power_off(base)
        drive(system, cell.b, results=results)
    return system, check_end(system, results, cell.b, want, (cell.a, cell.b))


def run_reboot_cell(cell, base, cache):
    """A runs with --exit-on-reboot until the gateway's reboot (rbreboot: its rollback reboot)."""
    system = make_system(base, cell.flow, cache)
    reboots = 2 if cell.kind == "rbreboot" else 1
    results = []
    first = True
    while reboots:
        r = run_process(system, first, cell.a, ("--exit-on-reboot",))
        first = False
        results.append(r)
        assert r.rc == 4, r
        reboots -= 1
    drive(system, cell.b, results=results, args=("--exit-on-reboot",))
    return system, check_end(system, results, cell.b, "success" if cell.flow == "happy" else "failed",
                             (cell.a, cell.b))


def run_gateway_cell(cell, base, cache):
    system = make_system(base, cell.flow, cache)
    pair = (cell.a, cell.b)
    results = drive(system, None, first=True, pick=lambda s: gateway_release(s, pair))
    # the happy flow ends on B (the gateway runs v2); the fail flow back on A
    last = cell.b if cell.flow == "happy" else cell.a
    return system, check_end(system, results, last, "success" if cell.flow == "happy" else "failed", pair)


RUNNERS = {"commit": run_commit_cell, "reboot": run_reboot_cell, "rbreboot": run_reboot_cell,
           "gateway": run_gateway_cell}


def run_cell(cell, base, cache):
    runner = RUNNERS.get(cell.kind, run_stop_cell)
    system, _ = runner(cell, base, cache)
    if cell.a == "next" and cell.b != "0.1.0":
        check_next_release_fields(system)
    shutil.rmtree(base, ignore_errors=True)  # kept when the cell failed


def cells():
    out = []
    cache = pathlib.Path(tempfile.mkdtemp(prefix="mo-xver-artifacts-"))
    for a, b in DIRECTIONS:
        d = f"{a}-to-{b}"
        for flow in FLOWS:
            try:
                counts, seqs = commit_log(a, flow, cache)
            except Exception as e:  # reported by the cell
                out.append(pytest.param(Cell(a, b, "commit", flow, 0), id=f"{d}-commit-{flow}-baseline",
                                        marks=pytest.mark.xfail(reason=str(e), strict=True, run=False)))
                continue
            ks = list(range(1, sum(counts) + 1)) if FULL else sorted(set(boundaries(seqs)))
            ks = ks[::EVERY]
            out += [pytest.param(Cell(a, b, "commit", flow, k), id=f"{d}-commit-{flow}-{k:03d}") for k in ks]
            out.append(pytest.param(Cell(a, b, "reboot", flow, 0), id=f"{d}-reboot-{flow}"))
            out.append(pytest.param(Cell(a, b, "gateway", flow, 0), id=f"{d}-gateway-{flow}"))
        out.append(pytest.param(Cell(a, b, "rbreboot", "fail", 0), id=f"{d}-rbreboot-fail"))
        for kind in STOPS:
            out.append(pytest.param(Cell(a, b, kind, STOPS[kind][0], 0), id=f"{d}-{kind}"))
    _counts_cache["dir"] = cache
    return out


_counts_cache = {}


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == "test_cell":
        metafunc.parametrize("cell", cells())


# ---- pytest plumbing: the cells run concurrently, each test waits for its own -----------------

@pytest.fixture(scope="module")
def pool(request, tmp_path_factory):
    p = Pool(request.session, __name__, "cell", JOBS, tmp_path_factory.mktemp("cells"), run_cell, _counts_cache["dir"])
    yield p
    p.close()
    shutil.rmtree(_counts_cache["dir"], ignore_errors=True)


def test_cell(cell, pool):
    pool.run(cell)


def test_versions_are_told_apart():
    """The three builds say who they are (the matrix relies on it)."""
    for release, want in VERSION_STRING.items():
        mo = Orchestrator(tempfile.mkdtemp(prefix="mo-xver-v-"))
        mo.binary = old_binary() if release == "0.1.0" else BIN
        r = mo.run("--version", env={"MO_TEST_NEXT_RELEASE": "1" if release == "next" else "0"})
        assert r.rc == 0 and r.out.strip() == want, r
        shutil.rmtree(mo.base, ignore_errors=True)
