"""Artifacts from a repository (docs/repository.md): the
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


# ---- from a repository served by nginx over HTTPS ------------------------------------------

import os  # noqa: E402

import pytest  # noqa: E402

from repo_server import CuttingProxy, Nginx, Pki  # noqa: E402
from system import System  # noqa: E402

BIG = 3 * 1024 * 1024
# a local gateway Artifact and an RTOS one from the repository; THREE adds a second
# RTOS Component for what is shared between Components
COMPONENTS = [("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20)]
THREE = COMPONENTS + [("r2", "rtos", "rtos-if", "R2", 20)]


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def rtos_payload():
    return os.urandom(BIG)


def publish(repo, mo, payload, name="rtos-v2", ctype="rtos", iface="rtos-if", extra=()):
    make_artifact(repo / f"{name}.mender", name, [ctype], payload_type=iface, payload=payload,
                  compression="none", extra=extra)
    r = mo.run("repo-index", repo)
    assert r.rc == 0, r
    return repo / f"{name}.mender"


@pytest.fixture
def repo(mo, tmp_path, rtos_payload):
    d = tmp_path / "repo"
    publish(d, mo, rtos_payload)
    return d


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        s.stop()


def serve(servers, tmp_path, repo, pki, **kw):
    n = Nginx(tmp_path / f"nginx{len(servers)}", repo, pki, **kw)
    servers.append(n)
    return n


def by_name(system, ctype="rtos", version="v2"):
    """The Manifest names ctype's Artifact only by artifact_name (no local file)."""
    text = system.manifest.read_text().replace(f"artifact_path: {ctype}-{version}.mender",
                                               f"artifact_name: {ctype}-{version}")
    system.manifest.write_text(text)
    (system.release / f"{ctype}-{version}.mender").unlink()


def config(mo, url, pki=None, **extra):
    cfg = {"ArtifactRepository": {"URL": url}}
    if pki:
        cfg["ServerCertificate"] = str(pki.path("ca.pem"))
    cfg.update(extra)
    mo.write_config(json.dumps(cfg))


@pytest.fixture
def system(mo, tmp_path):
    s = System(mo, tmp_path, components=COMPONENTS)
    by_name(s)
    return s


@pytest.fixture
def system3(mo, tmp_path):
    s = System(mo, tmp_path, components=THREE)
    by_name(s)
    return s


def received(system, inst):
    return (system.kit.dir / "received" / inst / "rtos-v2.mender.payload").read_bytes()


def file_gets(nginx, name="/rtos-v2.mender"):
    return [r for r in nginx.requests() if r[1] == name]


def test_happy_path_mixes_local_and_repository_artifacts(system3, repo, pki, servers, tmp_path):
    n = serve(servers, tmp_path, repo, pki)
    config(system3.mo, n.url, pki)
    system3.configure("r1", save=True)
    r = system3.install("--progress", "json")
    assert r.rc == 0, r
    assert received(system3, "r1") == system_payload(repo)
    assert system3.versions() == {"gw": "gateway-v2", "r1": "rtos-v2", "r2": "rtos-v2"}
    # the gateway's Artifact is local; the index is read once, at preparation
    assert [x[1] for x in n.requests()].count("/index.json") == 1
    assert all(x[2] in (200, 206) for x in n.requests())
    events = [json.loads(l) for l in r.out.splitlines()]
    prog = [e for e in events if e["event"] == "progress" and e["component_type"] == "rtos"]
    assert prog and prog[-1]["total"] == (repo / "rtos-v2.mender").stat().st_size
    assert prog[-1]["bytes"] >= BIG


def test_whole_artifact_interface_gets_the_file_as_served(system, repo, pki, servers, tmp_path):
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki)
    system.configure("r1", save=True, answers={"NeedsUnpackedArtifact": "No\n"})
    r = system.install()
    assert r.rc == 0, r
    got = (system.kit.dir / "received" / "r1" / "artifact.mender").read_bytes()
    assert got == (repo / "rtos-v2.mender").read_bytes()


def system_payload(repo):
    import tarfile
    import io
    with tarfile.open(repo / "rtos-v2.mender") as t:
        data = t.extractfile("data/0000.tar").read()
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return t.extractfile(t.getmembers()[0]).read()


@pytest.mark.parametrize("mutate,message", [
    (lambda idx: idx.update(version=2), "version: expected 1"),
    (lambda idx: idx["artifacts"][0].update(file="../etc/passwd"), "../etc/passwd\\\": not a relative name"),
    (lambda idx: idx["artifacts"][0].update(sha256="ABC"), "artifacts[0] (rtos-v2.mender): sha256: expected 64"),
    (lambda idx: idx["artifacts"][0].pop("compatible_types"), "artifacts[0] (rtos-v2.mender): compatible_types: missing"),
], ids=["version", "file", "sha256", "compatible_types"])
def test_unusable_index_is_a_preparation_error(system, repo, mutate, message):
    idx = json.loads((repo / "index.json").read_text())
    mutate(idx)
    (repo / "index.json").write_text(json.dumps(idx))
    config(system.mo, f"file://{repo}")
    r = system.install()
    assert r.rc == 1, r
    assert "component rtos.R1: no candidate: artifact_name rtos-v2: the Artifact repository index" in r.err
    assert message in r.err, r.err
    assert system.calls("r1") == ["Identity", "Provides"]  # nothing modified


def test_index_without_a_fitting_artifact(system, repo):
    config(system.mo, f"file://{repo}")
    system.manifest.write_text(system.manifest.read_text().replace("artifact_name: rtos-v2", "artifact_name: rtos-v9"))
    r = system.install()
    assert r.rc == 1, r
    assert "artifact_name rtos-v9: the Artifact repository index" in r.err and "has no such Artifact" in r.err


def test_missing_file_fails_download_and_rolls_back(system, repo, pki, servers, tmp_path):
    (repo / "rtos-v2.mender").unlink()  # the index still lists it
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki)
    r = system.install()
    assert r.rc == 1, r
    assert "rtos-v2.mender: HTTP 404" in r.err
    assert system.versions() == {"gw": "gateway-v1", "r1": "rtos-v1"}


@pytest.mark.parametrize("unpacked", ["Yes", "No"])
def test_wrong_sha256_in_the_index_fails_download(system, repo, pki, servers, tmp_path, unpacked):
    idx = json.loads((repo / "index.json").read_text())
    idx["artifacts"][0]["sha256"] = "0" * 64
    (repo / "index.json").write_text(json.dumps(idx))
    system.configure("r1", save=True, answers={"NeedsUnpackedArtifact": unpacked + "\n"})
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki)
    r = system.install()
    assert r.rc == 1, r
    assert "does not match the index" in r.err
    assert system.versions()["r1"] == "rtos-v1"
    assert "ArtifactInstall" not in system.calls("r1")
    # never told the Artifact was complete (stopped before the final stream-next)
    assert not any(c.get("final_read") for c in system.kit.calls("r1") if c["call"] == "Download")


def test_tampered_artifact_fails_download(system, repo, pki, servers, tmp_path):
    art = repo / "rtos-v2.mender"
    data = bytearray(art.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a payload byte
    art.write_bytes(bytes(data))
    idx = json.loads((repo / "index.json").read_text())  # an index that matches the tampered file
    idx["artifacts"][0]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (repo / "index.json").write_text(json.dumps(idx))
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki)
    r = system.install()
    assert r.rc == 1, r
    assert "checksum" in r.err
    assert "ArtifactInstall" not in system.calls("r1")


def test_unsigned_repository_artifact_fails_download_with_keys(system, repo, pki, servers, tmp_path, keys):
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki, ArtifactVerifyKey=str(keys / "rsa.pub"))
    # the local gateway Artifact must be signed too: sign it
    gw = system.release / "gateway-v2.mender"
    make_artifact(gw, "gateway-v2", ["gateway"], payload_type="gw-if", payload=b"gateway v2\n",
                  key=keys / "rsa.key")
    r = system.install()
    assert r.rc == 1, r
    assert "signature" in r.err.lower() or "signed" in r.err.lower(), r
    assert "Download" not in system.calls("r1")  # refused before any payload byte


@pytest.mark.parametrize("cached", [False, True], ids=["uncached", "cached"])
def test_broken_transfer_is_resumed_with_a_range_request(system, repo, pki, servers, tmp_path, cached):
    n = serve(servers, tmp_path, repo, pki)
    if cached:
        (system.mo.datastore / "artifacts").mkdir()
    # connections: 1 index.json (preparation), 2 the header for r1's work dir (the first
    # MiB only), 3 the download: cut it
    proxy = CuttingProxy(n.port, after=1024 * 1024, cut=(3,))
    try:
        config(system.mo, proxy.url, pki, ArtifactsCache={"Enabled": cached})
        system.configure("r1", save=True)
        r = system.install(env={"MO_TEST_FETCH_BACKOFF_MS": "100"})
    finally:
        proxy.stop()
    assert r.rc == 0, r
    assert proxy.cut_count >= 1
    assert "trying again" in r.err
    assert received(system, "r1") == system_payload(repo)
    ranged = [x for x in file_gets(n) if x[4].startswith("bytes=") and not x[4].startswith("bytes=0-")]
    assert ranged and all(x[2] == 206 for x in ranged), n.requests()
    if cached:
        assert cache_entries(system.mo.datastore / "artifacts") == [sha256(repo / "rtos-v2.mender")]


def test_download_broken_for_good_keeps_its_partial_cache_entry(system3, repo, pki, servers, tmp_path):
    cache = system3.mo.datastore / "artifacts"
    cache.mkdir()
    n = serve(servers, tmp_path, repo, pki)
    # every download attempt breaks after 256 KiB: 2 x 4 attempts (r2 takes over from r1) < 3 MiB
    proxy = CuttingProxy(n.port, after=256 * 1024, cut=range(4, 40))
    try:
        config(system3.mo, proxy.url, pki, ArtifactsCache={"Enabled": True})
        r = system3.install(env={"MO_TEST_FETCH_BACKOFF_MS": "10"})
    finally:
        proxy.stop()
    assert r.rc == 1, r
    sha = sha256(repo / "rtos-v2.mender")
    partial = cache / f"{sha}.tmp"
    assert cache_entries(cache) == [partial.name]
    have = partial.stat().st_size
    assert 0 < have < (repo / "rtos-v2.mender").stat().st_size
    assert (repo / "rtos-v2.mender").read_bytes()[:have] == partial.read_bytes()
    # the next deployment, the server reachable again, continues from there
    config(system3.mo, n.url, pki, ArtifactsCache={"Enabled": True})
    system3.configure("r1", save=True)
    r = system3.install()
    assert r.rc == 0, r
    assert f"bytes={have}-" in [x[4] for x in file_gets(n)]
    assert received(system3, "r1") == system_payload(repo)
    assert cache_entries(cache) == [sha]


def test_partial_cache_entry_is_continued_with_a_range_request(system, repo, pki, servers, tmp_path):
    """What a power cut in the middle of a cached download leaves: <sha256>.tmp."""
    cache = system.mo.datastore / "artifacts"
    cache.mkdir()
    art = repo / "rtos-v2.mender"
    sha = sha256(art)
    (cache / f"{sha}.tmp").write_bytes(art.read_bytes()[:1234567])
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki, ArtifactsCache={"Enabled": True})
    system.configure("r1", save=True)
    r = system.install()
    assert r.rc == 0, r
    assert received(system, "r1") == system_payload(repo)
    assert ("GET", "/rtos-v2.mender", 206, art.stat().st_size - 1234567, "bytes=1234567-") in n.requests()
    assert cache_entries(cache) == [sha]


def test_server_certificate_from_an_unknown_ca_is_refused(system, repo, pki, servers, tmp_path):
    n = serve(servers, tmp_path, repo, pki, cert="other-server")
    config(system.mo, n.url, pki)
    r = system.install()
    assert r.rc == 1, r
    assert "cannot read the Artifact repository index" in r.err and "certificate" in r.err.lower()
    assert system.calls("r1") == ["Identity", "Provides"]  # nothing modified
    assert n.requests() == []


def test_proxy_variables_are_honoured(system, repo, pki, servers, tmp_path):
    from repo_server import free_port
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    r = system.mo.run("plan", system.manifest, env={"HTTPS_PROXY": dead, "NO_PROXY": "", "MO_TEST_FETCH_BACKOFF_MS": "10"})
    assert r.rc == 1, r
    assert "cannot read the Artifact repository index" in r.err and n.requests() == []
    r = system.mo.run("plan", system.manifest, env={"HTTPS_PROXY": dead, "NO_PROXY": "127.0.0.1"})
    assert r.rc == 0, r


def test_client_certificate_required_and_given(system, repo, pki, servers, tmp_path):
    n = serve(servers, tmp_path, repo, pki, client_ca=True)
    config(system.mo, n.url, pki)
    r = system.install()
    assert r.rc == 1, r
    assert "HTTP 400" in r.err  # nginx: no required SSL certificate was sent
    config(system.mo, n.url, pki, HttpsClient={"Certificate": str(pki.path("client.pem")),
                                               "Key": str(pki.path("client.key"))})
    r = system.install()
    assert r.rc == 0, r
    assert system.versions()["r1"] == "rtos-v2"


def cache_entries(d):
    return sorted(p.name for p in d.iterdir())


def test_cache_miss_then_shared_then_hit(system3, repo, pki, servers, tmp_path):
    cache = system3.mo.datastore / "artifacts"
    cache.mkdir()
    stale = cache / ("f" * 64)
    stale.write_bytes(b"an entry no deployment uses")
    n = serve(servers, tmp_path, repo, pki)
    config(system3.mo, n.url, pki, ArtifactsCache={"Enabled": True})
    system3.configure("r2", save=True, exit={"ArtifactInstall": 1})  # first deployment fails
    r = system3.install()
    assert r.rc == 1, r
    sha = sha256(repo / "rtos-v2.mender")
    size = (repo / "rtos-v2.mender").stat().st_size
    assert cache_entries(cache) == [sha]  # the stale entry went at the deployment's end
    # r1 and r2 share one copy: the whole file went over the network once (a miss)
    whole = [x for x in file_gets(n) if x[4] == "-"]  # the work dirs' headers are Range requests
    assert len(whole) == 1 and whole[0][2:4] == (200, size), n.requests()
    assert received(system3, "r2") == system_payload(repo)
    # the next deployment takes it from the cache (a hit): no more whole downloads
    system3.configure("r2", exit={"ArtifactInstall": 0})
    r = system3.install()
    assert r.rc == 0, r
    assert len([x for x in file_gets(n) if x[4] == "-"]) == 1, n.requests()
    assert "from the cache" in r.err


def test_cache_evicts_the_oldest_at_its_cap(mo, tmp_path, rtos_payload, pki, servers):
    comps = [("r1", "rtos", "rtos-if", "R1", 20), ("s1", "sensor", "sensor-if", "S1", 30)]
    system = System(mo, tmp_path, components=comps)
    by_name(system, "rtos")
    by_name(system, "sensor")
    repo = tmp_path / "repo"
    publish(repo, mo, rtos_payload)
    publish(repo, mo, rtos_payload[::-1], name="sensor-v2", ctype="sensor", iface="sensor-if")
    size = (repo / "rtos-v2.mender").stat().st_size
    cache = mo.datastore / "artifacts"
    cache.mkdir()
    n = serve(servers, tmp_path, repo, pki)
    config(mo, n.url, pki, ArtifactsCache={"Enabled": True, "MaxSizeBytes": size + size // 2})
    r = system.install()
    assert r.rc == 0, r
    assert "evicted" in r.err
    assert cache_entries(cache) == [sha256(repo / "sensor-v2.mender")]


def test_artifact_over_the_cap_or_missing_cache_dir_streams_uncached(system, repo, pki, servers, tmp_path):
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki, ArtifactsCache={"Enabled": True})
    r = system.install()  # {datastore}/artifacts does not exist: never created
    assert r.rc == 0, r
    assert "streamed uncached" in r.err
    assert not (system.mo.datastore / "artifacts").exists()


def test_artifact_over_the_cap_streams_uncached(system, repo, pki, servers, tmp_path):
    cache = system.mo.datastore / "artifacts"
    cache.mkdir()
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki, ArtifactsCache={"Enabled": True, "MaxSizeBytes": 1000})
    r = system.install()
    assert r.rc == 0, r
    assert "larger than ArtifactsCache.MaxSizeBytes" in r.err
    assert cache_entries(cache) == []


def test_resume_uses_the_journal_entry_not_the_index(system, repo, pki, servers, tmp_path):
    n = serve(servers, tmp_path, repo, pki)
    config(system.mo, n.url, pki)
    system.configure("r1", kill_parent=["ProvidePayloadFileSizes"])  # prepared, before Download
    r = system.install()
    assert r.rc == -9, r
    (repo / "index.json").unlink()  # resume must not need it
    before = len(n.requests())
    r = system.mo.run("resume")
    assert r.rc == 0, r
    assert system.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
    after = n.requests()[before:]
    assert all(x[1] != "/index.json" for x in after)
    assert any(x[1] == "/rtos-v2.mender" and x[4] == "-" for x in after)  # Download came after the kill
