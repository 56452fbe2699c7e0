"""The gateway scenarios (README, "A real gateway"): a QEMU A/B gateway made from Debian 12's
packages, whose own root file system is one Component (the rootfs-image Interface over
Debian's Mender Client 3.4) beside two microcontrollers (the demo's RTOS Interface) in a
later order group. Everything is checked from the host through the test agent:
show-provides, history, the boot environment and the partition / is mounted from.

Partitions: /dev/vda2 is root A, /dev/vda3 root B. The gateway starts on A with gateway-v1
and both microcontrollers at rtos-v1."""
import pytest

A = "/dev/vda2"
B = "/dev/vda3"


def start_on_v1(g):
    assert g.root() == A
    assert g.versions() == ("gateway-v1", "rtos-v1", "rtos-v1")


def update_to_v2(g):
    """v1 -> v2 through one reboot into B, resumed by the boot-time unit."""
    before = g.boot_id
    g.install_detached("manifest-v2.yaml")
    g.wait_reboot(before)
    assert g.root() == B
    assert g.check("cat /etc/gateway-release").strip() == "v2"
    assert g.status() is None, g.check("cat /data/install.log")
    assert g.versions() == ("gateway-v2", "rtos-v2", "rtos-v2")
    env = g.bootenv()
    assert env["mender_boot_part"] == "3" and env["upgrade_available"] == "0", env
    # the deployment went on after the reboot from the unit, not from the first process
    assert "resuming the deployment in progress after the System-device reboot" in g.resume_log()
    last = g.history()[0]
    assert last["result"] == "success", last


def test_a_v1_to_v2(gateway):
    """a. v1 -> v2: the gateway's root and both microcontrollers; the reboot into B; the
    deployment resumed at boot by the unit; committed; all v2 (and the client itself
    reports the new Artifact)."""
    g = gateway
    start_on_v1(g)
    update_to_v2(g)
    assert g.check("mender show-artifact 2>/dev/null").strip() == "gateway-v2"
    # a second boot stays on B: the update is committed for the bootloader too
    before = g.boot_id
    g.check("systemd-run --no-block sh -c 'sleep 1; reboot'")
    g.wait_reboot(before)
    assert g.root() == B
    assert g.versions() == ("gateway-v2", "rtos-v2", "rtos-v2")
