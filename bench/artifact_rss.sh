#!/bin/bash
# Peak RSS of reading a large Artifact through the streaming reader (artifact_read_file
# with a sink that discards the payload), measured with GNU time (/usr/bin/time -v).
#
#   bench/artifact_rss.sh [SIZE_MIB]          (default 1024 = 1 GiB payload)
#
# Environment: BUILD (meson build dir, default ./build), CODECS (default "none gzip";
# "lzma" is also possible, slow to write), WORKDIR (default: a fresh dir in /var/tmp),
# LIMIT_KIB (default 8192: the target, peak RSS under 8 MiB), SIGNED (default 1: also
# read the gzip Artifact RSA-signed with --key, reported for information: verifying
# loads OpenSSL's EVP providers, about 2 MiB more, whatever the payload size).
# Needs mender-artifact (3.9) and GNU time (Debian package `time`).
# Exit status 0 only if every run succeeded and stayed under the limit.
set -euo pipefail

SIZE_MIB=${1:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
CODECS=${CODECS:-none gzip}
LIMIT_KIB=${LIMIT_KIB:-8192}

if [ ! -x /usr/bin/time ]; then
    echo "error: /usr/bin/time (GNU time) is missing: apt-get install time" >&2
    exit 2
fi
command -v mender-artifact >/dev/null || { echo "error: mender-artifact is missing" >&2; exit 2; }

BIN=$BUILD/bench/mo-read-artifact
ninja -C "$BUILD" bench/mo-read-artifact >/dev/null
[ -x "$BIN" ] || { echo "error: $BIN was not built" >&2; exit 2; }

WORKDIR=${WORKDIR:-$(mktemp -d /var/tmp/mo-rss-XXXXXX)}
mkdir -p "$WORKDIR"
trap 'rm -rf "$WORKDIR"' EXIT
cd "$WORKDIR"

echo "payload: ${SIZE_MIB} MiB of random bytes in $WORKDIR"
# Random data: incompressible, so the gzip member is as large as the payload.
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > payload.bin
printf 'x\n' > small.bin

# Peak RSS in KiB of one read, or exits on failure.
measure() {
    local file=$1 out
    shift
    if ! out=$(/usr/bin/time -v "$BIN" "$@" "$file" 2>time.log); then
        cat time.log >&2
        echo "error: reading $file failed" >&2
        return 1
    fi
    echo "  $out" >&2
    awk -F': ' '/Maximum resident set size/ {print $2}' time.log
}

status=0
echo "baseline = the same Artifact with a 2-byte payload (shared libraries and fixed buffers)"
printf '%-8s %10s %12s %12s %s\n' codec payload_MiB peak_KiB baseline_KiB verdict
for codec in $CODECS; do
    mender-artifact write module-image -T bench -n bench-1 -t dev -f payload.bin \
        --compression "$codec" -o "big-$codec.mender" >/dev/null 2>&1
    mender-artifact write module-image -T bench -n bench-1 -t dev -f small.bin \
        --compression "$codec" -o "small-$codec.mender" >/dev/null 2>&1
    base=$(measure "small-$codec.mender") || { status=1; continue; }
    peak=$(measure "big-$codec.mender") || { status=1; continue; }
    verdict=ok
    if [ "$peak" -ge "$LIMIT_KIB" ]; then
        verdict="OVER ${LIMIT_KIB} KiB"
        status=1
    fi
    printf '%-8s %10s %12s %12s %s\n' "$codec" "$SIZE_MIB" "$peak" "$base" "$verdict"
    if [ "$codec" = gzip ] && [ "${SIGNED:-1}" = 1 ]; then
        openssl genrsa -traditional -out rsa.key 3072 2>/dev/null
        openssl rsa -in rsa.key -pubout -out rsa.pub 2>/dev/null
        mender-artifact sign -k rsa.key "small-$codec.mender" -o small-signed.mender >/dev/null 2>&1
        mender-artifact sign -k rsa.key "big-$codec.mender" -o big-signed.mender >/dev/null 2>&1
        base=$(measure small-signed.mender --key rsa.pub) || { status=1; continue; }
        peak=$(measure big-signed.mender --key rsa.pub) || { status=1; continue; }
        printf '%-8s %10s %12s %12s %s\n' "gzip+rsa" "$SIZE_MIB" "$peak" "$base" "(information)"
        rm -f big-signed.mender
    fi
    rm -f "big-$codec.mender"
done
exit $status
