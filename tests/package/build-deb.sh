#!/usr/bin/env bash
# build-deb.sh OUTDIR: builds the Debian packages of this repository (debian/) with
# `dpkg-buildpackage -us -uc -b` in a scratch copy of the files git knows (tracked, and
# untracked ones not ignored: no build folders), so that nothing is written into the
# repository or next to it, and puts the .deb, .changes and .buildinfo files into OUTDIR.
# DEB_BUILD_OPTIONS is passed on (the package test gives nocheck: scripts/test runs the
# unit tests itself). Needs the Build-Depends of debian/control (scripts/bootstrap).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mender-orchestrator-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
src=$scratch/mender-orchestrator
mkdir "$src"
cd "$repo"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] || [ -L "$f" ] || continue   # deleted in the work tree, not committed yet
    printf '%s\0' "$f"
done | xargs -0 cp --parents -P -t "$src"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -n 60 "$out/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
    exit 1
}
mv "$scratch"/*.deb "$scratch"/*.changes "$scratch"/*.buildinfo "$out/"
ls "$out"/*.deb
