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
from kit import alive
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


# every case in the Manifest; the Topology (the same YAML layer) gets the bombs
TOPOLOGY_CASES = ["alias-bomb-sequence", "deep-flow-100k", "huge-scalar-50MiB", "non-utf8", "duplicate-key"]


@pytest.mark.parametrize("which,kind", [("manifest", k) for k in YAML_CASES] +
                         [("topology", k) for k in TOPOLOGY_CASES])
def test_hostile_yaml_is_refused_and_changes_nothing(installed, which, kind):
    s = installed
    path = s.manifest if which == "manifest" else s.mo.datastore / "topology.yaml"
    good = path.read_text()
    text, want = hostile_yaml(kind, good)
    if want is None:   # under every cap: an unknown key, a warning; v2 is installed already
        write_raw(path, text)
        for cmd in (("check", s.manifest), ("install", s.manifest)):
            r = s.mo.run(*cmd, timeout=60)
            assert r.rc == 0, r
        assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
        return
    with Unchanged(s):
        write_raw(path, text)
        for cmd in (("check", s.manifest), ("install", s.manifest)):
            r = s.mo.run(*cmd, timeout=60)
            refused(r, f"{path}:" if which == "manifest" or cmd[0] != "check" else "topology.yaml", want)
            assert len(error_lines(r)) <= 10, r   # not one line per alias expansion
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

def rewrite_artifact(path, data_member=None, extra_manifest=None, replace=None, sparse_data=0):
    """Rewrites a .mender made by mender-artifact: data/0000.tar.gz replaced by
    data_member=(bytes, {payload name: sha256 hex}); replace={member: bytes} swaps other
    members. The manifest is rewritten to match, so every checksum looks consistent.
    sparse_data=N makes the data member a GNU sparse entry: N bytes of hole, then its bytes."""
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
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT if sparse_data else tarfile.GNU_FORMAT) as t:
        for m, _ in members:
            b = body[m.name]
            info = tarfile.TarInfo(m.name)
            info.size = len(b)
            info.mode = 0o600
            if sparse_data and m.name.startswith("data/"):
                info.pax_headers = {"GNU.sparse.major": "0", "GNU.sparse.minor": "1", "GNU.sparse.name": m.name,
                                    "GNU.sparse.size": str(sparse_data + len(b)), "GNU.sparse.numblocks": "1",
                                    "GNU.sparse.map": f"{sparse_data},{len(b)}"}
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
    if kind == "sparse-data-member":
        # the outer entry data/0000.tar.gz itself sparse: a hole, then a valid payload
        rewrite_artifact(path, (gzip.compress(tar_bytes([(file_info(name, len(content)), content)])), {name: sha}),
                         sparse_data=1 << 20)
        return "data/0000.tar.gz: not a regular file (a sparse tar entry)"
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


ARTIFACT_CASES = ["sparse-bomb", "sparse-data-member", "tar-size-lies", "dotdot-name", "slash-name",
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


# ---- Interfaces ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../x", "/usr/bin/true", "a/b", "..", ".", "x\ny"])
def test_interface_name_escaping_the_folder_is_refused(installed, name):
    s = installed
    topo = s.mo.datastore / "topology.yaml"
    good = topo.read_text()
    with Unchanged(s):
        topo.write_text(good.replace("interface: rtos-if", f"interface: {json.dumps(name)}"))
        for cmd in (("check", s.manifest), ("install", s.manifest), ("show-provides",)):
            r = s.mo.run(*cmd)
            refused(r, "topology.yaml:", "components[1].interface:", "invalid interface name")
        topo.write_text(good)


def test_legacy_update_interface_escaping_the_folder_is_refused(installed, tmp_path):
    s = installed
    legacy = s.release / "legacy.yaml"
    legacy.write_text(f"""\
api_version: mender/v1
kind: update_manifest
version: "v3"
component_types:
  rtos:
    artifact_path: rtos-v2.mender
    update_interface: ../../../../usr/bin/true
    update_strategy:
      order: 20
components:
  - component_type: rtos
    id: "R1"
    args: ["r1"]
""")
    with Unchanged(s):
        for cmd in (("check", legacy), ("install", legacy)):
            refused(s.mo.run(*cmd), "legacy.yaml:7:23: component_types.rtos.update_interface:", "invalid interface name")


def test_dangling_interface_symlink_is_a_clear_error(installed, tmp_path):
    """A symlink in the interfaces folder is the integrator's choice and is followed (the
    test kit's Interfaces are symlinks); one that leads nowhere is refused by name."""
    s = installed
    link = s.kit.ifaces / "rtos-if"
    link.unlink()
    link.symlink_to(tmp_path / "nowhere" / "rtos-if")
    with Unchanged(s):
        r = s.mo.run("show-provides")
        assert r.rc == 1, r
        assert any("rtos" in l and "rtos-if" in l and "No such file or directory" in l for l in error_lines(r)), r
        s.write_manifest("v3")
        r = s.install()
        assert r.rc == 1, r
        assert any("No such file or directory" in l for l in error_lines(r)), r
        s.write_manifest("v2")


@pytest.mark.parametrize("call", ["ArtifactInstall", "Provides"])
def test_interface_flooding_binary_garbage_is_logged_not_trusted(installed, call):
    """8 MiB of binary garbage on stdout and stderr: a state's output is only logged (in
    bounded lines); a query's answer over 1 MiB fails the query. The orchestrator's peak
    RSS stays small either way."""
    s = installed
    s.write_manifest("v3")
    s.configure("r1", flood={call: 8 << 20})
    before = snapshot(s.mo)
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", BIN, "install", str(s.manifest)],
                       env=s.mo.env, capture_output=True, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    rss = int([l for l in err.splitlines() if l.startswith("maxrss=")][-1].split("=")[1])
    assert rss < 64 * 1024, rss   # KiB, the Interface included (it holds 64 KiB)
    if call == "ArtifactInstall":
        assert p.returncode == 0, err[-3000:]
        assert s.versions() == {"gw": "gateway-v3", "r1": "rtos-v3"}
        assert "Update Interface output (stdout): " in err
        assert max(len(l) for l in err.splitlines()) < 64 * 1024
    else:
        assert p.returncode == 1, err[-3000:]
        assert f"{call}: more than 1048576 bytes of output" in err
        assert snapshot(s.mo) == before   # refused while preparing: nothing recorded
        assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
    assert leftovers(s.mo) == []


def test_chatty_interface_is_logged_line_by_line_and_never_times_out(installed):
    """A firmware flasher printing 200,000 progress lines during ArtifactInstall, under a
    15 s InterfaceTimeoutSeconds: every line is logged, in order, as its own record, and the
    call ends in time (when the logger wrote one character per write(), 50,000 lines took
    5.5 s of our CPU and 200,000 made the call time out and the System roll back)."""
    s = installed
    s.mo.write_config(json.dumps({"InterfaceTimeoutSeconds": 15}))
    s.write_manifest("v3")
    n = 200_000
    s.configure("r1", stdout={"ArtifactInstall": "".join(
        f"flash: block {i} of {n} written, crc ok, {100 * i // n}% done\n" for i in range(1, n + 1))})
    r = s.install(timeout=300)
    assert r.rc == 0, r.err[-3000:]
    assert s.versions() == {"gw": "gateway-v3", "r1": "rtos-v3"}
    logged = [l.split("Update Interface output (stdout): ", 1)[1].rstrip('"')
              for l in r.err.splitlines() if "Update Interface output (stdout): flash: " in l]
    assert len(logged) == n, len(logged)
    assert logged[0] == f"flash: block 1 of {n} written, crc ok, 0% done"
    assert logged[-1] == f"flash: block {n} of {n} written, crc ok, 100% done"
    assert logged == sorted(logged, key=lambda l: int(l.split()[2]))
    assert leftovers(s.mo) == []


def test_interface_that_never_exits_is_killed_with_its_group(installed):
    """The second group's Download hangs with a child and a grandchild in its process
    group: after InterfaceTimeoutSeconds the whole group is killed, the deployment fails
    and rolls back (the first group was installed already), the System stays on the old set."""
    s = installed
    s.mo.write_config(json.dumps({"InterfaceTimeoutSeconds": 2}))
    s.write_manifest("v3")
    s.configure("r1", grandchild=["Download"], sleep={"Download": 600})
    r = s.install(timeout=300)
    assert r.rc == 1, r
    assert any("Download" in l and "timed out" in l for l in error_lines(r)), r
    child, grandchild = map(int, (s.kit.dir / "pids-r1-Download").read_text().split())
    assert not alive(child) and not alive(grandchild)
    calls = s.calls("r1")   # the killed Download never logged itself
    assert calls[-2:] == ["ProvidePayloadFileSizes", "Cleanup"], calls
    assert s.calls("gw")[-4:] == ["ArtifactRollback", "NeedsArtifactReboot", "ArtifactFailure", "Cleanup"]
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
    assert s.mo.run("status").rc == 0 and s.mo.run("resume").rc == 2
    assert json.loads(s.mo.run("history", "--json").out)[0]["result"] == "failed"
    assert leftovers(s.mo) == []


# ---- the datastore -------------------------------------------------------------------

def test_work_root_replaced_by_a_symlink_is_refused(installed, tmp_path):
    """{datastore}/work is a symlink to a folder elsewhere (put there before the call):
    nothing is created, written or removed through it; the deployment fails cleanly."""
    s = installed
    outside = tmp_path / "outside"
    (outside / "rtos" / "R1").mkdir(parents=True)
    (outside / "rtos" / "R1" / "precious").write_text("keep me\n")
    work = s.mo.datastore / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.symlink_to(outside)
    s.write_manifest("v3")
    n = len(s.calls("gw")), len(s.calls("r1"))
    r = s.install()
    assert r.rc == 1, r
    assert any("work" in l and "symbolic link" in l for l in error_lines(r)), r
    assert s.calls("gw")[n[0]:] == ["Identity", "Provides"]   # not even Cleanup runs there
    assert s.calls("r1")[n[1]:] == ["Identity", "Provides"]
    assert sorted(str(p.relative_to(outside)) for p in outside.rglob("*")) == ["rtos", "rtos/R1", "rtos/R1/precious"]
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}


def test_component_work_dir_replaced_by_a_symlink_mid_deployment(installed, tmp_path):
    """Between two calls (a stop point), work/rtos/R1 is swapped for a symlink: the next
    call refuses to run the Interface there; nothing outside is touched."""
    s = installed
    s.write_manifest("v3")
    r = s.install("--stop-before", "ArtifactCommit")
    assert r.rc == 0, r
    wd = s.mo.datastore / "work" / "rtos" / "R1"
    outside = tmp_path / "outside"
    shutil.copytree(wd, outside)
    before = sorted((str(p.relative_to(outside)), p.read_bytes() if p.is_file() else None) for p in outside.rglob("*"))
    shutil.rmtree(wd)
    wd.symlink_to(outside)
    r = s.mo.run("resume")
    assert r.rc in (1, 3), r
    assert any("R1" in l and "symbolic link" in l for l in error_lines(r)), r
    after = sorted((str(p.relative_to(outside)), p.read_bytes() if p.is_file() else None) for p in outside.rglob("*"))
    assert after == before
    for c in s.kit.calls("r1"):
        assert not c["cwd"].startswith(str(outside)), c
    st = json.loads(s.mo.run("status", "--json").out) if s.mo.run("status").rc == 0 else None
    assert s.versions()["gw"] == "gateway-v2"


def fill(fs, room):
    """Fills the filesystem until ENOSPC, then frees `room` bytes."""
    filler = fs / "filler"
    chunk = b"\xa5" * 65536
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            assert e.errno == 28, e   # ENOSPC, really
    size = filler.stat().st_size
    with open(filler, "r+b") as f:
        f.truncate(max(0, size - room))
    return filler


@pytest.mark.parametrize("room", [0, 256 << 10])
def test_nearly_full_datastore_fails_cleanly_on_the_old_set(mo, tmp_path, artifact_cache, tiny_datastore, room):
    """The datastore's filesystem is full (room=0: not even the journal can grow) or has
    256 KiB left while the payload (3 MiB, put in files/ because the Interface never opens
    stream-next) does not fit: the deployment fails, the System stays on v2, `status`
    and `history` agree, nothing is left behind once space is back."""
    s = System(mo, tmp_path, components=SMALL, artifact_cache=artifact_cache)
    assert s.install().rc == 0
    from conftest import make_artifact
    make_artifact(s.release / "rtos-v3.mender", "rtos-v3", ["rtos"], payload_type="rtos-if",
                  payload=os.urandom(3 << 20))
    s.write_manifest("v3")
    s.configure("r1", download="none")
    filler = fill(tiny_datastore, room)
    r = s.install()
    assert r.rc == 1, r
    errs = error_lines(r)
    assert errs and any("No space left on device" in l or "database or disk is full" in l for l in errs), r
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
    filler.unlink()
    assert s.mo.run("resume").rc == 2
    st = s.mo.run("status")
    assert st.rc == 0, st
    h = json.loads(s.mo.run("history", "--json").out)
    assert h[0]["result"] in ("success", "failed"), h
    if h[0]["result"] == "success":   # room=0: refused before the deployment was recorded
        assert len(h) == 1 and room == 0, h
    assert leftovers(s.mo) == []
    # and with space back, the same Manifest installs
    s.configure("r1", download="read")
    r = s.install()
    assert r.rc == 0, r
    assert s.versions() == {"gw": "gateway-v3", "r1": "rtos-v3"}


def test_query_dir_replaced_by_a_symlink_is_refused(installed, tmp_path):
    """{datastore}/query (scratch dirs of queries) is a symlink to a folder holding what
    looks like a dead orchestrator's scratch dir: nothing there is run, created or removed."""
    s = installed
    outside = tmp_path / "outside"
    (outside / "999999-1").mkdir(parents=True)
    (outside / "999999-1" / "precious").write_text("keep me\n")
    shutil.rmtree(s.mo.datastore / "query", ignore_errors=True)
    (s.mo.datastore / "query").symlink_to(outside)
    for cmd in (("show-provides",), ("install", s.manifest)):
        r = s.mo.run(*cmd)
        assert r.rc == 1, r
        assert any("query" in l and "symbolic link" in l for l in error_lines(r)), r
    assert sorted(str(p.relative_to(outside)) for p in outside.rglob("*")) == ["999999-1", "999999-1/precious"]
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
