"""Shared fixtures: the binary under test, a scratch System layout, and artifacts
made at test time with Debian's mender-artifact."""
import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MO_BIN", str(ROOT / "build" / "mender-orchestrator"))

# MO_VALGRIND=1: every run of the binary through Orchestrator.run is under valgrind
# memcheck (children are Interfaces, not ours: not traced). Any memcheck error or
# definite leak fails the test that made the run (scripts/test runs a subset this way).
VALGRIND = os.environ.get("MO_VALGRIND") == "1"
VALGRIND_ERROR_RC = 97
VALGRIND_CMD = ["valgrind", "--quiet", f"--error-exitcode={VALGRIND_ERROR_RC}", "--leak-check=full",
                "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "--track-fds=no",
                "--trace-children=no", "--child-silent-after-fork=yes"]
VALGRIND_REPORT = re.compile(r"^==\d+== ", re.M)


def command(*args, binary=None):
    """The argv that runs mender-orchestrator (binary: another build of it) with args (under
    valgrind with MO_VALGRIND=1)."""
    return (VALGRIND_CMD if VALGRIND else []) + [binary or BIN, *map(str, args)]


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


class Orchestrator:
    """Runs mender-orchestrator with its directories inside a temporary folder."""

    def __init__(self, base):
        self.base = pathlib.Path(base)
        self.binary = None  # another build of mender-orchestrator than BIN (test_cross_version.py)
        self.conf = self.base / "etc"
        self.data = self.base / "share"
        self.datastore = self.base / "var"
        for d in (self.conf, self.data, self.datastore):
            d.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("MENDER_ORCHESTRATOR_"):
                del self.env[k]
        self.env.update({
            "MENDER_ORCHESTRATOR_CONF_DIR": str(self.conf),
            "MENDER_ORCHESTRATOR_DATA_DIR": str(self.data),
            "MENDER_ORCHESTRATOR_DATASTORE_DIR": str(self.datastore),
        })

    def run(self, *args, env=None, timeout=120):
        e = dict(self.env)
        if env:
            e.update(env)
        if VALGRIND:
            timeout *= 10
        proc = subprocess.run(command(*args, binary=self.binary), env=e, capture_output=True, text=True,
                              timeout=timeout)
        if VALGRIND and (proc.returncode == VALGRIND_ERROR_RC or VALGRIND_REPORT.search(proc.stderr)):
            raise AssertionError(f"valgrind: {' '.join(map(str, args))}: rc={proc.returncode}\n{proc.stderr}")
        return Result(proc)

    def write_config(self, text, fallback=False):
        p = (self.datastore if fallback else self.conf) / "mender-orchestrator.conf"
        p.write_text(text)
        return p

    def fake_reboot(self, directory, timeout=30):
        """Configures RebootCommand as a script in `directory` that 'reboots' the System device
        the way a real reboot ends the orchestrator: SIGKILL, after appending a line to the
        returned file (one line per reboot)."""
        directory = pathlib.Path(directory)
        script, log = directory / "fake-reboot", directory / "reboots"
        script.write_text(f"#!/bin/sh\n# a System-device reboot ends the orchestrator\necho >>{log}\nkill -9 $PPID\n")
        script.chmod(0o755)
        self.write_config(json.dumps({"RebootCommand": [str(script)], "RebootTimeoutSeconds": timeout}))
        return log

    def boot_resume(self, wrapper=None):
        """Runs the boot-time resume wrapper (default: dist/mender-orchestrator-resume.in from the
        tree; an installed one with `wrapper`) as the unit runs it at boot, on this System."""
        env = dict(self.env, MENDER_ORCHESTRATOR_BIN=self.binary or BIN)
        argv = [str(wrapper)] if wrapper else ["sh", str(ROOT / "dist" / "mender-orchestrator-resume.in")]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def tiny_datastore(mo):
    """The datastore (of `mo`) on its own 8 MiB tmpfs (we run as root in CI), unmounted afterwards."""
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mo.datastore)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    yield mo.datastore
    subprocess.run(["umount", "-l", str(mo.datastore)], check=True)


@pytest.fixture
def mo(tmp_path):
    return Orchestrator(tmp_path / "sys")


def write_manifest(path, name, components, system_type="sys"):
    """A Manifest (current format) at path: components {component_type: (artifact file, order)}."""
    lines = ['api_version: "mender/v1"', 'kind: "manifest"', f'name: "{name}"',
             f'system_types_compatible: ["{system_type}"]', "component_types:"]
    lines += [f"  {t}: {{artifact_path: {a}, update_strategy: {{order: {o}}}}}" for t, (a, o) in components.items()]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")
    return path


def make_artifact(out, name, device_types, payload_type="rtos-interface", payload=b"firmware\n",
                  extra=(), compression=None, key=None):
    """Writes a module-image Artifact with mender-artifact and returns its path."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.parent / (out.name + ".payload")
    src.write_bytes(payload)
    cmd = ["mender-artifact", "write", "module-image", "-T", payload_type, "-n", name, "-f", str(src),
           "-o", str(out)]
    for t in device_types:
        cmd += ["-t", t]
    if compression:
        cmd += ["--compression", compression]
    if key:
        cmd += ["-k", str(key)]
    cmd += list(extra)
    subprocess.run(cmd, check=True, capture_output=True)
    src.unlink()
    return out


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d)
    run("openssl", "genrsa", "-traditional", "-out", "rsa.key", "3072")
    run("openssl", "rsa", "-in", "rsa.key", "-pubout", "-out", "rsa.pub")
    run("openssl", "ecparam", "-genkey", "-name", "prime256v1", "-out", "ec-params.key")
    run("openssl", "ec", "-in", "ec-params.key", "-out", "ec.key")
    run("openssl", "ec", "-in", "ec.key", "-pubout", "-out", "ec.pub")
    return d


TOPOLOGY = """\
api_version: mender/v1
kind: topology
system_type: "system-core"
components:
  - component_type: gateway
    interface: gateway-interface
  - component_type: rtos
    interface: rtos-interface
    interface_args: ["1"]
  - component_type: rtos
    interface: rtos-interface
    interface_args: ["2"]
"""

MANIFEST = """\
api_version: "mender/v1"
kind: "manifest"
name: "system-core-v2"
system_types_compatible: ["system-core"]
component_types:
  gateway:
    artifact_path: gateway-v2.mender
    update_strategy:
      order: 10
  rtos:
    artifact_path: rtos-v2.mender
    update_strategy:
      order: 20
"""


@pytest.fixture
def bundle(tmp_path):
    """A release folder: topology.yaml, manifest.yaml and two good Artifacts."""
    d = tmp_path / "bundle"
    d.mkdir()
    (d / "topology.yaml").write_text(TOPOLOGY)
    (d / "manifest.yaml").write_text(MANIFEST)
    make_artifact(d / "gateway-v2.mender", "gateway-v2", ["gateway"], payload_type="gateway-interface")
    make_artifact(d / "rtos-v2.mender", "rtos-v2", ["rtos"])
    return d
