"""A stand-in for a Mender server's device API, enough for Debian's Mender Client 3.4 in
daemon mode (scenario f of tests/system/test_gateway.py): the gateway's client
authenticates, sends its inventory, polls for a deployment, downloads the Artifact and
reports each status, as it would to hosted Mender. It runs in the test process on
127.0.0.1; the VM reaches it as 10.0.2.2 (QEMU's user-mode network), on the port the
test writes into the client's configuration.

    server = MenderServer(artifacts_dir)
    server.deploy("system-v2.mender", "system-v2")   # the next poll gets it
    server.wait_final(dep_id)                        # "success" or "failure"

Every request is accepted (no signature or token is checked: this is a test double of the
server, not of its security). Each deployment is offered until the client reports a final
status for it, as the real server does."""
import http.server
import json
import pathlib
import re
import threading
import time
import uuid

FINAL = ("success", "failure", "already-installed", "noartifact")


class MenderServer:
    def __init__(self, artifacts_dir):
        self.dir = pathlib.Path(artifacts_dir)
        self.lock = threading.Condition()
        self.pending = None  # the deployment offered: {"id", "artifact_name", "file"}
        self.statuses = {}  # deployment id -> [status, ...] as the client reported them
        self.logs = {}  # deployment id -> the deployment log the client sent on failure
        self.requests = []  # "METHOD path" of every request, in order
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or ""):
                    data = b""  # the client sends some bodies (the inventory) chunked
                    while True:
                        n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if n == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return data
                        data += self.rfile.read(n)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def reply(self, code, data=b"", ctype="application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            def do_POST(self):
                server.handle(self, "POST")

            def do_PUT(self):
                server.handle(self, "PUT")

            def do_PATCH(self):
                server.handle(self, "PATCH")

            def do_GET(self):
                server.handle(self, "GET")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- what a test does
    def deploy(self, file_name, artifact_name):
        """Offers the Artifact FILE_NAME (in the artifacts folder) to the device; returns the
        deployment id."""
        with self.lock:
            dep = {"id": str(uuid.uuid4()), "artifact_name": artifact_name, "file": file_name}
            self.pending = dep
            self.statuses[dep["id"]] = []
            return dep["id"]

    def wait_final(self, dep_id, limit=2400):
        """Waits until the client reported a final status of deployment DEP_ID; returns it."""
        deadline = time.monotonic() + limit
        with self.lock:
            while True:
                done = [s for s in self.statuses[dep_id] if s in FINAL]
                if done:
                    return done[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"deployment {dep_id}: no final status, only {self.statuses[dep_id]}")
                self.lock.wait(min(left, 5))

    # --- the device API
    def handle(self, h, method):
        path = h.path.split("?", 1)[0]
        data = h.body()
        with self.lock:
            self.requests.append(f"{method} {path}")
        if path == "/api/devices/v1/authentication/auth_requests" and method == "POST":
            return h.reply(200, b"test.device.token", "application/jwt")
        if path == "/api/devices/v1/inventory/device/attributes":
            return h.reply(200)
        if path == "/api/devices/v1/deployments/device/deployments/next":
            with self.lock:
                dep = self.pending
            if dep is None:
                return h.reply(204)
            answer = {"id": dep["id"], "artifact": {
                "artifact_name": dep["artifact_name"], "device_types_compatible": ["gateway-system"],
                "source": {"uri": f"http://{h.headers['Host']}/artifacts/{dep['file']}", "expire": ""}}}
            return h.reply(200, json.dumps(answer).encode())
        m = re.fullmatch(r"/api/devices/v1/deployments/device/deployments/([^/]+)/(status|log)", path)
        if m and method == "PUT":
            dep_id, what = m.groups()
            with self.lock:
                if what == "status":
                    status = json.loads(data or b"{}").get("status", "")
                    self.statuses.setdefault(dep_id, []).append(status)
                    if status in FINAL and self.pending and self.pending["id"] == dep_id:
                        self.pending = None
                    self.lock.notify_all()
                else:
                    self.logs[dep_id] = data.decode(errors="replace")
            return h.reply(204)
        m = re.fullmatch(r"/artifacts/([^/]+)", path)
        if m and method == "GET":
            f = self.dir / m.group(1)
            if not f.is_file():
                return h.reply(404)
            return h.reply(200, f.read_bytes(), "application/vnd.mender-artifact")
        # the v2 endpoints (update control maps) are not served: the client falls back to v1
        return h.reply(404)
