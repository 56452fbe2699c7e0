#!/bin/bash
# Download streaming, side by side with Debian's Mender client (mender-client 3.4):
# the same Artifact (a SIZE_MIB random payload, module-image of type "discard"), the
# same shell program reading every stream and discarding it, run as
#   - our Interface, through `mo-iface-driver Download` (work dir, header, stream-next,
#     checksums verified while streaming: what `install` does for one Component);
#   - an Update Module, through `mender install` (standalone; Download, ArtifactInstall
#     and commit, the last two doing nothing).
# Wall time and peak RSS from GNU time, best of RUNS runs each.
#
#   bench/stream_vs_mender.sh [SIZE_MIB]     (default 512)
# Environment: BUILD (default ./build), RUNS (default 5), CODECS (default "none gzip").
# Needs: mender-client, mender-artifact, GNU time (apt-get install mender-client time).
# Everything of Mender's is kept in a temporary folder (--config, --data).
set -euo pipefail

SIZE_MIB=${1:-512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RUNS=${RUNS:-5}
CODECS=${CODECS:-none gzip}
for c in mender mender-artifact /usr/bin/time; do
    command -v "$c" >/dev/null || { echo "error: $c is missing (apt-get install mender-client mender-artifact time)" >&2; exit 2; }
done
ninja -C "$BUILD" tests/tools/mo-iface-driver >/dev/null
DRIVER=$BUILD/tests/tools/mo-iface-driver

W=$(mktemp -d /var/tmp/mo-stream-XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/modules" "$W/data/interfaces/v1" "$W/mender-data" "$W/mender-work" "$W/store"
cat > "$W/discard" <<'SH'
#!/bin/sh
# Reads every stream of a Download and discards it (Update Module and Interface alike:
# both get the state in $1 and the work dir in $2).
set -e
case "$1" in
    Download|DownloadWithFileSizes)
        while :; do
            line=$(cat "$2/stream-next")
            [ -z "$line" ] && break
            cat "$2/${line%% *}" > /dev/null
        done ;;
esac
exit 0
SH
chmod +x "$W/discard"
cp "$W/discard" "$W/modules/discard"
cp "$W/discard" "$W/data/interfaces/v1/discard"
echo "device_type=bench" > "$W/device_type"
echo "artifact_name=bench-0" > "$W/artifact_info"
cat > "$W/mender.conf" <<JSON
{"ModulesPath": "$W/modules", "ModulesWorkPath": "$W/mender-work", "DeviceTypeFile": "$W/device_type",
 "ArtifactInfoFile": "$W/artifact_info", "ArtifactScriptsPath": "$W/scripts", "RootfsScriptsPath": "$W/scripts"}
JSON
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$W/payload.bin"

# best wall seconds and peak KiB over RUNS runs of a command
measure() {
    local best_s="" best_k=""
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>&1 || { cat "$W/out" >&2; echo "error: $*" >&2; exit 1; }
        read -r s k < "$W/time"
        if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; fi
        if [ -z "$best_k" ] || [ "$k" -lt "$best_k" ]; then best_k=$k; fi
    done
    echo "$best_s $best_k"
}

for codec in $CODECS; do
    mender-artifact write module-image -T discard -n "bench-$codec" -t bench -f "$W/payload.bin" \
        --compression "$codec" -o "$W/bench-$codec.mender" >/dev/null 2>&1
done
rm -f "$W/payload.bin"
sync   # no writeback of the fresh files during the runs

printf '%-8s %-22s %10s %12s %10s\n' codec program wall_s peak_KiB MiB/s
for codec in $CODECS; do
    art="$W/bench-$codec.mender"
    read -r s k < <(measure "$DRIVER" Download --data-dir "$W/data" --datastore "$W/store" --interface discard \
        --type bench --artifact "$art")
    printf '%-8s %-22s %10s %12s %10.0f\n' "$codec" "mender-orchestrator" "$s" "$k" "$(awk "BEGIN{print $SIZE_MIB / $s}")"
    read -r s k < <(measure mender --no-syslog --config "$W/mender.conf" --fallback-config "$W/absent.conf" \
        --data "$W/mender-data" install "$art")
    printf '%-8s %-22s %10s %12s %10.0f\n' "$codec" "mender install (3.4)" "$s" "$k" "$(awk "BEGIN{print $SIZE_MIB / $s}")"
done
