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
        for inst, ctype, iface, cid, _ in system.components:  # the kit's instance is the id here
            lines += [f"  - {{component_type: {ctype}, id: {inst}}}"]
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


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """Artifacts made once for the module (mender-artifact is the slow part of a System)."""
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture
def seed(mo, tmp_path, artifacts):
    return System(mo, tmp_path, components=SEED, artifact_cache=artifacts)


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
    """Without transition states, neither component type can go first, nor both together."""
    m = manifest(seed, """\
constraints:
  end_states:
    - {gateway: gateway-v1, rtos: rtos-v1}
    - {gateway: gateway-v2, rtos: rtos-v2}
""")
    for r in (mo.run("plan", m), seed.install()):
        assert r.rc == 1, r
        assert f"{m}:{line_of(m, 'constraints:')}:1: constraints: no order of gateway, rtos passes only acceptable " \
               "states; the order that gets furthest (gateway, then the others): while group 10 (gateway) installs, " \
               "the System can be at gateway-v2 + rtos-v1, which constraints.end_states (line 11) does not list" \
               in r.err, r
    assert set(seed.kit.call_names()) == {"Identity", "Provides"}


NO_ROLLBACK_RTOS = SEED_CONSTRAINTS + "  no_rollback: [rtos]   # the RTOS cannot roll back\n"


def test_rollback_that_would_pass_a_forbidden_state_is_refused(mo, seed):
    """With an RTOS that cannot roll back, a failure once it is updated rolls the gateway back
    under it: gateway-v1 + rtos-v2."""
    m = manifest(seed, NO_ROLLBACK_RTOS, orders={"gateway": 10, "rtos": 20})
    for r in (mo.run("plan", m), seed.install()):
        assert r.rc == 1, r
        assert f"{m}:{line_of(m, 'order: 10')}:" in r.err
        assert "component_types.gateway.update_strategy.order: 10: rolling back group 10 (gateway) after a failure " \
               "in group 20 (rtos), the System can be at gateway-v1 + rtos-v2 (rtos in constraints.no_rollback: " \
               "stays new), which neither constraints.end_states" in r.err, r
    assert set(seed.kit.call_names()) == {"Identity", "Provides"}
    # and no order avoids it
    m = manifest(seed, NO_ROLLBACK_RTOS)
    r = mo.run("plan", m)
    assert r.rc == 1, r
    assert "constraints: no order of gateway, rtos passes only acceptable states; the order that gets furthest " \
           "(gateway, then rtos): rolling back group 10 (gateway) after a failure in group 20 (rtos), the System " \
           "can be at gateway-v1 + rtos-v2" in r.err


def test_a_gateway_without_rollback_is_fine(mo, seed):
    """A gateway that cannot roll back leaves gateway-v2 + rtos-v1 after a failure: a transition
    state, so the plan stands (the deployment then ends inconsistent, as for any such Component)."""
    m = manifest(seed, SEED_CONSTRAINTS + "  no_rollback: [gateway]\n")
    got, doc = groups(mo, m)
    assert got == [["gateway"], ["rtos"]]
    assert doc["constraints"]["no_rollback"] == ["gateway"]
    rb = doc["constraints"]["rollbacks"][1]["phases"]
    assert [s["text"] for s in rb[0]["states"]] == ["gateway-v2 + rtos-v1"]
    assert rb[1]["states"] == []  # the gateway stays new
    r = mo.run("plan", m)
    assert "  Components that stay new in a rollback (constraints.no_rollback): gateway\n" in r.out
    assert "  group 10 (gateway): no constrained component type changes\n" in r.out


def test_failure_with_a_derived_order_rolls_back_through_the_transition_state(mo, seed):
    manifest(seed, SEED_CONSTRAINTS)
    seed.configure("r2", exit={"ArtifactCommit": 1})
    r = seed.install()
    assert r.rc == 1, r
    assert seed.versions() == {"gw": "gateway-v1", "r1": "rtos-v1", "r2": "rtos-v1"}
    calls = [(c["instance"], c["call"]) for c in seed.kit.calls()]
    # the RTOS Components (group 20) roll back first, then the gateway
    assert calls.index(("gw", "ArtifactRollback")) > calls.index(("r1", "ArtifactRollback"))
    assert calls.index(("gw", "ArtifactRollback")) > calls.index(("r2", "ArtifactRollback"))
    st = json.loads(mo.run("history", "--json").out)
    assert st[0]["result"] == "failed"


def test_three_types_derive_parallel_groups(mo, tmp_path, artifacts):
    """The gateway first; the RTOS and the sensor only need the new gateway, so they go together."""
    system = System(mo, tmp_path, components=THREE, artifact_cache=artifacts)
    m = manifest(system, """\
constraints:
  requires:
    - {if: {rtos: "rtos-v2*"}, then: {gateway: "gateway-v2*"}}
    - {if: {sensor: "sensor-v2*"}, then: {gateway: "gateway-v2*"}}
""")
    got, doc = groups(mo, m)
    assert got == [["gateway"], ["rtos", "sensor"]]
    phase = doc["constraints"]["forward"][2]
    assert phase["component_types"] == ["rtos", "sensor"]
    # members finish in any order: every subset of the group is a state
    assert sorted(s["text"] for s in phase["states"]) == [
        "gateway-v2 + rtos-v1 + sensor-v2", "gateway-v2 + rtos-v2 + sensor-v1", "gateway-v2 + rtos-v2 + sensor-v2"]
    assert {s["rule"] for s in phase["states"]} == {"no rule forbids it"}
    r = system.install()
    assert r.rc == 0, r
    calls = [(c["instance"], c["call"]) for c in system.kit.calls()]
    gw = calls.index(("gw", "ArtifactInstall"))
    assert calls.index(("r1", "ArtifactInstall")) > gw and calls.index(("s1", "ArtifactInstall")) > gw
    # one group: both downloaded before either installs
    assert calls.index(("s1", "Download")) < calls.index(("r1", "ArtifactInstall"))
    assert calls.index(("r1", "Download")) < calls.index(("s1", "ArtifactInstall"))


def test_three_types_from_tables(mo, tmp_path, artifacts):
    """The same with tables: each of the RTOS and the sensor may be new or old beside the new gateway."""
    system = System(mo, tmp_path, components=THREE, artifact_cache=artifacts)
    m = manifest(system, """\
constraints:
  end_states:
    - {gateway: gateway-v1, rtos: rtos-v1, sensor: sensor-v1}
    - {gateway: gateway-v2, rtos: rtos-v2, sensor: sensor-v2}
  transition_states:
    - {gateway: gateway-v2, rtos: ["rtos-v1", "rtos-v2"], sensor: "sensor-v*"}
""")
    got, _ = groups(mo, m)
    assert got == [["gateway"], ["rtos", "sensor"]]
    r = mo.run("plan", "--format", "dot", m)
    assert r.rc == 0, r
    assert "subgraph cluster_states {" in r.out
    assert "s1 -> r0_0 [style=dashed, label=\"failure\"];" in r.out
    assert "group 20 (rtos, sensor)\\ngateway-v2 + rtos-v1 + sensor-v2 (transition_states[0], " in r.out


def test_legacy_manifest_derives_the_order_too(mo, seed):
    m = manifest(seed, SEED_CONSTRAINTS, legacy=True)
    got, doc = groups(mo, m)
    assert got == [["gateway"], ["rtos"]]
    assert doc["constraints"]["order"] == "derived"
    m = manifest(seed, SEED_CONSTRAINTS, orders={"gateway": 20, "rtos": 10}, legacy=True)
    r = mo.run("plan", m)
    assert r.rc == 1, r
    assert "gateway-v1 + rtos-v2" in r.err


@pytest.mark.parametrize("legacy", [False, True])
def test_check_validates_constraints_offline(mo, seed, legacy):
    m = manifest(seed, SEED_CONSTRAINTS, legacy=legacy)
    r = mo.run("check", "--topology", mo.datastore / "topology.yaml", m)
    assert r.rc == 0, r
    assert seed.kit.calls() == []
    bad = SEED_CONSTRAINTS.replace("  transition_states:", "  transition_state:")
    bad = bad.replace("rtos: rtos-v1}\n", "rtos: rtos-v1, rtoss: x}\n", 1)
    m = manifest(seed, bad, legacy=legacy)
    r = mo.run("check", "--topology", mo.datastore / "topology.yaml", m)
    assert r.rc == 1, r
    n = line_of(m, "rtoss")
    # (the log escapes double quotes)
    assert f'{m}:{n}:44: constraints.end_states[0]: \\"rtoss\\" is not a component type of component_types' in r.err
    n = line_of(m, "transition_state:")
    assert f'{m}:{n}:3: constraints: unknown key \\"transition_state\\" (known: end_states, transition_states, ' \
           "requires, no_rollback)" in r.err
    assert seed.kit.calls() == []


def test_order_for_some_types_only(mo, seed):
    m = manifest(seed, SEED_CONSTRAINTS, orders={"gateway": 10, "rtos": 20})
    m.write_text(m.read_text().replace("    update_strategy: {order: 20}\n", ""))
    r = mo.run("plan", m)
    assert r.rc == 1, r
    assert "component_types.rtos.update_strategy.order: required field missing: component_types.gateway gives one" \
        in r.err
