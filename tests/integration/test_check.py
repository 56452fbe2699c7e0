"""`mender-orchestrator check`: offline validation of a release, as a user sees it."""
import re
import shutil
import subprocess

from conftest import ROOT, make_artifact

SEED = ROOT / "tests" / "unit" / "data" / "legacy-seed-2024.yaml"
SEED_FIXED = ROOT / "tests" / "unit" / "data" / "legacy-seed-2024-fixed.yaml"


def lines_for(out, component_type):
    return [l for l in out.splitlines() if l.startswith(f"component_type={component_type} ")]


def test_good_bundle_prints_one_line_per_type(mo, bundle):
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 0, r
    out = r.out.splitlines()
    assert len(out) == 2, r
    assert out[0].startswith("component_type=gateway artifact_name=gateway-v2 file=gateway-v2.mender "
                             "payload_type=gateway-interface ")
    assert "verdict=ok" in out[0]
    assert 'provides="artifact_name=rtos-v2,rootfs-image.rtos-interface.version=rtos-v2"' in out[1]
    assert out[1].endswith("signed=no verdict=ok")


def test_shipped_example_bundle(mo, tmp_path):
    ex = tmp_path / "example"
    shutil.copytree(ROOT / "examples" / "system-core", ex)
    subprocess.run([ex / "build-artifacts.sh"], check=True, capture_output=True)
    r = mo.run("check", "--topology", ex / "topology.yaml", ex / "manifest-v2.yaml")
    assert r.rc == 0, r
    assert [l.split()[0] for l in r.out.splitlines()] == ["component_type=gateway", "component_type=rtos"]
    assert all(l.endswith("verdict=ok") for l in r.out.splitlines()), r
    r = mo.run("check", ex / "legacy-manifest-v2.yaml")
    assert r.rc == 0, r
    assert len(r.out.splitlines()) == 2
    r = mo.run("check", "--topology", ex / "topology.yaml", ex / "manifest-v2-constraints.yaml")
    assert r.rc == 0, r
    assert all(l.endswith("verdict=ok") for l in r.out.splitlines()), r


def test_topology_from_topology_dir(mo, bundle):
    shutil.copy(bundle / "topology.yaml", mo.datastore / "topology.yaml")
    r = mo.run("check", bundle / "manifest.yaml")
    assert r.rc == 0, r
    topo_dir = bundle.parent / "tdir"
    topo_dir.mkdir()
    shutil.copy(bundle / "topology.yaml", topo_dir / "topology.yaml")
    (mo.datastore / "topology.yaml").unlink()
    r = mo.run("check", bundle / "manifest.yaml", env={"MENDER_ORCHESTRATOR_TOPOLOGY_DIR": str(topo_dir)})
    assert r.rc == 0, r


def test_missing_topology_names_the_file(mo, bundle):
    r = mo.run("check", bundle / "manifest.yaml")
    assert r.rc == 1
    assert str(mo.datastore / "topology.yaml") in r.err
    assert r.out == ""


def test_seed_manifest_indentation_slip_is_reported_with_its_line(mo):
    r = mo.run("check", SEED)
    assert r.rc == 1, r
    errors = [l for l in r.err.splitlines() if "severity=error" in l]
    assert re.search(r"legacy-seed-2024\.yaml:19:\d+: ", errors[0]), r
    assert r.out == ""


def test_seed_manifest_corrected_passes_validation(mo, tmp_path):
    d = tmp_path / "seed"
    d.mkdir()
    shutil.copy(SEED_FIXED, d / "manifest.yaml")
    make_artifact(d / "gateway-v1.mender", "gateway-v1", ["gateway"], payload_type="gateway")
    make_artifact(d / "rtos-v1.mender", "rtos-v1", ["rtos"], payload_type="rtos")
    r = mo.run("check", d / "manifest.yaml")
    assert r.rc == 0, r
    assert len(r.out.splitlines()) == 2


def test_bad_interface_name_names_file_line_column(mo, bundle):
    t = bundle / "topology.yaml"
    t.write_text(t.read_text().replace("interface: gateway-interface", 'interface: "../x"'))
    r = mo.run("check", "--topology", t, bundle / "manifest.yaml")
    assert r.rc == 1
    assert 'topology.yaml:6:16: components[0].interface: \\"../x\\": invalid interface name' in r.err, r


def test_order_out_of_range(mo, bundle):
    m = bundle / "manifest.yaml"
    m.write_text(m.read_text().replace("order: 20", "order: 101"))
    r = mo.run("check", "--topology", bundle / "topology.yaml", m)
    assert r.rc == 1
    assert re.search(r"manifest\.yaml:13:14: component_types\.rtos\.update_strategy\.order", r.err), r


def test_incompatible_artifact(mo, bundle):
    make_artifact(bundle / "rtos-v2.mender", "rtos-v2", ["other-board"])
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 1
    assert "not compatible with component type rtos (device_type: other-board)" in r.err
    assert lines_for(r.out, "rtos")[0].endswith("verdict=error")
    assert lines_for(r.out, "gateway")[0].endswith("verdict=ok")


def flip_payload_byte(path):
    """Recompress-free tamper: an uncompressed artifact with one payload byte changed."""
    data = bytearray(path.read_bytes())
    i = data.find(b"firmware")
    assert i > 0
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def test_tampered_payload(mo, bundle):
    make_artifact(bundle / "rtos-v2.mender", "rtos-v2", ["rtos"], compression="none")
    flip_payload_byte(bundle / "rtos-v2.mender")
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 1
    assert "rtos-v2.mender: data/0000/rtos-v2.mender.payload: checksum mismatch" in r.err, r


def test_truncated_artifact(mo, bundle):
    p = bundle / "rtos-v2.mender"
    p.write_bytes(p.read_bytes()[:1500])
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 1
    assert "component type rtos: " + str(p) in r.err, r


def test_signatures_follow_the_configured_keys(mo, bundle, keys):
    make_artifact(bundle / "rtos-v2.mender", "rtos-v2", ["rtos"], key=keys / "rsa.key")
    make_artifact(bundle / "gateway-v2.mender", "gateway-v2", ["gateway"], payload_type="gateway-interface",
                  key=keys / "ec.key")
    args = ("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    # no keys configured: signatures are read and ignored
    r = mo.run(*args)
    assert r.rc == 0, r
    assert "signed=yes" in r.out
    # both keys configured: both verify
    mo.write_config('{"ArtifactVerifyKeys": ["%s", "%s"]}' % (keys / "rsa.pub", keys / "ec.pub"))
    r = mo.run(*args)
    assert r.rc == 0, r
    assert r.out.count("signed=verified") == 2
    # only the RSA key: the ECDSA-signed gateway artifact fails
    mo.write_config('{"ArtifactVerifyKey": "%s"}' % (keys / "rsa.pub"))
    r = mo.run(*args)
    assert r.rc == 1
    assert "gateway-v2.mender: wrong manifest signature or wrong key" in r.err.lower(), r
    # keys configured, unsigned artifact
    make_artifact(bundle / "rtos-v2.mender", "rtos-v2", ["rtos"])
    mo.write_config('{"ArtifactVerifyKey": "%s"}' % (keys / "ec.pub"))
    r = mo.run(*args)
    assert r.rc == 1
    assert "expecting signed artifact, but no signature file found" in r.err, r


def test_every_error_is_reported(mo, bundle):
    make_artifact(bundle / "rtos-v2.mender", "rtos-v2", ["nope"])
    make_artifact(bundle / "gateway-v2.mender", "gateway-v2", ["nope"], payload_type="gateway-interface")
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 1
    assert r.err.count("not compatible with component type") == 2


def test_artifact_name_only_entry_is_not_checked_offline(mo, bundle):
    m = bundle / "manifest.yaml"
    m.write_text(m.read_text().replace("artifact_path: rtos-v2.mender", "artifact_name: rtos-v2"))
    r = mo.run("check", "--topology", bundle / "topology.yaml", m)
    assert r.rc == 0, r
    assert lines_for(r.out, "rtos")[0].startswith("component_type=rtos artifact_name=rtos-v2 verdict=by-name")


def test_check_writes_nothing(mo, bundle):
    r = mo.run("check", "--topology", bundle / "topology.yaml", bundle / "manifest.yaml")
    assert r.rc == 0
    assert list(mo.datastore.iterdir()) == []
