"""`mender-orchestrator plan`: a dry run of install's preparation (docs/selection.md, docs/mender-orchestrator.1)."""
import json
import os
import re
import subprocess

import pytest

from conftest import make_artifact
from kit import Kit

TOPOLOGY5 = """\
api_version: mender/v1
kind: topology
system_type: "system-core"
components:
  - component_type: gateway
    interface: gateway-interface
  - component_type: rtos
    interface: rtos-interface
    interface_args: ["r1"]
  - component_type: rtos
    interface: rtos-interface
    interface_args: ["r2"]
  - component_type: sensor
    interface: sensor-interface
    interface_args: ["s1"]
  - component_type: sensor
    interface: sensor-interface
    interface_args: ["s2"]
"""

MANIFEST3 = """\
api_version: "mender/v1"
kind: "manifest"
name: "system-core-v2"
system_types_compatible: ["system-core"]
component_types:
  gateway:
    artifact_path: gateway-v2.mender
    update_strategy: {order: 10}
  rtos:
    artifact_path: rtos-v2.mender
    artifact_name: rtos-v2
    update_strategy: {order: 20}
  sensor:
    artifact_path: sensor-v2.mender
    update_strategy: {order: 30}
"""

HASH = re.compile(r"^Plan hash: ([0-9a-f]{64})$", re.M)


@pytest.fixture
def system(mo, tmp_path):
    """Five Components in three order groups; rtos R456 already runs rtos-v2."""
    kit = Kit(tmp_path / "kit", mo.data)
    for i in ("gateway-interface", "rtos-interface", "sensor-interface"):
        kit.install(i)
    rel = tmp_path / "release"
    rel.mkdir()
    (rel / "topology.yaml").write_text(TOPOLOGY5)
    (rel / "manifest.yaml").write_text(MANIFEST3)
    (mo.datastore / "topology.yaml").write_text(TOPOLOGY5)
    make_artifact(rel / "gateway-v2.mender", "gateway-v2", ["gateway"], payload_type="gateway-interface")
    make_artifact(rel / "rtos-v2.mender", "rtos-v2", ["rtos"],
                  extra=["-d", "rootfs-image.rtos-interface.version:rtos-v1"])
    make_artifact(rel / "sensor-v2.mender", "sensor-v2", ["sensor"], payload_type="sensor-interface")
    kit.configure("gateway", answers={"Identity": "id=gw1\n"},
                  provides={"rootfs-image.gateway-interface.version": "gateway-v1"})
    kit.configure("r1", answers={"Identity": "id=R123\n"}, provides={"rootfs-image.rtos-interface.version": "rtos-v1"})
    kit.configure("r2", answers={"Identity": "id=R456\n"}, provides={"rootfs-image.rtos-interface.version": "rtos-v2"})
    kit.configure("s1", answers={"Identity": "id=S1\n"}, provides={"rootfs-image.sensor-interface.version": "sensor-v1"})
    kit.configure("s2", answers={"Identity": "id=S2\n"}, provides={"rootfs-image.sensor-interface.version": "sensor-v1"})
    mo.env.update(kit.env())
    kit.release = rel
    return kit


def plan(mo, system, *args):
    return mo.run("plan", *args, system.release / "manifest.yaml")


def test_plan_text(mo, system):
    before = sorted(os.listdir(mo.datastore))
    r = plan(mo, system)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[:9] == [
        "Manifest: system-core-v2",
        "Group 10:",
        "  gateway.gw1: gateway-v1 -> gateway-v2 (interface gateway-interface, expected reboot: unknown)",
        "Group 20:",
        "  rtos.R123: rtos-v1 -> rtos-v2 (interface rtos-interface, expected reboot: unknown)",
        "Group 30:",
        "  sensor.S1: sensor-v1 -> sensor-v2 (interface sensor-interface, expected reboot: unknown)",
        "  sensor.S2: sensor-v1 -> sensor-v2 (interface sensor-interface, expected reboot: unknown)",
        "Skipped:",
    ], r
    assert lines[9] == "  rtos.R456: rtos-v2 already installed (order 20)"
    assert HASH.match(lines[10]), r
    assert len(lines) == 11
    # only the queries ran, once per Component, and nothing was written
    assert system.call_names() == ["Identity", "Provides"] * 5
    # (the queries' scratch dirs live in {datastore}/query/ and are removed afterwards)
    assert sorted(set(os.listdir(mo.datastore)) - {"query"}) == before
    assert not (mo.datastore / "orchestrator.db").exists()
    assert list((mo.datastore / "query").iterdir()) == []


def test_plan_json(mo, system):
    text = plan(mo, system)
    r = plan(mo, system, "--format", "json")
    assert r.rc == 0, r
    doc = json.loads(r.out)
    assert list(doc) == ["manifest", "plan_hash", "groups", "skipped", "warnings", "constraints"]
    assert doc["constraints"] is None  # the Manifest has none (docs/constraints.md)
    assert doc["manifest"] == "system-core-v2"
    assert doc["plan_hash"] == HASH.search(text.out).group(1)
    assert [g["order"] for g in doc["groups"]] == [10, 20, 30]
    assert [[(c["component_type"], c["id"]) for c in g["components"]] for g in doc["groups"]] == [
        [("gateway", "gw1")], [("rtos", "R123")], [("sensor", "S1"), ("sensor", "S2")]]
    c = doc["groups"][1]["components"][0]
    assert c["interface"] == "rtos-interface"
    assert c["action"] == "install"
    assert c["artifact"] == "rtos-v2"
    assert c["artifact_path"] == str(system.release / "rtos-v2.mender")
    assert c["artifact_size"] == (system.release / "rtos-v2.mender").stat().st_size
    assert c["current_version"] == "rtos-v1"
    assert c["provides"] == {"rootfs-image.rtos-interface.version": "rtos-v1"}
    assert c["new_provides"] == {"artifact_name": "rtos-v2", "rootfs-image.rtos-interface.version": "rtos-v2"}
    assert c["expected_reboot"] == "unknown"
    assert c["expected_reboot_source"] is None
    assert [(s["id"], s["action"], s["reason"]) for s in doc["skipped"]] == [("R456", "skip", "already installed")]
    assert doc["warnings"] == []


def test_plan_hash_follows_the_artifact(mo, system):
    h1 = HASH.search(plan(mo, system).out).group(1)
    assert HASH.search(plan(mo, system).out).group(1) == h1   # stable
    make_artifact(system.release / "sensor-v2.mender", "sensor-v2", ["sensor"], payload_type="sensor-interface",
                  payload=b"another build\n")
    r = plan(mo, system)
    assert r.rc == 0, r
    assert HASH.search(r.out).group(1) != h1


def test_plan_hash_follows_what_is_installed(mo, system):
    h1 = HASH.search(plan(mo, system).out).group(1)
    system.configure("r2", answers={"Identity": "id=R456\n"}, provides={"rootfs-image.rtos-interface.version": "rtos-v1"})
    r = plan(mo, system)
    assert r.rc == 0, r
    assert "Skipped" not in r.out
    assert HASH.search(r.out).group(1) != h1


def test_no_candidate_fails_naming_the_component(mo, system):
    system.configure("r2", answers={"Identity": "id=R789\n"}, provides={"rootfs-image.rtos-interface.version": "rtos-v0"})
    system.configure("s2", answers={"Identity": "id=S2\n"}, provides={"other": "x"})
    r = plan(mo, system)
    assert r.rc == 1, r
    assert r.out == ""
    assert 'component rtos.R789: no candidate: ' in r.err
    assert 'depends rootfs-image.rtos-interface.version: \\"rtos-v0\\" not in [rtos-v1]' in r.err
    # every error is reported, not only the first
    assert "component sensor.S2: its Provides lack the version key rootfs-image.sensor-interface.version" in r.err
    assert system.call_names() == ["Identity", "Provides"] * 5


def test_missing_artifact_without_repository(mo, system):
    (system.release / "rtos-v2.mender").unlink()
    r = plan(mo, system)
    assert r.rc == 1, r
    assert "component rtos.R123: no candidate: artifact_path " in r.err
    assert "set ArtifactRepository.URL" in r.err
    mo.write_config('{"ArtifactRepository": {"URL": "file:///nowhere"}}')
    r = plan(mo, system)
    assert r.rc == 1, r
    assert "cannot read the Artifact repository index: file:///nowhere/index.json: " in r.err


def test_plan_dot(mo, system, tmp_path):
    r = plan(mo, system, "--format", "dot")
    assert r.rc == 0, r
    assert r.out.startswith("digraph plan {\n")
    clusters = re.findall(r"subgraph cluster_(\d+) \{", r.out)
    assert clusters == ["10", "20", "30"]
    assert "ltail=cluster_10, lhead=cluster_20" in r.out
    assert "ltail=cluster_20, lhead=cluster_30" in r.out
    assert "rtos.R456\\nrtos-v2 already installed" in r.out
    if not os.path.exists("/usr/bin/dot"):
        pytest.skip("Graphviz dot is not installed")
    p = subprocess.run(["/usr/bin/dot", "-Tsvg"], input=r.out, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "<svg" in p.stdout
    assert "Warning" not in p.stderr and "Error" not in p.stderr, p.stderr


def test_plan_with_topology_option(mo, system):
    (mo.datastore / "topology.yaml").unlink()
    r = plan(mo, system)
    assert r.rc == 1
    assert str(mo.datastore / "topology.yaml") in r.err
    r = plan(mo, system, "--topology", system.release / "topology.yaml")
    assert r.rc == 0, r


def test_unknown_format_is_a_usage_error(mo, system):
    r = plan(mo, system, "--format", "yaml")
    assert r.rc == 1
    assert 'unknown --format "yaml"' in r.err
    assert system.calls() == []


def test_plan_signature_policy(mo, system, keys):
    mo.write_config(json.dumps({"ArtifactVerifyKey": str(keys / "rsa.pub")}))
    r = plan(mo, system)
    assert r.rc == 1
    assert "component gateway.gw1: no candidate: " in r.err
    assert "signature" in r.err


def test_plan_legacy_manifest(mo, tmp_path):
    kit = Kit(tmp_path / "kit", mo.data)
    kit.install("rootfs-image")
    kit.install("rtos")
    mo.env.update(kit.env())
    rel = tmp_path / "legacy"
    rel.mkdir()
    make_artifact(rel / "gateway-v2.mender", "gateway-v2", ["gateway"], payload_type="rootfs-image")
    make_artifact(rel / "rtos-v2.mender", "rtos-v2", ["rtos"], payload_type="rtos")
    (rel / "manifest.yaml").write_text(
        "api_version: mender/v1\nkind: update_manifest\nversion: system-core-v2\n"
        "component_types:\n"
        "  gateway: {artifact_path: gateway-v2.mender, update_interface: rootfs-image, update_strategy: {order: 10}}\n"
        "  rtos: {artifact_path: rtos-v2.mender, update_strategy: {order: 20}}\n"
        "components:\n"
        "  - {component_type: gateway, id: G13, args: [arg1]}\n"
        "  - {component_type: rtos, id: R456, args: [arg1]}\n"
        "  - {component_type: rtos, id: R998}\n")
    kit.configure("G13", provides={"rootfs-image.version": "gateway-v1"})
    kit.configure("R456", provides={"rootfs-image.rtos.version": "rtos-v1"})
    kit.configure("R998", provides={"rootfs-image.rtos.version": "rtos-v2", "artifact_name": "rtos-v2"})
    r = mo.run("plan", rel / "manifest.yaml")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[:6] == [
        "Manifest: system-core-v2",
        "Group 10:",
        "  gateway.G13: gateway-v1 -> gateway-v2 (interface rootfs-image, expected reboot: unknown)",
        "Group 20:",
        "  rtos.R456: rtos-v1 -> rtos-v2 (interface rtos, expected reboot: unknown)",
        "Skipped:",
    ], r
    assert lines[6] == "  rtos.R998: rtos-v2 already installed (order 20)"
    # legacy: no Identity; the id follows the component type in argv
    assert kit.call_names() == ["Provides"] * 3
    assert kit.calls("G13")[0]["argv"][3:] == ["gateway", "G13", "arg1"]
    r = mo.run("plan", "--format", "json", rel / "manifest.yaml")
    assert r.rc == 0, r
    assert json.loads(r.out)["manifest"] == "system-core-v2"
