"""Fixtures of the system tests (README, "A real gateway"): the gateway image, the releases
disk, and one VM per test.

  image     tests/system/build-image.sh on this repository's Debian package (built by
            tests/package/build-deb.sh, or taken from MO_PACKAGE_OUT=DIR); cached under
            MO_SYSTEM_CACHE (default /var/cache/mender-orchestrator-system)
  releases  an ext4 image holding the Artifacts (made here with Debian's mender-artifact)
            and the Manifests, attached read-only to every VM as /dev/vdb, /releases
  gateway   a fresh VM on a qcow2 overlay of the image, booted and answering

Needs root (mmdebstrap, chroot), qemu-system-x86, ovmf, the tools of build-image.sh and the
Debian mirror for the first build (scripts/bootstrap installs the tools)."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest

from mender_server import MenderServer
from vm import Gateway

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TIMES = []  # (what, seconds), printed at the end of the session
NOTES = []  # outcomes worth reading, printed with them

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mmdebstrap --mode=root, chroot)")


def run(*args, timeout=3600, **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def timed(what, t0):
    TIMES.append((what, time.monotonic() - t0))


def pytest_terminal_summary(terminalreporter):
    if TIMES:
        terminalreporter.write_line("system test times:")
        for what, s in TIMES:
            terminalreporter.write_line(f"  {what}: {s:.0f} s")
        for note in NOTES:
            terminalreporter.write_line(f"  {note}")


@pytest.fixture(scope="session")
def image(tmp_path_factory):
    for tool in ("qemu-system-x86_64", "qemu-img", "mmdebstrap", "grub-mkimage", "mender-artifact"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed (scripts/bootstrap installs it)")
    t0 = time.monotonic()
    out = os.environ.get("MO_PACKAGE_OUT")
    if not out:
        out = tmp_path_factory.mktemp("deb")
        run(ROOT / "tests/package/build-deb.sh", out, env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck"))
        timed("Debian package build", t0)
    debs = list(pathlib.Path(out).glob("mender-orchestrator_*.deb"))
    assert len(debs) == 1, debs
    t0 = time.monotonic()
    nxt = next_build()
    timed("the next release's build (build or up to date)", t0)
    t0 = time.monotonic()
    path = pathlib.Path(run(HERE / "build-image.sh", debs[0],
                            env=dict(os.environ, MO_SYSTEM_NEXT_BIN=str(nxt))).strip().splitlines()[-1])
    timed("gateway image (build or cache)", t0)
    return path


def next_build():
    """The binary root v2 carries (scenario e): a test build of this tree with the
    package's folders (--prefix=/usr), playing the next release there
    (MO_TEST_NEXT_RELEASE=1, docs/compatibility.md). Built in build-system-next/."""
    out = ROOT / "build-system-next"
    if not (out / "build.ninja").exists():
        run("meson", "setup", out, ROOT, "--prefix=/usr", "-Dtest_hooks=true", "-Dtests=disabled",
            "-Dstatic_libarchive=disabled", "-Dwerror=true")
    run("nice", "-n", "10", "ninja", "-C", out, "mender-orchestrator")
    return out / "mender-orchestrator"


def artifact(out, kind, name, device_type, payload, extra=()):
    run("mender-artifact", "write", kind, "-n", name, "-t", device_type, "-f", payload,
        "-o", out / f"{name}.mender", *extra)


def manifest(out, version, gateway, rtos):
    (out / f"manifest-{version}.yaml").write_text(f"""api_version: "mender/v1"
kind: "manifest"
name: "gateway-system-{version}"
system_types_compatible: ["gateway-system"]
component_types:
  gateway:
    artifact_path: {gateway}.mender
    update_strategy:
      order: 10
  rtos:
    artifact_path: {rtos}.mender
    update_strategy:
      order: 20
""")


def manifest_artifact(out, version, gateway, rtos):
    """system-VERSION.mender: the Manifest Artifact of managed mode (scenario f), made with
    our generator. The Manifest travels alone, so its artifact_path values are absolute:
    the Component Artifacts are on the releases disk."""
    src = out.parent / f"manifest-managed-{version}.yaml"
    manifest(out.parent, f"managed-{version}", f"/releases/{gateway}", f"/releases/{rtos}")
    src.write_text(src.read_text().replace(f'name: "gateway-system-managed-{version}"',
                                           f'name: "gateway-system-{version}"'))
    run(ROOT / "modules/mender-orchestrator-manifest-gen", "-t", "gateway-system", "-o",
        out / f"system-{version}.mender", src)


@pytest.fixture(scope="session")
def releases(image, tmp_path_factory):
    """The releases disk: gateway-VERSION.mender (rootfs-image of
    build-image.sh's rootfs-VERSION.ext4), rtos-VERSION.mender (the demo's RTOS payload),
    manifest-VERSION.yaml (gateway in order group 10, both microcontrollers in 20), and
    system-VERSION.mender, the same as Manifest Artifacts (named gateway-system-VERSION)
    for managed mode."""
    t0 = time.monotonic()
    base = tmp_path_factory.mktemp("releases")
    out = base / "releases"
    out.mkdir()
    for v in ("v2", "v3", "v3-broken"):
        artifact(out, "rootfs-image", f"gateway-{v}", "gateway", image / f"rootfs-{v}.ext4")
    for v in ("v2", "v3"):
        fw = base / f"firmware-{v}.bin"
        fw.write_text(f"rtos {v} firmware\n")
        artifact(out, "module-image", f"rtos-{v}", "rtos", fw, ("-T", "rtos-interface"))
    manifest(out, "v2", "gateway-v2", "rtos-v2")
    manifest(out, "v3", "gateway-v3", "rtos-v3")
    manifest(out, "v3-broken", "gateway-v3-broken", "rtos-v3")
    manifest_artifact(out, "v2", "gateway-v2", "rtos-v2")
    manifest_artifact(out, "v3", "gateway-v3", "rtos-v3")
    img = base / "releases.ext4"
    size = sum(f.stat().st_size for f in out.iterdir()) // (1 << 20) + 64
    run("mkfs.ext4", "-q", "-F", "-L", "releases", "-d", out, img, f"{size}M")
    timed("releases disk", t0)
    return img


# The disk scenario a leaves (the System all v2, powered off cleanly): the scenarios that
# start from v2 boot an overlay of it instead of updating v1 again.
# MO_SYSTEM_V2_DISK=PATH: such a disk from an earlier session (its test_a folder's
# vm/disk.qcow2, over the same image), to run the later scenarios alone.
V2_DISK = [os.environ["MO_SYSTEM_V2_DISK"]] if os.environ.get("MO_SYSTEM_V2_DISK") else []


def boot(image, releases, tmp_path, request, backing=None):
    g = System(tmp_path / "vm", image, backing=backing)
    t0 = time.monotonic()
    g.start(releases)
    g.boot_id = g.wait_up()
    timed(f"{request.node.name}: first boot", t0)
    return g


@pytest.fixture
def gateway(image, releases, tmp_path, request):
    """The gateway as built: root A, all v1."""
    g = boot(image, releases, tmp_path, request)
    yield g
    g.stop()


@pytest.fixture
def gateway_v2(image, releases, tmp_path, request):
    """The gateway as scenario a left it: root B, all v2."""
    if not V2_DISK:
        pytest.skip("needs the System scenario a updated to v2 (run it first, in the same session)")
    g = boot(image, releases, tmp_path, request, backing=V2_DISK[0])
    yield g
    g.stop()


@pytest.fixture
def gateway_managed(image, releases, tmp_path, request):
    """The gateway as built (root A, all v1) with a network card and a stand-in Mender
    server on the host (tests/system/mender_server.py), serving the releases disk's
    files. Managed mode is not configured yet: see test_f_managed_mode."""
    server = MenderServer(pathlib.Path(releases).parent / "releases")
    g = System(tmp_path / "vm", image)
    g.server_port = server.port
    g.server = server
    t0 = time.monotonic()
    g.start(releases)
    g.boot_id = g.wait_up()
    timed(f"{request.node.name}: first boot", t0)
    yield g
    g.stop()
    server.close()


class System(Gateway):
    """The gateway with what the scenarios ask of it."""

    def provides(self):
        """show-provides as {key: value}."""
        out = self.check("mender-orchestrator --log-level warning show-provides")
        return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)

    def versions(self):
        """What every Component runs: gateway artifact_name, both microcontrollers' version."""
        p = self.provides()
        gw = [v for k, v in p.items() if k.startswith("gateway.") and k.endswith(".artifact_name")]
        mcu = [p.get(f"rtos.mcu-{n}.rootfs-image.rtos-interface.version") for n in (1, 2)]
        return (gw[0] if gw else None, *mcu)

    def root(self):
        """The partition / is mounted from."""
        return self.check("findmnt -n -o SOURCE /").strip()

    def bootenv(self):
        return dict(l.split("=", 1) for l in self.check("fw_printenv").splitlines() if "=" in l)

    def status(self):
        return json.loads(self.check("mender-orchestrator --log-level warning status --json"))

    def history(self):
        return json.loads(self.check("mender-orchestrator --log-level warning history --json"))

    def install_detached(self, manifest):
        """Starts `mender-orchestrator install` in its own unit: it reboots the gateway on
        the way (RebootCommand), and the boot-time unit resumes it."""
        self.check(f"systemd-run --unit=mo-install --collect sh -c "
                   f"'mender-orchestrator install /releases/{manifest} >/data/install.log 2>&1; "
                   f"echo $? >/data/install.rc'")

    def wait_reboot(self, old_boot_id, limit=1800):
        """Waits until the agent answers from another boot than OLD_BOOT_ID (the boot-time
        resume is over then); returns the new boot id."""
        deadline = time.monotonic() + limit
        while True:
            bid = self.wait_up(limit=max(deadline - time.monotonic(), 1))
            if bid != old_boot_id:
                self.boot_id = bid
                return bid
            if time.monotonic() > deadline:
                raise AssertionError(f"no reboot:\n{self.console_tail()}")
            time.sleep(2)

    def boots_since(self, offset):
        """The root partitions GRUB booted, in order, since console offset OFFSET."""
        return re.findall(r"gateway-boot: booting partition (\d)", self.console_text()[offset:])

    def resume_log(self):
        return self.run("journalctl -b -o cat -u mender-orchestrator-resume.service")[1]
