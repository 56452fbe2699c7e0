#!/bin/sh
# Builds the demo's three releases with Debian's mender-artifact:
#
#   manifest-v1.yaml  gateway-v1 + rtos-v1
#   manifest-v2.yaml  gateway-v1 + rtos-v2   (only the RTOS components change)
#   manifest-v3.yaml  gateway-v3 + rtos-v3   (both change)
#
# Artifacts: gateway-v1.mender, gateway-v3.mender (module-image, payload type
# gateway-interface, device type gateway) and rtos-v1/v2/v3.mender (payload type
# rtos-interface, device type rtos). Each provides rootfs-image.<payload type>.version
# = its artifact name (mender-artifact's default software version).
# The gateway is ordered 10, the RTOS components 20: the gateway goes first.
#
# Usage: make-release.sh OUTDIR
set -eu
out=${1:?usage: make-release.sh OUTDIR}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# artifact <component_type> <payload type> <version> <payload file name>
artifact() {
    name=$1-$3
    mkdir -p "$tmp/$name"
    printf '%s %s payload\n' "$1" "$3" > "$tmp/$name/$4"
    if ! mender-artifact write module-image -T "$2" -t "$1" -n "$name" \
            -f "$tmp/$name/$4" -o "$out/$name.mender" >"$tmp/log" 2>&1; then
        cat "$tmp/log" >&2
        exit 1
    fi
}

# manifest <version> <gateway artifact> <rtos artifact>
manifest() {
    cat > "$out/manifest-$1.yaml" <<YAML
api_version: "mender/v1"
kind: "manifest"
name: "demo-system-$1"
system_types_compatible: ["demo-system"]
component_types:
  gateway:
    artifact_path: $2.mender
    update_strategy:
      order: 10
  rtos:
    artifact_path: $3.mender
    update_strategy:
      order: 20
YAML
}

artifact gateway gateway-interface v1 rootfs.img
artifact gateway gateway-interface v3 rootfs.img
artifact rtos rtos-interface v1 firmware.bin
artifact rtos rtos-interface v2 firmware.bin
artifact rtos rtos-interface v3 firmware.bin

manifest v1 gateway-v1 rtos-v1
manifest v2 gateway-v1 rtos-v2
manifest v3 gateway-v3 rtos-v3
