"""A simulated System for engine tests: scripted Interfaces (tests/kit), a Topology, a
Manifest and real Artifacts made with mender-artifact."""
import json
import pathlib

from conftest import make_artifact
from kit import Kit

# (instance = interface_args[0], component_type, interface, id, order)
DEFAULT_COMPONENTS = [
    ("gw", "gateway", "gw-if", "GW", 10),
    ("r1", "rtos", "rtos-if", "R1", 20),
    ("r2", "rtos", "rtos-if", "R2", 20),
    ("s1", "sensor", "sensor-if", "S1", 30),
    ("s2", "sensor", "sensor-if", "S2", 30),
]

FORWARD_CALLS = ["NeedsUnpackedArtifact", "ProvidePayloadFileSizes", "Download", "SupportsRollback",
                 "ArtifactInstall", "NeedsArtifactReboot"]


def version_key(interface):
    return f"rootfs-image.{interface}.version"


class System:
    def __init__(self, mo, tmp_path, components=DEFAULT_COMPONENTS, version="v2"):
        self.mo = mo
        self.components = components
        self.kit = Kit(tmp_path / "kit", mo.data)
        self.release = tmp_path / "release"
        self.release.mkdir()
        mo.env.update(self.kit.env())
        types = {}
        for inst, ctype, iface, cid, order in components:
            self.kit.install(iface)
            self.kit.configure(inst, answers={"Identity": f"id={cid}\n", "SupportsRollback": "Yes\n"},
                               provides={version_key(iface): f"{ctype}-v1", "artifact_name": f"{ctype}-v1"})
            types.setdefault(ctype, (iface, order))
        self.types = types
        topo = ["api_version: mender/v1", "kind: topology", 'system_type: "sys"', "components:"]
        for inst, ctype, iface, cid, order in components:
            topo += [f"  - component_type: {ctype}", f"    interface: {iface}", f'    interface_args: ["{inst}"]']
        (mo.datastore / "topology.yaml").write_text("\n".join(topo) + "\n")
        self.write_manifest(version)

    def write_manifest(self, version, name=None):
        lines = ['api_version: "mender/v1"', 'kind: "manifest"', f'name: "{name or "sys-" + version}"',
                 'system_types_compatible: ["sys"]', "component_types:"]
        for ctype, (iface, order) in self.types.items():
            art = self.release / f"{ctype}-{version}.mender"
            if not art.exists():
                make_artifact(art, f"{ctype}-{version}", [ctype], payload_type=iface,
                              payload=f"{ctype} {version}\n".encode())
            lines += [f"  {ctype}:", f"    artifact_path: {art.name}", "    update_strategy:", f"      order: {order}"]
        self.manifest = self.release / "manifest.yaml"
        self.manifest.write_text("\n".join(lines) + "\n")
        return self.manifest

    def configure(self, inst, **extra):
        """Adds settings to an instance's scripted behaviour (answers are merged)."""
        path = self.kit.dir / "instances" / f"{inst}.json"
        cfg = json.loads(path.read_text())
        for k, v in extra.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        path.write_text(json.dumps(cfg))

    def versions(self):
        """Installed version per instance, from the Interfaces' own state."""
        out = {}
        for inst, ctype, iface, cid, order in self.components:
            st = self.kit.dir / "state" / f"{inst}.json"
            prov = json.loads(st.read_text())["provides"] if st.exists() else None
            out[inst] = (prov or {version_key(iface): f"{ctype}-v1"}).get(version_key(iface))
        return out

    def calls(self, inst):
        return self.kit.call_names(inst)

    def install(self, *args, **kw):
        return self.mo.run("install", self.manifest, *args, **kw)
