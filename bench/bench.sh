#!/bin/bash
# The benchmark suite (issue 8, docs/benchmarks.md): mender-orchestrator beside Debian's
# Mender client and beside the hardware limit, in one run.
#
#   bench/bench.sh [--quick | --full] [--only SECTIONS] [--runs N] [--sizes "MIB..."]
#                  [--kinds "random text"] [--codecs "none gzip xz"] [--scale "N..."]
#                  [--skip "SIZE:CODEC..."] [--lines "N..."]
#
# Sections (--only takes a comma- or space-separated list; default: all):
#   install    one Component, one Artifact (module-image) per size x payload kind x codec:
#              `mender-orchestrator install` through an Interface that reads and discards
#              its streams (bench/noop-interface.c), Debian's `mender install` of the same
#              Artifact through the same program as Update Module, and the limit: the
#              Artifact's data member decompressed and hashed, `DECOMPRESS < member |
#              openssl dgst -sha256` (`openssl dgst -sha256 member` when uncompressed).
#              Peak RSS of each, to show it does not grow with the size (memory).
#   scale      10, 100, 1000 Components (10 types, one order group each) with the no-op
#              Interface in C, against bench/forkloop.c doing as many bare fork+exec+wait
#              calls of the same program as the install made: overhead per Interface call.
#   group      one order group of 64 Components whose ArtifactInstall sleeps 1 s.
#   output     one Component whose ArtifactInstall prints N lines (10k, 100k, 1M; ~60
#              bytes each, a firmware flasher's progress) that the orchestrator logs
#              (its log to a file), beside the same Interface writing them to /dev/null:
#              the orchestrator's CPU per line ((CPU logged - CPU null) / N, the
#              Interface's own CPU included on both sides) and the Interface's ArtifactInstall
#              wall time logged / null (output.csv, measured by the Interface itself).
#   footprint  stripped binary size; `--version` and `show-provides` on 3 Components
#              (start-up time and peak RSS), beside `mender show-artifact`.
#
# Modes: --quick (development: 3 runs, 64 MiB, random payload, none and gzip, 10 and 100
# Components); --full (default: 5 runs, 64/512/2048 MiB, random and text payloads,
# none/gzip/xz, 10/100/1000 Components). The options after the mode override it; --skip
# drops size:codec pairs, e.g. --skip "2048:xz" (2 GiB xz Artifacts take long to write).
#
# Every measurement is one command under GNU time (`/usr/bin/time -f "%e %M %U %S"`: peak
# RSS in KiB, CPU seconds of it and its waited children; the wall time is taken around it with bash's $EPOCHREALTIME, microseconds, so it
# includes starting GNU time itself, ~1 ms, for every contender alike). Within each run
# the contenders alternate (the first one rotates from run to run) so that a change of
# load on a shared machine hits all of them; the 1-minute load average is recorded with
# every measurement. Medians over the runs.
#
# Environment:
#   BENCH_DIR  work dir (default /var/tmp/mo-bench). Built Artifacts are CACHED in
#              $BENCH_DIR/cache and reused by later runs (delete it to rebuild): the 2 GiB
#              xz ones take many minutes to write with mender-artifact. Results go to
#              $BENCH_DIR/results/<UTC time>/: raw.csv (every measurement), <UTC time>/summary.md.
#   BUILD      meson build dir of mender-orchestrator (default: build-bench in the
#              repository, set up with --buildtype=release if missing, and built).
# Needs (scripts/bootstrap installs them): meson, ninja, a C compiler, mender-artifact,
# mender-client (Debian's `mender` 3.4), GNU time, openssl, gzip, xz-utils, python3,
# unshare (util-linux).
# Debian's `mender` 3.4 reads Update Modules only from /usr/share/mender/modules/v3 and the
# first Artifact name only from /etc/mender/artifact_info (it ignores ModulesPath and
# ArtifactInfoFile in its config). So that nothing outside the work dir is touched, the
# script runs itself in a private mount namespace (`unshare -m`, root or CAP_SYS_ADMIN)
# where those two folders are bind mounts of folders in the work dir, mounted once for the
# whole run: no contender pays for it. Mender's other files live in the work dir too
# (--config, --data).
set -euo pipefail

case " $* " in *" -h "* | *" --help "*) MO_BENCH_NAMESPACE=none ;; esac   # help needs none
if [ -z "${MO_BENCH_NAMESPACE:-}" ]; then
    if ! unshare -m --propagation private true 2>/dev/null; then
        echo "bench.sh: cannot make a private mount namespace (unshare -m needs root or CAP_SYS_ADMIN);" \
            "Debian's mender reads its Update Modules only from /usr/share/mender/modules/v3, which the" \
            "bench replaces by its own folder inside such a namespace" >&2
        exit 2
    fi
    MO_BENCH_NAMESPACE=1 exec unshare -m --propagation private "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=full
ONLY=
O_RUNS= O_SIZES= O_KINDS= O_CODECS= O_SCALE= O_LINES= SKIP=
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --quick) MODE=quick ;;
        --full) MODE=full ;;
        --only) ONLY=${2//,/ }; shift ;;
        --runs) O_RUNS=$2; shift ;;
        --sizes) O_SIZES=$2; shift ;;
        --kinds) O_KINDS=$2; shift ;;
        --codecs) O_CODECS=$2; shift ;;
        --scale) O_SCALE=$2; shift ;;
        --skip) SKIP=$2; shift ;;
        --lines) O_LINES=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$MODE" = quick ]; then
    RUNS=3 SIZES="64" KINDS="random" CODECS="none gzip" SCALE="10 100" LINES="10000 100000"
else
    RUNS=5 SIZES="64 512 2048" KINDS="random text" CODECS="none gzip xz" SCALE="10 100 1000"
    LINES="10000 100000 1000000"
fi
LINES=${O_LINES:-$LINES}
RUNS=${O_RUNS:-$RUNS} SIZES=${O_SIZES:-$SIZES} KINDS=${O_KINDS:-$KINDS}
CODECS=${O_CODECS:-$CODECS} SCALE=${O_SCALE:-$SCALE}
ONLY=${ONLY:-install scale group output footprint}

for c in mender mender-artifact /usr/bin/time openssl gzip xz python3 meson ninja; do
    command -v "$c" >/dev/null || { echo "bench.sh: $c is missing (run scripts/bootstrap)" >&2; exit 2; }
done

BUILD=${BUILD:-$ROOT/build-bench}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
fi
ninja -C "$BUILD" mender-orchestrator bench/mo-noop-interface bench/mo-bench-forkloop bench/mo-bench-payload >/dev/null
MO=$BUILD/mender-orchestrator
NOOP=$BUILD/bench/mo-noop-interface
FORKLOOP=$BUILD/bench/mo-bench-forkloop
PAYLOAD=$BUILD/bench/mo-bench-payload

BENCH_DIR=${BENCH_DIR:-/var/tmp/mo-bench}
CACHE=$BENCH_DIR/cache
OUT=$BENCH_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$CACHE" "$OUT"
T=$(mktemp -d "$BENCH_DIR/tmp-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
RAW=$OUT/raw.csv
echo "section,case,contender,run,wall_s,peak_kib,load1,cpu_s" > "$RAW"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "mode: $MODE runs=$RUNS sizes=$SIZES kinds=$KINDS codecs=$CODECS scale=$SCALE skip=$SKIP only=$ONLY"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc)"
    echo "kernel: $(uname -r)"
    echo "mender-client: $(dpkg-query -W -f '${Version}' mender-client 2>/dev/null || echo ?)"
    echo "mender-artifact: $(dpkg-query -W -f '${Version}' mender-artifact 2>/dev/null || echo ?)"
    echo "openssl: $(openssl version)"
    echo "bench dir: $(findmnt -no FSTYPE,SOURCE,OPTIONS -T "$BENCH_DIR")"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"
echo "results: $OUT"

log() { echo "[$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)] $*" >&2; }

# measure SECTION CASE CONTENDER RUN CMD...: one timed run, appended to raw.csv.
measure() {
    local section=$1 case=$2 who=$3 run=$4 load t0 t1 s k u y c
    shift 4
    sync -f "$T" 2>/dev/null || true   # no writeback of earlier runs' files during this one
    read -r load _ < /proc/loadavg
    t0=$EPOCHREALTIME
    if ! /usr/bin/time -f "%e %M %U %S" -o "$T/time" "$@" > "$T/out" 2>&1; then
        cat "$T/out" >&2
        echo "bench.sh: failed: $section $case $who: $*" >&2
        exit 1
    fi
    t1=$EPOCHREALTIME
    read -r _ k u y < <(tail -n 1 "$T/time")
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b - a}')
    c=$(awk -v a="$u" -v b="$y" 'BEGIN{printf "%.2f", a + b}')   # user + sys, waited children included
    echo "$section,$case,$who,$run,$s,$k,$load,$c" >> "$RAW"
}

# alternate SECTION CASE NAME1 FUNC1 NAME2 FUNC2 ...: RUNS rounds, every contender once per
# round, the first one rotating. FUNC is a shell function that sets CMD (an array) to the
# contender's command.
alternate() {
    local section=$1 case=$2
    shift 2
    local -a names=() funcs=()
    while [ $# -gt 0 ]; do names+=("$1"); funcs+=("$2"); shift 2; done
    local n=${#names[@]} r i j
    for ((r = 1; r <= RUNS; r++)); do
        for ((i = 0; i < n; i++)); do
            j=$(((i + r - 1) % n))
            "${funcs[j]}"
            measure "$section" "$case" "${names[j]}" "$r" "${CMD[@]}"
        done
    done
}

# An orchestrator System in $1: etc, share (Interfaces), var (datastore), topology.
new_system() {
    rm -rf "$1"
    mkdir -p "$1/etc" "$1/share/interfaces/v1" "$1/var"
}
mo_env() {
    local sys=$1
    shift
    CMD=(env MENDER_ORCHESTRATOR_CONF_DIR="$sys/etc" MENDER_ORCHESTRATOR_DATA_DIR="$sys/share" \
        MENDER_ORCHESTRATOR_DATASTORE_DIR="$sys/var" MENDER_ORCHESTRATOR_TOPOLOGY_DIR="$sys/etc" "$@")
}

# ---- install throughput and memory --------------------------------------------------------

ext_of() { case $1 in none) echo tar ;; gzip) echo tar.gz ;; xz) echo tar.xz ;; esac; }
mender_codec() { case $1 in xz) echo lzma ;; *) echo "$1" ;; esac; } # mender-artifact's name
decomp_of() { case $1 in gzip) echo "gzip -dc" ;; xz) echo "xz -dc -T1" ;; esac; }

# The cached Artifact for SIZE KIND CODEC: $CACHE/<kind>-<size>M-<codec>.mender, its data
# member (for the limit) and a Manifest naming it. Built once.
ensure_artifact() {
    local size=$1 kind=$2 codec=$3 base
    base=$CACHE/$kind-${size}M-$codec
    if [ ! -f "$base.mender" ]; then
        log "building $base.mender (cached for later runs)"
        if [ ! -f "$CACHE/$kind-${size}M.bin" ]; then
            "$PAYLOAD" "$kind" "$size" > "$CACHE/$kind-${size}M.bin.tmp"
            mv "$CACHE/$kind-${size}M.bin.tmp" "$CACHE/$kind-${size}M.bin"
        fi
        mender-artifact write module-image -T discard -n "bench-$kind-$size-$codec" -t bench \
            -f "$CACHE/$kind-${size}M.bin" --compression "$(mender_codec "$codec")" -o "$base.mender.tmp" > "$T/mkart.log" 2>&1 ||
            { cat "$T/mkart.log" >&2; exit 1; }
        mv "$base.mender.tmp" "$base.mender"
        rm -f "$base.member"
    fi
    if [ ! -f "$base.member" ]; then
        tar -xOf "$base.mender" "data/0000.$(ext_of "$codec")" > "$base.member.tmp"
        mv "$base.member.tmp" "$base.member"
    fi
    cat > "$base.yaml" <<EOF
api_version: mender/v1
kind: manifest
name: bench-$kind-$size-$codec
system_types_compatible: [bench]
component_types:
  bench: {artifact_path: $(basename "$base").mender, update_strategy: {order: 10}}
EOF
    echo "$base"
}

# Debian's Mender client in $T/mender (once per run): its config, store (--data) and, bind
# mounted in this script's mount namespace, its Update Modules folder (the no-op program as
# module "discard") and /etc/mender (artifact_info: the name before the first install).
mender_system() {
    MSYS=$T/mender
    [ -f "$MSYS/mender.conf" ] && return 0
    mkdir -p "$MSYS/modules" "$MSYS/etc" "$MSYS/data"
    cp "$NOOP" "$MSYS/modules/discard"
    echo "device_type=bench" > "$MSYS/device_type"
    echo "artifact_name=bench-0" > "$MSYS/etc/artifact_info"
    echo "{\"DeviceTypeFile\": \"$MSYS/device_type\"}" > "$MSYS/mender.conf"
    local d
    for d in /usr/share/mender/modules/v3 /etc/mender; do
        [ -d "$d" ] || { echo "bench.sh: $d is missing (is mender-client installed?)" >&2; exit 2; }
    done
    mount --bind "$MSYS/modules" /usr/share/mender/modules/v3
    mount --bind "$MSYS/etc" /etc/mender
}

run_ours() { mo_env "$SYS" "$MO" install --progress none "$BASE.yaml"; }
run_mender() {
    CMD=(mender --no-syslog --config "$MSYS/mender.conf" --fallback-config "$MSYS/absent.conf" \
        --data "$MSYS/data" install "$BASE.mender")
}
run_limit() {
    if [ "$CODEC" = none ]; then
        CMD=(openssl dgst -sha256 "$BASE.member")
    else
        CMD=(sh -c "$(decomp_of "$CODEC") < '$BASE.member' | openssl dgst -sha256")
    fi
}

section_install() {
    SYS=$T/sys-install
    new_system "$SYS"
    cp "$NOOP" "$SYS/share/interfaces/v1/discard"
    cat > "$SYS/etc/topology.yaml" <<EOF
api_version: mender/v1
kind: topology
system_type: bench
components:
  - component_type: bench
    interface: discard
EOF
    mender_system
    local size kind codec
    for size in $SIZES; do
        for kind in $KINDS; do
            for codec in $CODECS; do
                case " $SKIP " in *" $size:$codec "*) log "skipped $size MiB $codec (--skip)"; continue ;; esac
                BASE=$(ensure_artifact "$size" "$kind" "$codec")
                CODEC=$codec
                cat "$BASE.mender" "$BASE.member" > /dev/null # in the page cache for everyone
                log "install $size MiB $kind $codec"
                alternate install "$size:$kind:$codec" mender-orchestrator run_ours \
                    "mender install" run_mender limit run_limit
            done
        done
    done
}

# ---- scale and parallelism -----------------------------------------------------------------

# scale_system DIR N TYPES [EXTRA_ARG]: N Components spread over TYPES types t0..,
# type k in order group 10*(k+1), each with its own small Artifact.
scale_system() {
    local sys=$1 n=$2 types=$3 extra=${4:-} k i
    new_system "$sys"
    cp "$NOOP" "$sys/share/interfaces/v1/noop"
    {
        echo "api_version: mender/v1"
        echo "kind: topology"
        echo "system_type: bench"
        echo "components:"
        for ((i = 0; i < n; i++)); do
            echo "  - {component_type: t$((i % types)), interface: noop, interface_args: [\"c$i\"$extra]}"
        done
    } > "$sys/etc/topology.yaml"
    {
        echo "api_version: mender/v1"
        echo "kind: manifest"
        echo "name: bench-scale"
        echo "system_types_compatible: [bench]"
        echo "component_types:"
        for ((k = 0; k < types; k++)); do
            echo "  t$k: {artifact_path: $CACHE/noop-t$k.mender, update_strategy: {order: $((10 * (k + 1)))}}"
        done
    } > "$sys/manifest.yaml"
    for ((k = 0; k < types; k++)); do
        if [ ! -f "$CACHE/noop-t$k.mender" ]; then
            printf 'firmware %d\n' "$k" > "$T/fw.bin"
            mender-artifact write module-image -T noop -n "noop-t$k" -t "t$k" -f "$T/fw.bin" \
                -o "$CACHE/noop-t$k.mender" > /dev/null
        fi
    done
}

run_scale() { mo_env "$SYS" "$MO" install --progress none "$SYS/manifest.yaml"; }
run_forkloop() { CMD=("$FORKLOOP" "$CALLS" "$SYS/share/interfaces/v1/noop" Provides "$T" t0 c0); }

section_scale() {
    local n
    for n in $SCALE; do
        SYS=$T/sys-scale-$n
        scale_system "$SYS" "$n" 10
        # Count the Interface calls of one install (not timed).
        rm -f "$T/count"
        mo_env "$SYS" MO_NOOP_COUNT="$T/count" "$MO" install --progress none "$SYS/manifest.yaml"
        "${CMD[@]}" > "$T/out" 2>&1 ||
            { cat "$T/out" >&2; exit 1; }
        CALLS=$(stat -c %s "$T/count")
        echo "$n,$CALLS" >> "$OUT/calls.csv"
        log "scale $n Components: $CALLS Interface calls per install"
        alternate scale "$n" mender-orchestrator run_scale forkloop run_forkloop
    done
}

section_group() {
    SYS=$T/sys-group
    scale_system "$SYS" 64 1 ', "sleep"'
    log "group of 64, ArtifactInstall sleeps 1 s"
    alternate group 64 mender-orchestrator run_scale
}

# ---- Interface output ----------------------------------------------------------------------

run_output() { # MODE: print (logged) or print-null; the Interface's ArtifactInstall time to output.csv
    mo_env "$T/sys-output-$1-$N" MO_NOOP_TIME="$T/itime" bash -c \
        '"$@" && echo "$N,$MODE,$(cat "$ITIME")" >> "$OUTCSV"' run "$MO" install --progress none \
        "$T/sys-output-$1-$N/manifest.yaml"
    CMD=(env N="$N" MODE="$1" ITIME="$T/itime" OUTCSV="$OUT/output.csv" "${CMD[@]}")
}
run_output_logged() { run_output print; }
run_output_null() { run_output print-null; }

section_output() {
    local mode
    for N in $LINES; do
        for mode in print print-null; do
            scale_system "$T/sys-output-$mode-$N" 1 1 ", \"$mode:$N\""
        done
        log "output: $N lines in ArtifactInstall"
        alternate output "$N" logged run_output_logged null run_output_null
    done
}

# ---- footprint -----------------------------------------------------------------------------

run_version() { CMD=("$MO" --version); }
run_show() { mo_env "$SYS" "$MO" show-provides; }
run_mender_show() {
    CMD=(mender --no-syslog --config "$MSYS/mender.conf" --fallback-config "$MSYS/absent.conf" \
        --data "$MSYS/data" show-artifact)
}

section_footprint() {
    strip -o "$T/stripped" "$MO"
    local stripped
    stripped=$(stat -c %s "$T/stripped")
    {
        echo "binary,$(stat -c %s "$MO")"
        echo "stripped,$stripped"
        echo "needed,$(readelf -d "$MO" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
    } > "$OUT/footprint.csv"
    log "stripped binary: $stripped bytes"
    SYS=$T/sys-footprint
    scale_system "$SYS" 3 3
    mender_system
    local old=$RUNS
    RUNS=$((RUNS < 20 ? 20 : RUNS))
    alternate footprint version mender-orchestrator run_version
    alternate footprint show-provides-3 mender-orchestrator run_show "mender show-artifact" run_mender_show
    RUNS=$old
}

for s in $ONLY; do
    case $s in
        install|scale|group|output|footprint) "section_$s" ;;
        *) echo "bench.sh: unknown section $s" >&2; exit 2 ;;
    esac
done
python3 "$ROOT/bench/summarize.py" "$OUT" | tee "$OUT/summary.md"
