"""Inputs checked before anything is modified (issues 16 and 23): values that reach the
line-based outputs (show-provides, show-inventory, history, status), strict SupportsRollback
answers, the Manifest's artifact_name against its file, the Topology components file as a
bare list, YAML merge keys, corrupt compressed payloads, RebootCommand, Artifacts on a
tmpfs, two Components under one id. Each refusal is one error line naming the file and
line:column or the Component, with exit status 1, and leaves the System as it was."""
import gzip
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import uuid

import pytest

from conftest import make_artifact
from system import System
from test_hostile import (SMALL, Unchanged, artifact_cache, error_lines, installed,  # noqa: F401 (fixtures)
                          refused, rewrite_artifact)


def show_lines_are_well_formed(out):
    """Every line of show-provides / show-inventory is <prefix>=<value> with no control character."""
    for line in out.splitlines():
        assert "=" in line and not any(ord(c) < 0x20 for c in line), line


# ---- values that reach line-based outputs ------------------------------------------------

INJECTED = "mender-orchestrator-manifest.system_type=hacked"


def test_newline_in_manifest_name_is_refused(installed):
    """name: "v3\\n<inventory line>" would add a line to show-inventory (read by the Mender
    server) and split a history row: refused at its position, by check, plan and install."""
    s = installed
    s.write_manifest("v3")
    text = s.manifest.read_text()
    s.manifest.write_text(text.replace('name: "sys-v3"', f'name: "v3\\n{INJECTED}"'))
    with Unchanged(s):
        for cmd in ("check", "plan", "install"):
            r = s.mo.run(cmd, s.manifest)
            refused(r, f"{s.manifest}:3:7: name:", "control characters are not allowed")
        inv = s.mo.run("show-inventory")
        assert inv.rc == 0, inv
        assert "hacked" not in inv.out
        show_lines_are_well_formed(inv.out)
        hist = s.mo.run("history")
        assert hist.rc == 0 and "hacked" not in hist.out, hist
        assert len(json.loads(s.mo.run("history", "--json").out)) == 1


def test_newline_in_legacy_version_and_id_are_refused(installed):
    s = installed
    legacy = s.release / "legacy.yaml"
    legacy.write_text(f"""\
api_version: mender/v1
kind: update_manifest
version: "v3\\n{INJECTED}"
component_types:
  rtos: {{artifact_path: rtos-v2.mender, update_interface: rtos-if, update_strategy: {{order: 20}}}}
components:
  - {{component_type: rtos, id: "../../../escape", args: [r1]}}
""")
    with Unchanged(s):
        r = s.mo.run("check", legacy)
        assert r.rc == 1, r
        errs = error_lines(r)
        assert any(f"{legacy}:3:10: version:" in l and "control characters are not allowed" in l for l in errs), r
        assert any(f"{legacy}:7:32: components[0].id:" in l and "invalid component id" in l for l in errs), r
        refused(s.mo.run("install", legacy), f"{legacy}:3:10: version:")


@pytest.mark.parametrize("identity", ["id=../../../escape", "id=a b", "id=a=b", "id=.hidden", "id=" + "x" * 65])
def test_identity_outside_the_id_characters_is_refused(installed, identity):
    """show-provides prints <component_type>.<id>.<key>=<value>: an id with a space, '=', a
    slash or a leading dot makes it ambiguous. The query fails naming the Component: its lines
    are left out of show-provides and show-inventory, install refuses before any change."""
    s = installed
    s.configure("r1", answers={"Identity": identity + "\n"})
    with Unchanged(s):
        r = s.mo.run("show-provides")
        assert r.rc == 1, r
        assert not any(l.startswith("rtos.") for l in r.out.splitlines()), r
        assert "gateway.GW.device_type=gateway" in r.out
        assert any("component rtos #1: Identity:" in l and "invalid component id" in l for l in error_lines(r)), r
        show_lines_are_well_formed(r.out)
        inv = s.mo.run("show-inventory")
        assert inv.rc == 0 and not any(l.startswith("rtos.") for l in inv.out.splitlines()), inv
        s.write_manifest("v3")
        refused(s.install(), "component rtos #1: Identity:", "invalid component id")
        st = s.mo.run("status")
        assert st.rc == 0 and "rtos" not in st.out, st
        s.write_manifest("v2")
    assert s.calls("r1")[-1] == "Identity"   # no other call for it


def test_identity_characters_that_are_allowed(installed):
    s = installed
    s.configure("r1", answers={"Identity": "id=52:54:00:1d:94:82@bus+1_a.b-c\n"})
    r = s.mo.run("show-provides")
    assert r.rc == 0, r
    assert "rtos.52:54:00:1d:94:82@bus+1_a.b-c.device_type=rtos" in r.out


@pytest.mark.parametrize("query,answer", [("Provides", "rootfs-image.rtos-if.version=v2\rx\n"),
                                          ("Inventory", "k=v\x1b[2J\n"), ("Inventory", "a\nb=c\n")])
def test_control_characters_or_bad_lines_in_answers_fail_the_query(installed, query, answer):
    s = installed
    s.configure("r1", answers={query: answer})
    r = s.mo.run("show-provides" if query == "Provides" else "show-inventory")
    assert r.rc == (1 if query == "Provides" else 0), r
    assert not any(l.startswith(("rtos.R1.rootfs-image.rtos-if.version=v2", "rtos.R1.k=", "rtos.R1.b="))
                   for l in r.out.splitlines()), r
    assert any("R1" in l and query in l for l in error_lines(r)), r
    show_lines_are_well_formed(r.out)


def test_artifact_name_with_a_control_character_is_refused(installed):
    s = installed
    s.write_manifest("v3")
    make_artifact(s.release / "rtos-v3.mender", "rtos-v3\nx", ["rtos"], payload_type="rtos-if")
    with Unchanged(s):
        r = s.mo.run("check", s.manifest)
        assert r.rc == 1, r
        assert any("rtos-v3.mender: header.tar.gz: header-info: artifact_provides.artifact_name:" in l and
                   "control characters are not allowed" in l for l in error_lines(r)), r
        r = s.install()
        assert r.rc == 1, r
        assert any("component rtos.R1: no candidate:" in l and "control characters" in l for l in error_lines(r)), r
        st = s.mo.run("status")
        assert st.rc == 0 and "\nx" not in st.out, st
        s.write_manifest("v2")


# ---- SupportsRollback ----------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["Maybe\n", "yes\n", "Yes\r\n", "Yes\n\n"])
def test_invalid_supports_rollback_fails_before_artifact_install(installed, answer):
    """Like every other query, an invalid answer fails the deployment: the first group (gw)
    is rolled back and r1 never gets ArtifactInstall; exit 1 (failed, rolled back)."""
    s = installed
    s.write_manifest("v3")
    s.configure("r1", answers={"SupportsRollback": answer})
    n = len(s.calls("r1"))
    r = s.install()
    assert r.rc == 1, r
    assert s.calls("r1")[n:] == ["Identity", "Provides", "NeedsUnpackedArtifact", "ProvidePayloadFileSizes",
                                 "Download", "SupportsRollback", "Cleanup"]
    assert "ArtifactRollback" in s.calls("gw")[n:]
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}
    assert any("R1" in l and "when querying SupportsRollback" in l for l in error_lines(r)), r
    assert json.loads(s.mo.run("history", "--json").out)[0]["result"] == "failed"


def test_failed_supports_rollback_still_counts_as_no(installed):
    """A SupportsRollback call that fails (exit status) is logged and taken as No
    (docs/protocol.md): the install goes on."""
    s = installed
    s.write_manifest("v3")
    s.configure("r1", exit={"SupportsRollback": 1})
    r = s.install()
    assert r.rc == 0, r
    assert s.versions() == {"gw": "gateway-v3", "r1": "rtos-v3"}


# ---- artifact_name against the file at artifact_path ---------------------------------------

def test_artifact_name_not_matching_the_file_is_an_error(installed):
    s = installed
    s.write_manifest("v3")
    text = s.manifest.read_text()
    s.manifest.write_text(text.replace("    artifact_path: rtos-v3.mender\n",
                                       "    artifact_path: rtos-v3.mender\n    artifact_name: rtos-v4\n"))
    line = s.manifest.read_text().splitlines().index("    artifact_name: rtos-v4") + 1
    want = (f"{s.manifest}:{line}:20: component_types.rtos.artifact_name: rtos-v4 does not match the Artifact at "
            f"artifact_path {s.release / 'rtos-v3.mender'}, named rtos-v3; correct artifact_name")
    with Unchanged(s):
        for cmd in ("check", "plan", "install"):
            r = s.mo.run(cmd, s.manifest)
            assert r.rc == 1, r
            assert any(want in l for l in error_lines(r)), (cmd, r)
        s.write_manifest("v2")
    s.manifest.write_text(text.replace("    artifact_path: rtos-v3.mender\n",
                                       "    artifact_path: rtos-v3.mender\n    artifact_name: rtos-v3\n"))
    assert s.mo.run("check", s.manifest).rc == 0


# ---- the Topology components file ----------------------------------------------------------

def split_topology(s, bare):
    """Moves the Topology's components into a file of their own: the bare list, or the
    mapping holding components:."""
    topo = s.mo.datastore / "topology.yaml"
    head, comps = topo.read_text().split("components:\n")
    topo.write_text(head)
    f = s.release / "components.yaml"
    f.write_text(comps.replace("\n  ", "\n").lstrip(" ") if bare else "components:\n" + comps)
    return f


@pytest.mark.parametrize("bare", [True, False])
def test_topology_components_file_as_a_list_or_a_mapping(installed, bare):
    s = installed
    f = split_topology(s, bare)
    if bare:
        assert f.read_text().startswith("- component_type: gateway\n")
    for opt in (("-t", f), ("--topology-components", f)):
        r = s.mo.run(*opt, "show-provides")
        assert r.rc == 0, r
        assert "rtos.R1.device_type=rtos" in r.out and "gateway.GW.device_type=gateway" in r.out
    s.write_manifest("v3")
    r = s.mo.run("-t", f, "install", s.manifest)
    assert r.rc == 0, r
    assert s.versions() == {"gw": "gateway-v3", "r1": "rtos-v3"}


def test_topology_components_file_of_another_kind_is_one_clear_error(installed):
    s = installed
    f = split_topology(s, True)
    f.write_text("just a string\n")
    r = s.mo.run("-t", f, "show-provides")
    refused(r, f"{f}:1:1: expected the components list, or a mapping holding components:, got a scalar")


# ---- YAML merge keys -----------------------------------------------------------------------

MERGE_MANIFEST = """\
api_version: "mender/v1"
kind: "manifest"
name: "sys-v3"
system_types_compatible: ["sys"]
component_types:
  gateway: &defaults
    artifact_path: gateway-v3.mender
    update_strategy: {order: 10}
  rtos:
    <<: *defaults
    artifact_path: rtos-v3.mender
    update_strategy: {order: 20}
"""


def test_yaml_merge_keys_are_supported(installed):
    s = installed
    s.write_manifest("v3")
    s.manifest.write_text(MERGE_MANIFEST)
    r = s.mo.run("plan", "--format", "json", s.manifest)
    assert r.rc == 0, r
    plan = json.loads(r.out)
    assert [g["order"] for g in plan["groups"]] == [10, 20]
    assert s.install().rc == 0
    assert s.versions() == {"gw": "gateway-v3", "r1": "rtos-v3"}


def test_yaml_merge_key_of_a_scalar_is_one_clear_error(installed):
    s = installed
    s.manifest.write_text(MERGE_MANIFEST.replace("<<: *defaults", "<<: defaults"))
    r = s.mo.run("check", s.manifest)
    refused(r, f"{s.manifest}:10:9: merge key <<: expected a mapping or a list of mappings")
    assert len(error_lines(r)) == 2, r   # the error and check's summary line


def test_yaml_merge_keys_cannot_blow_up(installed):
    """20000 mappings each merging a 100-key mapping: capped, one error."""
    s = installed
    big = "big: &big {" + ", ".join(f"k{i}: v" for i in range(100)) + "}\n"
    many = "".join(f"m{i}: {{<<: *big}}\n" for i in range(20000))
    s.manifest.write_text(MERGE_MANIFEST + big + many)
    r = s.mo.run("check", s.manifest, timeout=60)
    refused(r, "merge keys (<<) copy more than 1048576 entries in this document")


# ---- corrupt compressed payload ------------------------------------------------------------

@pytest.mark.parametrize("where,want", [(0, "corrupt gzip stream (it does not even begin like one)"),
                                        (12, "corrupt gzip stream:")])
def test_corrupt_gzip_payload_names_the_member(installed, where, want):
    s = installed
    s.write_manifest("v3")
    art = s.release / "rtos-v3.mender"
    with tarfile.open(art) as t:
        data = t.extractfile("data/0000.tar.gz").read()
    bad = bytearray(data)
    for i in range(where, where + 4):
        bad[i] ^= 0x55
    rewrite_artifact(art, replace={"data/0000.tar.gz": bytes(bad)})
    r = s.mo.run("check", s.manifest)
    assert r.rc == 1, r
    assert any("rtos-v3.mender: data/0000.tar.gz: " + want in l and "the Artifact file is damaged" in l
               for l in error_lines(r)), r
    r = s.install()
    assert r.rc == 1, r
    assert any("data/0000.tar.gz: " + want in l for l in error_lines(r)), r
    assert "ArtifactInstall" not in s.calls("r1")[-6:]
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}


# ---- RebootCommand -------------------------------------------------------------------------

@pytest.mark.parametrize("cmd,why", [("/nonexistent/reboot", "not an executable file"),
                                     ("no-such-reboot-program", "no such executable in PATH")])
def test_reboot_command_that_cannot_run_is_refused_before_any_change(installed, cmd, why):
    s = installed
    s.mo.write_config(json.dumps({"RebootCommand": cmd}))
    s.write_manifest("v3")
    with Unchanged(s):
        refused(s.install(), f"RebootCommand: {cmd}: {why}")
    r = s.install("--exit-on-reboot")   # RebootCommand is never run then
    assert r.rc == 0, r


# ---- local files on a tmpfs ------------------------------------------------------------------

@pytest.fixture
def shm_path(tmp_path):
    base = pathlib.Path("/dev/shm")
    if not base.is_dir() or subprocess.run(["stat", "-f", "-c", "%T", base], capture_output=True,
                                           text=True).stdout.strip() != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm")
    p = base / f"mo-test-{uuid.uuid4().hex}"
    p.mkdir()
    yield p
    shutil.rmtree(p, ignore_errors=True)


def test_install_warns_about_files_on_a_tmpfs(mo, shm_path, artifact_cache):
    s = System(mo, shm_path, components=SMALL, artifact_cache=artifact_cache)
    r = s.install()
    assert r.rc == 0, r
    warnings = [l for l in r.err.splitlines() if "severity=warning" in l and "tmpfs" in l]
    assert any(f"the Manifest {s.manifest} lies on a tmpfs" in l for l in warnings), r
    assert any(f"the Artifact of order group 20 {s.release / 'rtos-v2.mender'} lies on a tmpfs" in l
               for l in warnings), r
    assert not any("gateway-v2.mender" in l for l in warnings), r   # the first group reads it before any reboot
    assert s.versions() == {"gw": "gateway-v2", "r1": "rtos-v2"}


# ---- two Components under one id -------------------------------------------------------------

def test_two_components_with_one_id_are_left_out_of_show(installed):
    s = installed
    s.configure("r1", answers={"Identity": "id=GW\n"})
    s.kit.configure("gw-dup", answers={"Identity": "id=GW\n"})
    topo = s.mo.datastore / "topology.yaml"
    topo.write_text(topo.read_text().replace("component_type: rtos", "component_type: gateway")
                    .replace("interface: rtos-if", "interface: gw-if"))
    r = s.mo.run("show-provides")
    assert r.rc == 1, r
    assert not any(l.startswith("gateway.GW.") for l in r.out.splitlines()), r
    errs = error_lines(r)
    assert any("component type gateway: two Components have the id GW (Topology items 1 and 2)" in l
               for l in errs), r
    assert sum("left out: its id is not unique" in l for l in errs) == 2, r
    inv = s.mo.run("show-inventory")
    assert not any(l.startswith("gateway.GW.") for l in inv.out.splitlines()), inv
