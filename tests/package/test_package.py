"""The Debian package, as a product image gets it (docs/installation.md): built from the
repository with dpkg-buildpackage (tests/package/build-deb.sh), checked with lintian,
installed with `apt install ./mender-orchestrator_*.deb` into a clean Debian 12 root made
at test time with mmdebstrap from Debian's mirror (tests/package/debian-root.sh), and
used there (tests/package/in-root.sh): --version, the demo's three deployments
(demo/run-demo.sh with DEMO_INSTALLED=1: the installed program in its own folders, no
MENDER_ORCHESTRATOR_* variable), check, the Mender Client's files; then removed and
purged, checking what each leaves.

Needs root, mmdebstrap, lintian, the build dependencies of debian/control and the Debian
mirror. scripts/test runs it in its normal mode (and alone with --package); the tests of
this file are steps of one story, in order. MO_PACKAGE_OUT=DIR tests the package that
tests/package/build-deb.sh put into DIR before instead of building it."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGE = "mender-orchestrator"
# the packages the root gets beside the "apt" variant: systemd-sysv as on a device (the
# unit, and the `reboot` the default RebootCommand names), mender-artifact for the demo's
# releases
ROOT_PACKAGES = ["systemd-sysv", "mender-artifact"]
# lintian warnings kept, each explained in docs/installation.md ("Lintian")
KEPT_WARNINGS = {"non-standard-dir-perm"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mmdebstrap --mode=root, chroot)")


def meson_version():
    return re.search(r"version : '([^']+)'", (ROOT / "meson.build").read_text()).group(1)


def run(*args, timeout=1200, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)


def mounts_under(path):
    prefix = str(path).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if (l.split()[4] + "/").startswith(prefix)]


class Root:
    """The Debian root and the built package."""

    def __init__(self, base):
        self.base = pathlib.Path(base)
        self.dir = self.base / "root"
        self.out = self.base / "out"
        self.files = set()  # dpkg -L, before the removal

    def __call__(self, *args, env=None, timeout=1200):
        """Runs a command inside the root; env: extra variables (only these and a login's)."""
        e = dict(os.environ)
        e["MO_ROOT_ENV"] = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        return run(HERE / "in-root.sh", self.dir, *args, env=e, timeout=timeout)

    def path(self, p):
        return self.dir / str(p).lstrip("/")

    def deb(self):
        debs = [p for p in self.out.glob(f"{PACKAGE}_*.deb")]
        assert len(debs) == 1, debs
        return debs[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    for tool in ("mmdebstrap", "dpkg-buildpackage", "lintian", "unshare"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed (scripts/bootstrap installs it)")
    r = Root(tmp_path_factory.mktemp("package"))
    # the root is made while the package builds: one waits for the mirror, the other for
    # the compiler
    log = open(r.base / "mmdebstrap.log", "w")
    strap = subprocess.Popen([str(HERE / "debian-root.sh"), str(r.dir), *ROOT_PACKAGES], stdout=log,
                             stderr=subprocess.STDOUT)
    if os.environ.get("MO_PACKAGE_OUT"):
        # a package built before (by tests/package/build-deb.sh): test it as it is
        shutil.copytree(os.environ["MO_PACKAGE_OUT"], r.out)
        build = subprocess.CompletedProcess([], 0, "", "")
    else:
        build = run(HERE / "build-deb.sh", r.out, env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2"))
    rc = strap.wait(timeout=1200)
    log.close()
    try:
        assert build.returncode == 0, build.stderr
        assert rc == 0, (r.base / "mmdebstrap.log").read_text()[-4000:]
        yield r
    finally:
        left = mounts_under(r.dir)
        assert not left, f"still mounted, {r.dir} not removed: {left}"
        shutil.rmtree(r.dir, ignore_errors=True)


def test_lintian_no_errors(root):
    """lintian on the .changes: no error, and only the warnings docs/installation.md explains."""
    changes = next(root.out.glob("*.changes"))
    r = run("lintian", "--pedantic", "--display-info", changes, timeout=600)
    tags = re.findall(r"^([EWIPXO]): \S+: (\S+)", r.stdout, re.M)
    assert [t for t in tags if t[0] == "E"] == [], r.stdout
    assert {t for k, t in tags if k == "W"} <= KEPT_WARNINGS, r.stdout
    doc = (ROOT / "docs" / "installation.md").read_text().split("### Lintian")[1]
    for tag in KEPT_WARNINGS:
        assert f"`{tag} " in doc, tag


def test_apt_installs_the_package(root):
    shutil.copy(root.deb(), root.path("/root"))
    r = root("apt-get", "install", "-y", "--no-install-recommends", f"/root/{root.deb().name}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "ii" == root("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE).stdout.strip()


def test_version(root):
    r = root("mender-orchestrator", "--version")
    assert (r.returncode, r.stdout) == (0, meson_version() + "\n"), r.stderr


def installed_files(root):
    r = root("dpkg", "-L", PACKAGE)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def folders(root):
    """The folders the installed program looks in, from its --help."""
    r = root("mender-orchestrator", "--help")
    assert r.returncode == 0, r.stderr
    return {m[0]: m[1] for m in re.findall(r"^  (MENDER_ORCHESTRATOR_\w+) +(\S+)", r.stdout, re.M)}


def test_dpkg_lists_every_path_the_program_and_the_client_look_in(root):
    files = installed_files(root)
    f = folders(root)
    assert f == {"MENDER_ORCHESTRATOR_CONF_DIR": "/etc/mender-orchestrator",
                 "MENDER_ORCHESTRATOR_DATA_DIR": "/usr/share/mender-orchestrator",
                 "MENDER_ORCHESTRATOR_DATASTORE_DIR": "/var/lib/mender-orchestrator"}
    want = {
        f["MENDER_ORCHESTRATOR_CONF_DIR"], f["MENDER_ORCHESTRATOR_CONF_DIR"] + "/mender-orchestrator.conf",
        f["MENDER_ORCHESTRATOR_DATA_DIR"] + "/interfaces/v1",
        f["MENDER_ORCHESTRATOR_DATA_DIR"] + "/interfaces/v1/directory",
        f["MENDER_ORCHESTRATOR_DATA_DIR"] + "/interfaces/v1/single-file",
        f["MENDER_ORCHESTRATOR_DATA_DIR"] + "/interfaces/v1/rootfs-image",
        f["MENDER_ORCHESTRATOR_DATA_DIR"] + "/interfaces/v1/mcuboot-smp",
        "/usr/libexec/mender-orchestrator/mcuboot-smp",
        f["MENDER_ORCHESTRATOR_DATASTORE_DIR"],
        # the Mender Client's folders (Debian's mender-client 3.4 reads these)
        "/usr/share/mender/modules/v3", "/usr/share/mender/modules/v3/mender-orchestrator-manifest",
        "/usr/share/mender/inventory", "/usr/share/mender/inventory/mender-inventory-orchestrator-inventory",
        "/usr/share/mender/inventory/mender-inventory-mender-orchestrator",
        "/usr/bin/mender-orchestrator", "/usr/bin/mender-orchestrator-manifest-gen",
        "/usr/libexec/mender-orchestrator/mender-orchestrator-resume",
        "/lib/systemd/system/mender-orchestrator-resume.service",
        "/usr/share/man/man1/mender-orchestrator.1.gz", "/usr/share/man/man1/mender-orchestrator-manifest-gen.1.gz",
    }
    assert want - files == set()
    assert oct(root.path("/var/lib/mender-orchestrator").stat().st_mode & 0o777) == "0o700"


def test_conffile_and_enabled_unit(root):
    conffiles = root.path(f"/var/lib/dpkg/info/{PACKAGE}.conffiles").read_text().split()
    assert conffiles == ["/etc/mender-orchestrator/mender-orchestrator.conf"]
    link = root.path("/etc/systemd/system/multi-user.target.wants/mender-orchestrator-resume.service")
    assert link.is_symlink() and os.readlink(link) == "/lib/systemd/system/mender-orchestrator-resume.service"
    r = root("systemctl", "is-enabled", "mender-orchestrator-resume.service")
    assert r.stdout.strip() == "enabled", r.stdout + r.stderr


def test_demo_three_deployments_with_the_installed_files(root):
    """The demo against the package: its Interfaces in the package's interfaces folder, its
    Topology in the package's datastore, no MENDER_ORCHESTRATOR_* variable."""
    shutil.copytree(ROOT / "demo", root.path("/root/demo"), symlinks=True)
    r = root("/root/demo/run-demo.sh", env={"DEMO_INSTALLED": "1", "DEMO_DIR": "/root/demo-run"}, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert root.path("/root/demo-run/results/outcome.txt").read_text() == "PASS\n"
    assert "Demo passed" in r.stdout
    assert root.path("/var/lib/mender-orchestrator/orchestrator.db").is_file()
    assert root.path("/usr/share/mender-orchestrator/interfaces/v1/rtos-interface").is_file()
    codes = root.path("/root/demo-run/results/exit-codes.txt").read_text().split()
    assert {"install-v1=0", "install-v2=0", "install-v3=1"} <= set(codes), codes


def test_check_with_the_installed_topology(root):
    r = root("mender-orchestrator", "check", "/root/demo-run/release/manifest-v2.yaml")
    assert r.returncode == 0, r.stderr
    assert "gateway" in r.stdout and "rtos" in r.stdout


def test_the_mender_clients_files(root):
    """The inventory script, under both names, as the client runs them (each file of the
    folder): every line once; the Update Module answers."""
    out = ""
    for name in sorted(p.name for p in root.path("/usr/share/mender/inventory").iterdir()):
        r = root(f"/usr/share/mender/inventory/{name}", env={"DEMO_DEVICES": "/root/demo-run/devices"})
        assert r.returncode == 0, r.stderr
        out += r.stdout
    lines = out.splitlines()
    assert "mender-orchestrator-manifest.system_type=demo-system" in lines
    assert len(lines) == len(set(lines)) > 3, out
    r = root("/usr/share/mender/modules/v3/mender-orchestrator-manifest", "SupportsRollback", "/tmp")
    assert (r.returncode, r.stdout) == (0, "Yes\n"), r.stderr
    # the compiled Interface runs through its link (its libraries came with the package)
    r = root("/usr/share/mender-orchestrator/interfaces/v1/mcuboot-smp", "SupportsRollback", "/tmp")
    assert (r.returncode, r.stdout) == (0, "Yes\n"), r.stderr
    r = root("/usr/libexec/mender-orchestrator/mender-orchestrator-resume")
    assert r.returncode == 2 and "no deployment in progress" in r.stderr, r.stderr


# the demo's Interfaces: the integrator's files in the package's folder, not the package's
DEMO_INTERFACES = {"/usr/share/mender-orchestrator/interfaces/v1/gateway-interface",
                   "/usr/share/mender-orchestrator/interfaces/v1/rtos-interface"}


def left_of(root, files):
    """Which of the package's files (not folders) are still there."""
    return {f for f in files if root.path(f).is_file() or (root.path(f).is_symlink() and not root.path(f).is_dir())}


def test_remove_keeps_configuration_and_datastore(root):
    files = root.files = installed_files(root)
    r = root("apt-get", "remove", "-y", PACKAGE)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert root("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE).stdout.strip() == "rc"
    assert left_of(root, files) == {"/etc/mender-orchestrator/mender-orchestrator.conf"}
    # the datastore, with the history, stays; so do the integrator's Interfaces
    for p in ("/var/lib/mender-orchestrator/orchestrator.db", "/var/lib/mender-orchestrator/topology.yaml",
              *DEMO_INTERFACES):
        assert root.path(p).is_file(), p
    assert not root.path("/usr/bin/mender-orchestrator").exists()


def test_purge_removes_configuration_and_datastore(root):
    files = root.files
    r = root("apt-get", "purge", "-y", PACKAGE)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert root("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE).stdout.strip() in ("", "un")
    assert left_of(root, files) == set()
    for p in ("/etc/mender-orchestrator", "/var/lib/mender-orchestrator",
              "/etc/systemd/system/multi-user.target.wants/mender-orchestrator-resume.service"):
        assert not root.path(p).exists() and not root.path(p).is_symlink(), p
    # what is left of the package's folders: only what holds the integrator's own files
    left = sorted(f for f in files if root.path(f).is_dir() and f.startswith("/usr/share/mender-orchestrator"))
    assert left == ["/usr/share/mender-orchestrator", "/usr/share/mender-orchestrator/interfaces",
                    "/usr/share/mender-orchestrator/interfaces/v1"]
    assert {"/usr/share/mender-orchestrator/interfaces/v1/" + p.name
            for p in root.path("/usr/share/mender-orchestrator/interfaces/v1").iterdir()} == DEMO_INTERFACES
