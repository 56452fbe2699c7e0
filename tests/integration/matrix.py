"""What the two matrices (test_crashpoints.py, test_cross_version.py) share: their points run
concurrently in a thread pool of the module's own, each test waits for its own point, and a
power cut ends whatever the orchestrator left running.

The pool starts every point of the module at once: scripts/test makes each matrix an xdist
group, so that one pytest-xdist worker runs it."""
import os
import pathlib
import signal
import time
import traceback
from concurrent.futures import ThreadPoolExecutor


def leftover_processes(base):
    """Processes of a System (an Interface, the reboot script), by their command line."""
    tag = (str(base) + "/").encode()
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if tag in f.read():
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def power_off(base):
    """The orchestrator is dead; a power cut stops what it left running too."""
    deadline = time.monotonic() + 20
    while True:
        pids = leftover_processes(base)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        assert time.monotonic() < deadline, f"processes {pids} of {base} do not die"
        time.sleep(0.01)


def files_under(d):
    return sorted(str(p.relative_to(d)) for p in pathlib.Path(d).rglob("*") if not p.is_dir()) if d.exists() else []


class Pool:
    """Runs run(point, folder, *args) for every test of module `module` parametrized with
    `param`, jobs at a time (1: each in its own test)."""

    def __init__(self, session, module, param, jobs, root, run, *args):
        self.root, self.run_point, self.args, self.futures = root, run, args, {}
        self.executor = ThreadPoolExecutor(jobs) if jobs > 1 else None
        if self.executor:
            for item in session.items:
                point = getattr(item, "callspec", None) and item.callspec.params.get(param)
                if getattr(item, "module", None) is not None and item.module.__name__ == module and point:
                    self.submit(point)

    def dir_for(self, point):
        return self.root / "-".join(str(f) for f in point)

    def submit(self, point):
        if point not in self.futures:
            self.futures[point] = self.executor.submit(self.run_kept, point)

    def run_kept(self, point):
        """Runs a point; a failed one keeps its folder, now with the failure in failure.txt
        (pytest's report of a long session is easily lost)."""
        d = self.dir_for(point)
        try:
            return self.run_point(point, d, *self.args)
        except BaseException:
            if d.is_dir():
                (d / "failure.txt").write_text(traceback.format_exc())
            raise

    def run(self, point):
        if self.executor is None:
            return self.run_kept(point)
        self.submit(point)
        return self.futures[point].result()

    def close(self):
        if self.executor:
            self.executor.shutdown(wait=True, cancel_futures=True)
