#!/bin/bash
# Regenerates the seed corpora of fuzz/corpus/ (committed; run by hand only when the
# inputs' formats change). YAML seeds come from examples/, demo/ and tests/unit/data/;
# configuration seeds are written here; the .mender seeds are tiny Artifacts made
# with Debian's mender-artifact (none/gzip/xz/zstd, unsigned and signed with the
# test keys of fuzz/keys/, a bootstrap and a two-file one), a few KB each.
set -euo pipefail
cd "$(dirname "$0")/.."
C=fuzz/corpus
rm -rf "$C"
mkdir -p "$C"/{topology,manifest,legacy,config,artifact,artifact_header}

for f in examples/system-core/topology.yaml demo/topology.yaml tests/unit/data/topology-*.yaml; do
    cp "$f" "$C/topology/$(echo "$f" | tr / _)"
done
for f in examples/system-core/manifest-v2.yaml examples/system-core/manifest-v2-constraints.yaml tests/unit/data/manifest-*.yaml; do
    cp "$f" "$C/manifest/$(echo "$f" | tr / _)"
done
for f in examples/system-core/legacy-manifest-v2.yaml tests/unit/data/legacy-*.yaml; do
    cp "$f" "$C/legacy/$(echo "$f" | tr / _)"
done
cp examples/system-core/legacy-manifest-v2.yaml "$C/manifest/legacy-manifest-v2.yaml"

# Configuration: main file, then optionally a NUL byte and the fallback file.
cf=$C/config
cp dist/mender-orchestrator.conf "$cf/dist.conf"
printf '%s' '{"ArtifactVerifyKeys": ["/k/a.pem", "/k/b.pem"], "ArtifactsCache": {"Enabled": true, "Path": "/c", "MaxSizeBytes": 1048576}, "HttpsClient": {"Certificate": "/c.pem", "Key": "/k.pem"}, "ArtifactRepository": {"URL": "https://example.com/repo"}}' > "$cf/nested.json"
printf '%s' '{"RebootCommand": "systemctl reboot --force", "ManifestStore": "/m", "ServerCertificate": "/s.pem", "TopologyComponents": "/t/components.yaml", "LogLevel": "debug"}' > "$cf/strings.json"
printf '%s\0%s' '{"ArtifactVerifyKey": "/k/one.pem", "LogLevel": "warning"}' '{"ArtifactVerifyKeys": ["/k/two.pem"], "RebootTimeoutSeconds": 30, "Unknown": {"x": [1, 2.5, null]}}' > "$cf/main-and-fallback.json"
printf '%s\0%s' '' '{"RollbackRebootRetries": 2, "MaxParallelInterfaces": 4, "InterfaceTimeoutSeconds": 60}' > "$cf/fallback-only.json"
printf '%s' '{"LogLevel": "info", "LogLevel": "debug"}' > "$cf/duplicate.json"
printf '%s' '{"InterfaceTimeoutSeconds": 4294967296, "RollbackRebootRetries": 0, "RebootCommand": []}' > "$cf/bad-values.json"
printf '%s' '[1, "x", {"a": true}]' > "$cf/not-object.json"

# Artifacts.
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
printf 'hello fuzz\n' > "$W/payload.bin"
printf 'second file\n' > "$W/other.bin"
ma() { mender-artifact "$@" >/dev/null 2>&1 || { echo "mender-artifact $* failed" >&2; exit 1; }; }
for comp in none gzip lzma; do
    ma write module-image -T single-file -n "fuzz-$comp" -t dev-a -f "$W/payload.bin" \
        --compression "$comp" -o "$W/$comp.mender"
done
# zstd: mender-artifact 3.9 cannot write it; recompressed by hand from the
# uncompressed one with the manifest's header line fixed.
mkdir "$W/z"
tar --warning=no-timestamp -C "$W/z" -xf "$W/none.mender"
zstd -q -19 --rm "$W/z/header.tar" -o "$W/z/header.tar.zst"
zstd -q -19 --rm "$W/z/data/0000.tar" -o "$W/z/data/0000.tar.zst"
(cd "$W/z" && { grep '  data/' manifest; sha256sum header.tar.zst; sha256sum version; } > manifest.new &&
    mv manifest.new manifest)
tar --format=ustar --owner=0 --group=0 --numeric-owner --mode=0600 --mtime=@0 -C "$W/z" \
    -cf "$W/zstd.mender" version manifest header.tar.zst data/0000.tar.zst
# the same, signed by hand (ECDSA, DER form as an HSM gives it)
openssl dgst -sha256 -sign fuzz/keys/ec.key -out "$W/z/sig.der" "$W/z/manifest"
base64 -w0 "$W/z/sig.der" > "$W/z/manifest.sig"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mode=0600 --mtime=@0 -C "$W/z" \
    -cf "$W/zstd-signed-ec.mender" version manifest manifest.sig header.tar.zst data/0000.tar.zst
ma write module-image -T single-file -n fuzz-ec -t dev-a -t dev-b -f "$W/payload.bin" --compression none \
    -k fuzz/keys/ec.key -o "$W/signed-ec.mender"
ma write module-image -T rtos -n fuzz-rsa -t rtos -f "$W/payload.bin" --compression gzip \
    -k fuzz/keys/rsa.key -o "$W/signed-rsa.mender"
ma write module-image -T app -n fuzz-two -t dev-a -f "$W/payload.bin" -f "$W/other.bin" --compression none \
    --provides rootfs-image.app.version:2 --depends rootfs-image.version:1 --clears-provides 'rootfs-image.app.*' \
    --artifact-name-depends fuzz-1 --provides-group g1 --depends-groups g0 -o "$W/two-files.mender"
ma write bootstrap-artifact -n fuzz-boot -t dev-a --compression none -o "$W/bootstrap.mender"
ma write module-image -T app -n fuzz-empty -t dev-a --compression none -o "$W/empty-payload.mender"
for f in "$W"/*.mender; do
    cp "$f" "$C/artifact/"
    cp "$f" "$C/artifact_header/"
done
du -sh "$C"/*
