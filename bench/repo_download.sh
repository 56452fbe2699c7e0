#!/bin/bash
# Download throughput from an Artifact repository, beside plain curl: a SIZE_MIB random
# payload (module-image, uncompressed) published with `repo-index` and served over
# HTTPS by Debian's nginx on a loopback port (a CA made here with openssl), then
#   - `mender-orchestrator install` of a Manifest naming it by artifact_name, on a System
#     of one Component whose Interface (POSIX sh) reads every stream and discards it:
#     index, header Range request, the download streamed through the verifying reader
#     into the Interface, size and SHA-256 checked; no cache, then with the cache on;
#   - `curl -o /dev/null` of the same file with the same CA.
# Best wall time of RUNS runs each.
#
#   bench/repo_download.sh [SIZE_MIB]     (default 512)
# Environment: BUILD (default ./build), RUNS (default 3).
# Needs: nginx (nginx-light), curl, mender-artifact, openssl.
set -euo pipefail

SIZE_MIB=${1:-512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RUNS=${RUNS:-3}
for c in nginx curl mender-artifact openssl; do
    command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || { echo "error: $c is missing" >&2; exit 2; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ninja -C "$BUILD" mender-orchestrator >/dev/null
MO=$BUILD/mender-orchestrator

W=$(mktemp -d /var/tmp/mo-repo-bench-XXXXXX)
NGINX_PID=""
cleanup() { [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W/repo" "$W/pki" "$W/nginx" "$W/etc" "$W/var/artifacts" "$W/share/interfaces/v1"

# certificates
(
    cd "$W/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=bench CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
        -subj "/CN=127.0.0.1" 2>/dev/null
    echo "subjectAltName=IP:127.0.0.1" > ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
        -extfile ext 2>/dev/null
)

# the repository
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$W/payload.bin"
mender-artifact write module-image -T discard -n bench-1 -t bench -f "$W/payload.bin" \
    --compression none -o "$W/repo/bench-1.mender" >/dev/null
rm "$W/payload.bin"
"$MO" --log-level error repo-index "$W/repo"
SIZE=$(stat -c %s "$W/repo/bench-1.mender")

# nginx
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/nginx/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $W/nginx/nginx.pid; error_log $W/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off; client_body_temp_path $W/nginx/body; proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fcgi; uwsgi_temp_path $W/nginx/uwsgi; scgi_temp_path $W/nginx/scgi;
    default_type application/octet-stream; sendfile on;
    server { listen 127.0.0.1:$PORT ssl; ssl_certificate $W/pki/server.pem;
             ssl_certificate_key $W/pki/server.key; root $W/repo; }
}
CONF
"$NGINX" -p "$W/nginx" -e "$W/nginx/error.log" -c "$W/nginx/nginx.conf" &
NGINX_PID=$!
URL=https://127.0.0.1:$PORT
for _ in $(seq 100); do curl -s --cacert "$W/pki/ca.pem" -o /dev/null "$URL/index.json" && break; sleep 0.1; done

# the System: one Component, an Interface that discards every stream
cat > "$W/share/interfaces/v1/discard" <<'SH'
#!/bin/sh
case "$1" in
    Identity) echo "id=1" ;;
    Provides) echo "rootfs-image.discard.version=bench-0" ;;
    Download|DownloadWithFileSizes)
        while :; do
            line=$(cat "$2/stream-next")
            [ -z "$line" ] && break
            cat "$2/${line%% *}" > /dev/null
        done ;;
esac
exit 0
SH
chmod +x "$W/share/interfaces/v1/discard"
cat > "$W/var/topology.yaml" <<'YAML'
api_version: mender/v1
kind: topology
system_type: bench
components:
  - component_type: bench
    interface: discard
YAML
cat > "$W/manifest.yaml" <<'YAML'
api_version: "mender/v1"
kind: "manifest"
name: "bench-1"
system_types_compatible: ["bench"]
component_types:
  bench: {artifact_name: bench-1, update_strategy: {order: 10}}
YAML
export MENDER_ORCHESTRATOR_CONF_DIR=$W/etc MENDER_ORCHESTRATOR_DATA_DIR=$W/share MENDER_ORCHESTRATOR_DATASTORE_DIR=$W/var

best() { # best wall seconds of RUNS runs of a command
    local b=""
    for _ in $(seq "$RUNS"); do
        local t0 t1 s
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>"$W/last.err" || { cat "$W/last.err" >&2; echo "error: $*" >&2; exit 1; }
        t1=$(date +%s.%N)
        s=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$s < $b" | bc -l)" = 1 ]; then b=$s; fi
    done
    echo "$b"
}
row() { printf "| %s | %.2f s | %.0f MiB/s |\n" "$1" "$2" "$(echo "$SIZE / 1048576 / $2" | bc -l)"; }

echo "file: $SIZE bytes ($SIZE_MIB MiB payload), best of $RUNS runs"
echo "| what | wall | throughput |"
echo "|---|---|---|"
row "curl -o /dev/null" "$(best curl -sS --fail --cacert "$W/pki/ca.pem" -o /dev/null "$URL/bench-1.mender")"
echo "{\"ArtifactRepository\": {\"URL\": \"$URL\"}, \"ServerCertificate\": \"$W/pki/ca.pem\"}" > "$W/etc/mender-orchestrator.conf"
row "mender-orchestrator install, no cache" "$(best "$MO" --log-level warning install --progress none "$W/manifest.yaml")"
echo "{\"ArtifactRepository\": {\"URL\": \"$URL\"}, \"ServerCertificate\": \"$W/pki/ca.pem\", \"ArtifactsCache\": {\"Enabled\": true}}" > "$W/etc/mender-orchestrator.conf"
cache_run() { rm -f "$W"/var/artifacts/*; "$MO" --log-level warning install --progress none "$W/manifest.yaml"; }
row "mender-orchestrator install, cache on (miss: written while streamed)" "$(best cache_run)"
"$MO" --log-level warning install --progress none "$W/manifest.yaml" >/dev/null 2>&1 # fills the cache
row "mender-orchestrator install, cache on (hit: read from the cache)" "$(best "$MO" --log-level warning install --progress none "$W/manifest.yaml")"
