"""The gateway scenarios (README, "A real gateway"): a QEMU A/B gateway made from Debian 12's
packages, whose own root file system is one Component (the rootfs-image Interface over
Debian's Mender Client 3.4) beside two microcontrollers (the demo's RTOS Interface) in a
later order group. Everything is checked from the host through the test agent:
show-provides, history, the boot environment and the partition / is mounted from.

Partitions: /dev/vda2 is root A, /dev/vda3 root B. The gateway starts on A with gateway-v1
and both microcontrollers at rtos-v1."""
import time

import pytest

from conftest import NOTES, V2_DISK, timed

A = "/dev/vda2"
B = "/dev/vda3"
# the data dir of the rootfs-image Interface's client (docs/interfaces.md)
CLIENT_DATA = "/data/mender-orchestrator/interface-data/rootfs-image/client"


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
    # e: root v1's orchestrator (the package) started it, root v2's (the next release)
    # resumed and finished it
    assert is_package(last["versions"][0]) and is_next(last["versions"][-1]), last
    assert is_next(g.check("mender-orchestrator --version"))


def is_next(version):
    """A version string of the next release's build (root v2's, MO_TEST_NEXT_RELEASE)."""
    return "+next" in version


def is_package(version):
    return not is_next(version)


def test_a_v1_to_v2(gateway):
    """a. v1 -> v2: the gateway's root and both microcontrollers; the reboot into B; the
    deployment resumed at boot by the unit; committed; all v2 (and the client itself
    has recorded the new Artifact)."""
    g = gateway
    start_on_v1(g)
    t0 = time.monotonic()
    update_to_v2(g)
    timed("scenario a: v1 -> v2 (install, reboot, resume)", t0)
    assert "artifact_name=gateway-v2" in g.check(f"mender -d {CLIENT_DATA} show-provides 2>/dev/null").splitlines()
    # a second boot stays on B: the update is committed for the bootloader too
    before = g.boot_id
    g.check("systemd-run --no-block sh -c 'sleep 1; reboot'")
    g.wait_reboot(before)
    assert g.root() == B
    assert g.versions() == ("gateway-v2", "rtos-v2", "rtos-v2")
    g.poweroff()
    V2_DISK.append(g.disk)


def deploy(g, manifest, what):
    """Installs MANIFEST and waits for the boot that ends it; returns the console offset
    from before."""
    t0 = time.monotonic()
    mark = g.console_offset()
    before = g.boot_id
    g.install_detached(manifest)
    g.wait_reboot(before)
    timed(what, t0)
    return mark


def all_v2_on_b(g):
    """The System is back where it was: root B (v2), all v2, nothing in progress, no trial
    pending for the bootloader. Returns the last deployment of the history."""
    assert g.root() == B
    assert g.check("cat /etc/gateway-release").strip() == "v2"
    assert g.status() is None
    assert g.versions() == ("gateway-v2", "rtos-v2", "rtos-v2")
    assert g.bootenv()["upgrade_available"] == "0"
    # the client's record (the rootfs-image Interface's) is still v2's
    assert "artifact_name=gateway-v2" in g.check(f"mender -d {CLIENT_DATA} show-provides 2>/dev/null").splitlines()
    return g.history()[0]


def test_b_mcu_commit_fails_after_gateway_runs_v3(gateway_v2):
    """b. v3 where microcontroller 2 fails ArtifactCommit after the gateway already runs
    v3 (from A) and committed: the whole System returns to v2, the gateway through a
    second reboot into its v2 partition B."""
    g = gateway_v2
    assert g.root() == B and g.versions() == ("gateway-v2", "rtos-v2", "rtos-v2")
    g.check("touch /data/mcu/2/ArtifactCommit.FAIL")
    mark = deploy(g, "manifest-v3.yaml", "scenario b: v3 failing, two reboots")
    # booted A (v3), then back to B (v2): two real reboots
    assert g.boots_since(mark) == ["2", "3"], g.console_tail()
    last = all_v2_on_b(g)
    assert last["result"] == "failed", last
    assert "ArtifactCommit" in last["failure"] and "mcu-2" in last["failure"], last
    # e: v2's build started it, v3's (the package's) went on from root A and rolled back,
    # v2's finished the rollback after the reboot back into B
    assert [is_next(v) for v in last["versions"]] == [True, False, True], last


def test_c_new_root_does_not_come_up(gateway_v2):
    """c. v3 whose root file system does not come up (its init exits: the kernel panics
    and reboots): GRUB's boot counter falls back to B, the orchestrator on the old root
    resumes and rolls the rest back; all v2; history says why."""
    g = gateway_v2
    mark = deploy(g, "manifest-v3-broken.yaml", "scenario c: v3 not coming up, fallback")
    console = g.console_text()[mark:]
    # the fallback seen happen: the trial boot of A, its init giving up, GRUB going back
    assert "gateway-boot: trial boot of partition 2" in console
    assert "gateway v3-broken: init gives up" in console
    assert "gateway-boot: fallback: the trial root did not commit, back to partition 3" in console
    assert g.boots_since(mark) == ["2", "3"]
    # ... and from the guest: B runs, the boot counter of the trial is left at 1
    env = g.bootenv()
    assert (env["mender_boot_part"], env["bootcount"]) == ("3", "1"), env
    last = all_v2_on_b(g)
    assert last["result"] == "failed", last
    assert "ArtifactVerifyReboot" in last["failure"], last
    # e: the old root's build (v2's) started the deployment and rolled it back
    assert all(is_next(v) for v in last["versions"]), last


def cut_while_root_written(g, mark):
    """Download of the gateway: the client has written 64 MiB of the 380 MiB root into A."""
    # the client's progress: what it read of the stream (no procps in the image: the
    # client's process found through /proc; "^[^ ]*": not this loop's own sh)
    g.check("while :; do for p in /proc/[0-9]*; do "
            "tr '\\0' ' ' 2>/dev/null <$p/cmdline | grep -q '^[^ ]*mender -d .* install' || continue; "
            "[ \"$(awk '/^rchar/ {print $2}' $p/io 2>/dev/null || echo 0)\" -gt 67108864 ] && exit 0; "
            "done; sleep 0.5; done", limit=900)


def cut_after_reboot_requested(g, mark):
    """The journal records the pending System-device reboot before RebootCommand runs, which
    in the test image first says so on the console (tests/system/guest/reboot-announce):
    the cut comes as the reboot starts. (Polling `status` through the agent missed the
    window when the machine was loaded: the agent is stopped early in the shutdown.)"""
    g.wait_console("gateway-reboot: requested", mark)


def cut_in_mcu_group(g, mark):
    """After the reboot into A, the boot-time resume installs the microcontrollers."""
    g.wait_console("gateway-mcu: ArtifactInstall", mark)


def cut_in_commit(g, mark):
    """The gateway has committed; the microcontrollers are committing."""
    g.wait_console("gateway-mcu: ArtifactCommit", mark)


CUTS = {"root-written": cut_while_root_written, "reboot-requested": cut_after_reboot_requested,
        "mcu-group": cut_in_mcu_group, "commit": cut_in_commit}


@pytest.mark.parametrize("cut", list(CUTS))
def test_d_power_cut(gateway_v2, cut):
    """d. Power cuts in a v2 -> v3 deployment: QEMU killed with SIGKILL while the root is
    written, right after the reboot is requested, during the microcontroller group, during
    the commits. After the restart the System ends all v2 or all v3, never mixed, with the
    running root, the bootloader and the client agreeing."""
    g = gateway_v2
    t0 = time.monotonic()
    mark = g.console_offset()
    before = g.boot_id
    g.install_detached("manifest-v3.yaml")
    CUTS[cut](g, mark)
    g.kill()
    g.start(g.releases)
    g.wait_reboot(before)
    timed(f"scenario d ({cut}): cut and recovery", t0)
    assert g.status() is None, g.status()
    versions = g.versions()
    assert versions in (("gateway-v2", "rtos-v2", "rtos-v2"), ("gateway-v3", "rtos-v3", "rtos-v3")), versions
    new = versions[0] == "gateway-v3"
    assert g.root() == (A if new else B)
    assert g.check("cat /etc/gateway-release").strip() == ("v3" if new else "v2")
    assert g.bootenv()["upgrade_available"] == "0"
    assert f"artifact_name={versions[0]}" in g.check(f"mender -d {CLIENT_DATA} show-provides 2>/dev/null").splitlines()
    NOTES.append(f"scenario d ({cut}): the System ended all {'v3' if new else 'v2'}")


def manage(g):
    """Managed mode: the device's Mender Client (Debian's 3.4, unmodified) as a daemon,
    polling the stand-in server every 5 s. Its configuration goes into the fallback file on
    the data partition (both roots read it), which also lets its unit start (the image's
    drop-in, tests/system/guest/mender-client-managed.conf)."""
    g.check(f"printf '%s' '{{\"ServerURL\": \"http://10.0.2.2:{g.server_port}\", \"UpdatePollIntervalSeconds\": 5, "
            "\"InventoryPollIntervalSeconds\": 3600, \"RetryPollIntervalSeconds\": 5}' "
            ">/data/mender/mender.conf && sync && systemctl start mender-client.service")


def deploy_managed(g, artifact, name, what):
    """The server offers ARTIFACT; waits for the client's final status and then for the
    agent on the boot the deployment ended in. Returns (final status, statuses reported,
    console offset from before)."""
    t0 = time.monotonic()
    mark = g.console_offset()
    before = g.boot_id
    dep = g.server.deploy(artifact, name)
    try:
        final = g.server.wait_final(dep)
    except AssertionError as e:
        rc, log = g.run("journalctl -b -o cat -u mender-client | tail -n 60", limit=60)
        raise AssertionError(f"{e}\nthe server saw: {g.server.requests[-20:]}\nthe client's log:\n{log}") from e
    g.wait_reboot(before)
    timed(what, t0)
    return final, g.server.statuses[dep], mark


def test_f_managed_mode(gateway_managed):
    """f. Managed mode for real: the unmodified Debian Mender Client, as a daemon talking to
    a (stand-in) server, installs Manifest Artifacts made by mender-orchestrator-manifest-gen
    through our Update Module; the client reboots the VM itself and commits. In both
    Manifests the microcontrollers' group needs a System-device reboot too (mcu-2 answers
    Automatic): the boot-time unit makes that second reboot before the client starts, so
    the client sees only its own (docs/managed-mode.md, "Reboots in later groups").
    v2 succeeds; v3 fails after the reboots (mcu-2's ArtifactCommit) and the whole System
    returns to v2 through the client's rollback."""
    g = gateway_managed
    start_on_v1(g)
    g.check("echo Automatic >/data/mcu/2/NeedsArtifactReboot && sync")
    manage(g)
    final, statuses, mark = deploy_managed(g, "system-v2.mender", "gateway-system-v2",
                                           "scenario f: managed v2 (two reboots)")
    assert final == "success", (statuses, g.server.logs)
    # the client reported one reboot, its own; the VM booted B twice (the client's reboot,
    # then the boot-time unit's for the microcontrollers)
    assert statuses.count("rebooting") == 1, statuses
    assert g.boots_since(mark) == ["3", "3"], g.console_tail()
    assert g.root() == B
    assert g.versions() == ("gateway-v2", "rtos-v2", "rtos-v2")
    assert g.status() is None
    assert g.bootenv()["upgrade_available"] == "0"
    # the device's client records the Manifest Artifact; the Interface's client the root's
    assert "artifact_name=gateway-system-v2" in g.check("mender show-provides 2>/dev/null").splitlines()
    assert "artifact_name=gateway-v2" in g.check(f"mender -d {CLIENT_DATA} show-provides 2>/dev/null").splitlines()
    last = g.history()[0]
    assert last["result"] == "success", last

    g.check("touch /data/mcu/2/ArtifactCommit.FAIL && sync")
    final, statuses, mark = deploy_managed(g, "system-v3.mender", "gateway-system-v3",
                                           "scenario f: managed v3 failing after the reboots (four reboots)")
    assert final == "failure", statuses
    # A (the client's), A (the unit's, microcontrollers), A (the client's rollback reboot),
    # B (the unit's, the gateway's rollback)
    assert g.boots_since(mark) == ["2", "2", "2", "3"], g.console_tail()
    last = all_v2_on_b(g)
    assert "artifact_name=gateway-system-v2" in g.check("mender show-provides 2>/dev/null").splitlines()
    assert last["result"] == "failed", last
    assert "ArtifactCommit" in last["failure"] and "mcu-2" in last["failure"], last
