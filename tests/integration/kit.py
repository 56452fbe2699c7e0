"""Helpers around the scripted test Interface (tests/kit/scripted-interface)."""
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
KIT_SCRIPT = ROOT / "tests" / "kit" / "scripted-interface"
BUILD = pathlib.Path(os.environ.get("MO_BUILD", str(ROOT / "build")))
DRIVER = BUILD / "tests" / "tools" / "mo-iface-driver"


class Kit:
    """A set of scripted Interfaces installed in a data dir, and their call log."""

    def __init__(self, base, data_dir):
        self.dir = pathlib.Path(base)
        (self.dir / "instances").mkdir(parents=True, exist_ok=True)
        self.data_dir = pathlib.Path(data_dir)
        self.ifaces = self.data_dir / "interfaces" / "v1"
        self.ifaces.mkdir(parents=True, exist_ok=True)

    def install(self, name):
        p = self.ifaces / name
        if not p.exists():
            p.symlink_to(KIT_SCRIPT)
        return p

    def configure(self, instance, **cfg):
        (self.dir / "instances" / f"{instance}.json").write_text(json.dumps(cfg))

    def calls(self, instance=None):
        log = self.dir / "calls.log"
        if not log.exists():
            return []
        out = [json.loads(l) for l in log.read_text().splitlines()]
        return [c for c in out if instance is None or c["instance"] == instance]

    def call_names(self, instance=None):
        return [c["call"] for c in self.calls(instance)]

    def env(self):
        return {"MO_KIT_DIR": str(self.dir)}


def driver(call, kit, datastore, interface, ctype, *extra, timeout=120):
    env = dict(os.environ)
    env.update(kit.env())
    cmd = [str(DRIVER), call, "--data-dir", str(kit.data_dir), "--datastore", str(datastore),
           "--interface", interface, "--type", ctype, *map(str, extra)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return p


def alive(pid):
    """True if pid runs (a zombie waiting for its new parent to reap it is dead)."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
