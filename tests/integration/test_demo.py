"""The demo (demo/run-demo.sh): the v1, v2, v3-with-rollback story on a simulated
System, its machine-readable results, and its mock Interfaces run under dash."""
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT

DEMO = ROOT / "demo"
RUN_DEMO = DEMO / "run-demo.sh"
INTERFACES = [DEMO / "interfaces" / "rtos-interface", DEMO / "interfaces" / "gateway-interface"]


def provides(gateway, rtos1, rtos2):
    return (f"gateway.G13.device_type=gateway\n"
            f"gateway.G13.rootfs-image.gateway-interface.version={gateway}\n"
            f"rtos.R123.device_type=rtos\n"
            f"rtos.R123.rootfs-image.rtos-interface.version={rtos1}\n"
            f"rtos.R456.device_type=rtos\n"
            f"rtos.R456.rootfs-image.rtos-interface.version={rtos2}\n")


EXIT_CODES = """\
show-provides-0=0
plan-v1=0
install-v1=0
status-v1=0
show-provides-1=0
plan-v2=0
install-v2=0
show-provides-2=0
plan-v3=0
install-v3=1
show-provides-3=0
history-v3=0
status-v3=0
"""


def demo_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MENDER_ORCHESTRATOR_", "DEMO_"))}
    env["MO_BIN"] = BIN
    env.update(extra)
    return env


def run_demo(demo_dir, **extra):
    return subprocess.run([str(RUN_DEMO)], env=demo_env(DEMO_DIR=str(demo_dir), **extra),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """One run of the whole demo, shared by the read-only tests below."""
    d = tmp_path_factory.mktemp("story") / "demo"
    proc = run_demo(d)
    return d, proc


def test_demo_passes(story):
    d, proc = story
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert (d / "results" / "outcome.txt").read_text() == "PASS\n"
    assert "DEMO FAILED" not in proc.stdout + proc.stderr


def test_demo_provides_after_each_step(story):
    d, _ = story
    res = d / "results"
    assert (res / "step-0.txt").read_text() == provides("gateway-v0", "rtos-v0", "rtos-v0")
    assert (res / "step-1.txt").read_text() == provides("gateway-v1", "rtos-v1", "rtos-v1")
    # v2 changes only the RTOS components
    assert (res / "step-2.txt").read_text() == provides("gateway-v1", "rtos-v2", "rtos-v2")
    # v3 failed at RTOS 2's ArtifactCommit: the whole System, gateway included, is back at v2
    assert (res / "step-3.txt").read_text() == provides("gateway-v1", "rtos-v2", "rtos-v2")
    assert (res / "exit-codes.txt").read_text() == EXIT_CODES


def test_demo_v3_rolled_back_everything(story):
    d, proc = story
    dev = d / "devices"
    assert (dev / "gateway" / "version").read_text() == "gateway-v1\n"
    assert (dev / "gateway" / "rootfs" / "rootfs.img").read_text() == "gateway v1 payload\n"
    for n in ("1", "2"):
        assert (dev / n / "Provides").read_text() == "version=rtos-v2\n"
        assert (dev / n / "firmware" / "firmware.bin").read_text() == "rtos v2 payload\n"
        assert sorted(p.name for p in (dev / n).iterdir() if p.name.startswith(("firmware.", "version."))) == []
    assert (dev / "2" / "ArtifactCommit.FAIL").exists()
    log = (d / "logs" / "install-v3.log").read_text()
    # the gateway had committed v3 before RTOS 2 failed, and was rolled back all the same
    assert log.index("[gateway-interface] Committed gateway-v3") < log.index("[rtos-interface 2] Failing ArtifactCommit")
    assert log.index("[rtos-interface 2] Failing ArtifactCommit") < log.index("[gateway-interface] Rolled back to gateway-v1")
    assert "[rtos-interface 1] Rolled back to rtos-v2" in log
    assert "[rtos-interface 2] Rolled back to rtos-v2" in log
    # the v2 plan skipped the gateway, and its install never touched it
    plan2 = (d / "logs" / "plan-v2.out").read_text()
    assert "Skipped:" in plan2 and "gateway.G13" in plan2.split("Skipped:")[1]
    assert "gateway.G13" not in (d / "logs" / "install-v2.out").read_text()


def test_demo_output_has_sections_and_summary(story):
    _, proc = story
    out = proc.stdout
    for header in ("=== 0. The System before any update ===", "=== 1. Manifest v1", "=== 2. Manifest v2",
                   "=== 3. Manifest v3", "=== Summary ==="):
        assert header in out
    assert "$ mender-orchestrator install --progress=text release/manifest-v3.yaml" in out
    assert "(exit code 1)" in out
    summary = out.split("=== Summary ===")[1]
    assert "rolled back" in summary
    assert "Demo passed: every outcome as expected" in summary


def orchestrator(d, *args):
    env = demo_env(MENDER_ORCHESTRATOR_CONF_DIR=str(d / "etc"), MENDER_ORCHESTRATOR_DATA_DIR=str(d / "share"),
                   MENDER_ORCHESTRATOR_DATASTORE_DIR=str(d / "var"), DEMO_DEVICES=str(d / "devices"))
    return subprocess.run([BIN, *map(str, args)], cwd=d, env=env, capture_output=True, text=True, timeout=120)


def test_demo_system_goes_on_after_the_story(tmp_path):
    """After the demo: a fault in ArtifactInstall (checked after the flash changed) is
    rolled back too; without faults, v3 installs."""
    d = tmp_path / "demo"
    proc = run_demo(d)
    assert proc.returncode == 0, proc.stderr
    dev = d / "devices"
    (dev / "2" / "ArtifactCommit.FAIL").unlink()
    (dev / "1" / "ArtifactInstall.FAIL").touch()
    r = orchestrator(d, "install", "release/manifest-v3.yaml")
    assert r.returncode == 1, r.stderr
    assert "##### [rtos-interface 1] Installed rtos-v3 (was rtos-v2)" in r.stderr
    assert "##### [rtos-interface 1] Failing ArtifactInstall" in r.stderr
    assert "##### [rtos-interface 1] Rolled back to rtos-v2" in r.stderr
    assert orchestrator(d, "show-provides").stdout == provides("gateway-v1", "rtos-v2", "rtos-v2")
    assert (dev / "1" / "firmware" / "firmware.bin").read_text() == "rtos v2 payload\n"

    (dev / "1" / "ArtifactInstall.FAIL").unlink()
    r = orchestrator(d, "install", "release/manifest-v3.yaml")
    assert r.returncode == 0, r.stderr
    assert orchestrator(d, "show-provides").stdout == provides("gateway-v3", "rtos-v3", "rtos-v3")
    assert (dev / "gateway" / "rootfs" / "rootfs.img").read_text() == "gateway v3 payload\n"
    assert (dev / "2" / "firmware" / "firmware.bin").read_text() == "rtos v3 payload\n"
    # the environment file lets a user go on by hand
    env_sh = (d / "env.sh").read_text()
    assert f"DEMO_DEVICES='{dev}'" in env_sh
    assert (d / "bin" / "mender-orchestrator").resolve() == pathlib.Path(BIN).resolve()


def test_demo_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "something").write_text("x")
    proc = run_demo(tmp_path)
    assert proc.returncode == 1
    assert "not empty" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["something"]


def test_demo_reports_a_failure(tmp_path):
    """A broken binary: the demo says so and exits non-zero."""
    fake = tmp_path / "fake-orchestrator"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    fake.chmod(0o755)
    d = tmp_path / "demo"
    proc = run_demo(d, MO_BIN=str(fake))
    assert proc.returncode == 1
    assert "DEMO FAILED: show-provides exited 1" in proc.stderr
    assert (d / "results" / "outcome.txt").read_text() == "FAIL: show-provides exited 1\n"


@pytest.mark.parametrize("script", INTERFACES + [DEMO / "make-release.sh"], ids=lambda p: p.name)
def test_demo_scripts_are_posix_sh(script):
    dash = shutil.which("dash")
    if not dash:
        pytest.skip("dash is not installed")
    assert subprocess.run([dash, "-n", str(script)]).returncode == 0
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("iface", INTERFACES, ids=lambda p: p.name)
def test_demo_interfaces_under_dash(iface, tmp_path):
    """Run directly with dash: unknown states print nothing and exit 0; the queries
    answer from the instance folder; a .FAIL file fails the call."""
    dash = shutil.which("dash")
    if not dash:
        pytest.skip("dash is not installed")
    dev = tmp_path / "devices"
    inst = dev / ("gateway" if iface.name == "gateway-interface" else "1")
    inst.mkdir(parents=True)
    (inst / "Identity").write_text("id=X1\n")
    (inst / "Provides").write_text("version=v7\n")
    (inst / "version").write_text("v7\n")
    (inst / "SupportsRollback").write_text("Yes\n")
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, DEMO_DEVICES=str(dev))

    def call(state):
        return subprocess.run([dash, str(iface), state, str(work), "comp", "1"], cwd=work, env=env,
                              capture_output=True, text=True)

    r = call("SomeFutureState")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = call("Identity")
    assert (r.returncode, r.stdout) == (0, "id=X1\n")
    r = call("Provides")
    assert (r.returncode, r.stdout) == (0, f"rootfs-image.{iface.name}.version=v7\n")
    r = call("SupportsRollback")
    assert (r.returncode, r.stdout) == (0, "Yes\n")
    (inst / "Provides.FAIL").touch()
    r = call("Provides")
    assert r.returncode == 1 and r.stdout == ""
    prefix = "[gateway-interface]" if iface.name == "gateway-interface" else "[rtos-interface 1]"
    assert r.stderr == f"##### {prefix} Failing Provides\n"
