"""The reference Interfaces interfaces/directory.in and interfaces/single-file.in (as meson
configured them), driven by the real binary (docs/interfaces.md): install, upgrade,
whole-system rollback when a later Component fails, and rollback called again after an
interruption."""
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from kit import BUILD, Kit

IFACES = BUILD / "interfaces"  # interfaces/*.in with the build's default datastore
REFERENCE = ("directory", "single-file")


def snapshot(root):
    """Everything under root (root included): type, mode, bytes, link target."""
    root = pathlib.Path(root)
    if not root.exists():
        return None
    out = {".": ("dir", stat.S_IMODE(root.lstat().st_mode))}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        st = p.lstat()
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            out[rel] = ("dir", stat.S_IMODE(st.st_mode))
        else:
            out[rel] = ("file", stat.S_IMODE(st.st_mode), p.read_bytes())
    return out


def file_state(p):
    p = pathlib.Path(p)
    if not p.exists():
        return None
    return (stat.S_IMODE(p.lstat().st_mode), p.read_bytes())


def leftovers(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir() if ".mo-" in p.name)


def mender_artifact(out, name, ctype, payload_type, files):
    cmd = ["mender-artifact", "write", "module-image", "-T", payload_type, "-t", ctype, "-n", name, "-o", str(out)]
    for f in files:
        cmd += ["-f", str(f)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


class RefSystem:
    """Three Components: a folder (directory) and a file (single-file) in group 10, and a
    scripted sensor in group 20 that a test can make fail."""

    def __init__(self, mo, tmp_path, app_args=None, conf_args=None):
        self.mo = mo
        self.tmp = tmp_path
        self.kit = Kit(tmp_path / "kit", mo.data)
        mo.env.update(self.kit.env())
        for name in REFERENCE:
            (self.kit.ifaces / name).symlink_to(IFACES / name)
        self.kit.install("sensor-if")
        self.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                           provides={"rootfs-image.sensor-if.version": "sensor-v0"})
        self.targets = tmp_path / "target"
        self.targets.mkdir()
        self.app = self.targets / "opt" / "app"
        self.conf_dir = self.targets / "etc"
        self.conf = self.conf_dir / "app.conf"
        self.app_args = ["app", str(self.app)] if app_args is None else app_args
        self.conf_args = ["conf"] if conf_args is None else conf_args
        topo = ["api_version: mender/v1", "kind: topology", 'system_type: "sys"', "components:",
                "  - component_type: app", "    interface: directory",
                f"    interface_args: {self.app_args!r}".replace("'", '"'),
                "  - component_type: conf", "    interface: single-file",
                f"    interface_args: {self.conf_args!r}".replace("'", '"'),
                "  - component_type: sensor", "    interface: sensor-if", '    interface_args: ["s1"]']
        (mo.datastore / "topology.yaml").write_text("\n".join(topo) + "\n")
        self.release = tmp_path / "release"
        self.release.mkdir()

    def content(self, version):
        """The folder tree and the file of a version."""
        tree = {f"{version}.txt": f"only in {version}\n".encode(), "common.txt": f"common {version}\n".encode(),
                "sub/data.bin": bytes(range(256)) * (4 if version == "v1" else 7)}
        return tree, f"setting = {version}\n".encode()

    def make_release(self, version, dest_dir=True):
        src = self.tmp / f"src-{version}"
        tree, conf = self.content(version)
        for rel, data in tree.items():
            p = src / "tree" / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (src / "tree" / "sub" / "empty").mkdir()
        (src / "tree" / "link").symlink_to("common.txt")
        os.chmod(src / "tree" / "sub" / "data.bin", 0o600)
        app = src / "app"
        app.mkdir()
        subprocess.run(["tar", "-cf", str(app / "update.tar"), "-C", str(src / "tree"), "."], check=True)
        files = [app / "update.tar"]
        if dest_dir:
            (app / "dest_dir").write_text(str(self.app) + "\n")
            files.append(app / "dest_dir")
        mender_artifact(self.release / f"app-{version}.mender", f"app-{version}", "app", "directory", files)
        c = src / "conf"
        c.mkdir()
        (c / "app.conf").write_bytes(conf)
        (c / "dest_dir").write_text(str(self.conf_dir))
        (c / "filename").write_text("app.conf")
        (c / "permissions").write_text("0640")
        mender_artifact(self.release / f"conf-{version}.mender", f"conf-{version}", "conf", "single-file",
                        [c / "app.conf", c / "dest_dir", c / "filename", c / "permissions"])
        s = src / "sensor.bin"
        s.write_bytes(f"sensor {version}\n".encode())
        mender_artifact(self.release / f"sensor-{version}.mender", f"sensor-{version}", "sensor", "sensor-if", [s])
        m = self.release / f"manifest-{version}.yaml"
        m.write_text("\n".join([
            'api_version: "mender/v1"', 'kind: "manifest"', f'name: "sys-{version}"',
            'system_types_compatible: ["sys"]', "component_types:",
            f"  app: {{artifact_path: app-{version}.mender, update_strategy: {{order: 10}}}}",
            f"  conf: {{artifact_path: conf-{version}.mender, update_strategy: {{order: 10}}}}",
            f"  sensor: {{artifact_path: sensor-{version}.mender, update_strategy: {{order: 20}}}}"]) + "\n")
        return m

    def install(self, version, *args):
        m = self.release / f"manifest-{version}.yaml"
        if not m.exists():
            self.make_release(version)
        return self.mo.run("install", m, *args)

    def provides(self):
        r = self.mo.run("show-provides")
        assert r.rc == 0, r
        return dict(line.split("=", 1) for line in r.out.splitlines())

    def expect(self, version):
        tree, conf = self.content(version)
        snap = snapshot(self.app)
        assert snap is not None
        files = {k: v[2] for k, v in snap.items() if v[0] == "file"}
        assert files == tree
        assert snap["link"] == ("link", "common.txt")
        assert snap["sub/empty"][0] == "dir"
        assert snap["sub/data.bin"][1] == 0o600
        assert file_state(self.conf) == (0o640, conf)
        p = self.provides()
        assert p["app.app.rootfs-image.directory.version"] == f"app-{version}"
        assert p["app.app.artifact_name"] == f"app-{version}"
        assert p["conf.conf.rootfs-image.single-file.version"] == f"conf-{version}"
        assert p["conf.conf.artifact_name"] == f"conf-{version}"
        assert leftovers(self.app.parent) == [] and leftovers(self.conf_dir) == []

    def workdir(self, ctype, cid):
        return self.mo.datastore / "work" / ctype / cid

    def call(self, name, state, ctype, args):
        """Runs a reference Interface directly, as the orchestrator would."""
        wd = self.workdir(ctype, args[0])
        env = dict(self.mo.env)
        return subprocess.run([str(IFACES / name), state, str(wd), ctype, *args], cwd=wd, env=env,
                              capture_output=True, text=True, timeout=60)


@pytest.fixture
def ref(mo, tmp_path):
    return RefSystem(mo, tmp_path)


def test_fresh_system_reports_unknown(ref):
    p = ref.provides()
    assert p["app.app.rootfs-image.directory.version"] == "unknown"
    assert p["conf.conf.rootfs-image.single-file.version"] == "unknown"


def test_install_v1_then_v2(ref):
    r = ref.install("v1")
    assert r.rc == 0, r
    ref.expect("v1")
    ino_dir, ino_file = ref.app.stat().st_ino, ref.conf.stat().st_ino
    r = ref.install("v2")
    assert r.rc == 0, r
    ref.expect("v2")
    assert not (ref.app / "v1.txt").exists()
    # swapped in by rename, not rewritten in place
    assert ref.app.stat().st_ino != ino_dir and ref.conf.stat().st_ino != ino_file
    # installed: the same Manifest again changes nothing
    r = ref.mo.run("plan", "--format", "json", ref.release / "manifest-v2.yaml")
    assert r.rc == 0, r
    assert '"skipped"' in r.out and r.out.count('"already installed"') == 3


def test_directory_target_from_dest_dir_only(mo, tmp_path):
    ref = RefSystem(mo, tmp_path, app_args=["app"])
    assert ref.install("v1").rc == 0
    ref.expect("v1")
    assert ref.install("v2").rc == 0
    ref.expect("v2")


def test_single_file_target_from_interface_args(mo, tmp_path):
    conf = tmp_path / "target" / "etc" / "app.conf"
    ref = RefSystem(mo, tmp_path, conf_args=["conf", str(conf)])
    assert ref.install("v1").rc == 0
    ref.expect("v1")


@pytest.mark.parametrize("state", ["ArtifactInstall", "ArtifactCommit"])
def test_later_failure_restores_v1_byte_for_byte(ref, state):
    assert ref.install("v1").rc == 0
    before_app, before_conf = snapshot(ref.app), file_state(ref.conf)
    ref.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                      provides={"rootfs-image.sensor-if.version": "sensor-v0"}, exit={state: 1})
    r = ref.install("v2")
    assert r.rc == 1, r
    assert snapshot(ref.app) == before_app
    assert file_state(ref.conf) == before_conf
    ref.expect("v1")
    assert not ref.workdir("app", "app").exists()


def test_failure_on_first_install_leaves_nothing(ref):
    ref.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                      provides={"rootfs-image.sensor-if.version": "sensor-v0"}, exit={"ArtifactCommit": 1})
    r = ref.install("v1")
    assert r.rc == 1, r
    assert not ref.app.exists() and not ref.conf.exists()
    assert leftovers(ref.app.parent) == [] and leftovers(ref.conf_dir) == []
    p = ref.provides()
    assert p["app.app.rootfs-image.directory.version"] == "unknown"
    assert p["conf.conf.rootfs-image.single-file.version"] == "unknown"


def parked_before_rollback(ref):
    """v1 installed, then v2 installed and committed on app and conf, failed on the
    sensor and parked before the rollback pass: the work dirs are still there."""
    assert ref.install("v1").rc == 0
    ref.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                      provides={"rootfs-image.sensor-if.version": "sensor-v0"}, exit={"ArtifactCommit": 1})
    r = ref.install("v2", "--stop-before", "ArtifactRollback")
    assert r.rc == 1, r
    assert file_state(ref.conf)[1] == ref.content("v2")[1]
    assert (ref.app / "v2.txt").exists()
    assert ref.provides()["app.app.rootfs-image.directory.version"] == "app-v2"  # committed


def test_rollback_called_twice_is_idempotent(ref):
    v1_app = None
    parked_before_rollback(ref)
    for _ in range(2):
        r = ref.call("directory", "ArtifactRollback", "app", ref.app_args)
        assert r.returncode == 0, r.stderr
        r = ref.call("single-file", "ArtifactRollback", "conf", ref.conf_args)
        assert r.returncode == 0, r.stderr
        tree, conf = ref.content("v1")
        assert {k: v[2] for k, v in snapshot(ref.app).items() if v[0] == "file"} == tree
        assert file_state(ref.conf) == (0o640, conf)
        v1_app = v1_app or snapshot(ref.app)
        assert snapshot(ref.app) == v1_app
    # the orchestrator rolls back a third time, then cleans up
    r = ref.mo.run("resume")
    assert r.rc == 1, r
    ref.expect("v1")


def test_rollback_after_an_interrupted_swap(ref):
    """Power cut between the two renames of ArtifactInstall: the folder is missing, the
    backup and the new tree are beside it."""
    parked_before_rollback(ref)
    parent = ref.app.parent
    ref.app.rename(parent / ".app.mo-new")
    assert sorted(leftovers(parent)) == [".app.mo-backup", ".app.mo-new"]
    r = ref.call("directory", "ArtifactRollback", "app", ref.app_args)
    assert r.returncode == 0, r.stderr
    assert leftovers(parent) == []
    r = ref.mo.run("resume")
    assert r.rc == 1, r
    ref.expect("v1")


def test_rollback_after_an_interrupted_rollback(ref):
    """Power cut inside ArtifactRollback, after the new folder was moved aside."""
    parked_before_rollback(ref)
    parent = ref.app.parent
    ref.app.rename(parent / ".app.mo-old")
    r = ref.call("directory", "ArtifactRollback", "app", ref.app_args)
    assert r.returncode == 0, r.stderr
    r = ref.call("directory", "ArtifactRollback", "app", ref.app_args)
    assert r.returncode == 0, r.stderr
    r = ref.mo.run("resume")
    assert r.rc == 1, r
    ref.expect("v1")


def test_backup_is_kept_until_cleanup(ref):
    assert ref.install("v1").rc == 0
    r = ref.install("v2", "--stop-before", "Cleanup")
    assert r.rc == 0, r
    tree, _ = ref.content("v1")
    backup = ref.app.parent / ".app.mo-backup"
    assert (backup / "v1.txt").read_bytes() == tree["v1.txt"]
    assert (ref.workdir("conf", "conf") / "tmp" / "backup" / "file").read_bytes() == ref.content("v1")[1]
    r = ref.mo.run("resume")
    assert r.rc == 0, r
    ref.expect("v2")


def test_artifact_for_another_folder_is_refused(ref):
    assert ref.install("v1").rc == 0
    before = snapshot(ref.app)
    ref.make_release("v2")
    other = ref.tmp / "other"
    (other).mkdir()
    (other / "update.tar").write_bytes(b"")
    subprocess.run(["tar", "-cf", str(other / "update.tar"), "-C", str(other), "--files-from", "/dev/null"],
                   check=True)
    (other / "dest_dir").write_text("/somewhere/else\n")
    mender_artifact(ref.release / "app-v2.mender", "app-v2", "app", "directory",
                    [other / "update.tar", other / "dest_dir"])
    r = ref.mo.run("install", ref.release / "manifest-v2.yaml")
    assert r.rc == 1, r
    assert "is not this Component's folder" in r.err
    assert snapshot(ref.app) == before
    ref.expect("v1")


@pytest.mark.parametrize("name", REFERENCE)
def test_queries_and_unknown_states(tmp_path, name):
    env = dict(os.environ, MENDER_ORCHESTRATOR_DATASTORE_DIR=str(tmp_path))
    run = lambda *a: subprocess.run([str(IFACES / name), *a], cwd=tmp_path, env=env, capture_output=True,
                                    text=True)
    for query, want in [("SupportsRollback", "Yes\n"), ("NeedsArtifactReboot", "No\n"),
                        ("NeedsUnpackedArtifact", ""), ("ProvidePayloadFileSizes", ""), ("Inventory", ""),
                        ("Identity", "id=inst\n"), ("SomeFutureState", "")]:
        r = run(query, str(tmp_path), "ctype", "inst")
        assert (r.returncode, r.stdout) == (0, want), (query, r)
    r = run("Identity", str(tmp_path), "ctype")
    assert r.stdout == "id=ctype\n"
    r = run("Identity", str(tmp_path), "ctype", "../x")
    assert r.returncode == 1 and "invalid instance name" in r.stderr


@pytest.mark.parametrize("name", REFERENCE)
def test_posix_sh(name):
    text = (IFACES / name).read_text()
    assert text.startswith("#!/bin/sh\n")
    assert subprocess.run(["dash", "-n", str(IFACES / name)]).returncode == 0
    assert "jq" not in text.split()
    assert os.access(IFACES / name, os.X_OK)
    if shutil.which("checkbashisms"):
        assert subprocess.run(["checkbashisms", str(IFACES / name)]).returncode == 0
