"""The minimal Interface of docs/protocol.md, taken from the page as it is (between its
`minimal-interface` markers) and driven by the real binary: a first install, an upgrade
rolled back by a failure in a later group, an upgrade stopped before ArtifactCommit and
rolled back by `rollback`. So the documented example cannot rot."""
import os
import pathlib
import re
import subprocess

import pytest

from kit import Kit

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "docs" / "protocol.md"


def minimal_interface():
    text = PROTOCOL.read_text()
    m = re.search(r"<!-- minimal-interface:begin -->\n```sh\n(.*?)```\n<!-- minimal-interface:end -->", text, re.S)
    assert m, "docs/protocol.md: no sh block between the minimal-interface markers"
    return m.group(1)


def test_the_example_is_a_posix_sh_script():
    script = minimal_interface()
    assert script.startswith("#!/bin/sh\n")
    subprocess.run(["dash", "-n"], input=script, text=True, check=True)


class Box:
    """A System of two Components: `box`, a folder driven by the documented Interface in
    group 10, and a scripted sensor in group 20 that a test can make fail."""

    def __init__(self, mo, tmp_path):
        self.mo = mo
        self.tmp = tmp_path
        self.kit = Kit(tmp_path / "kit", mo.data)
        mo.env.update(self.kit.env())
        iface = self.kit.ifaces / "minimal"
        iface.write_text(minimal_interface())
        iface.chmod(0o755)
        self.kit.install("sensor-if")
        self.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                           provides={"rootfs-image.sensor-if.version": "sensor-v0"})
        self.dir = tmp_path / "srv" / "box"
        (mo.datastore / "topology.yaml").write_text(
            "api_version: mender/v1\nkind: topology\nsystem_type: sys\ncomponents:\n"
            f"  - component_type: box\n    interface: minimal\n    interface_args: [\"{self.dir}\"]\n"
            "  - component_type: sensor\n    interface: sensor-if\n    interface_args: [\"s1\"]\n")
        self.release = tmp_path / "release"
        self.release.mkdir()

    @staticmethod
    def files(version):
        return {"app.conf": f"setting = {version}\n".encode(), "logo.bin": bytes(range(256)) * len(version),
                f"only-{version}.txt": b"x\n"}

    def make(self, version):
        src = self.tmp / f"src-{version}"
        src.mkdir()
        args = []
        for name, data in self.files(version).items():
            (src / name).write_bytes(data)
            args += ["-f", str(src / name)]
        for name, ctype, ptype in ((f"box-{version}", "box", "minimal"), (f"sensor-{version}", "sensor", "sensor-if")):
            subprocess.run(["mender-artifact", "write", "module-image", "-T", ptype, "-t", ctype, "-n", name,
                            "-o", str(self.release / f"{name}.mender"), *args], check=True, capture_output=True)
        m = self.release / f"manifest-{version}.yaml"
        m.write_text(f'api_version: "mender/v1"\nkind: "manifest"\nname: "sys-{version}"\n'
                     'system_types_compatible: ["sys"]\ncomponent_types:\n'
                     f"  box: {{artifact_path: box-{version}.mender, update_strategy: {{order: 10}}}}\n"
                     f"  sensor: {{artifact_path: sensor-{version}.mender, update_strategy: {{order: 20}}}}\n")
        return m

    def content(self):
        return {p.name: p.read_bytes() for p in self.dir.iterdir()}

    def expected(self, version):
        return {**self.files(version), ".version": f"box-{version}".encode()}

    def version(self):
        r = self.mo.run("show-provides")
        assert r.rc == 0, r
        return dict(l.split("=", 1) for l in r.out.splitlines())["box.box.rootfs-image.minimal.version"]

    def leftovers(self):
        return sorted(p.name for p in self.dir.parent.iterdir() if p.name != "box")


@pytest.fixture
def box(mo, tmp_path):
    b = Box(mo, tmp_path)
    assert b.version() == "none"
    r = mo.run("install", b.make("v1"))
    assert r.rc == 0, r
    assert b.content() == b.expected("v1")
    assert b.version() == "box-v1"
    return b


def test_install_streams_the_payload_into_the_folder(box):
    assert "Cleanup" in box.kit.call_names("s1")
    work = box.mo.datastore / "work" / "box"
    assert not work.exists() or list(work.iterdir()) == []   # removed after Cleanup
    assert box.leftovers() == []
    # installed already: a second install of the same Manifest calls nothing for it
    r = box.mo.run("install", box.release / "manifest-v1.yaml")
    assert r.rc == 0, r
    assert box.content() == box.expected("v1")


def test_a_failure_in_a_later_group_rolls_the_folder_back(box):
    m = box.make("v2")
    box.kit.configure("s1", answers={"Identity": "id=S1\n", "SupportsRollback": "Yes\n"},
                      exit={"ArtifactInstall": 1})
    r = box.mo.run("install", m)
    assert r.rc == 1, r
    assert "failed and was rolled back: sensor.S1: ArtifactInstall" in r.err
    assert box.content() == box.expected("v1")
    assert box.version() == "box-v1"
    assert box.leftovers() == []


def test_rollback_after_a_stop_before_commit(box):
    r = box.mo.run("install", box.make("v2"), "--stop-before", "ArtifactCommit")
    assert r.rc == 0, r
    assert box.content() == box.expected("v2")
    assert box.version() == "box-v2"
    r = box.mo.run("rollback")
    assert r.rc == 0, r
    assert box.content() == box.expected("v1")
    assert box.version() == "box-v1"
    assert box.mo.run("status", "--json").out.strip() == "null"
    # and forward again, to the end
    r = box.mo.run("install", box.release / "manifest-v2.yaml")
    assert r.rc == 0, r
    assert box.content() == box.expected("v2")
    assert box.leftovers() == []
