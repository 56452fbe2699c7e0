#!/bin/sh
# Builds the example bundle's Artifacts with Debian's mender-artifact (3.9):
#   gateway-v2.mender  rootfs-image for the gateway (a small dummy image)
#   rtos-v2.mender     module-image of type rtos-interface, which depends on rtos-v1
# Usage: build-artifacts.sh [OUTDIR]   (default: this script's directory)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

head -c 1048576 /dev/zero > "$tmp/rootfs.ext4"
mender-artifact write rootfs-image -n gateway-v2 -t gateway -f "$tmp/rootfs.ext4" \
    -o "$out/gateway-v2.mender" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }

printf 'rtos firmware v2\n' > "$tmp/firmware.bin"
mender-artifact write module-image -T rtos-interface -n rtos-v2 -t rtos -f "$tmp/firmware.bin" \
    -d rootfs-image.rtos-interface.version:rtos-v1 -o "$out/rtos-v2.mender" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }

echo "built $out/gateway-v2.mender $out/rtos-v2.mender"
