#!/usr/bin/env bash
# The mender-orchestrator demo: a simulated System on this machine (no QEMU, no
# account, no root), everything inside one work folder.
#
#   demo/run-demo.sh
#
# Environment:
#   DEMO_DIR  work folder, absent or empty (default: a fresh `mktemp -d`); kept afterwards
#   MO_BIN    the mender-orchestrator binary (default: build/mender-orchestrator of this repo)
#   DEMO_INSTALLED=1  run against the installed program instead (`mender-orchestrator` on
#             PATH, e.g. from the Debian package) in its own folders, with no
#             MENDER_ORCHESTRATOR_* variable: the demo's Interfaces go into the program's
#             {data}/interfaces/v1/ and its Topology into {datastore}/topology.yaml, the
#             folders `mender-orchestrator --help` names; the configuration is left as it
#             is (its RebootCommand must exist; nothing here reboots). For a scratch
#             System (a chroot, a VM), as root; the datastore must hold no journal yet.
#             The devices, releases, results and logs stay in the work folder.
#
# The System (demo/topology.yaml, system type demo-system): a gateway (the System device,
# demo/interfaces/gateway-interface) and two RTOS microcontrollers
# (demo/interfaces/rtos-interface, instances 1 and 2). Each "device" is a folder under
# $DEMO_DIR/devices. Everything starts at v0. The story:
#   1. Manifest v1 (gateway-v1, rtos-v1): plan, install, status, show-provides
#   2. Manifest v2 (gateway-v1, rtos-v2): only the RTOS components change; the plan
#      skips the gateway
#   3. Manifest v3 (gateway-v3, rtos-v3) with a fault injected into RTOS 2's
#      ArtifactCommit: the install fails (exit 1) after the gateway was already
#      committed, and the whole System, gateway included, returns to System v2.
# Every outcome is checked (exit codes, provides, the devices' files). Exit 0 only if
# everything went as expected.
#
# Machine-readable results in $DEMO_DIR/results/:
#   step-0.txt .. step-3.txt   `show-provides` output at the start and after each step
#   exit-codes.txt             <command>-<manifest>=<exit code>, one per line
#   outcome.txt                PASS, or FAIL: <reason>
# Logs (the orchestrator's stderr, one file per command) in $DEMO_DIR/logs/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

installed=${DEMO_INSTALLED:-}
if [ -n "$installed" ]; then
    mo_bin=$(command -v mender-orchestrator) || {
        echo "run-demo: DEMO_INSTALLED is set but mender-orchestrator is not on PATH: install it first" >&2
        exit 1
    }
else
    mo_bin=${MO_BIN:-$repo/build/mender-orchestrator}
fi
case $mo_bin in /*) ;; *) mo_bin=$PWD/$mo_bin ;; esac
if [ ! -x "$mo_bin" ]; then
    echo "run-demo: $mo_bin is missing: build it first (./scripts/demo builds and runs)" >&2
    exit 1
fi
if ! command -v mender-artifact >/dev/null 2>&1; then
    echo "run-demo: mender-artifact is not installed (./scripts/bootstrap installs it)" >&2
    exit 1
fi

if [ -n "${DEMO_DIR:-}" ]; then
    mkdir -p "$DEMO_DIR"
    if [ -n "$(ls -A "$DEMO_DIR")" ]; then
        echo "run-demo: DEMO_DIR=$DEMO_DIR is not empty; give an absent or empty folder" >&2
        exit 1
    fi
    demo=$(cd "$DEMO_DIR" && pwd)
else
    demo=$(mktemp -d "${TMPDIR:-/tmp}/mender-orchestrator-demo.XXXXXX")
fi

devices=$demo/devices
results=$demo/results
logs=$demo/logs
mkdir -p "$devices" "$results" "$logs"

# Any unexpected error (set -e) still ends with a clear verdict.
finish() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ ! -s "$results/outcome.txt" ]; then
        echo "FAIL: unexpected error (exit $rc)" > "$results/outcome.txt"
        echo "DEMO FAILED: unexpected error (exit $rc), see above; logs: $logs" >&2
    fi
}
trap finish EXIT

# --- output helpers -------------------------------------------------------------------

if [ -t 1 ]; then
    bold=$'\e[1m' green=$'\e[32m' red=$'\e[31m' off=$'\e[0m'
else
    bold='' green='' red='' off=''
fi
checks=0

section() {
    echo
    echo "${bold}=== $* ===${off}"
}

fail() {
    echo "FAIL: $*" > "$results/outcome.txt"
    echo >&2
    echo "${red}DEMO FAILED: $*${off}" >&2
    echo "Logs: $logs   Work folder: $demo" >&2
    exit 1
}

ok() {
    checks=$((checks + 1))
    echo "${green}  ok${off}  $*"
}

# run <log name> <args...>: shows and runs mender-orchestrator in the work folder,
# stdout to the terminal and to $logs/<name>.out, stderr to $logs/<name>.log;
# the exit code goes to $rc and to results/exit-codes.txt.
run() {
    local name=$1
    shift
    echo "\$ mender-orchestrator $*"
    set +e
    (cd "$demo" && "$mo_bin" "$@") 2>"$logs/$name.log" | tee "$logs/$name.out"
    rc=${PIPESTATUS[0]}
    set -e
    echo "$name=$rc" >> "$results/exit-codes.txt"
    [ "$rc" -eq 0 ] || echo "(exit code $rc)"
}

expect_rc() {
    [ "$rc" -eq "$1" ] || fail "$2 exited $rc, expected $1 (see $logs)"
    ok "$2 exited $1"
}

# provides <step> <gateway version> <rtos 1 version> <rtos 2 version>: show-provides,
# saved as results/step-<step>.txt and compared with what it must be.
provides() {
    local step=$1
    run "show-provides-$step" show-provides
    [ "$rc" -eq 0 ] || fail "show-provides exited $rc"
    cp "$logs/show-provides-$step.out" "$results/step-$step.txt"
    cat > "$results/step-$step.expected" <<EOF
gateway.G13.device_type=gateway
gateway.G13.rootfs-image.gateway-interface.version=$2
rtos.R123.device_type=rtos
rtos.R123.rootfs-image.rtos-interface.version=$3
rtos.R456.device_type=rtos
rtos.R456.rootfs-image.rtos-interface.version=$4
EOF
    if ! cmp -s "$results/step-$step.txt" "$results/step-$step.expected"; then
        diff "$results/step-$step.expected" "$results/step-$step.txt" >&2 || true
        fail "show-provides after step $step is not what it must be (diff above: expected vs got)"
    fi
    rm -f "$results/step-$step.expected"
    ok "provides: gateway $2, RTOS 1 $3, RTOS 2 $4"
}

# devices_hold <gateway v> <rtos v>: the payload files really are on the "devices",
# and no update leftovers remain.
devices_hold() {
    local got
    got=$(cat "$devices/gateway/rootfs/rootfs.img" 2>/dev/null || true)
    [ "$got" = "gateway $1 payload" ] || fail "the gateway holds \"$got\", expected the $1 payload"
    for n in 1 2; do
        got=$(cat "$devices/$n/firmware/firmware.bin" 2>/dev/null || true)
        [ "$got" = "rtos $2 payload" ] || fail "RTOS $n holds \"$got\", expected the $2 payload"
        for left in firmware.new firmware.old version.old version.new; do
            [ ! -e "$devices/$n/$left" ] || fail "RTOS $n: $left left behind after Cleanup"
        done
    done
    ok "device folders hold the gateway $1 and RTOS $2 payloads, nothing left over"
}

# interface_lines <log name>: what the Interfaces said (their "#####" lines), and errors.
interface_lines() {
    sed -n -e 's/.*msg="Update Interface output (stderr): \(#####.*\)"$/  \1/p; t' \
        -e 's/.*severity=error .*name="\([^"]*\)" id="\([^"]*\)" msg="\(.*\)"$/  error: \1.\2: \3/p; t' \
        -e 's/.*severity=error .*msg="\(.*\)"$/  error: \1/p' "$logs/$1.log"
}

# --- set up the simulated System -----------------------------------------------------

section "Setting up a simulated System in $demo"

# The orchestrator's folders: all inside the work folder, or the installed program's own.
for v in $(env | sed -n 's/^\(MENDER_ORCHESTRATOR_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export DEMO_DEVICES=$devices
if [ -n "$installed" ]; then
    # the folders this build looks in, from its --help ("  VARIABLE  default (...)")
    folder() { "$mo_bin" --help | awk -v v="$1" '$1 == v { print $2 }'; }
    data_dir=$(folder MENDER_ORCHESTRATOR_DATA_DIR)
    datastore=$(folder MENDER_ORCHESTRATOR_DATASTORE_DIR)
    [ -n "$data_dir" ] && [ -n "$datastore" ] || fail "$mo_bin --help names no folders"
    [ ! -e "$datastore/orchestrator.db" ] || fail "$datastore already holds a journal: the demo needs a fresh System"
    mkdir -p "$data_dir/interfaces/v1" "$datastore"
else
    data_dir=$demo/share
    datastore=$demo/var
    mkdir -p "$demo/etc" "$data_dir/interfaces/v1" "$datastore"
    export MENDER_ORCHESTRATOR_CONF_DIR=$demo/etc
    export MENDER_ORCHESTRATOR_DATA_DIR=$data_dir
    export MENDER_ORCHESTRATOR_DATASTORE_DIR=$datastore
    # Nothing in this demo asks for a System-device reboot; should an edited instance
    # answer Automatic, the reboot fails instead of rebooting this machine.
    echo '{"RebootCommand": ["false"]}' > "$demo/etc/mender-orchestrator.conf"
fi

cp "$here/interfaces/gateway-interface" "$here/interfaces/rtos-interface" "$data_dir/interfaces/v1/"
chmod 0755 "$data_dir/interfaces/v1/gateway-interface" "$data_dir/interfaces/v1/rtos-interface"
cp "$here/topology.yaml" "$datastore/topology.yaml"

# The devices, all at v0.
mkdir -p "$devices/gateway/rootfs"
echo "id=G13" > "$devices/gateway/Identity"
echo "gateway-v0" > "$devices/gateway/version"
echo "gateway v0 payload" > "$devices/gateway/rootfs/rootfs.img"
n=0
for id in R123 R456; do
    n=$((n + 1))
    mkdir -p "$devices/$n/firmware"
    echo "id=$id" > "$devices/$n/Identity"
    echo "version=rtos-v0" > "$devices/$n/Provides"
    echo "No" > "$devices/$n/NeedsArtifactReboot"
    echo "Yes" > "$devices/$n/SupportsRollback"
    echo "Yes" > "$devices/$n/NeedsUnpackedArtifact"
    echo "rtos v0 payload" > "$devices/$n/firmware/firmware.bin"
done

# The releases.
"$here/make-release.sh" "$demo/release"

mkdir -p "$demo/bin"
ln -s "$mo_bin" "$demo/bin/mender-orchestrator"
{
    echo "# Source this to run mender-orchestrator on the demo System by hand."
    if [ -z "$installed" ]; then
        echo "export MENDER_ORCHESTRATOR_CONF_DIR='$demo/etc'"
        echo "export MENDER_ORCHESTRATOR_DATA_DIR='$data_dir'"
        echo "export MENDER_ORCHESTRATOR_DATASTORE_DIR='$datastore'"
    fi
    echo "export DEMO_DEVICES='$devices'"
    echo "PATH='$demo/bin':\$PATH"
} > "$demo/env.sh"

cat <<EOF
  binary      $mo_bin
  Topology    $datastore/topology.yaml: gateway (gateway-interface), rtos x2 (rtos-interface "1", "2")
  Interfaces  $data_dir/interfaces/v1/{gateway-interface,rtos-interface}
  devices     devices/gateway (id G13), devices/1 (id R123), devices/2 (id R456), all at v0
  releases    release/manifest-v{1,2,3}.yaml and their Artifacts:
EOF
(cd "$demo/release" && for f in manifest-v1.yaml manifest-v2.yaml manifest-v3.yaml; do
    printf '              %s: ' "$f"
    sed -n 's/^ *artifact_path: //p' "$f" | paste -sd ' ' -
done)
echo "  (commands below run in the work folder; mender-orchestrator = the binary above)"

section "0. The System before any update"
provides 0 gateway-v0 rtos-v0 rtos-v0

# --- 1. Manifest v1 -------------------------------------------------------------------

section "1. Manifest v1: every Component goes from v0 to v1"
run plan-v1 plan release/manifest-v1.yaml
expect_rc 0 "plan"
echo
run install-v1 install --progress=text release/manifest-v1.yaml
expect_rc 0 "install v1"
echo
run status-v1 status
expect_rc 0 "status"
echo
provides 1 gateway-v1 rtos-v1 rtos-v1
devices_hold v1 v1

# --- 2. Manifest v2 -------------------------------------------------------------------

section "2. Manifest v2: only the RTOS components change"
run plan-v2 plan release/manifest-v2.yaml
expect_rc 0 "plan"
if ! awk '/^Skipped/ { s = 1 } s && /gateway\.G13/ { f = 1 } END { exit !f }' "$logs/plan-v2.out"; then
    fail "the plan of v2 does not list the gateway as skipped"
fi
if grep -q 'gateway\.G13: .*->' "$logs/plan-v2.out"; then
    fail "the plan of v2 would update the gateway"
fi
ok "the plan skips the gateway (gateway-v1 is already installed)"
echo
run install-v2 install --progress=text release/manifest-v2.yaml
expect_rc 0 "install v2"
if grep -q 'gateway\.G13' "$logs/install-v2.out"; then
    fail "install v2 ran a state on the gateway"
fi
ok "no state ran on the gateway"
echo
provides 2 gateway-v1 rtos-v2 rtos-v2
devices_hold v1 v2

# --- 3. Manifest v3 with a failure ----------------------------------------------------

section "3. Manifest v3 with a fault: RTOS 2 fails its ArtifactCommit"
echo "\$ touch \$DEMO_DEVICES/2/ArtifactCommit.FAIL"
touch "$devices/2/ArtifactCommit.FAIL"
echo
run plan-v3 plan release/manifest-v3.yaml
expect_rc 0 "plan"
echo
run install-v3 install --progress=text release/manifest-v3.yaml
expect_rc 1 "install v3 (failed and rolled back)"
echo
echo "What the Interfaces said (from logs/install-v3.log):"
interface_lines install-v3
grep -q '\[gateway-interface\] Committed gateway-v3' "$logs/install-v3.log" \
    || fail "the gateway was not committed to gateway-v3 before the failure"
grep -q '\[gateway-interface\] Rolled back to gateway-v1' "$logs/install-v3.log" \
    || fail "the gateway was not rolled back"
ok "the gateway had committed gateway-v3, and was rolled back all the same"
echo
provides 3 gateway-v1 rtos-v2 rtos-v2
devices_hold v1 v2
echo
run history-v3 history
expect_rc 0 "history"
grep -q 'demo-system-v3.*failed' "$logs/history-v3.out" || fail "history does not show v3 as failed"
ok "history: v3 failed, v2 and v1 succeeded"
echo
run status-v3 status
expect_rc 0 "status"

# --- summary --------------------------------------------------------------------------

echo PASS > "$results/outcome.txt"
section "Summary"
cat <<EOF
  v1  installed: gateway-v0 -> gateway-v1, both RTOS rtos-v0 -> rtos-v1
  v2  installed: both RTOS rtos-v1 -> rtos-v2; the gateway was skipped (already gateway-v1)
  v3  failed at RTOS 2's ArtifactCommit (exit 1); the whole System was rolled back to
      System v2: gateway-v1 (it had committed gateway-v3), both RTOS rtos-v2
${green}${bold}Demo passed: every outcome as expected ($checks checks).${off}

Work folder: $demo (results/, logs/, devices/, release/)
Try it yourself:
  . $demo/env.sh
  mender-orchestrator show-provides
  rm \$DEMO_DEVICES/2/ArtifactCommit.FAIL && mender-orchestrator install $demo/release/manifest-v3.yaml
EOF
