"""A simulated System for engine tests: scripted Interfaces (tests/kit), a Topology, a
Manifest and real Artifacts made with mender-artifact."""
import json
import os
import pathlib
import shutil

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
    def __init__(self, mo, tmp_path, components=DEFAULT_COMPONENTS, version="v2", artifact_cache=None):
        """artifact_cache: a folder where Artifacts are made once and shared (hard-linked into
        each System's release folder); None makes them in the release folder."""
        self.mo = mo
        self.components = components
        self.artifact_cache = pathlib.Path(artifact_cache) if artifact_cache else None
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
                self.make_artifact(art, ctype, iface, version)
            lines += [f"  {ctype}:", f"    artifact_path: {art.name}", "    update_strategy:", f"      order: {order}"]
        self.manifest = self.release / "manifest.yaml"
        self.manifest.write_text("\n".join(lines) + "\n")
        return self.manifest

    def make_artifact(self, art, ctype, iface, version):
        def make(out):
            make_artifact(out, f"{ctype}-{version}", [ctype], payload_type=iface,
                          payload=f"{ctype} {version}\n".encode())
        if self.artifact_cache is None:
            make(art)
            return
        cached = self.artifact_cache / f"{iface}-{art.name}"
        if not cached.exists():
            tmp = self.artifact_cache / f".tmp-{os.getpid()}-{id(self)}"
            make(tmp / art.name)  # the same payload file name as without the cache
            os.replace(tmp / art.name, cached)
            shutil.rmtree(tmp)
        try:
            os.link(cached, art)
        except OSError:
            shutil.copyfile(cached, art)

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
