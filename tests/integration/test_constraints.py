"""Declarative constraints (docs/constraints.md): the end states and transition states a System may
pass through, checked against a given order and used to derive one.

The tables are those of the original product description ("Declarative approach to updates"):

  End state constraints               Transition state constraints
  Gateway     Rtos      Acceptable     Gateway     Rtos      Acceptable
  gateway-v1  rtos-v1   YES            gateway-v1  rtos-v1   n/a
  gateway-v1  rtos-v2   NO             gateway-v1  rtos-v2   NO
  gateway-v2  rtos-v1   NO             gateway-v2  rtos-v1   YES
  gateway-v2  rtos-v2   YES            gateway-v2  rtos-v2   n/a
"""
import json
import re

import pytest

from system import System

SEED = [("gw", "gateway", "gw-if", "GW", 10), ("r1", "rtos", "rtos-if", "R1", 20), ("r2", "rtos", "rtos-if", "R2", 20)]
THREE = SEED + [("s1", "sensor", "sensor-if", "S1", 30)]

# The seed's two tables; the transition table's NO rows are what no row lists.
SEED_CONSTRAINTS = """\
constraints:
  end_states:
    - {gateway: gateway-v1, rtos: rtos-v1}
    - {gateway: gateway-v2, rtos: rtos-v2}
  transition_states:
    - {gateway: gateway-v2, rtos: rtos-v1}
"""


def manifest(system, constraints, orders=None, legacy=False):
    """The System's v2 Manifest with constraints; orders: {type: order}, or None for none."""
    if legacy:
        lines = ["api_version: mender/v1", "kind: update_manifest", 'version: "sys-v2"', "component_types:"]
    else:
        lines = ['api_version: "mender/v1"', 'kind: "manifest"', 'name: "sys-v2"', 'system_types_compatible: ["sys"]',
                 "component_types:"]
    for ctype, (iface, _) in system.types.items():
        lines += [f"  {ctype}:", f"    artifact_path: {ctype}-v2.mender"]
        if legacy:
            lines += [f"    update_interface: {iface}"]
        if orders:
            lines += [f"    update_strategy: {{order: {orders[ctype]}}}"]
    if legacy:
        lines += ["components:"]
        for inst, ctype, iface, cid, _ in system.components:
            lines += [f"  - {{component_type: {ctype}, id: {cid}, args: [{inst}]}}"]
    text = "\n".join(lines) + "\n" + constraints
    system.manifest.write_text(text)
    return system.manifest


def line_of(path, needle):
    for i, l in enumerate(path.read_text().splitlines(), 1):
        if needle in l:
            return i
    raise AssertionError(needle)


def groups(mo, path):
    r = mo.run("plan", "--format", "json", path)
    assert r.rc == 0, r
    doc = json.loads(r.out)
    return [sorted({c["component_type"] for c in g["components"]}) for g in doc["groups"]], doc


@pytest.fixture
def seed(mo, tmp_path):
    return System(mo, tmp_path, components=SEED)


def test_no_order_puts_the_gateway_first(mo, seed):
    m = manifest(seed, SEED_CONSTRAINTS)
    got, doc = groups(mo, m)
    assert got == [["gateway"], ["rtos"]]
    assert [g["order"] for g in doc["groups"]] == [10, 20]
    c = doc["constraints"]
    assert c["order"] == "derived"
    assert c["component_types"] == ["gateway", "rtos"]
    assert [(p["phase"], p["order"], [s["text"] for s in p["states"]], [s["rule"] for s in p["states"]])
            for p in c["forward"]] == [
        ("now", None, ["gateway-v1 + rtos-v1"], ["current state"]),
        ("group", 10, ["gateway-v2 + rtos-v1"], ["transition_states[0]"]),
        ("group", 20, ["gateway-v2 + rtos-v2"], ["end_states[1]"]),
        ("end", None, ["gateway-v2 + rtos-v2"], ["end_states[1]"]),
    ]
    assert c["forward"][1]["states"][0]["rule_at"] == f"{m}:{line_of(m, 'gateway: gateway-v2, rtos: rtos-v1')}:7"
    assert [(p["failure_in_group"], p["also_during_commits"],
             [(ph["order"], [s["text"] for s in ph["states"]]) for ph in p["phases"]]) for p in c["rollbacks"]] == [
        (10, False, [(10, ["gateway-v1 + rtos-v1"])]),
        (20, True, [(20, ["gateway-v2 + rtos-v1"]), (10, ["gateway-v1 + rtos-v1"])]),
    ]

    r = mo.run("plan", m)
    assert r.rc == 0, r
    assert f"States (constraints of {m}; order derived):" in r.out
    assert "  group 10 (gateway): gateway-v2 + rtos-v1 (transition_states[0], " in r.out
    assert "Rollback after a failure in group 20 (rtos) or during the commits:\n" \
           "  group 20 (rtos): gateway-v2 + rtos-v1 (transition_states[0], " in r.out

    r = seed.install()
    assert r.rc == 0, r
    assert seed.versions() == {"gw": "gateway-v2", "r1": "rtos-v2", "r2": "rtos-v2"}
    calls = [(c["instance"], c["call"]) for c in seed.kit.calls()]
    assert calls.index(("gw", "ArtifactCommit")) > calls.index(("r1", "ArtifactInstall")) > \
        calls.index(("gw", "ArtifactInstall"))


def test_order_with_the_rtos_first_is_refused(mo, seed):
    m = manifest(seed, SEED_CONSTRAINTS, orders={"gateway": 20, "rtos": 10})
    r = mo.run("plan", m)
    assert r.rc == 1, r
    assert r.out == ""
    line = line_of(m, "order: 10")
    assert (f"{m}:{line}:") in r.err
    assert "component_types.rtos.update_strategy.order: 10: while group 10 (rtos) installs, the System can be at " \
           "gateway-v1 + rtos-v2, which neither constraints.end_states" in r.err
    # install refuses before anything is modified: only the queries ran, no deployment recorded
    r = seed.install()
    assert r.rc == 1, r
    assert "gateway-v1 + rtos-v2" in r.err
    assert set(seed.kit.call_names()) == {"Identity", "Provides"}
    assert mo.run("history", "--json").out.strip() in ("[]", "")
    # the gateway first is accepted and checked
    m = manifest(seed, SEED_CONSTRAINTS, orders={"gateway": 10, "rtos": 20})
    got, doc = groups(mo, m)
    assert got == [["gateway"], ["rtos"]]
    assert doc["constraints"]["order"] == "checked"


def test_unsatisfiable_table(mo, seed):
    m = manifest(seed, """\
constraints:
  end_states:
    - {gateway: gateway-v1, rtos: rtos-v1}
    - {gateway: gateway-v2, rtos: rtos-v2}
""")
    r = mo.run("plan", m)
    assert r.rc == 1, r
    print(r.err)
    assert "constraints: no order of gateway, rtos passes only acceptable states" in r.err


def test_rollback_that_would_pass_a_forbidden_state(mo, seed):
    m = manifest(seed, SEED_CONSTRAINTS + "  no_rollback: [rtos]\n", orders={"gateway": 10, "rtos": 20})
    r = mo.run("plan", m)
    assert r.rc == 1, r
    print(r.err)
    assert "gateway-v1 + rtos-v2" in r.err
    m = manifest(seed, SEED_CONSTRAINTS + "  no_rollback: [rtos]\n")
    r = mo.run("plan", m)
    assert r.rc == 1, r
    print(r.err)


def test_three_types_derive_parallel_groups(mo, tmp_path):
    system = System(mo, tmp_path, components=THREE)
    m = manifest(system, """\
constraints:
  requires:
    - {if: {rtos: "rtos-v2*"}, then: {gateway: "gateway-v2*"}}
    - {if: {sensor: "sensor-v2*"}, then: {gateway: "gateway-v2*"}}
""")
    got, doc = groups(mo, m)
    assert got == [["gateway"], ["rtos", "sensor"]]
    r = mo.run("plan", m)
    print(r.out)
