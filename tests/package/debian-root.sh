#!/usr/bin/env bash
# debian-root.sh ROOT [PACKAGE...] [-- MMDEBSTRAP-OPTION...]
#
# Makes a clean Debian 12 (bookworm) root file system in ROOT (absent or empty) with
# mmdebstrap, from Debian's packages (no prebuilt image): the "apt" variant (the Essential
# packages and apt) plus the PACKAGEs, with the apt package lists kept so that
# `apt-get install ./some.deb` works inside it at once. Options after `--` go to
# mmdebstrap as they are (another --variant, --include, hooks: an image for a VM needs a
# kernel, a boot loader, ...).
#
#   MO_DEBIAN_MIRROR   the mirror (default: http://deb.debian.org/debian)
#
# Run as root (mmdebstrap's root mode: files owned by root, so that `chroot` works; enter
# the root with tests/package/in-root.sh). Takes about a minute with a nearby mirror.
set -euo pipefail
usage() { echo "usage: $0 ROOT [PACKAGE...] [-- MMDEBSTRAP-OPTION...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
root=$1
shift
packages=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    packages+=("$1")
    shift
done
[ "${1:-}" != -- ] || shift
if [ "$(id -u)" != 0 ]; then
    echo "debian-root: run as root (mmdebstrap --mode=root)" >&2
    exit 1
fi
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ]; then
    echo "debian-root: $root is not empty" >&2
    exit 1
fi
mkdir -p "$root"
include=()
if [ ${#packages[@]} -gt 0 ]; then
    include=(--include="$(IFS=,; echo "${packages[*]}")")
fi
exec mmdebstrap --quiet --mode=root --variant=apt --skip=cleanup/apt/lists "${include[@]}" "$@" \
    bookworm "$root" "${MO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
