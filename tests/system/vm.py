"""The gateway VM of the system tests: QEMU (x86_64, TCG, one CPU, OVMF), the disk a qcow2
overlay over the cached image (tests/system/build-image.sh), the serial console appended to
console.log, and the test agent (tests/system/guest/mo-agent) on the second serial port, a
Unix socket here.

    vm = Gateway(workdir, image_dir)
    vm.start(releases=path_to_an_ext4_image)   # attached read-only as /dev/vdb
    vm.wait_up()                               # the agent answers: the boot is over
    rc, out = vm.run("mender-orchestrator show-provides")
    vm.kill()                                  # SIGKILL: a power cut

Every wait has a generous limit (the machine is shared and TCG is slow): a limit reached is
a failure with the console's last lines, never a measurement."""
import base64
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
BOOT_LIMIT = float(os.environ.get("MO_SYSTEM_BOOT_LIMIT", "900"))


class GatewayError(Exception):
    pass


class Gateway:
    def __init__(self, workdir, image_dir, memory_mib=768, backing=None):
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.image = pathlib.Path(image_dir)
        self.disk = self.dir / "disk.qcow2"
        self.vars = self.dir / "OVMF_VARS.fd"
        self.console = self.dir / "console.log"
        self.sock_path = self.dir / "agent.sock"
        self.memory = memory_mib
        self.proc = None
        self.sock = None
        self.buf = b""
        self.next_id = 1
        self.boots = 0  # QEMU starts
        # a host port on 127.0.0.1 the guest reaches as 10.0.2.2 (QEMU's user-mode network;
        # guestfwd would carry one connection only, and the client opens several at once);
        # None: no network card
        self.server_port = None
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2",
                        "-b", str(backing or self.image / "disk.qcow2"), str(self.disk)], check=True)
        shutil.copyfile(OVMF_VARS, self.vars)

    # --- the QEMU process
    def start(self, releases=None):
        assert self.proc is None or self.proc.poll() is not None
        self.close_sock()
        if self.sock_path.exists():
            self.sock_path.unlink()
        args = ["nice", "-n", "10", "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
                "-smp", "1", "-m", str(self.memory), "-nodefaults", "-no-user-config",
                "-display", "none", "-monitor", "none",
                "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={self.vars}",
                "-drive", f"if=virtio,format=qcow2,file={self.disk}",
                "-chardev", f"file,id=con,path={self.console},append=on",
                "-serial", "chardev:con",
                "-chardev", f"socket,id=agent,path={self.sock_path},server=on,wait=off",
                "-serial", "chardev:agent"]
        if releases:
            args += ["-drive", f"if=virtio,format=raw,readonly=on,file={releases}"]
        if self.server_port:
            args += ["-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0"]
        else:
            args += ["-nic", "none"]
        with open(self.console, "ab") as c:
            c.write(f"\n===== test: QEMU start {self.boots + 1}\n".encode())
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "qemu.stderr", "ab"))
        self.boots += 1
        self.releases = releases
        deadline = time.monotonic() + 30
        while not self.sock_path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise GatewayError(f"QEMU did not start: {(self.dir / 'qemu.stderr').read_text()}")
            time.sleep(0.1)

    def kill(self):
        """A power cut: SIGKILL to QEMU, nothing flushed beyond what the guest flushed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.close_sock()

    def poweroff(self, limit=600):
        """A clean shutdown: the disk can then back another VM."""
        self.run("systemd-run --no-block sh -c 'sleep 1; poweroff'")
        try:
            self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            raise GatewayError(f"no poweroff:\n{self.console_tail()}")
        self.close_sock()

    def stop(self):
        """At the end of a test: the guest's disk is thrown away, so a power cut is fine."""
        self.kill()

    def restart(self):
        self.kill()
        self.start(self.releases)

    # --- the console
    def console_text(self):
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def console_tail(self, n=40):
        return "\n".join(self.console_text().splitlines()[-n:])

    def wait_console(self, text, start=0, limit=BOOT_LIMIT):
        """Waits until TEXT appears in the console after offset START; returns the offset
        after it."""
        deadline = time.monotonic() + limit
        while True:
            c = self.console_text()
            i = c.find(text, start)
            if i >= 0:
                return i + len(text)
            if self.proc.poll() is not None:
                raise GatewayError(f"QEMU exited while waiting for {text!r}:\n{self.console_tail()}")
            if time.monotonic() > deadline:
                raise GatewayError(f"no {text!r} on the console:\n{self.console_tail()}")
            time.sleep(0.5)

    def console_offset(self):
        return len(self.console_text())

    # --- the agent
    def close_sock(self):
        if self.sock:
            self.sock.close()
        self.sock = None
        self.buf = b""

    def _connect(self, deadline):
        while self.sock is None:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(str(self.sock_path))
                self.sock = s
            except OSError:
                if time.monotonic() > deadline:
                    raise GatewayError("cannot connect to the agent's socket")
                time.sleep(0.5)

    def _send(self, cmd, deadline=None):
        """Sends request CMD; returns its id. While no agent reads the port (a long boot),
        the requests wait in QEMU's and the socket's buffers, and once those are full the
        send blocks: until DEADLINE (default: as long as it takes)."""
        rid = self.next_id
        self.next_id += 1
        line = f"{rid} {base64.b64encode(cmd.encode()).decode()}\n"
        self.sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 0.1))
        try:
            self.sock.sendall(line.encode())
        except socket.timeout:
            raise GatewayError(f"the agent did not read its port:\n{self.console_tail()}")
        return rid

    def _answer(self, rid, deadline):
        """The answer to request RID, or None when DEADLINE passes first."""
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                parts = line.decode(errors="replace").strip().split(" ")
                if len(parts) >= 3 and parts[0] == "RESULT" and parts[1] == str(rid):
                    out = base64.b64decode(parts[3]) if len(parts) > 3 else b""
                    return int(parts[2]), out.decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.proc.poll() is not None:
                raise GatewayError(f"QEMU exited:\n{self.console_tail()}")
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise GatewayError("the agent's socket closed")
            self.buf += data

    def wait_up(self, limit=BOOT_LIMIT):
        """Waits until the agent answers (it starts when the boot, the orchestrator's
        boot-time resume included, is over); returns the boot id."""
        deadline = time.monotonic() + limit
        self._connect(deadline)
        while True:
            rid = self._send("cat /proc/sys/kernel/random/boot_id", deadline)
            ans = self._answer(rid, min(deadline, time.monotonic() + 5))
            if ans is not None and ans[0] == 0:
                self.buf = b""
                return ans[1].strip()
            if time.monotonic() > deadline:
                raise GatewayError(f"the gateway did not come up:\n{self.console_tail()}")

    def run(self, cmd, limit=1800):
        """Runs CMD (sh -c) in the guest; returns (exit status, stdout+stderr)."""
        if self.sock is None:
            raise GatewayError("not connected: wait_up() first")
        rid = self._send(cmd)
        ans = self._answer(rid, time.monotonic() + limit)
        if ans is None:
            raise GatewayError(f"no answer to {cmd!r}:\n{self.console_tail()}")
        return ans

    def check(self, cmd, limit=1800):
        rc, out = self.run(cmd, limit)
        if rc != 0:
            raise GatewayError(f"{cmd!r} exited {rc}:\n{out}")
        return out
