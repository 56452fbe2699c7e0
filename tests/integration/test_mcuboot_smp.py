"""The mcuboot-smp reference Interface (interfaces/mcuboot-smp/, docs/interfaces.md)
driven by the real binary against our SMP test device (tests/integration/smp_device.py):
a System of a gateway-like Component (the scripted Interface) and two MCUs, each on its own
pty. v1 -> v2; failures after the MCUs were reset into v2 (in test, and confirmed); the
orchestrator killed in the middle of an upload, then resume; injected faults (lost and
corrupted frames, a lost answer to the reset, a reset during the upload, an image that
never confirms, a device that stops answering), each ending in a consistent System; interface-check against the device;
and the time of one update of a 256 KiB image."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from conftest import BIN, make_artifact, write_manifest
from kit import BUILD, ROOT, Kit

IFACE = BUILD / "interfaces" / "mcuboot-smp" / "mcuboot-smp"
DEVICE = pathlib.Path(__file__).with_name("smp_device.py")
MKMCUBOOT = ROOT / "scripts" / "mkmcuboot"
# short waits: the device answers at once and boots in 50 ms
FAST = ["timeout_ms=300", "retries=3", "reset_wait_ms=100", "boot_timeout_ms=5000"]


def mkimage(out, version, size=4096, device_type="mcu"):
    """An MCUboot image and its Artifact (scripts/mkmcuboot); returns the Artifact's path."""
    art = out.with_suffix(".mender")
    subprocess.run([sys.executable, str(MKMCUBOOT), "--version", version, "--size", str(size), "-o", str(out),
                    "--artifact", str(art), "--device-type", device_type], check=True)
    return art


class Mcu:
    """One test device on its pty."""

    def __init__(self, d, primary):
        self.dir = d
        d.mkdir(parents=True)
        self.proc = subprocess.Popen([sys.executable, str(DEVICE), str(d), "--primary", str(primary)])
        for _ in range(500):
            if (d / "state.json").exists():
                break
            time.sleep(0.01)
        self.tty = str(d / "tty")

    def state(self):
        return json.loads((self.dir / "state.json").read_text())

    def control(self, **cfg):
        tmp = self.dir / "control.tmp"
        tmp.write_text(json.dumps(cfg))
        os.replace(tmp, self.dir / "control.json")
        while (self.dir / "control.json").exists():  # taken by the device
            time.sleep(0.01)

    def running(self):
        s = self.state()
        return s["slot0"]["version"], s["confirmed"]

    def consistent(self, version):
        """The MCU runs version, confirmed, with nothing marked for test."""
        s = self.state()
        return (s["slot0"]["version"], s["confirmed"], s["pending"]) == (version, True, False)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class McuSystem:
    """A gateway (the scripted Interface, instance gw) and two MCUs on ptys."""

    def __init__(self, mo, tmp_path, mcus=("mcu1", "mcu2"), image_size=4096, extra_args=()):
        self.mo = mo
        self.tmp = tmp_path
        self.kit = Kit(tmp_path / "kit", mo.data)
        mo.env.update(self.kit.env())
        (self.kit.ifaces / "mcuboot-smp").symlink_to(IFACE)
        self.kit.install("gw-if")
        self.gateway({})
        self.rel = tmp_path / "release"
        self.rel.mkdir()
        self.size = image_size
        v1 = self.rel / "mcu-1.0.0.bin"
        mkimage(v1, "1.0.0", image_size)
        self.mcus = {n: Mcu(tmp_path / n, v1) for n in mcus}
        topo = ["api_version: mender/v1", "kind: topology", 'system_type: "sys"', "components:",
                "  - component_type: gateway", "    interface: gw-if", '    interface_args: ["gw"]']
        for n, m in self.mcus.items():
            topo += ["  - component_type: mcu", "    interface: mcuboot-smp",
                     "    interface_args: " + json.dumps([m.tty, f"id={n}"] + FAST + list(extra_args))]
        (mo.datastore / "topology.yaml").write_text("\n".join(topo) + "\n")

    def gateway(self, cfg):
        self.kit.configure("gw", provides={"rootfs-image.gw-if.version": "gw-v1"},
                           answers={"SupportsRollback": "Yes\n"}, **cfg)

    def manifest(self, version, gw="gw-v2"):
        art = self.rel / f"mcu-{version}.mender"
        if not art.exists():
            mkimage(self.rel / f"mcu-{version}.bin", version, self.size)
        g = self.rel / f"{gw}.mender"
        if not g.exists():
            make_artifact(g, gw, ["gateway"], payload_type="gw-if")
        return write_manifest(self.rel / f"manifest-{version}-{gw}.yaml", f"sys-{version}-{gw}",
                              {"mcu": (art.name, 10), "gateway": (g.name, 20)})

    def install(self, version, gw="gw-v2"):
        return self.mo.run("install", self.manifest(version, gw))

    def consistent(self, version):
        return all(m.consistent(version) for m in self.mcus.values())

    def provides(self):
        r = self.mo.run("show-provides")
        assert r.rc == 0, r
        return dict(line.split("=", 1) for line in r.out.splitlines())

    def events(self, name):
        return self.mcus[name].state()["events"]

    def stop(self):
        for m in self.mcus.values():
            m.stop()


@pytest.fixture
def system(mo, tmp_path):
    s = McuSystem(mo, tmp_path)
    yield s
    s.stop()


def test_v1_to_v2_then_skipped(system):
    p = system.provides()
    assert p["mcu.mcu1.rootfs-image.mcuboot-smp.version"] == "1.0.0"
    assert p["mcu.mcu2.rootfs-image.mcuboot-smp.version"] == "1.0.0"
    assert len(p["mcu.mcu1.mcuboot-smp.hash"]) == 64
    r = system.install("2.0.0")
    assert r.rc == 0, r
    assert system.consistent("2.0.0")
    for n in system.mcus:
        ev = system.events(n)
        assert ev.count("upload-start") == 1 and "test" in ev and "swap" in ev and "confirm" in ev
        assert "revert" not in ev
    p = system.provides()
    assert p["mcu.mcu1.rootfs-image.mcuboot-smp.version"] == "2.0.0"
    assert p["mcu.mcu1.mcuboot-smp.hash"] == system.mcus["mcu1"].state()["slot0"]["hash"]
    # the image already runs: the MCUs are skipped (no upload, no reset)
    boots = {n: m.state()["boots"] for n, m in system.mcus.items()}
    r = system.install("2.0.0", gw="gw-v3")
    assert r.rc == 0, r
    for n, m in system.mcus.items():
        assert m.state()["boots"] == boots[n] and system.events(n).count("upload-start") == 1


@pytest.mark.parametrize("state", ["ArtifactInstall", "ArtifactCommit"])
def test_gateway_failure_after_the_mcus_ran_v2_rolls_them_back(system, state):
    """The gateway (order 20) fails after both MCUs were reset into v2. At its
    ArtifactInstall they run v2 in test: a reset each, and MCUboot reverts them. At its
    ArtifactCommit they have confirmed v2: the old image is marked permanent and swapped
    back in."""
    system.gateway({"exit": {state: 1}})
    r = system.install("2.0.0")
    assert r.rc == 1, r
    assert system.consistent("1.0.0")
    for n in system.mcus:
        ev = system.events(n)
        if state == "ArtifactInstall":
            assert ev.index("swap") < ev.index("revert") and "permanent" not in ev
        else:
            assert ev.index("confirm") < ev.index("permanent") < ev.index("swap", ev.index("permanent"))
    # nothing is left open to roll back; the MCUs stay
    assert system.mo.run("rollback").rc != 0
    assert system.consistent("1.0.0")


def test_self_confirming_image_and_rollback_repeated(system, mo):
    """An image that confirms itself at boot; the rollback is run again by hand (as after a
    power cut in it): the second changes nothing."""
    for m in system.mcus.values():
        m.control(self_confirm=True)
    system.gateway({"exit": {"ArtifactCommit": 1}})
    assert system.install("2.0.0").rc == 1
    assert system.consistent("1.0.0")
    wd = mo.datastore / "work" / "mcu"
    assert not wd.exists() or not any(wd.iterdir())  # Cleanup ran: the work dirs are gone
    # the Interface's own rollback again on a copy of a record: the device is already back
    m = system.mcus["mcu1"]
    w = system.tmp / "wd"
    (w / "tmp").mkdir(parents=True)
    v1 = m.state()["slot0"]["hash"]
    (w / "tmp" / "mcuboot-smp.txn").write_text(f"old_hash={v1}\nold_version=1.0.0\nphase=installed\n")
    boots = m.state()["boots"]
    for _ in range(2):
        p = subprocess.run([str(IFACE), "ArtifactRollback", str(w), "mcu", m.tty, "id=mcu1", *FAST], cwd=w,
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    assert m.state()["boots"] == boots and m.consistent("1.0.0")


def wait_for(pred, what, limit=60):
    for _ in range(limit * 100):
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError(f"never: {what}")


def test_killed_mid_upload_then_resume_then_install_continues(system, mo):
    for m in system.mcus.values():
        m.control(delay_ms=5)
    system.size = 64 * 1024
    man = system.manifest("2.0.0")
    proc = subprocess.Popen([BIN, "install", str(man)], env=mo.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    mcu1 = system.mcus["mcu1"]
    wait_for(lambda: (mcu1.state()["upload_off"] or 0) > 8 * 1024, "the upload under way")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    off = mcu1.state()["upload_off"]
    assert 0 < off < 64 * 1024
    r = mo.run("resume")
    assert r.rc == 1, r  # the interrupted Download fails the deployment; nothing was installed
    assert system.consistent("1.0.0")
    for m in system.mcus.values():
        m.control(delay_ms=0)
    r = system.install("2.0.0")
    assert r.rc == 0, r
    assert system.consistent("2.0.0")
    resumed = [e for e in system.events("mcu1") if e.startswith("upload-resume")]
    assert resumed and int(resumed[0].split()[1]) >= off


@pytest.mark.parametrize("fault", [
    {"drop_responses": 1, "drop_requests": 1, "corrupt_responses": 1},
    {"drop_every": 7},
    {"corrupt_every": 5},
])
def test_lost_and_corrupted_frames_are_retried(system, fault):
    for m in system.mcus.values():
        m.control(**fault)
    r = system.install("2.0.0")
    assert r.rc == 0, r
    assert system.consistent("2.0.0")
    assert "sent again" in r.err


def test_lost_answer_to_the_reset_is_not_a_second_reset(system):
    """A reset sent again would reset the MCU twice, and the second reset reverts the image
    just swapped in for test: the Interface sends it once and waits for the MCU."""
    system.mcus["mcu1"].control(drop_reset_answers=1)
    r = system.install("2.0.0")
    assert r.rc == 0, r
    assert system.consistent("2.0.0")
    assert system.events("mcu1").count("reset") == 1 and "revert" not in system.events("mcu1")


def test_reset_during_upload_fails_cleanly_then_installs(system):
    system.mcus["mcu2"].control(reset_at_upload_off=2000)
    r = system.install("2.0.0")
    assert r.rc == 1, r
    assert "restarted the upload" in r.err
    assert system.consistent("1.0.0")
    assert system.install("2.0.0").rc == 0
    assert system.consistent("2.0.0")


def test_image_that_never_confirms_is_reverted(system):
    """v2 hangs on mcu2 (no SMP, no confirm) until the watchdog resets it: MCUboot reverts,
    ArtifactVerifyReboot sees v1, the System is rolled back (mcu1, which ran v2, too)."""
    system.mcus["mcu2"].control(hang_versions=["2.0.0"])
    r = system.install("2.0.0")
    assert r.rc == 1, r
    assert "not the new image" in r.err
    assert system.consistent("1.0.0")
    assert "watchdog" in system.events("mcu2") and "revert" in system.events("mcu1")


def test_image_that_runs_but_never_confirms_itself(mo, tmp_path):
    """confirm_wait_ms: the images must confirm themselves. mcu1's does, mcu2's runs but
    never does: ArtifactVerifyReboot fails on mcu2, and both are rolled back (mcu1, already
    confirmed, by marking the old image permanent)."""
    s = McuSystem(mo, tmp_path, extra_args=["confirm_wait_ms=600"])
    try:
        s.mcus["mcu1"].control(self_confirm=True)
        r = s.install("2.0.0")
        assert r.rc == 1, r
        assert "did not confirm itself" in r.err
        assert s.consistent("1.0.0")
        assert "self-confirm" in s.events("mcu1") and "permanent" in s.events("mcu1")
        assert "revert" in s.events("mcu2")
    finally:
        s.stop()


def test_device_that_stops_answering(system):
    """mcu1 goes silent once its image is marked for test: ArtifactReboot fails, and so does its
    rollback (exit 3, inconsistent, the deployment stays open). Back on line, `rollback`
    finishes the job."""
    system.mcus["mcu1"].control(silent_after_event="test")
    r = system.install("2.0.0")
    assert r.rc == 3, r
    assert "no answer after" in r.err and system.mcus["mcu1"].tty in r.err
    system.mcus["mcu1"].control(silent=False, silent_after_event=None)
    r = system.mo.run("rollback")
    assert r.rc == 0, r
    assert system.consistent("1.0.0")


def test_interface_check_passes_against_the_device(mo, tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    mcu = Mcu(tmp_path / "dev", _v1(d))
    try:
        a2 = mkimage(d / "v2.bin", "2.0.0")
        a3 = mkimage(d / "v3.bin", "3.0.0")
        args = []
        for a in [mcu.tty, "id=check"] + FAST:
            args += ["--interface-arg", a]
        r = mo.run("interface-check", *args, IFACE, a2, a3, timeout=300)
        assert r.rc == 0, r
        assert " fail " not in r.out
        assert mcu.consistent("3.0.0")
    finally:
        mcu.stop()


def _v1(d):
    p = d / "v1.bin"
    subprocess.run([sys.executable, str(MKMCUBOOT), "--version", "1.0.0", "--size", "4096", "-o", str(p)],
                   check=True)
    return p


def test_timed_update_of_a_256k_image(mo, tmp_path):
    """The figure of docs/interfaces.md: one MCU, a 256 KiB image, default mtu (256)."""
    s = McuSystem(mo, tmp_path, mcus=("mcu1",), image_size=256 * 1024)
    try:
        t = time.monotonic()
        r = s.install("2.0.0")
        took = time.monotonic() - t
        assert r.rc == 0, r
        assert s.consistent("2.0.0")
        line = [l for l in r.err.splitlines() if "uploaded to slot 1" in l]
        print(f"\n256 KiB update over the pty: {took:.2f} s in all; {line[0].split(': ', 2)[-1] if line else ''}")
        print(f"requests: {s.mcus['mcu1'].state()['requests']}")
    finally:
        s.stop()
