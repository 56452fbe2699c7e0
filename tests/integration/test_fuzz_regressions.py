"""The fuzzers' findings (docs/fuzzing.md), end to end: the binary reads each
reproducer of fuzz/regressions/ where the program reads that input, and refuses it with
one clear error line and exit code 1, promptly (no hang)."""
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
REG = ROOT / "fuzz" / "regressions"


def errors(r):
    return [l for l in r.err.splitlines() if "severity=error" in l]


@pytest.mark.parametrize("name", ["directive-bad-utf8-hang.yaml", "directive-bad-utf8-hang-2.yaml",
                                  "yaml-directive-bad-utf8-hang.yaml"])
def test_topology_malformed_utf8_in_directive_is_refused(mo, name):
    # libfyaml looped forever on these: check (and install, resume) hung
    shutil.copy(REG / "topology" / name, mo.datastore / "topology.yaml")
    r = mo.run("show-provides", timeout=30)
    assert r.rc == 1, r
    assert len(errors(r)) == 1, r
    assert f"{mo.datastore}/topology.yaml:1:" in errors(r)[0], r
    assert "malformed UTF8 (byte 0x" in errors(r)[0], r


def test_manifest_malformed_utf8_in_directive_is_refused(mo):
    path = REG / "manifest" / "directive-bad-utf8-hang.yaml"
    r = mo.run("check", path, timeout=30)
    assert r.rc == 1, r
    assert f'msg="{path}:1:134: malformed UTF8 (byte 0xbe): the file must be UTF-8"' in errors(r)[0], r


def test_config_control_character_stays_on_one_line(mo):
    text = (REG / "config" / "invalid-token-control-char.json").read_bytes()
    (mo.conf / "mender-orchestrator.conf").write_bytes(text)
    r = mo.run("check", REG / "manifest" / "directive-bad-utf8-hang.yaml", timeout=30)
    assert r.rc == 1, r
    assert "invalid JSON: invalid token near '\\\\x19'" in r.err, r
    assert "\x19" not in r.err, r


def test_manifest_components_type_cannot_name_a_program_outside_the_interfaces(mo):
    # show-provides --manifest-components ran "<data>/interfaces/v1/../../escaped"
    marker = mo.base / "escaped.ran"
    (mo.data / "interfaces" / "v1").mkdir(parents=True)
    escaped = mo.data / "escaped"
    escaped.write_text(f"#!/bin/sh\ntouch {marker}\n")
    escaped.chmod(0o755)
    comps = mo.base / "components.yaml"
    comps.write_text('components:\n  - component_type: ../../escaped\n    id: "1"\n')
    r = mo.run("show-provides", "--manifest-components", comps, timeout=30)
    assert r.rc == 1, r
    assert f'msg="{comps}:2:21: components[0].component_type: \\"../../escaped\\": invalid interface name' \
        in errors(r)[0], r
    assert not marker.exists()
