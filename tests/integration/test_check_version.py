"""scripts/check-version: meson.build's project version is the version; debian/changelog,
the Yocto recipe's PV and the man pages must repeat it, and a copy that differs is named."""
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-version"
RECIPE = "meta-mender-orchestrator/recipes-mender/mender-orchestrator/mender-orchestrator_git.bb"


def copy_tree(tmp_path):
    root = tmp_path / "repo"
    pages = [str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.1")]
    for rel in ["meson.build", "debian/changelog", RECIPE, *pages]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, root / rel)
    return root


def run(root):
    return subprocess.run([str(CHECK), str(root)], capture_output=True, text=True, timeout=60)


def test_repository_agrees():
    r = run(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_new_meson_version_names_every_copy(tmp_path):
    root = copy_tree(tmp_path)
    meson = root / "meson.build"
    old = run(root).stdout.split("version ")[1].split()[0]
    meson.write_text(meson.read_text().replace(f"version : '{old}'", "version : '9.8.7'", 1))
    r = run(root)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0] == f"debian/changelog:1: {old} (meson.build: 9.8.7)"
    for rel in [RECIPE, "docs/mender-orchestrator.1", "docs/mender-orchestrator-manifest-gen.1"]:
        assert any(l.startswith(rel + ":") and l.endswith("(meson.build: 9.8.7)") for l in lines), (rel, lines)
    assert "dch -v 9.8.7" in lines[-1]


def test_a_debian_revision_is_not_compared(tmp_path):
    root = copy_tree(tmp_path)
    changelog = root / "debian" / "changelog"
    text = changelog.read_text()
    version = text.split("(")[1].split(")")[0]
    changelog.write_text(text.replace(f"({version})", f"({version}-3)", 1))
    assert run(root).returncode == 0
    changelog.write_text(text.replace(f"({version})", "(0.0.1-3)", 1))
    assert run(root).returncode == 1
