"""The Interface runner and File API (docs/protocol.md), through a test driver
that makes single calls the way the engine does, and through show-provides /
show-inventory."""
import hashlib
import os
import pathlib
import subprocess
import time

import pytest

from conftest import make_artifact
from kit import DRIVER, Kit, alive, driver


@pytest.fixture
def env(tmp_path):
    kit = Kit(tmp_path / "kit", tmp_path / "share")
    kit.install("rtos-interface")
    datastore = tmp_path / "var"
    datastore.mkdir()
    return kit, datastore


def two_file_artifact(tmp_path, compression=None):
    d = tmp_path / "src"
    d.mkdir(exist_ok=True)
    (d / "a.bin").write_bytes(os.urandom(200000))
    (d / "b.txt").write_bytes(b"second file\n")
    out = tmp_path / "two.mender"
    cmd = ["mender-artifact", "write", "module-image", "-T", "rtos-interface", "-n", "rtos-v2", "-t", "rtos",
           "-f", str(d / "a.bin"), "-f", str(d / "b.txt"), "-o", str(out)]
    if compression:
        cmd += ["--compression", compression]
    subprocess.run(cmd, check=True, capture_output=True)
    return out, {n: hashlib.sha256((d / n).read_bytes()).hexdigest() for n in ("a.bin", "b.txt")}


def tampered_artifact(tmp_path):
    """An uncompressed two-file Artifact with one byte of b.txt flipped."""
    art, _ = two_file_artifact(tmp_path, compression="none")
    data = bytearray(art.read_bytes())
    data[data.find(b"second file")] ^= 0x20
    art.write_bytes(bytes(data))
    return art


def download(kit, datastore, artifact, *extra, **kw):
    return driver("Download", kit, datastore, "rtos-interface", "rtos", "--arg", "1", "--artifact", artifact,
                  *extra, **kw)


def workdir(datastore, ctype="rtos", cid="rtos"):
    return datastore / "work" / ctype / cid


def test_streams_every_payload_file_in_order(env, tmp_path):
    kit, ds = env
    art, sums = two_file_artifact(tmp_path)
    p = download(kit, ds, art)
    assert p.returncode == 0, p
    assert p.stdout.startswith("ok streamed=1 files=0 bytes=200012"), p
    [c] = kit.calls("1")
    assert c["call"] == "Download"
    assert [s["line"] for s in c["streams"]] == ["streams/a.bin\n", "streams/b.txt\n"]
    assert [s["sha256"] for s in c["streams"]] == [sums["a.bin"], sums["b.txt"]]
    assert c.get("final_read") is True
    # only during Download: the FIFOs are gone afterwards, and no files/ was made
    assert sorted(os.listdir(workdir(ds))) == ["current_artifact_group", "current_artifact_name",
                                                "current_device_type", "header", "tmp", "version"]
    assert c["workdir"] == ["current_artifact_group", "current_artifact_name", "current_device_type", "header",
                            "stream-next", "streams", "tmp", "version"]


def test_argv_cwd_and_environment(env, tmp_path):
    kit, ds = env
    art, _ = two_file_artifact(tmp_path)
    e = dict(os.environ, MO_KIT_ENV_X="inherited")
    p = subprocess.run([str(DRIVER), "Download", "--data-dir", str(kit.data_dir),
                        "--datastore", str(ds), "--interface", "rtos-interface", "--type", "rtos", "--arg", "1",
                        "--arg", "two", "--artifact", str(art)], env=dict(e, **kit.env()), capture_output=True,
                       text=True)
    assert p.returncode == 0, p
    [c] = kit.calls("1")
    wd = str(workdir(ds))
    assert c["argv"] == [str(kit.ifaces / "rtos-interface"), "Download", wd, "rtos", "1", "two"]
    assert c["cwd"] == wd
    assert c["env"] == {"MO_KIT_ENV_X": "inherited"}
    assert c["pgid"] == c["pid"]  # its own process group


def test_legacy_argv_carries_the_id(env):
    kit, ds = env
    p = driver("ArtifactCommit", kit, ds, "rtos-interface", "rtos", "--legacy", "--id", "R456", "--arg", "arg1")
    assert p.returncode == 0, p
    [c] = kit.calls("R456")
    assert c["argv"][1:] == ["ArtifactCommit", str(workdir(ds, cid="R456")), "rtos", "R456", "arg1"]


def test_with_file_sizes(env, tmp_path):
    kit, ds = env
    art, _ = two_file_artifact(tmp_path)
    p = download(kit, ds, art, "--sizes")
    assert p.returncode == 0, p
    [c] = kit.calls("1")
    assert c["call"] == "DownloadWithFileSizes"
    assert [s["line"] for s in c["streams"]] == ["streams/a.bin 200000\n", "streams/b.txt 12\n"]


def test_whole_artifact_stream(env, tmp_path):
    kit, ds = env
    art, _ = two_file_artifact(tmp_path)
    p = download(kit, ds, art, "--packed", "--sizes")
    assert p.returncode == 0, p
    [c] = kit.calls("1")
    size = art.stat().st_size
    assert [s["line"] for s in c["streams"]] == [f"streams/artifact.mender {size}\n"]
    assert c["streams"][0]["sha256"] == hashlib.sha256(art.read_bytes()).hexdigest()


@pytest.mark.parametrize("packed", [False, True])
def test_files_tree_when_stream_next_is_never_opened(env, tmp_path, packed):
    kit, ds = env
    kit.configure("1", download="none")
    art, sums = two_file_artifact(tmp_path, compression="lzma")
    p = download(kit, ds, art, *(["--packed"] if packed else []))
    assert p.returncode == 0, p
    assert "streamed=0 files=1" in p.stdout
    files = workdir(ds) / "files"
    if packed:
        assert os.listdir(files) == ["artifact.mender"]
        assert (files / "artifact.mender").read_bytes() == art.read_bytes()
    else:
        assert sorted(os.listdir(files)) == ["a.bin", "b.txt"]
        assert hashlib.sha256((files / "a.bin").read_bytes()).hexdigest() == sums["a.bin"]
    assert not (workdir(ds) / "stream-next").exists()
    assert not (workdir(ds) / "streams").exists()


def test_immediate_failure(env, tmp_path):
    kit, ds = env
    kit.configure("1", download="none", exit={"Download": 3})
    art, _ = two_file_artifact(tmp_path)
    p = download(kit, ds, art)
    assert p.returncode == 1
    assert p.stdout == "error: Download: Process exited with status 3\n"
    assert not (workdir(ds) / "files").exists()


@pytest.mark.parametrize("mode,reason", [
    ("open-only", "Interface started downloading, but did not finish"),
    ("stop-after:1", "Interface started downloading, but did not finish"),   # all but the last entry
    ("stop-after:2", "Interface started downloading, but did not finish"),   # no final zero-length read
    ("die:1000", None),
    ("partial:1000", "Interface closed a stream before its end"),
])
def test_incomplete_streaming_fails(env, tmp_path, mode, reason):
    kit, ds = env
    kit.configure("1", download=mode)
    art, _ = two_file_artifact(tmp_path, compression="none")
    p = download(kit, ds, art, timeout=60)
    assert p.returncode == 1, p
    assert p.stdout.startswith("error: Download: "), p
    if reason:
        assert reason in p.stdout


def test_partial_read_of_a_small_stream_fails(env, tmp_path):
    """A file smaller than the pipe buffer gives no EPIPE: unread bytes tell."""
    kit, ds = env
    kit.configure("1", download="partial:4")
    art = make_artifact(tmp_path / "small.mender", "rtos-v2", ["rtos"], payload=b"0123456789\n")
    p = download(kit, ds, art)
    assert p.returncode == 1, p
    assert p.stdout == "error: Download: Interface closed a stream before its end\n"


def test_timeout_while_streaming_kills_the_interface(env, tmp_path):
    kit, ds = env
    kit.configure("1", sleep={"Download": 60}, orphan=["Download"])
    art, _ = two_file_artifact(tmp_path)
    t0 = time.time()
    p = download(kit, ds, art, "--timeout", "1", "--grace", "1")
    assert p.returncode == 1
    assert "timed out" in p.stdout
    assert time.time() - t0 < 20


def test_checksum_mismatch_mid_stream(env, tmp_path):
    kit, ds = env
    kit.configure("1", save=True)
    art = tampered_artifact(tmp_path)
    p = download(kit, ds, art)
    assert p.returncode == 1
    assert "data/0000/b.txt: checksum mismatch" in p.stdout, p


def test_checksum_mismatch_leaves_no_file_in_files_tree(env, tmp_path):
    kit, ds = env
    kit.configure("1", download="none")
    art = tampered_artifact(tmp_path)
    p = download(kit, ds, art)
    assert p.returncode == 1
    assert not (workdir(ds) / "files").exists()


def test_work_dir_contents(env, tmp_path):
    kit, ds = env
    art = make_artifact(tmp_path / "g.mender", "rtos-v2", ["rtos"], extra=["-g", "grp"])
    p = download(kit, ds, art, "--provide", "artifact_name=rtos-v1", "--provide", "rootfs-image.rtos-interface.version=rtos-v1")
    assert p.returncode == 0, p
    wd = workdir(ds)
    assert (wd / "version").read_text() == "1\n"
    assert (wd / "current_artifact_name").read_text() == "rtos-v1\n"
    assert (wd / "current_artifact_group").read_text() == ""
    assert (wd / "current_device_type").read_text() == "rtos\n"
    assert (wd / "header" / "artifact_name").read_text() == "rtos-v2"
    assert (wd / "header" / "artifact_group").read_text() == "grp"
    assert (wd / "header" / "payload_type").read_text() == "rtos-interface"
    assert (wd / "header" / "meta-data").read_text() == "null"
    hi = subprocess.run(f"tar xOf {art} header.tar.gz | tar xzO header-info", shell=True, capture_output=True).stdout
    assert (wd / "header" / "header-info").read_bytes() == hi
    assert os.listdir(wd / "tmp") == []
    assert oct((wd / "version").stat().st_mode & 0o777) == "0o600"
    assert oct((wd / "tmp").stat().st_mode & 0o777) == "0o700"


def test_unknown_state_is_accepted(env):
    kit, ds = env
    p = driver("SomeFutureState", kit, ds, "rtos-interface", "rtos", "--arg", "1")
    assert p.returncode == 0 and p.stdout == "ok\n", p


def test_missing_and_non_executable_interface(env, tmp_path):
    kit, ds = env
    p = driver("ArtifactInstall", kit, ds, "nope", "rtos")
    assert p.returncode == 1
    assert p.stdout == f"error: Interface nope: {kit.ifaces / 'nope'}: No such file or directory\n"
    f = kit.ifaces / "plain"
    f.write_text("#!/bin/sh\nexit 0\n")
    f.chmod(0o644)
    p = driver("ArtifactInstall", kit, ds, "plain", "rtos")
    assert p.returncode == 1
    assert "not an executable file" in p.stdout


def test_an_orphan_does_not_outlive_the_call(env):
    kit, ds = env
    kit.configure("1", orphan=["ArtifactCommit"])
    t0 = time.time()
    p = driver("ArtifactCommit", kit, ds, "rtos-interface", "rtos", "--arg", "1")
    assert p.returncode == 0, p
    assert time.time() - t0 < 15
    pid = kit.calls("1")[0]["orphan_pid"]
    time.sleep(0.2)
    assert not alive(pid)


def test_timeout_kills_the_whole_group(env):
    kit, ds = env
    kit.configure("1", orphan=["ArtifactCommit"], sleep={"ArtifactCommit": 60})
    t0 = time.time()
    p = driver("ArtifactCommit", kit, ds, "rtos-interface", "rtos", "--arg", "1", "--timeout", "1", "--grace", "1")
    assert p.returncode == 1
    assert p.stdout == "error: ArtifactCommit: timed out and was killed\n"
    assert time.time() - t0 < 15


def test_state_output_is_logged_never_trusted(env):
    kit, ds = env
    kit.configure("1", stdout={"ArtifactInstall": "hello\nworld"}, stderr={"ArtifactInstall": "warn \"x\"\n"},
                  exit={"ArtifactInstall": 2})
    p = driver("ArtifactInstall", kit, ds, "rtos-interface", "rtos", "--arg", "1")
    assert p.returncode == 1
    assert 'msg="Update Interface output (stdout): hello"' in p.stderr
    assert 'msg="Update Interface output (stdout): world"' in p.stderr
    assert 'msg="Update Interface output (stderr): warn \\"x\\""' in p.stderr
    assert 'name="rtos" id="rtos"' in p.stderr


def test_query_non_zero_exit_fails(env):
    kit, ds = env
    kit.configure("1", answers={"SupportsRollback": "Yes\n"}, exit={"SupportsRollback": 1})
    p = driver("SupportsRollback", kit, ds, "rtos-interface", "rtos", "--arg", "1", "--query")
    assert p.returncode == 1
    assert p.stdout == "error: SupportsRollback: Process exited with status 1\n"
    kit.configure("1", answers={"SupportsRollback": "Yes\n"})
    p = driver("SupportsRollback", kit, ds, "rtos-interface", "rtos", "--arg", "1", "--query")
    assert p.returncode == 0 and p.stdout == "Yes\n"
    # queries outside the install phase run in a scratch dir that is removed afterwards
    c = kit.calls("1")[-1]
    assert "/query/" in c["cwd"]
    assert not pathlib.Path(c["cwd"]).exists()
