"""A real nginx (Debian's) serving an Artifact repository over HTTPS on a loopback port,
certificates made at test time with openssl, and a TCP proxy that cuts a transfer."""
import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc=None, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _ossl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """ca.pem signs server.pem (127.0.0.1, localhost) and client.pem; other-ca.pem signs
    other-server.pem, a server certificate nobody trusts."""

    def __init__(self, d):
        self.dir = pathlib.Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        for ca in ("ca", "other-ca"):
            _ossl(self.dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN=mo test {ca}")
        self._leaf("server", "ca", server=True)
        self._leaf("other-server", "other-ca", server=True)
        self._leaf("client", "ca", server=False)

    def _leaf(self, name, ca, server):
        _ossl(self.dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
              f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={'127.0.0.1' if server else 'device-1'}")
        ext = self.dir / f"{name}.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" if server
                       else "extendedKeyUsage=clientAuth\n")
        _ossl(self.dir, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
              "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name)

    def path(self, name):
        return self.dir / name


class Nginx:
    """nginx in the foreground (daemon off, master_process off), its own prefix, config,
    pid and logs under base. access.log lines: METHOD URI STATUS BYTES "RANGE"."""

    def __init__(self, base, root, pki, cert="server", client_ca=False, limit_rate=None):
        self.base = pathlib.Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.root = pathlib.Path(root)
        self.port = free_port()
        verify = (f"ssl_client_certificate {pki.path('ca.pem')};\n        ssl_verify_client on;"
                  if client_ca else "")
        rate = f"limit_rate {limit_rate};" if limit_rate else ""
        conf = f"""
daemon off;
master_process off;
worker_processes 1;
pid {self.base}/nginx.pid;
error_log {self.base}/error.log info;
events {{ worker_connections 64; }}
http {{
    log_format mo '$request_method $uri $status $body_bytes_sent "$http_range"';
    access_log {self.base}/access.log mo;
    client_body_temp_path {self.base}/body;
    proxy_temp_path {self.base}/proxy;
    fastcgi_temp_path {self.base}/fastcgi;
    uwsgi_temp_path {self.base}/uwsgi;
    scgi_temp_path {self.base}/scgi;
    types {{ application/json json; }}
    default_type application/octet-stream;
    sendfile on;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {pki.path(cert + '.pem')};
        ssl_certificate_key {pki.path(cert + '.key')};
        {verify}
        root {self.root};
        {rate}
    }}
}}
"""
        self.conf = self.base / "nginx.conf"
        self.conf.write_text(conf)
        self.proc = subprocess.Popen([NGINX, "-p", str(self.base), "-e", str(self.base / "error.log"), "-c",
                                      str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(self.port, self.proc)
        except Exception:
            self.stop()
            raise
        self.url = f"https://127.0.0.1:{self.port}"

    def requests(self):
        """[(method, uri, status, bytes, range)] from the access log."""
        log = self.base / "access.log"
        if not log.exists():
            return []
        out = []
        for line in log.read_text().splitlines():
            m, uri, status, n, rng = line.split(" ", 4)
            out.append((m, uri, int(status), int(n), rng.strip('"')))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class CuttingProxy:
    """Forwards TCP to a port. The connections numbered in `cut` (1-based, in accept
    order; every download opens its own) are dropped after `after` bytes from the
    server: a broken transfer. The others pass whole."""

    def __init__(self, target_port, after, cut=()):
        self.target = target_port
        self.after = after
        self.cut = set(cut)
        self.accepted = 0
        self.cut_count = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(c, self.accepted in self.cut), daemon=True).start()

    def _serve(self, client, cut_this):
        try:
            up = socket.create_connection(("127.0.0.1", self.target))
        except OSError:
            client.close()
            return
        state = {"down": 0}

        def pump(src, dst, downstream):
            try:
                while True:
                    b = src.recv(65536)
                    if not b:
                        break
                    if downstream:
                        cut = cut_this and state["down"] + len(b) > self.after
                        if cut:
                            with self.lock:
                                self.cut_count += 1
                            dst.sendall(b[: max(0, self.after - state["down"])])
                            break
                        state["down"] += len(b)
                    dst.sendall(b)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(client, up, False), daemon=True)
        t.start()
        pump(up, client, True)
        t.join(5)
        client.close()
        up.close()

    def stop(self):
        self.stopped = True
        self.sock.close()
