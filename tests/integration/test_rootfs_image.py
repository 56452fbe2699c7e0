"""The rootfs-image reference Interface (interfaces/rootfs-image.in, docs/interfaces.md)
against a simulated A/B device and Mender client 3.x (tests/kit/mender-client-stub): the
boot environment it leaves, the client's database, the partition running, through the real
binary and through interface-check."""
import json
import os
import pathlib
import subprocess

import pytest

from conftest import BIN, ROOT, make_artifact, write_manifest
from kit import BUILD, Kit

IFACE = BUILD / "interfaces" / "rootfs-image"
STUB = ROOT / "tests" / "kit" / "mender-client-stub"
GW = "gw"


class Device:
    """A simulated A/B System device: partitions dev/sda2 (A, running v1) and dev/sda3."""

    def __init__(self, base):
        self.dir = pathlib.Path(base)
        self.bin = self.dir / "bin"
        self.bin.mkdir(parents=True)
        for name in ("mender", "fw_printenv", "fw_setenv", "mender-stub-boot"):
            (self.bin / name).symlink_to(STUB)
        (self.dir / "dev").mkdir()
        self.a, self.b = str(self.dir / "dev" / "sda2"), str(self.dir / "dev" / "sda3")
        image = self.image("gw-v1")
        pathlib.Path(self.a).write_bytes(image)
        pathlib.Path(self.b).write_bytes(b"")
        (self.dir / "mender.conf").write_text(json.dumps({"RootfsPartA": self.a, "RootfsPartB": self.b}))
        (self.dir / "data").mkdir()
        # the device's client's device type: the System's in managed mode, not the gateway's
        (self.dir / "data" / "device_type").write_text("device_type=gateway-system\n")
        # as Debian's client 3.4 before its first install: nothing stored, the name of the
        # running image in its /etc/mender/artifact_info
        pathlib.Path(self.a + ".artifact_info").write_text("gw-v1\n")
        (self.dir / "grubenv").write_text("bootcount=0\nmender_boot_part=2\nmender_boot_part_hex=2\n"
                                          "upgrade_available=0\n")
        (self.dir / "running").write_text(self.a + "\n")
        self.datastore = None  # the orchestrator's datastore the Interface runs with

    @staticmethod
    def image(name, broken=False):
        return (b"BROKEN " if broken else b"") + f"root file system {name}\n".encode() * 100

    def env(self):
        return {"PATH": f"{self.bin}:{os.environ['PATH']}", "MO_MENDER_STUB": str(self.dir),
                "MENDER_DATASTORE_DIR": str(self.dir / "data"), "MENDER_CONF": str(self.dir / "mender.conf"),
                "MO_ROOTFS_IMAGE_RUNNING_ROOT": str(self.dir / "running")}

    def db(self):
        """The client's store of the Interface: in the data dir of its own under the
        orchestrator's datastore ({datastore}/interface-data/rootfs-image/client), which
        self.datastore names; an empty store before the first commit."""
        f = self.datastore / "interface-data" / "rootfs-image" / "client" / "db.json"
        return json.loads(f.read_text()) if f.exists() else {}

    def bootenv(self):
        return dict(l.split("=", 1) for l in (self.dir / "grubenv").read_text().splitlines())

    def running(self):
        return (self.dir / "running").read_text().strip()

    def boot(self):
        subprocess.run([str(self.bin / "mender-stub-boot")], env={**os.environ, **self.env()}, check=True)

    def boots(self):
        p = self.dir / "boots.log"
        return p.read_text().splitlines() if p.exists() else []

    def client_calls(self):
        return (self.dir / "calls.log").read_text().splitlines()

    def artifact(self, out, name, broken=False):
        img = out.parent / f"{name}.ext4"
        img.write_bytes(self.image(name, broken))
        subprocess.run(["mender-artifact", "write", "rootfs-image", "-n", name, "-t", GW, "-f", str(img), "-o",
                        str(out)], check=True, capture_output=True)
        return out

    def expect(self, name, part):
        """The device runs `part` with `name` committed, and nothing is in progress."""
        assert self.running() == part
        env = self.bootenv()
        assert env["upgrade_available"] == "0" and env["mender_boot_part"] == part[-1], env
        db = self.db()
        assert "standalone" not in db, db
        shown = subprocess.run([str(self.bin / "mender"), "show-artifact"], env={**os.environ, **self.env()},
                               capture_output=True, text=True, check=True).stdout.strip()
        assert shown == name
        if "artifact_name" in db:  # recorded by a commit (before the first one, the image's artifact_info)
            assert db["artifact_name"] == name and db["provides"]["rootfs-image.version"] == name, db


@pytest.fixture
def device(tmp_path):
    return Device(tmp_path / "device")


def test_interface_check_passes(device, tmp_path):
    """interface-check, with the stub's bootloader as the System-device reboot, passes every
    check: install, rollbacks (after install, after a power cut, after commit) and an upgrade."""
    a2 = device.artifact(tmp_path / "gw-v2.mender", "gw-v2")
    a3 = device.artifact(tmp_path / "gw-v3.mender", "gw-v3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENDER_ORCHESTRATOR_")}
    env.update(device.env())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    p = subprocess.run([BIN, "interface-check", "--format", "json", "--reboot-command", "mender-stub-boot", "--scratch",
                        scratch, "--keep", IFACE, a2, a3], env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(p.stdout)
    st = {c["check"]: c["status"] for c in report["checks"]}
    assert p.returncode == 0, (st, p.stderr)
    assert all(s == "pass" for c, s in st.items() if c != "timing"), st
    # it ends on the second Artifact, on partition A again (A, B, A), recorded in the
    # client's store of the Interface (the scratch datastore's)
    [device.datastore] = scratch.glob("mo-interface-check.*/datastore")
    assert device.db()["artifact_name"] == "gw-v3"
    device.expect("gw-v3", device.a)
    # no full copy: the client read the Artifact from the stream FIFO
    installs = [c for c in device.client_calls() if " install " in f" {c} "]
    assert installs and all("/streams/artifact.mender" in c for c in installs)


def test_without_reboot_command_the_verify_is_not_called(device, tmp_path):
    a2 = device.artifact(tmp_path / "gw-v2.mender", "gw-v2")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENDER_ORCHESTRATOR_")}
    env.update(device.env())
    p = subprocess.run([BIN, "interface-check", "--format", "json", IFACE, a2], env=env, capture_output=True,
                       text=True, timeout=300)
    st = {c["check"]: (c["status"], c["reason"]) for c in json.loads(p.stdout)["checks"]}
    assert st["reboot"][0] == "warn" and "--reboot-command" in st["reboot"][1], st


class Gateway:
    """The device as the System device of a System: the gateway (rootfs-image, order 10)
    and a scripted sensor (order 20) that a test can make fail."""

    def __init__(self, mo, device, tmp_path):
        self.mo, self.dev, self.tmp = mo, device, tmp_path
        device.datastore = mo.datastore
        self.kit = Kit(tmp_path / "kit", mo.data)
        (self.kit.ifaces / "rootfs-image").symlink_to(IFACE)
        self.kit.install("sensor-if")
        self.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                           provides={"rootfs-image.sensor-if.version": "sensor-v1"})
        mo.env.update(self.kit.env())
        mo.env.update(device.env())
        (mo.datastore / "topology.yaml").write_text("\n".join([
            "api_version: mender/v1", "kind: topology", 'system_type: "sys"', "components:",
            f"  - component_type: {GW}", "    interface: rootfs-image",
            "  - component_type: sensor", "    interface: sensor-if", '    interface_args: ["s1"]']) + "\n")

    def manifest(self, version, broken=False):
        rel = self.tmp / "release"
        rel.mkdir(exist_ok=True)
        self.dev.artifact(rel / f"gw-{version}.mender", f"gw-{version}", broken)
        make_artifact(rel / f"sensor-{version}.mender", f"sensor-{version}", ["sensor"], payload_type="sensor-if",
                      payload=f"sensor {version}\n".encode())
        return write_manifest(rel / f"manifest-{version}.yaml", f"sys-{version}",
                              {GW: (f"gw-{version}.mender", 10), "sensor": (f"sensor-{version}.mender", 20)})

    def run_until_done(self, *args):
        """install/rollback with --exit-on-reboot; every exit 4 is a power-on of the device
        and `resume`, as the boot sequence does. Returns the last result and the boots."""
        r = self.mo.run(*args, "--exit-on-reboot")
        reboots = 0
        while r.rc == 4:
            reboots += 1
            assert reboots < 5, r
            self.dev.boot()
            r = self.mo.run("resume", "--exit-on-reboot")
        return r, reboots

    def sensor(self):
        return self.kit.calls("s1")

    def last(self):
        r = self.mo.run("history", "--json")
        assert r.rc == 0, r
        return json.loads(r.out)[0]


@pytest.fixture
def gateway(mo, device, tmp_path):
    return Gateway(mo, device, tmp_path)


def test_update_reboots_into_the_other_partition(gateway):
    dev = gateway.dev
    r, reboots = gateway.run_until_done("install", gateway.manifest("v2"))
    assert r.rc == 0 and reboots == 1, r
    dev.expect("gw-v2", dev.b)
    # recorded in the Interface's own client store, not in the device's client's
    assert dev.db()["artifact_name"] == "gw-v2"
    assert not (dev.dir / "data" / "db.json").exists()
    p = gateway.mo.run("show-provides")
    assert f"{GW}." in p.out and "rootfs-image.version=gw-v2" in p.out, p
    # installed: the same Manifest again skips the gateway
    r = gateway.mo.run("plan", "--format", "json", gateway.manifest("v2"))
    assert r.out.count('"already installed"') == 2, r
    # and back to partition A with v3
    r, reboots = gateway.run_until_done("install", gateway.manifest("v3"))
    assert r.rc == 0 and reboots == 1, r
    dev.expect("gw-v3", dev.a)


def test_later_group_reboot_boots_the_new_root_again(gateway):
    """The sensor (group 20) needs a System-device reboot too. The new root, verified after
    the first reboot, gets a fresh trial boot (bootcount 0): the second reboot boots it
    again instead of the bootloader falling back, and the deployment commits on B."""
    dev = gateway.dev
    gateway.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n",
                                         "NeedsArtifactReboot": "Automatic\n"},
                          provides={"rootfs-image.sensor-if.version": "sensor-v1"})
    r, reboots = gateway.run_until_done("install", gateway.manifest("v2"))
    assert r.rc == 0 and reboots == 2, r
    assert dev.boots() == [f"booted {dev.b}"] * 2, dev.boots()
    dev.expect("gw-v2", dev.b)
    assert gateway.last()["result"] == "success"


def test_later_failure_reboots_back(gateway):
    """The sensor fails ArtifactCommit after the gateway runs v2: the gateway switches back
    and the System device reboots into its old partition."""
    dev = gateway.dev
    gateway.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                          provides={"rootfs-image.sensor-if.version": "sensor-v1"}, exit={"ArtifactCommit": 1})
    r, reboots = gateway.run_until_done("install", gateway.manifest("v2"))
    assert r.rc == 1 and reboots == 2, r
    dev.expect("gw-v1", dev.a)
    assert dev.boots() == [f"booted {dev.b}", f"booted {dev.a}"]
    assert gateway.last()["result"] == "failed"


def test_new_root_that_does_not_come_up(gateway):
    """The bootloader falls back to the old root: the verify fails, the rollback needs no
    second reboot, and the whole System is back on v1."""
    dev = gateway.dev
    r, reboots = gateway.run_until_done("install", gateway.manifest("v2", broken=True))
    assert r.rc == 1 and reboots == 1, r
    assert dev.boots() == [f"{dev.b} did not come up", f"fallback to {dev.a}", f"booted {dev.a}"]
    dev.expect("gw-v1", dev.a)
    assert "ArtifactInstall" not in [c["call"] for c in gateway.sensor()]
    last = gateway.last()
    assert last["result"] == "failed" and "ArtifactVerifyReboot" in last["failure"], last


def test_interrupted_download_leaves_the_boot_environment(gateway, device):
    """A Download that fails (the client refuses the Artifact) never touched the boot
    environment; the client's state is cleared by Cleanup."""
    before = device.bootenv()
    (device.dir / "refuse-install").touch()
    r = gateway.mo.run("install", gateway.manifest("v2"), "--exit-on-reboot")
    assert r.rc == 1, r
    assert "mender install failed" in r.err
    assert device.bootenv() == before and device.running() == device.a
