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


@pytest.mark.parametrize("name,want", [
    ("explicit-key-tab-crash.yaml", "1:3: mapping key must be a scalar, got a mapping"),
    ("explicit-key-tab-crash-2.yaml", "1:53: control characters are not allowed (U+000B)"),
])
def test_topology_explicit_key_crash_inputs_are_refused(mo, name, want):
    # "? i:<TAB>>": libfyaml 0.7.12 reported "cannot use tab for indentation" and then
    # crashed in fy_parser_destroy (SIGSEGV): show-provides, check, install died.
    # libyaml reads the key (a mapping, which no reader takes); the second input holds a
    # raw control character, which libyaml refuses
    shutil.copy(REG / "topology" / name, mo.datastore / "topology.yaml")
    r = mo.run("show-provides", timeout=30)
    assert r.rc == 1, r
    assert f'msg="{mo.datastore}/topology.yaml:{want}"' in errors(r)[0], r


def test_explicit_key_in_a_manifest_reads_as_key_value(mo, tmp_path):
    # once refused (libfyaml crashed on some); libyaml reads "? key" / ": value" as YAML
    # says, the same pair as "key: value", each node at its own place
    path = tmp_path / "manifest.yaml"
    path.write_text("api_version: mender/v1\nkind: manifest\ncomponent_types:\n  ? gateway\n  : {}\n")
    r = mo.run("check", path, timeout=30)
    assert r.rc == 1, r
    assert [e.split('msg="', 1)[1] for e in errors(r)] == [
        f'{path}:1:1: name: required field missing"',
        f'{path}:1:1: system_types_compatible: required field missing"',
        f'{path}:4:5: component_types.gateway: needs artifact_path or artifact_name"',
        f'{path}:5:5: component_types.gateway.update_strategy: required field missing"',
        f'{path}: check failed with 4 error(s)"',
    ], r


def test_question_marks_in_values_comments_and_block_scalars_are_not_keys(mo, tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text("api_version: mender/v1 # why? because\nkind: manifest\nname: what? yes\n"
                    "description: |\n  ? not a key\n  - nor this\n"
                    "note: \"multi\n  ? line\"\n"
                    "system_types_compatible: [sys]\ncomponent_types: {}\n")
    r = mo.run("check", path, timeout=30)
    # parsed to its end: the one error is about the last line's content
    assert r.rc == 1, r
    assert f'msg="{path}:10:18: component_types: must not be empty"' in errors(r)[0], r


def test_del_in_a_yaml_syntax_error_is_escaped(mo):
    # libfyaml quoted the DEL in its message; libyaml names it by its code point
    path = REG / "manifest" / "del-in-libfyaml-error.yaml"
    r = mo.run("check", path, timeout=30)
    assert r.rc == 1, r
    assert f"{path}:2:9: control characters are not allowed (U+007F)" in errors(r)[0], r
    assert "\x7f" not in r.err + r.out, r


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
