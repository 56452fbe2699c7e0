"""Hostile inputs (issue 6, part 3): each is refused with one clear error line (file and
line:col, or the component, and what is wrong), a documented exit code, and NOTHING is
modified: the datastore's files and journal, `status` and `history`, the Components'
provides; no work dir or temporary file is left behind."""
import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile

import pytest

from conftest import BIN
from system import System

SMALL = [
    ("gw", "gateway", "gw-if", "GW", 10),
    ("r1", "rtos", "rtos-if", "R1", 20),
]


# ---- helpers -------------------------------------------------------------------------

def snapshot(mo):
    """Everything a user or the next run can observe: status, history and every file of
    the datastore (name, kind, SHA-256)."""
    st = mo.run("status", "--json")
    hi = mo.run("history", "--json")
    files = {}
    for p in sorted(mo.datastore.rglob("*")):
        rel = str(p.relative_to(mo.datastore))
        if p.is_symlink():
            files[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            files[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            files[rel] = "dir"
    return {"status": (st.rc, st.out), "history": (hi.rc, hi.out), "files": files}


def leftovers(mo):
    """Work dirs (work/<type>/<id>), query scratch dirs and temporary files left behind."""
    out = [str(p) for p in mo.datastore.glob("work/*/*")]
    out += [str(p) for p in mo.datastore.glob("query/*")]
    out += [str(p) for p in mo.datastore.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".tmp")]
    return out


def error_lines(r):
    return [l for l in r.err.splitlines() if "severity=error" in l]


@pytest.fixture(scope="session")
def artifact_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile-artifacts")


@pytest.fixture
def installed(mo, tmp_path, artifact_cache):
    """A 2-component System on v2 (one deployment in history), TMPDIR private."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    mo.env["TMPDIR"] = str(tmpdir)
    s = System(mo, tmp_path, components=SMALL, artifact_cache=artifact_cache)
    r = s.install()
    assert r.rc == 0, r
    s.tmpdir = tmpdir
    return s


class Unchanged:
    """with Unchanged(system): ... asserts that nothing observable changed."""

    def __init__(self, system):
        self.s = system

    def __enter__(self):
        self.before = snapshot(self.s.mo)
        self.versions = self.s.versions()
        return self

    def __exit__(self, *exc):
        if exc[0]:
            return False
        assert snapshot(self.s.mo) == self.before
        assert self.s.versions() == self.versions
        assert leftovers(self.s.mo) == []
        assert list(self.s.tmpdir.iterdir()) == []
        return False


def refused(r, *needles, rc=1):
    """One error line naming what is wrong (the command's summary line may follow)."""
    assert r.rc == rc, r
    errs = error_lines(r)
    assert errs, r
    for n in needles:
        assert n in errs[0], (n, errs[0])


# ---- YAML inputs ---------------------------------------------------------------------

def laughs(prefix="lol", levels=30, fanout=9):
    """A billion-laughs chain: level n is a sequence of fanout aliases of level n-1
    (9**29 leaves if expanded)."""
    out = [f"{prefix}0: &{prefix}0 \"lol\""]
    for i in range(1, levels):
        out.append(f"{prefix}{i}: &{prefix}{i} [" + ", ".join([f"*{prefix}{i - 1}"] * fanout) + "]")
    return "\n".join(out) + "\n"


def map_laughs(prefix="m", levels=30, fanout=9):
    out = [f"{prefix}0: &{prefix}0 {{k: v}}"]
    for i in range(1, levels):
        out.append(f"{prefix}{i}: &{prefix}{i} {{" + ", ".join(f"k{j}: *{prefix}{i - 1}" for j in range(fanout)) + "}")
    return "\n".join(out) + "\n"


def hostile_yaml(kind, text):
    """(new text, expected error fragment) for a valid document text."""
    lines = text.count("\n")
    if kind == "alias-bomb-sequence":
        return (laughs() + text.replace('system_types_compatible: ["sys"]', "system_types_compatible: *lol29")
                .replace('system_type: "sys"', "system_type: *lol29"), "got a sequence")
    if kind == "alias-bomb-mapping":
        # unknown keys are warnings: the bomb hangs under one, then a real error follows it
        return (map_laughs() + text + "kind: again\n", f":{lines + 31}:1: duplicate key")
    if kind == "deep-flow-100k":
        return text + "x: " + "[" * 100000 + "]" * 100000 + "\n", f":{lines + 1}:" 
    if kind == "deep-flow-unclosed":
        return text + "x: " + "{a: " * 200000 + "\n", f":{lines + 1}:"
    if kind == "deep-block":
        deep = "".join(" " * i + f"k{i}:\n" for i in range(100)) + " " * 100 + "v\n"
        return text + "x:\n" + "".join(" " + l + "\n" for l in deep.splitlines()), "nested deeper than 64 levels"
    if kind == "huge-scalar-50MiB":
        return text + 'x: "' + "a" * (50 << 20) + '"\n', "file is larger than 1 MiB"
    if kind == "huge-scalar-under-cap":
        return text + "x: " + "a" * (1000 << 10) + "\n", None
    if kind == "non-utf8":
        return text.replace('"sys"', '"s\udcffy\udcfes"', 1), "malformed UTF8"
    if kind == "overlong-utf8":
        return text.replace('"sys"', "s\udcc0\udcafys", 1), "malformed UTF8"
    if kind == "nul-byte":
        return text.replace('"sys"', '"s\0ys"', 1), "NUL character not allowed"
    if kind == "duplicate-key":
        return text + "kind: again\n", f":{lines + 1}:1: duplicate key"
    if kind == "two-documents":
        return text + "---\n" + text, "several YAML documents"
    raise AssertionError(kind)


YAML_CASES = ["alias-bomb-sequence", "alias-bomb-mapping", "deep-flow-100k", "deep-flow-unclosed", "deep-block",
              "huge-scalar-50MiB", "huge-scalar-under-cap", "non-utf8", "overlong-utf8", "nul-byte",
              "duplicate-key", "two-documents"]


def write_raw(path, text):
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("kind", YAML_CASES)
@pytest.mark.parametrize("which", ["manifest", "topology"])
def test_hostile_yaml_is_refused_and_changes_nothing(installed, which, kind):
    s = installed
    path = s.manifest if which == "manifest" else s.mo.datastore / "topology.yaml"
    good = path.read_text()
    text, want = hostile_yaml(kind, good)
    with Unchanged(s):
        write_raw(path, text)
        for cmd in (("check", s.manifest), ("install", s.manifest)):
            r = s.mo.run(*cmd, timeout=60)
            if want is None:  # under every cap: an unknown key, a warning
                assert r.rc == 0, r
                continue
            refused(r, f"{path}:" if which == "manifest" or cmd[0] != "check" else "topology.yaml", want)
            assert len(error_lines(r)) <= 10, r   # not one line per alias expansion
        if want is None:
            # it was installed already: the new run skipped every Component and passed
            pytest.skip("accepted (under the caps); nothing to compare")
        write_raw(path, good)


def test_hostile_yaml_peak_memory_stays_small(installed):
    """1 MiB of '[' (the size cap) once took libfyaml 400 MiB; the nesting cap stops it first."""
    s = installed
    s.manifest.write_text("[" * ((1 << 20) - 1))
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", BIN, "check", str(s.manifest)],
                       env=s.mo.env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p
    assert "nested deeper than 64 levels" in p.stderr, p
    rss = int([l for l in p.stderr.splitlines() if l.startswith("maxrss=")][-1].split("=")[1])
    assert rss < 64 * 1024, rss   # KiB


@pytest.mark.parametrize("kind", ["deep-nesting", "huge", "non-utf8", "duplicate-key"])
def test_hostile_config_is_refused_and_changes_nothing(installed, kind):
    s = installed
    conf = s.mo.conf / "mender-orchestrator.conf"
    text, want = {
        "deep-nesting": ('{"LogLevel": "info", "X": ' + "[" * 100000 + "]" * 100000 + "}", "mender-orchestrator.conf:"),
        "huge": ('{"LogLevel": "' + "a" * (50 << 20) + '"}', "mender-orchestrator.conf: file larger than"),
        "non-utf8": ('{"RebootCommand": "re\udcffboot"}', "mender-orchestrator.conf:1:"),
        "duplicate-key": ('{"LogLevel": "info",\n "LogLevel": "debug"}', "mender-orchestrator.conf:2:"),
    }[kind]
    with Unchanged(s):
        write_raw(conf, text)
        for cmd in (("check", s.manifest), ("install", s.manifest), ("resume",)):
            r = s.mo.run(*cmd, timeout=60)
            refused(r, want)
        conf.unlink()


# ---- Artifacts -----------------------------------------------------------------------

def rewrite_artifact(path, data_member=None, extra_manifest=None, replace=None):
    """Rewrites a .mender made by mender-artifact: data/0000.tar.gz replaced by
    data_member=(bytes, {payload name: sha256 hex}); replace={member: bytes} swaps other
    members. The manifest is rewritten to match, so every checksum looks consistent."""
    with tarfile.open(path) as t:
        members = [(m, t.extractfile(m).read()) for m in t.getmembers()]
    body = dict((m.name, b) for m, b in members)
    lines = [l for l in body["manifest"].decode().splitlines() if l]
    if replace:
        for name, b in replace.items():
            body[name] = b
            lines = [l for l in lines if not l.endswith("  " + name)] + [f"{hashlib.sha256(b).hexdigest()}  {name}"]
    if data_member is not None:
        data, sums = data_member
        body["data/0000.tar.gz"] = data
        lines = [l for l in lines if not l.split("  ")[1].startswith("data/")]
        lines += [f"{h}  data/0000/{n}" for n, h in sums.items()]
    lines += extra_manifest or []
    body["manifest"] = ("\n".join(sorted(lines, key=lambda l: l.split("  ")[1])) + "\n").encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        for m, _ in members:
            b = body[m.name]
            info = tarfile.TarInfo(m.name)
            info.size = len(b)
            info.mode = 0o600
            t.addfile(info, io.BytesIO(b))
    pathlib.Path(path).unlink()   # it may be a hard link into the shared artifact cache
    pathlib.Path(path).write_bytes(out.getvalue())


def tar_bytes(entries, fmt=tarfile.GNU_FORMAT):
    """An uncompressed tar of [(TarInfo, bytes or None)]."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for info, b in entries:
            t.addfile(info, io.BytesIO(b) if b is not None else None)
    return out.getvalue()


def file_info(name, size, **kw):
    i = tarfile.TarInfo(name)
    i.size = size
    i.mode = 0o644
    for k, v in kw.items():
        setattr(i, k, v)
    return i


GZ_ZERO_MIB = gzip.compress(b"\0" * (1 << 20), 9)


def zeros_gzip(mib):
    """mib MiB of zeros as concatenated gzip members: 1 KiB each, made in no time."""
    return GZ_ZERO_MIB * mib


def sparse_tar(name, real_size, stored=b"x" * 512):
    """A GNU sparse (pax 0.1) entry: 512 bytes stored, real_size bytes when expanded
    (holes are read back as zeros)."""
    info = file_info(name, len(stored))
    info.pax_headers = {"GNU.sparse.major": "0", "GNU.sparse.minor": "1", "GNU.sparse.name": name,
                        "GNU.sparse.size": str(real_size), "GNU.sparse.numblocks": "1",
                        "GNU.sparse.map": f"{real_size - len(stored)},{len(stored)}"}
    return tar_bytes([(info, stored)], fmt=tarfile.PAX_FORMAT)


def hostile_artifact(kind, path):
    """Rewrites the rtos Artifact at path; returns the expected error fragment."""
    name = "rtos-v3.payload"   # make_artifact's payload file name
    content = b"rtos v3\n"
    sha = hashlib.sha256(content).hexdigest()
    if kind == "sparse-bomb":
        # 512 bytes stored, 64 GiB of zeros when read: the manifest checksum is right
        # for the stored bytes only, so only streaming all of it would find out
        rewrite_artifact(path, (gzip.compress(sparse_tar(name, 64 << 30)), {name: sha}))
        return "not a regular file"
    if kind == "tar-size-lies":
        # the tar header says 64 GiB, the stream ends after 1 MiB of zeros
        tar = tar_bytes([(file_info(name, len(content)), content)])
        hdr = bytearray(tar[:512])
        hdr[124:136] = b"\x80" + (64 << 30).to_bytes(11, "big")   # base-256 size
        hdr[148:156] = b"        "
        hdr[148:156] = ("%06o\0 " % sum(hdr)).encode()
        rewrite_artifact(path, (gzip.compress(bytes(hdr)) + zeros_gzip(1), {name: sha}))
        return "data/0000/" + name
    if kind == "dotdot-name":
        rewrite_artifact(path, (gzip.compress(tar_bytes([(file_info("../evil", len(content)), content)])),
                                {"../evil": sha}))
        return "invalid payload file name"
    if kind == "slash-name":
        rewrite_artifact(path, (gzip.compress(tar_bytes([(file_info("a/evil", len(content)), content)])),
                                {"a/evil": sha}))
        return "invalid payload file name"
    if kind == "symlink-entry":
        link = file_info(name, 0, type=tarfile.SYMTYPE, linkname="/etc/passwd")
        rewrite_artifact(path, (gzip.compress(tar_bytes([(link, None)])), {name: hashlib.sha256(b"").hexdigest()}))
        return "not a regular file"
    if kind == "hardlink-entry":
        link = file_info(name, 0, type=tarfile.LNKTYPE, linkname="/etc/passwd")
        rewrite_artifact(path, (gzip.compress(tar_bytes([(link, None)])), {name: hashlib.sha256(b"").hexdigest()}))
        return "not a regular file"
    if kind == "header-over-16MiB":
        # a header.tar.gz of 16 KiB that inflates to 24 MiB (one meta-data of zeros)
        with tarfile.open(path) as t:
            hdr = gzip.decompress(t.extractfile("header.tar.gz").read())
        with tarfile.open(fileobj=io.BytesIO(hdr)) as h:
            entries = [(m, h.extractfile(m).read() if m.isfile() else None) for m in h.getmembers()]
        entries = [(file_info("headers/0000/zzz-padding", 24 << 20), b"\0" * (24 << 20)) if False else e
                   for e in entries]
        big = file_info(entries[-1][0].name, 24 << 20)
        entries.append((big, b"\0" * (24 << 20)))
        rewrite_artifact(path, replace={"header.tar.gz": gzip.compress(tar_bytes(entries), 1)})
        return "too large"
    if kind == "header-json-over-1MiB":
        with tarfile.open(path) as t:
            hdr = gzip.decompress(t.extractfile("header.tar.gz").read())
        with tarfile.open(fileobj=io.BytesIO(hdr)) as h:
            entries = [(m, h.extractfile(m).read() if m.isfile() else None) for m in h.getmembers()]
        out = []
        for m, b in entries:
            if m.name == "header-info":
                b = b[:-1] + b', "pad": "' + b"a" * (2 << 20) + b'"}'
                m = file_info(m.name, len(b))
            out.append((m, b))
        rewrite_artifact(path, replace={"header.tar.gz": gzip.compress(tar_bytes(out), 1)})
        return "header-info: too large"
    if kind == "manifest-over-1MiB":
        pad = [f"{'0' * 64}  data/0000/pad{i:07d}" for i in range(20000)]
        rewrite_artifact(path, extra_manifest=pad)
        return "manifest: too large"
    if kind == "version-over-4KiB":
        rewrite_artifact(path, replace={"version": b'{"format": "mender", "version": 3, "x": "' + b"a" * 8192 + b'"}'})
        return "version: too large"
    raise AssertionError(kind)


ARTIFACT_CASES = ["sparse-bomb", "tar-size-lies", "dotdot-name", "slash-name",
                  "symlink-entry", "hardlink-entry", "header-over-16MiB", "header-json-over-1MiB",
                  "manifest-over-1MiB", "version-over-4KiB"]


@pytest.mark.parametrize("kind", ARTIFACT_CASES)
def test_hostile_artifact_is_refused_and_changes_nothing(installed, kind):
    s = installed
    s.write_manifest("v3")
    art = s.release / "rtos-v3.mender"
    want = hostile_artifact(kind, art)
    r = s.mo.run("check", s.manifest, timeout=120)
    assert r.rc == 1, r
    assert any(want in l and "rtos-v3.mender" in l for l in error_lines(r)), r
    before = snapshot(s.mo)
    r = s.install(timeout=120)
    assert r.rc == 1, r
    assert any(want in l for l in error_lines(r)), r
    # refused before any Interface call when the header is bad; after Download otherwise
    after = snapshot(s.mo)
    assert after["status"] == before["status"]
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
    assert leftovers(s.mo) == []
    assert list(s.tmpdir.iterdir()) == []
    h = json.loads(s.mo.run("history", "--json").out)
    assert h[0]["result"] in ("failed", "rolled back", "rolled_back") or len(h) == 1, h


def test_gzip_data_beyond_the_payload_tar_is_never_inflated(installed):
    """A payload tar followed, in its gzip stream, by 64 GiB of zeros (64 MiB of gzip
    members): what follows the tar's end is never decompressed, so the bomb costs
    nothing; the Artifact installs (its payload file is exactly what the tar holds)."""
    s = installed
    s.write_manifest("v3")
    art = s.release / "rtos-v3.mender"
    name, content = "rtos-v3.payload", b"rtos v3\n"
    tar = tar_bytes([(file_info(name, len(content)), content)])
    rewrite_artifact(art, (gzip.compress(tar) + zeros_gzip(64 << 10), {name: hashlib.sha256(content).hexdigest()}))
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", BIN, "check", str(s.manifest)],
                       env=s.mo.env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p
    rss = int([l for l in p.stderr.splitlines() if l.startswith("maxrss=")][-1].split("=")[1])
    assert rss < 64 * 1024, rss   # KiB
    s.configure("r1", save=True)
    r = s.install(timeout=600)
    assert r.rc == 0, r
    assert s.versions() == {"gw": "gateway-v3", "r1": "rtos-v3"}
    assert (s.kit.dir / "received" / "r1" / name).read_bytes() == content
    assert leftovers(s.mo) == []
