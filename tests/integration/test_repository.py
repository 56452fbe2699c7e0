"""Artifacts from a repository (orchestrator.md §10.2-10.4, docs/repository.md): the
index written by repo-index, selection from it, downloads over HTTPS from a real nginx,
the cache and resumed downloads."""
import hashlib
import json

from conftest import make_artifact


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- repo-index ------------------------------------------------------------------------------

def test_repo_index_describes_every_artifact(mo, tmp_path):
    repo = tmp_path / "repo"
    a = make_artifact(repo / "rtos-v2.mender", "rtos-v2", ["rtos", "rtos-b"],
                      extra=["--depends", "rootfs-image.rtos-interface.version:rtos-v1",
                             "--clears-provides", "rootfs-image.rtos-interface.*"])
    b = make_artifact(repo / "gw-v2.mender", "gw-v2", ["gateway"], payload_type="gw-if",
                      extra=["-g", "grp", "--artifact-name-depends", "gw-v1"])
    (repo / "notes.txt").write_text("not an Artifact: ignored\n")
    r = mo.run("repo-index", repo)
    assert r.rc == 0, r
    idx = json.loads((repo / "index.json").read_text())
    assert idx["version"] == 1
    got = {e["file"]: e for e in idx["artifacts"]}
    assert sorted(got) == ["gw-v2.mender", "rtos-v2.mender"]
    e = got["rtos-v2.mender"]
    assert e["size"] == a.stat().st_size and e["sha256"] == sha256(a)
    assert e["artifact_name"] == "rtos-v2" and e["payload_type"] == "rtos-interface"
    assert e["compatible_types"] == ["rtos", "rtos-b"]
    assert e["provides"] == {"rootfs-image.rtos-interface.version": "rtos-v2"}
    assert e["depends"] == {"rootfs-image.rtos-interface.version": ["rtos-v1"]}
    assert e["clears"] == ["rootfs-image.rtos-interface.*"]
    assert e["signed"] is False
    g = got["gw-v2.mender"]
    assert g["sha256"] == sha256(b) and g["artifact_group"] == "grp"
    assert g["depends_artifact_name"] == ["gw-v1"]


def test_repo_index_output_option(mo, tmp_path):
    repo = tmp_path / "repo"
    make_artifact(repo / "rtos-v2.mender", "rtos-v2", ["rtos"])
    out = tmp_path / "elsewhere.json"
    r = mo.run("repo-index", "--output", out, repo)
    assert r.rc == 0, r
    assert json.loads(out.read_text())["artifacts"][0]["file"] == "rtos-v2.mender"
    assert not (repo / "index.json").exists()


def test_repo_index_refuses_an_invalid_file_and_writes_nothing(mo, tmp_path):
    repo = tmp_path / "repo"
    a = make_artifact(repo / "rtos-v2.mender", "rtos-v2", ["rtos"])
    (repo / "index.json").write_text("old\n")
    bad = repo / "broken.mender"
    data = bytearray(a.read_bytes())
    data[-3000] ^= 0xFF  # inside the payload: a checksum mismatch
    bad.write_bytes(bytes(data))
    r = mo.run("repo-index", repo)
    assert r.rc == 1, r
    assert "broken.mender" in r.err and "no index written" in r.err
    assert (repo / "index.json").read_text() == "old\n"


def test_repo_index_of_a_missing_dir(mo, tmp_path):
    r = mo.run("repo-index", tmp_path / "nope")
    assert r.rc == 1 and "nope" in r.err, r
