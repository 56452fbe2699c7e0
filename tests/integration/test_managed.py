"""Managed mode (docs/managed-mode.md): the Update Module mender-orchestrator-manifest
called directly the way the Mender Client calls it, the Manifest Artifact generator, the
inventory script, and all of it driven by Debian's Mender Client (mender-client 3.4)."""
import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT, Result
from kit import BUILD
from system import System

# the Update Module and the inventory script as meson configured them (the .in files of
# modules/ and inventory/ with this build's folders)
MODULE = BUILD / "modules" / "mender-orchestrator-manifest"
GEN = ROOT / "modules" / "mender-orchestrator-manifest-gen"
INVENTORY = BUILD / "inventory" / "mender-inventory-orchestrator-inventory"

# two groups: the gateway alone (order 10), then two RTOS Components together (order 20)
COMPONENTS = [
    ("gw", "gateway", "gw-if", "GW", 10),
    ("r1", "rtos", "rtos-if", "R1", 20),
    ("r2", "rtos", "rtos-if", "R2", 20),
]
V1 = {"gw": "gateway-v1", "r1": "rtos-v1", "r2": "rtos-v1"}
V2 = {"gw": "gateway-v2", "r1": "rtos-v2", "r2": "rtos-v2"}


def absolute_manifest(system, dest):
    """The System's Manifest with absolute artifact_path values, written to dest: in
    managed mode the Manifest travels alone (the client stores it in the work dir)."""
    text = system.manifest.read_text().replace("artifact_path: ", f"artifact_path: {system.release}/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest


@pytest.fixture
def system(mo, tmp_path):
    return System(mo, tmp_path, components=COMPONENTS)


def states(system, inst):
    """Interface calls after the preparation queries."""
    return [c for c in system.calls(inst) if c not in ("Identity", "Provides")]


def idle(system):
    return system.mo.run("status", "--json").out.strip() == "null"


def last_result(system):
    h = system.mo.run("history", "--json")
    assert h.rc == 0, h
    return json.loads(h.out)[0]["result"]


# ---------------------------------------------------------------- the Update Module

class Module:
    """The Update Module in a payload work dir laid out like the client's
    (files/ with the Manifest, tmp/, header/), called as `module <State> <workdir>`."""

    def __init__(self, system, base):
        self.system = system
        self.work = base / "payloads" / "0000" / "tree"
        for d in ("files", "tmp", "header"):
            (self.work / d).mkdir(parents=True, exist_ok=True)

    def add_manifest(self, name="manifest.yaml"):
        return absolute_manifest(self.system, self.work / "files" / name)

    def __call__(self, state, env=None):
        e = dict(self.system.mo.env)
        e["MENDER_ORCHESTRATOR_BIN"] = BIN
        e.update(env or {})
        p = subprocess.run([str(MODULE), state, str(self.work)], cwd=self.work, env=e, capture_output=True,
                           text=True, timeout=300)
        return Result(p)

    @property
    def no_reboot_marker(self):
        return (self.work / "tmp" / "no-needs-reboot").exists()

    @property
    def managed_marker(self):
        """{datastore}/managed: the deployment belongs to the Mender Client."""
        return (self.system.mo.datastore / "managed").exists()


@pytest.fixture
def module(system, tmp_path):
    m = Module(system, tmp_path / "mender-work")
    m.add_manifest()
    return m


def test_module_supports_rollback(module):
    r = module("SupportsRollback")
    assert (r.rc, r.out) == (0, "Yes\n"), r


@pytest.mark.parametrize("state", ["Download", "DownloadWithFileSizes", "ArtifactReboot", "ArtifactRollbackReboot",
                                   "ArtifactVerifyRollbackReboot", "ArtifactFailure", "ProvidePayloadFileSizes",
                                   "NeedsUnpackedArtifact", "SomethingNew"])
def test_module_other_states_do_nothing(module, state):
    r = module(state)
    assert (r.rc, r.out) == (0, ""), r
    assert module.system.kit.calls() == []


def test_module_happy_path(module):
    system = module.system
    assert not module.managed_marker
    r = module("ArtifactInstall")
    assert r.rc == 0, r
    assert module.no_reboot_marker
    assert module.managed_marker
    assert module("NeedsArtifactReboot").out == "No\n"
    # parked before ArtifactCommit: every Component installed, none committed
    for inst in V1:
        assert states(system, inst)[-2:] == ["ArtifactInstall", "NeedsArtifactReboot"], inst
    st = json.loads(system.mo.run("status", "--json").out)
    assert st is not None
    r = module("ArtifactCommit")
    assert r.rc == 0, r
    for inst in V1:
        assert states(system, inst)[-1] == "ArtifactCommit", inst
    assert not idle(system)  # parked before Cleanup
    assert module.managed_marker
    r = module("Cleanup")
    assert r.rc == 0, r
    assert not module.managed_marker
    for inst in V1:
        assert states(system, inst)[-1] == "Cleanup", inst
    assert system.versions() == V2
    assert idle(system)
    assert last_result(system) == "success"


def test_module_takes_a_yml_manifest(system, tmp_path):
    m = Module(system, tmp_path / "w")
    m.add_manifest("release.yml")
    assert m("ArtifactInstall").rc == 0
    assert m("ArtifactCommit").rc == 0
    assert m("Cleanup").rc == 0
    assert system.versions() == V2


def test_module_install_with_system_device_reboot(module):
    """ArtifactInstall stops at the gateway's Automatic reboot (exit 4 -> 0, no marker):
    the client reboots, then ArtifactCommit resumes with the verification."""
    system = module.system
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    r = module("ArtifactInstall")
    assert r.rc == 0, r
    assert not module.no_reboot_marker
    assert module("NeedsArtifactReboot").out == "Automatic\n"
    assert states(system, "r1") == []  # the second group waits for the reboot
    assert module("ArtifactVerifyReboot").rc == 0
    r = module("ArtifactCommit")
    assert r.rc == 0, r
    assert "ArtifactVerifyReboot" in states(system, "gw")
    assert states(system, "r1")[-1] == "ArtifactCommit"
    assert module("Cleanup").rc == 0
    assert system.versions() == V2
    assert idle(system)


def status(system):
    return json.loads(system.mo.run("status", "--json").out)


def test_boot_time_resume_continues_the_managed_deployment_up_to_the_client(module):
    """After the System-device reboot asked for in ArtifactInstall, the boot-time resume
    (before the client starts) goes on with the managed deployment ({datastore}/managed)
    up to the client's stop point: the gateway verified, the second group installed,
    stopped before ArtifactCommit. The client's ArtifactVerifyReboot then finds it there
    (no call), its ArtifactCommit commits."""
    system = module.system
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    assert module("ArtifactInstall").rc == 0
    assert module.managed_marker and not module.no_reboot_marker
    p = system.mo.boot_resume()
    assert p.returncode == 0, p.stderr
    assert "Mender Client" in p.stderr
    assert states(system, "gw")[-1] == "ArtifactVerifyReboot"
    assert "ArtifactInstall" in states(system, "r1") and "ArtifactCommit" not in states(system, "r1")
    assert status(system)["stopped_before"] == "ArtifactCommit"
    calls = len(system.kit.calls())
    assert module("ArtifactVerifyReboot").rc == 0
    assert len(system.kit.calls()) == calls
    assert module("ArtifactCommit").rc == 0
    assert module("Cleanup").rc == 0
    assert system.versions() == V2
    assert not module.managed_marker


def test_boot_time_resume_leaves_a_managed_deployment_without_reboot_alone(module):
    """A managed deployment with no reboot pending (here parked for the client's commit, as
    after a power cut between the client's states) is the client's to go on with."""
    system = module.system
    assert module("ArtifactInstall").rc == 0
    assert module.managed_marker and module.no_reboot_marker
    calls = len(system.kit.calls())
    p = system.mo.boot_resume()
    assert p.returncode == 0, p.stderr
    assert "leaving it to the client" in p.stderr
    assert len(system.kit.calls()) == calls
    assert module("ArtifactCommit").rc == 0
    assert module("Cleanup").rc == 0
    assert system.versions() == V2


def both_groups_reboot(module, tmp_path):
    """Both groups need a System-device reboot. The client makes the first (ArtifactInstall
    exits 4 -> Automatic); the boot-time resume, before the client starts, goes on and makes
    the second itself (RebootCommand), and after that boot stops before ArtifactCommit.
    Returns the file with one line per reboot made by RebootCommand."""
    system = module.system
    reboots = system.mo.fake_reboot(tmp_path)
    for c in ("gw", "r1"):
        system.configure(c, answers={"NeedsArtifactReboot": "Automatic\n"})
    assert module("ArtifactInstall").rc == 0
    assert module("NeedsArtifactReboot").out == "Automatic\n"
    # the client's reboot; the boot-time resume reboots again for the second group
    p = system.mo.boot_resume()
    assert p.returncode in (-9, 137), p
    assert len(reboots.read_text().splitlines()) == 1
    assert states(system, "r1")[-1] == "NeedsArtifactReboot"
    # the next boot: the second group verified, stopped for the client
    p = system.mo.boot_resume()
    assert p.returncode == 0, p.stderr
    assert states(system, "r1")[-1] == "ArtifactVerifyReboot"
    assert status(system)["stopped_before"] == "ArtifactCommit"
    assert module("ArtifactVerifyReboot").rc == 0
    return reboots


def test_later_group_reboots_the_system_device_at_boot(module, tmp_path):
    """The client only ever sees the reboot it asked for; the deployment commits."""
    system = module.system
    both_groups_reboot(module, tmp_path)
    assert module("ArtifactCommit").rc == 0
    assert module("Cleanup").rc == 0
    assert system.versions() == V2 and idle(system)
    assert last_result(system) == "success"


def test_later_group_reboot_then_commit_failure_rolls_back_through_two_reboots(module, tmp_path):
    """r2 fails ArtifactCommit after both reboots: the client's rollback makes the first
    rollback reboot (the second group's), the boot-time resume the gateway's, and stops
    before Cleanup for the client. Everything is back at V1."""
    system = module.system
    reboots = both_groups_reboot(module, tmp_path)
    system.configure("r2", exit={"ArtifactCommit": 1})
    assert module("ArtifactCommit").rc == 1
    assert module("ArtifactRollback").rc == 0
    assert module("NeedsArtifactReboot").out == "Automatic\n"
    p = system.mo.boot_resume()
    assert p.returncode in (-9, 137), p
    assert len(reboots.read_text().splitlines()) == 2
    p = system.mo.boot_resume()
    assert p.returncode == 0, p.stderr
    assert status(system)["stopped_before"] == "Cleanup"
    for st in ("ArtifactVerifyRollbackReboot", "ArtifactFailure", "Cleanup"):
        assert module(st).rc == 0, st
    assert system.versions() == V1 and idle(system)
    assert last_result(system) == "failed"


def test_later_group_reboot_without_the_boot_time_unit_fails_the_verify(module, tmp_path):
    """Without the boot-time unit the client's ArtifactVerifyReboot is the first to go on:
    the second group's reboot cannot be made inside the client's deployment, so the
    module's ArtifactVerifyReboot fails, naming the unit; the client's rollback goes back
    to V1."""
    system = module.system
    reboots = system.mo.fake_reboot(tmp_path)
    for c in ("gw", "r1"):
        system.configure(c, answers={"NeedsArtifactReboot": "Automatic\n"})
    assert module("ArtifactInstall").rc == 0
    r = module("ArtifactVerifyReboot")
    assert r.rc == 1 and "mender-orchestrator-resume.service" in r.err, r
    assert not reboots.exists()
    assert module("ArtifactRollback").rc == 0
    assert module("NeedsArtifactReboot").out == "Automatic\n"
    p = system.mo.boot_resume()  # after the client's rollback reboot
    assert p.returncode == 0, p.stderr
    for st in ("ArtifactVerifyRollbackReboot", "ArtifactFailure", "Cleanup"):
        assert module(st).rc == 0, st
    assert system.versions() == V1 and idle(system)
    assert last_result(system) == "rolled_back"  # the client asked for it


def test_module_commit_failure_rolls_back(module):
    system = module.system
    system.configure("r1", exit={"ArtifactCommit": 1})
    assert module("ArtifactInstall").rc == 0
    assert module.no_reboot_marker
    r = module("ArtifactCommit")
    assert r.rc == 1, r
    assert states(system, "r1")[-1] == "ArtifactCommit"  # stopped before the rollback pass
    (module.work / "tmp" / "no-needs-reboot").unlink()  # ArtifactRollback must make its own
    r = module("ArtifactRollback")
    assert r.rc == 0, r
    assert module.no_reboot_marker  # rollback finished without a System-device reboot
    assert module("NeedsArtifactReboot").out == "No\n"
    assert module("ArtifactFailure").rc == 0
    for inst in V1:
        assert "ArtifactRollback" in states(system, inst), inst
        assert states(system, inst)[-1] == "ArtifactFailure", inst  # Cleanup not yet
    r = module("Cleanup")
    assert r.rc == 0, r  # resume says 1 (failed, rolled back): already reported by ArtifactCommit
    for inst in V1:
        assert states(system, inst)[-1] == "Cleanup", inst
    assert system.versions() == V1
    assert idle(system)
    assert last_result(system) == "failed"


def test_module_install_failure_rolls_back(module):
    system = module.system
    system.configure("r2", exit={"ArtifactInstall": 1})
    r = module("ArtifactInstall")
    assert r.rc == 1, r
    assert not module.no_reboot_marker
    assert module("ArtifactRollback").rc == 0
    assert module("ArtifactFailure").rc == 0
    assert module("Cleanup").rc == 0
    assert system.versions() == V1
    assert idle(system)


def test_module_first_group_download_failure(module):
    """Parked before Cleanup by install: rollback has nothing to undo and says 0."""
    system = module.system
    system.configure("gw", exit={"Download": 1})
    r = module("ArtifactInstall")
    assert r.rc == 1, r
    r = module("ArtifactRollback")
    assert r.rc == 0, r
    assert "ArtifactRollback" not in states(system, "gw")
    r = module("Cleanup")
    assert r.rc == 0, r
    assert states(system, "gw")[-1] == "Cleanup"
    assert states(system, "r1") == []
    assert system.versions() == V1
    assert idle(system)


def test_module_preparation_failure(module):
    """A Manifest that cannot be installed (an Artifact is missing): install records the
    failure parked before Cleanup; rollback and Cleanup then succeed with no call."""
    system = module.system
    text = (module.work / "files" / "manifest.yaml").read_text()
    (module.work / "files" / "manifest.yaml").write_text(text.replace("rtos-v2.mender", "rtos-v9.mender"))
    r = module("ArtifactInstall")
    assert r.rc == 1, r
    assert module("ArtifactRollback").rc == 0
    assert module("Cleanup").rc == 0
    for inst in V1:
        assert states(system, inst) == [], inst
    assert idle(system)


def test_module_rollback_with_system_device_reboot(module):
    """The rollback asks for a System-device reboot: exit 4 -> 0 and the stale marker
    from ArtifactInstall is removed, so NeedsArtifactReboot answers Automatic."""
    system = module.system
    system.configure("r1", exit={"ArtifactCommit": 1})
    assert module("ArtifactInstall").rc == 0
    assert module.no_reboot_marker
    assert module("ArtifactCommit").rc == 1
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})  # asked again after ArtifactRollback
    r = module("ArtifactRollback")
    assert r.rc == 0, r
    assert not module.no_reboot_marker
    assert module("NeedsArtifactReboot").out == "Automatic\n"
    assert "ArtifactVerifyRollbackReboot" not in states(system, "gw")
    for state in ("ArtifactRollbackReboot", "ArtifactVerifyRollbackReboot", "ArtifactFailure"):
        assert module(state).rc == 0
    r = module("Cleanup")  # resume: verify the rollback reboot, ArtifactFailure, Cleanup
    assert r.rc == 0, r
    assert "ArtifactVerifyRollbackReboot" in states(system, "gw")
    assert states(system, "gw")[-1] == "Cleanup"
    assert system.versions() == V1
    assert idle(system)
    assert not module.managed_marker


def test_module_inconsistent_rollback(module):
    """A Component that cannot roll back: rollback exits 3, passed through by
    ArtifactRollback (the client marks the deployment inconsistent) and by Cleanup."""
    system = module.system
    system.configure("r1", answers={"SupportsRollback": "No\n"})
    system.configure("r2", exit={"ArtifactCommit": 1})
    assert module("ArtifactInstall").rc == 0
    r = module("ArtifactCommit")
    assert r.rc == 3, r  # already known: r1 will not roll back
    r = module("ArtifactRollback")
    assert r.rc == 3, r
    r = module("Cleanup")
    assert r.rc == 3, r
    assert idle(system)
    assert last_result(system) == "inconsistent"


@pytest.mark.parametrize("files", [[], ["a.yaml", "b.yml"], ["manifest.json"]])
def test_module_needs_exactly_one_yaml_file(system, tmp_path, files):
    m = Module(system, tmp_path / "w")
    for f in files:
        m.add_manifest(f)
    r = m("ArtifactInstall")
    assert r.rc == 1, r
    assert "exactly one *.yml or *.yaml" in r.err
    assert system.kit.calls() == []
    assert not m.managed_marker
    # nothing was started, so there is nothing to roll back or clean up
    r = m("ArtifactRollback")
    assert r.rc == 0, r
    assert m("Cleanup").rc == 0
    assert system.mo.run("history", "--json").out.strip() == "[]"


def test_module_cleanup_with_nothing_in_progress(module):
    r = module("Cleanup")
    assert r.rc == 0, r
    assert "nothing to clean up" in r.err


def test_module_cleanup_when_the_deployment_cannot_finish(module):
    """resume fails while the deployment stays in progress (another orchestrator holds
    the lock): Cleanup fails, and a later Cleanup finishes the job."""
    system = module.system
    assert module("ArtifactInstall").rc == 0
    assert module("ArtifactCommit").rc == 0
    with open(system.mo.datastore / "orchestrator.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = module("Cleanup")
    assert r.rc == 1, r
    assert "still in progress" in r.err
    assert not idle(system)
    # the client does not call Cleanup again: the marker goes, so the boot-time resume
    # finishes the leftover
    assert not module.managed_marker
    assert module("Cleanup").rc == 0
    assert idle(system)
    assert system.versions() == V2


def test_module_finds_the_orchestrator_on_path(module, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mender-orchestrator").symlink_to(BIN)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"}
    e = dict(module.system.mo.env)
    e.update(env)
    e.pop("MENDER_ORCHESTRATOR_BIN", None)
    p = subprocess.run([str(MODULE), "ArtifactInstall", str(module.work)], cwd=module.work, env=e,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert module.no_reboot_marker


# ---------------------------------------------------------------- the inventory script

def test_inventory_script(system, tmp_path):
    env = dict(system.mo.env)
    env["MENDER_ORCHESTRATOR_BIN"] = BIN
    p = subprocess.run([str(INVENTORY)], env=env, capture_output=True, text=True, timeout=120)
    want = system.mo.run("show-inventory")
    assert p.returncode == 0 == want.rc, p.stderr
    assert p.stdout == want.out
    assert "GW" in p.stdout
    assert INVENTORY.read_text().splitlines()[0] == "#!/bin/sh"


def test_inventory_script_two_names(system, tmp_path):
    """Installed under the Debian name and the Yocto name (a symlink, meson's install), the
    Mender Client, which runs every mender-inventory-* of its folder, gets each line once;
    the Yocto name alone prints it all."""
    env = dict(system.mo.env, MENDER_ORCHESTRATOR_BIN=BIN)
    want = system.mo.run("show-inventory").out
    folder = tmp_path / "inventory"
    folder.mkdir()
    shutil.copy(INVENTORY, folder / INVENTORY.name)
    (folder / "mender-inventory-mender-orchestrator").symlink_to(INVENTORY.name)
    out = ""
    for script in sorted(folder.glob("mender-inventory-*")):
        p = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        out += p.stdout
    assert out == want and "GW" in want
    # a Yocto image: the Yocto name only, a file of its own
    for script in folder.iterdir():
        script.unlink()
    shutil.copy(INVENTORY, folder / "mender-inventory-mender-orchestrator")
    p = subprocess.run([str(folder / "mender-inventory-mender-orchestrator")], env=env, capture_output=True,
                       text=True, timeout=120)
    assert (p.returncode, p.stdout) == (0, want), p.stderr


# ---------------------------------------------------------------- the generator

GOOD = """\
api_version: "mender/v1"
kind: "manifest"
name: "system-core-v2"   # the default Artifact name
system_types_compatible: ["system-core", 'system-core-2']
component_types:
  gateway: {artifact_name: gateway-v2, update_strategy: {order: 10}}
  rtos:
    artifact_path: rtos-v2.mender
    artifact_name: rtos-v2
    update_strategy:
      order: 20
"""

BLOCK = """\
api_version: mender/v1
kind: manifest
name: release-3
system_types_compatible:
  - system-core
component_types:
  gateway:
    artifact_name: gateway-v3
    update_strategy:
      order: 100
  sensor:
    artifact_path: "sensor, v3.mender"
    update_strategy: {order: 0x01}
"""


def gen(tmp_path, *args, manifest_text=GOOD, name="manifest.yaml"):
    m = tmp_path / name
    m.write_text(manifest_text)
    p = subprocess.run([str(GEN), *[str(a).replace("@M", str(m)) for a in args]], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    return Result(p)


def read_artifact(path):
    p = subprocess.run(["mender-artifact", "read", str(path)], capture_output=True, text=True, check=True)
    return p.stdout


def test_generator_writes_the_manifest_artifact(tmp_path):
    r = gen(tmp_path, "-t", "system-core", "@M")
    assert r.rc == 0, r
    art = tmp_path / "orchestrator-manifest.mender"
    info = read_artifact(art)
    assert "Name: system-core-v2" in info
    assert "Compatible devices: '[system-core]'" in info
    assert "Type:   mender-orchestrator-manifest" in info
    assert "data-partition.mender-orchestrator-manifest.version: system-core-v2" in info
    assert 'Clears Provides: ["data-partition.mender-orchestrator-manifest.*"]' in info
    assert "name:     manifest.yaml" in info
    # the payload is the file itself
    out = tmp_path / "x"
    subprocess.run(["tar", "-xf", str(art), "-C", str(tmp_path), "data/0000.tar.gz"], check=True)
    out.mkdir()
    subprocess.run(["tar", "-xzf", str(tmp_path / "data" / "0000.tar.gz"), "-C", str(out)], check=True)
    assert (out / "manifest.yaml").read_text() == GOOD


def test_generator_options(tmp_path):
    (tmp_path / "out").mkdir()
    r = gen(tmp_path, "--artifact-name", "custom", "-t", "system-core", "--system-type=system-core-2",
            "-o", tmp_path / "out" / "a.mender", "@M", "--", "--provides", "extra.key:1", "-N", "system-core-v1")
    assert r.rc == 0, r
    info = read_artifact(tmp_path / "out" / "a.mender")
    assert "Name: custom" in info
    assert "Compatible devices: '[system-core system-core-2]'" in info
    assert "data-partition.mender-orchestrator-manifest.version: custom" in info
    assert "extra.key: 1" in info
    assert "system-core-v1" in info  # -N: depends on the previous release


def test_generator_reads_block_style_and_yml(tmp_path):
    r = gen(tmp_path, "-t", "system-core", "@M", manifest_text=BLOCK, name="release.yml")
    assert r.rc == 0, r
    info = read_artifact(tmp_path / "orchestrator-manifest.mender")
    assert "Name: release-3" in info
    assert "name:     release.yml" in info


def one_line_error(r, *needles):
    assert r.rc == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("mender-orchestrator-manifest-gen: error: "), r
    for n in needles:
        assert n in lines[0], r
    return lines[0]


@pytest.mark.parametrize("args,needles", [
    (["-t", "other", "@M"], ['"other"', "system_types_compatible", "system-core, system-core-2"]),
    (["-t", "system-core", "-t", "other", "@M"], ['"other"']),
    (["@M"], ["-t/--system-type"]),
    (["-t", "system-core"], ["no Manifest"]),
    (["-t", "system-core", "@M", "--", "-T", "x"], ["-T", "mender-orchestrator-manifest"]),
    (["-t", "system-core", "@M", "--", "--type", "x"], ["--type"]),
    (["-t", "system-core", "@M", "--", "--type=x"], ["--type=x"]),
    (["-t", "system-core", "@M", "--", "-t", "other"], ["-t/--system-type"]),
    (["-t", "system-core", "@M", "--", "--device-type=other"], ["--device-type"]),
    (["-t", "system-core", "@M", "--", "-o", "x"], ["-o/--output-path"]),
    (["-t", "system-core", "--bogus", "@M"], ["--bogus"]),
    (["-t", "system-core", "@M", "@M"], ["only one Manifest"]),
    (["-t"], ["-t needs a value"]),
])
def test_generator_usage_errors(tmp_path, args, needles):
    one_line_error(gen(tmp_path, *args), *needles)
    assert not (tmp_path / "orchestrator-manifest.mender").exists()


@pytest.mark.parametrize("order,shown", [("0", "0"), ("101", "101"), ('"10"', '"10"'), ("10.0", "10.0"),
                                         ("-5", "-5"), ("", "null"), ("ten", "ten")])
def test_generator_checks_the_order(tmp_path, order, shown):
    text = GOOD.replace("order: 20", f"order: {order}")
    err = one_line_error(gen(tmp_path, "-t", "system-core", "@M", manifest_text=text))
    assert f"manifest.yaml:11: component_types.rtos.update_strategy.order: {shown}: must be an integer from 1 to 100" \
        in err


@pytest.mark.parametrize("text,needles", [
    (GOOD.replace("{order: 10}", "{order: 0}"), ["component_types.gateway.update_strategy.order: 0"]),
    (GOOD.replace('kind: "manifest"', "kind: update_manifest"), ["update_manifest", "no system_types_compatible"]),
    (GOOD.replace('kind: "manifest"', "kind: topology"), ['kind: "topology"']),
    (GOOD.replace('name: "system-core-v2"', "label: x"), ["name: missing"]),
    (GOOD.replace("system_types_compatible: [\"system-core\", 'system-core-2']", "system_types_compatible: x"),
     ["system_types_compatible: expected a list"]),
    (GOOD.replace("    update_strategy:\n      order: 20\n", ""), ["component_types.rtos.update_strategy.order: missing"]),
    (GOOD.replace("  gateway: {artifact_name: gateway-v2,", "  gateway: {"), ["needs artifact_name or artifact_path"]),
    (GOOD + "name: again\n", ["name: duplicate key"]),
    (GOOD.replace("[\"system-core\", 'system-core-2']", '["system-core"'), ["unterminated"]),
])
def test_generator_checks_the_manifest(tmp_path, text, needles):
    one_line_error(gen(tmp_path, "-t", "system-core", "@M", manifest_text=text), *needles)


CONSTRAINED = GOOD.replace(", update_strategy: {order: 10}}", "}").replace("    update_strategy:\n      order: 20\n", "") + """\
constraints:   # the order is derived from them (docs/constraints.md)
  end_states:
    - {gateway: gateway-v1, rtos: rtos-v1}
    - {gateway: gateway-v2, rtos: rtos-v2}
  transition_states:
    - {gateway: gateway-v2, rtos: rtos-v1}
"""


def test_generator_accepts_constraints_without_order(tmp_path):
    assert "order" not in CONSTRAINED.split("constraints:")[0]
    r = gen(tmp_path, "-t", "system-core", "@M", manifest_text=CONSTRAINED)
    assert r.rc == 0, r
    assert "Name: system-core-v2" in read_artifact(tmp_path / "orchestrator-manifest.mender")
    # with constraints, order for every type or for none; without them it stays required
    mixed = CONSTRAINED.replace("  gateway: {artifact_name: gateway-v2}", "  gateway: {artifact_name: gateway-v2, "
                                "update_strategy: {order: 10}}")
    one_line_error(gen(tmp_path, "-t", "system-core", "@M", manifest_text=mixed),
                   "update_strategy.order is given for some types only")
    one_line_error(gen(tmp_path, "-t", "system-core", "@M", manifest_text=CONSTRAINED.split("constraints:")[0]),
                   "component_types.gateway.update_strategy.order: missing")


def test_generator_refuses_other_file_names(tmp_path):
    one_line_error(gen(tmp_path, "-t", "system-core", "@M", name="manifest.txt"), ".yml or .yaml")


def test_generator_help(tmp_path):
    r = gen(tmp_path, "--help")
    assert r.rc == 0 and "Usage: mender-orchestrator-manifest-gen" in r.out, r


def test_generated_artifact_passes_check_and_installs(system, tmp_path):
    """The generator's Artifact carries a Manifest the orchestrator accepts as is."""
    m = absolute_manifest(system, tmp_path / "gen" / "manifest.yaml")
    r = subprocess.run([str(GEN), "-t", "sys", "-o", str(tmp_path / "m.mender"), str(m)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    c = system.mo.run("check", m, "--topology", system.mo.datastore / "topology.yaml")
    assert c.rc == 0, c


# ---------------------------------------------------------------- with the real Mender Client

MENDER = "/usr/bin/mender"
MODULES_DIR = pathlib.Path("/usr/share/mender/modules/v3")
ETC_MENDER = pathlib.Path("/etc/mender")
SHARED_LOCK = pathlib.Path("/tmp/mender-orchestrator-tests-mender-client.lock")


def can_use_mount_namespace():
    if not (MODULES_DIR.is_dir() and ETC_MENDER.is_dir()) or not shutil.which("unshare"):
        return False
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        f'mount --bind "{MODULES_DIR}" "{MODULES_DIR}"'], capture_output=True)
    return p.returncode == 0


class MenderClient:
    """Debian's Mender Client 3.4 in standalone mode with its state in a temporary folder.

    Mender 3.4 reads `--config`, `--data` (store, module work dir, Artifact scripts) and
    the config key DeviceTypeFile, but Update Modules only from /usr/share/mender/modules/v3
    and the first Artifact name only from /etc/mender/artifact_info (ModulesPath,
    ArtifactInfoFile... are not read from mender.conf). Each call therefore runs in a
    private mount namespace where those two folders are bind mounts of folders under
    tmp_path: nothing outside tmp_path is touched. Without mount namespaces (no
    CAP_SYS_ADMIN), the module and artifact_info are installed for the test and restored
    afterwards, under a lock shared by concurrent test runs.

    The client passes its environment to the module, and the module to the orchestrator:
    MENDER_ORCHESTRATOR_BIN (our build), MENDER_ORCHESTRATOR_* dirs, MO_KIT_DIR."""

    def __init__(self, base, system, device_type="sys", artifact_name="sys-v1"):
        self.dir = pathlib.Path(base)
        self.system = system
        self.modules = self.dir / "modules"
        self.etc = self.dir / "etc"
        self.data = self.dir / "data"
        for d in (self.modules, self.etc / "scripts", self.data / "scripts"):
            d.mkdir(parents=True, exist_ok=True)
        shutil.copy(MODULE, self.modules / MODULE.name)
        self.artifact_info = f"artifact_name={artifact_name}\n"
        (self.etc / "artifact_info").write_text(self.artifact_info)
        (self.dir / "device_type").write_text(f"device_type={device_type}\n")
        self.conf = self.dir / "mender.conf"
        self.conf.write_text(json.dumps({"DeviceTypeFile": str(self.dir / "device_type")}))
        self.namespace = can_use_mount_namespace()

    def run(self, *args):
        env = dict(self.system.mo.env)
        env["MENDER_ORCHESTRATOR_BIN"] = BIN
        cmd = [MENDER, "--no-syslog", "-c", str(self.conf), "-b", str(self.dir / "absent.conf"),
               "-d", str(self.data), *map(str, args)]
        if self.namespace:
            cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                   f'mount --bind "$1" "{MODULES_DIR}" && mount --bind "$2" "{ETC_MENDER}" && shift 2 && exec "$@"',
                   "sh", str(self.modules), str(self.etc), *cmd]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        return Result(p)

    @contextlib.contextmanager
    def installed(self):
        """Without a mount namespace: the module and artifact_info in the real folders,
        restored afterwards."""
        if self.namespace:
            yield
            return
        targets = {MODULES_DIR / MODULE.name: MODULE.read_bytes(),
                   ETC_MENDER / "artifact_info": self.artifact_info.encode()}
        if not all(os.access(t.parent, os.W_OK) for t in targets):
            pytest.skip(f"needs mount namespaces (unshare -m) or write access to {MODULES_DIR} and {ETC_MENDER}")
        with open(SHARED_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            saved = {t: (t.read_bytes(), t.stat().st_mode) if t.exists() else None for t in targets}
            try:
                for t, content in targets.items():
                    t.write_bytes(content)
                    t.chmod(0o755)
                yield
            finally:
                for t, old in saved.items():
                    if old is None:
                        t.unlink(missing_ok=True)
                    else:
                        t.write_bytes(old[0])
                        t.chmod(old[1])

    def artifact(self):
        r = self.run("show-artifact")
        assert r.rc == 0, r
        return r.out.strip()

    def provides(self):
        r = self.run("show-provides")
        assert r.rc == 0, r
        return dict(line.split("=", 1) for line in r.out.splitlines() if "=" in line)


@pytest.fixture
def client(system, tmp_path):
    if not os.access(MENDER, os.X_OK):
        pytest.skip("Debian's mender-client is not installed (scripts/bootstrap installs it)")
    c = MenderClient(tmp_path / "mender", system)
    with c.installed():
        yield c


def manifest_artifact(system, tmp_path, version="v2"):
    system.write_manifest(version)
    m = absolute_manifest(system, tmp_path / f"gen-{version}" / "manifest.yaml")
    out = tmp_path / f"sys-{version}.mender"
    r = subprocess.run([str(GEN), "-t", "sys", "-o", str(out), str(m)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def test_real_client_install_and_commit(system, client, tmp_path):
    art = manifest_artifact(system, tmp_path)
    r = client.run("install", art)
    assert r.rc == 0, r
    assert "Use 'commit' to update" in r.out, r
    # the orchestrator ran through the module: every Component installed, parked before commit
    for inst in V1:
        assert states(system, inst)[-2:] == ["ArtifactInstall", "NeedsArtifactReboot"], inst
    assert "stopped before ArtifactCommit" in r.err  # our stderr in the client's log
    assert system.versions() == V2
    assert (system.mo.datastore / "managed").exists()
    r = client.run("commit")
    assert r.rc == 0, r
    assert not (system.mo.datastore / "managed").exists()
    for inst in V1:
        assert states(system, inst)[-2:] == ["ArtifactCommit", "Cleanup"], inst
    assert system.versions() == V2
    assert idle(system)
    assert last_result(system) == "success"
    p = client.provides()
    assert p["artifact_name"] == "sys-v2"
    assert p["data-partition.mender-orchestrator-manifest.version"] == "sys-v2"
    # the next release replaces the manifest provides
    art3 = manifest_artifact(system, tmp_path, "v3")
    assert client.run("install", art3).rc == 0
    assert client.run("commit").rc == 0
    assert system.versions() == {"gw": "gateway-v3", "r1": "rtos-v3", "r2": "rtos-v3"}
    p = client.provides()
    assert p["artifact_name"] == "sys-v3"
    assert p["data-partition.mender-orchestrator-manifest.version"] == "sys-v3"


def test_real_client_with_system_device_reboot(system, client, tmp_path):
    """The gateway answers Automatic: `mender install` asks for a reboot; `mender commit`
    (after it) resumes with the verification and the second group."""
    system.configure("gw", answers={"NeedsArtifactReboot": "Automatic\n"})
    art = manifest_artifact(system, tmp_path)
    r = client.run("install", art)
    assert r.rc == 0, r
    assert "requested a reboot" in r.out, r
    assert states(system, "r1") == []
    r = client.run("commit")
    assert r.rc == 0, r
    assert "ArtifactVerifyReboot" in states(system, "gw")
    assert system.versions() == V2
    assert idle(system)
    assert client.artifact() == "sys-v2"


def test_real_client_commit_failure_rolls_back(system, client, tmp_path):
    system.configure("r1", exit={"ArtifactCommit": 1})
    art = manifest_artifact(system, tmp_path)
    r = client.run("install", art)
    assert r.rc == 0, r
    assert system.versions() == V2
    r = client.run("commit")
    assert r.rc != 0, r
    # the client rolled back through the module: ArtifactRollback, ArtifactFailure, Cleanup
    for inst in V1:
        s = states(system, inst)
        assert "ArtifactRollback" in s and s[-2:] == ["ArtifactFailure", "Cleanup"], (inst, s)
    assert system.versions() == V1
    assert idle(system)
    assert not (system.mo.datastore / "managed").exists()
    assert last_result(system) == "failed"
    assert client.artifact() == "sys-v1"
    assert "data-partition.mender-orchestrator-manifest.version" not in client.provides()
    assert "INCONSISTENT" not in r.err


def test_real_client_install_failure_rolls_back(system, client, tmp_path):
    system.configure("r2", exit={"ArtifactInstall": 1})
    art = manifest_artifact(system, tmp_path)
    r = client.run("install", art)
    assert r.rc != 0, r
    assert system.versions() == V1
    assert idle(system)
    assert states(system, "gw")[-1] == "Cleanup"
    assert client.artifact() == "sys-v1"
    assert "data-partition.mender-orchestrator-manifest.version" not in client.provides()
    assert client.run("commit").rc == 2  # nothing in progress for the client either


def test_real_client_explicit_rollback(system, client, tmp_path):
    art = manifest_artifact(system, tmp_path)
    assert client.run("install", art).rc == 0
    r = client.run("rollback")
    assert r.rc == 0, r
    assert system.versions() == V1
    assert idle(system)
    assert client.artifact() == "sys-v1"
    assert "data-partition.mender-orchestrator-manifest.version" not in client.provides()
