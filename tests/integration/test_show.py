"""show-provides and show-inventory (docs/mender-orchestrator.1, docs/managed-mode.md)."""
import pytest

from conftest import TOPOLOGY
from kit import Kit

GOLDEN = """\
gateway.52:54:00:1d:94:82.artifact_name=gateway-v2
gateway.52:54:00:1d:94:82.data-partition.mender-orchestrator-manifest.version=manifest-v2
gateway.52:54:00:1d:94:82.device_type=gateway
gateway.52:54:00:1d:94:82.rootfs-image.version=gateway-v2
rtos.R123.device_type=rtos
rtos.R123.rootfs-image.rtos-interface.version=rtos-v2
rtos.R456.device_type=rtos
rtos.R456.rootfs-image.rtos-interface.version=rtos-v1
"""


@pytest.fixture
def system(mo, tmp_path):
    kit = Kit(tmp_path / "kit", mo.data)
    kit.install("gateway-interface")
    kit.install("rtos-interface")
    (mo.datastore / "topology.yaml").write_text(TOPOLOGY)
    kit.configure("gateway", answers={"Identity": "id=52:54:00:1d:94:82\n"},
                  provides={"rootfs-image.version": "gateway-v2", "artifact_name": "gateway-v2",
                            "data-partition.mender-orchestrator-manifest.version": "manifest-v2"})
    kit.configure("1", answers={"Identity": "id=R123"}, provides={"rootfs-image.rtos-interface.version": "rtos-v2"})
    kit.configure("2", answers={"Identity": "id=R456\n", "Inventory": "ip=10.0.0.2\nip=10.0.0.3\nmodel=m4\n"},
                  provides={"rootfs-image.rtos-interface.version": "rtos-v1"})
    mo.env.update(kit.env())
    return kit


def test_show_provides_golden(mo, system):
    r = mo.run("show-provides")
    assert r.rc == 0, r
    assert r.out == GOLDEN
    assert [c["call"] for c in system.calls()] == ["Identity", "Provides"] * 3


def test_show_provides_drops_device_type_with_a_warning(mo, system):
    system.configure("1", answers={"Identity": "id=R123", "Provides": "device_type=evil\nrootfs-image.rtos-interface.version=x\n"})
    r = mo.run("show-provides")
    assert r.rc == 0, r
    assert "rtos.R123.device_type=rtos\n" in r.out
    assert "device_type is reserved" in r.err


def test_show_provides_prints_what_it_can(mo, system):
    system.configure("1", answers={"Identity": "id=R123"}, exit={"Provides": 1})
    r = mo.run("show-provides")
    assert r.rc == 1
    assert "rtos.R123" not in r.out
    assert "rtos.R456.device_type=rtos" in r.out
    assert "gateway.52:54:00:1d:94:82.device_type=gateway" in r.out
    assert "component rtos.R123: Provides: Process exited with status 1" in r.err


def test_empty_identity_falls_back(mo, system):
    system.configure("2", provides={"rootfs-image.rtos-interface.version": "rtos-v1"})
    r = mo.run("show-provides")
    assert r.rc == 0, r
    assert "rtos.rtos-2.device_type=rtos\n" in r.out
    assert "Identity printed nothing; using the id rtos-2" in r.err


def test_duplicate_ids_are_refused(mo, system):
    system.configure("2", answers={"Identity": "id=R123"})
    r = mo.run("show-provides")
    assert r.rc == 1
    assert "component type rtos: two Components have the id R123" in r.err


def test_bad_interface_names_are_refused(mo, system):
    for bad in ("../x", "a/b", ".."):
        (mo.datastore / "topology.yaml").write_text(TOPOLOGY.replace("interface: gateway-interface", f'interface: "{bad}"'))
        r = mo.run("show-provides")
        assert r.rc == 1
        assert "invalid interface name" in r.err
        assert system.calls() == []


def test_show_inventory(mo, system):
    r = mo.run("show-inventory")
    assert r.rc == 0, r
    assert r.out == (
        "mender-orchestrator-manifest.system_type=system-core\n"
        "mender-orchestrator-manifest.component_type=gateway\n"
        "mender-orchestrator-manifest.component_type=rtos\n"
        "gateway.52:54:00:1d:94:82.rootfs-image.version=gateway-v2\n"
        "rtos.R123.rootfs-image.rtos-interface.version=rtos-v2\n"
        "rtos.R456.rootfs-image.rtos-interface.version=rtos-v1\n"
        "rtos.R456.ip=10.0.0.2\n"
        "rtos.R456.ip=10.0.0.3\n"
        "rtos.R456.model=m4\n")


def test_show_inventory_survives_one_dead_component(mo, system):
    system.configure("1", exit={"Identity": 1})
    r = mo.run("show-inventory")
    assert r.rc == 0, r
    assert "rtos.R456.model=m4" in r.out
    assert "R123" not in r.out


def test_show_inventory_without_topology_fails(mo, system):
    (mo.datastore / "topology.yaml").unlink()
    r = mo.run("show-inventory")
    assert r.rc == 1


def test_show_provides_with_legacy_components_file(mo, tmp_path):
    kit = Kit(tmp_path / "kit", mo.data)
    kit.install("gateway")
    kit.install("rtos")
    mo.env.update(kit.env())
    comps = tmp_path / "components.yaml"
    comps.write_text("api_version: mender/v1\nkind: update_manifest\ncomponents:\n"
                     "  - {component_type: gateway, id: G13, args: [arg1]}\n"
                     "  - {component_type: rtos, id: R456}\n")
    kit.configure("G13", provides={"rootfs-image.version": "gateway-v1"})
    kit.configure("R456", provides={"rootfs-image.rtos.version": "rtos-v1"})
    r = mo.run("show-provides", "--manifest-components", comps)
    assert r.rc == 0, r
    assert r.out == ("gateway.G13.device_type=gateway\ngateway.G13.rootfs-image.version=gateway-v1\n"
                     "rtos.R456.device_type=rtos\nrtos.R456.rootfs-image.rtos.version=rtos-v1\n")
    # legacy: Identity is never asked; the id is passed after the component type
    assert kit.call_names() == ["Provides", "Provides"]
    assert kit.calls("G13")[0]["argv"][3:] == ["gateway", "G13", "arg1"]
