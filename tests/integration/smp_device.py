#!/usr/bin/python3
"""A test device for the mcuboot-smp Interface: an MCUmgr SMP server over the serial
framing (docs/interfaces.md) on a pty, with MCUboot's two-slot flash model.

    smp_device.py DIR --primary IMAGE [--slot-size BYTES]

It makes a pty, links DIR/tty to its device, and serves until killed. MCUboot is modelled
as in swap mode: a reset swaps in an image marked for test (after checking its SHA-256
TLV like MCUboot; an invalid one is erased), and a reset while the swapped-in image is not
confirmed swaps back (revert). Commands: image list / test / confirm (group 1 id 0),
upload (group 1 id 1, with MCUmgr's session id "sha": off 0 with the sha of the upload in
progress answers its offset), erase (group 1 id 5), echo and reset (group 0 ids 0 and 5).

The test controls it through DIR/control.json, read and removed by the device (write it
whole: a temporary file renamed), whose keys are merged into its settings:
  drop_requests N      the next N requests are lost
  drop_responses N     the next N answers are lost
  corrupt_responses N  the next N answers go out with one base64 character changed
  drop_every N, corrupt_every N   every Nth answer is lost / corrupted (a noisy line)
  drop_reset_answers N the answers to the next N resets are lost (the resets happen)
  reset_at_upload_off X  once: a reset (power glitch) when an upload reaches offset X
  hang_versions [V]    an image of version V hangs at boot (never answers, never confirms
                       itself) until the watchdog resets it hang_ms later (default 300)
  self_confirm BOOL    a swapped-in image confirms itself when it boots
  silent BOOL          the device stops answering altogether
  silent_after_event E   it stops answering once an event starting with E happens
  delay_ms N           every answer waits N ms (a slow link)
  baud N               the line's pace: a request is taken, and an answer sent, only after
                       the time its bytes take at N baud (8N1: 10 bits a byte); 0: at once
DIR/state.json, rewritten after every change, shows the slots (version, hash, confirmed,
pending), the boots, the upload in progress and the events (swap, revert, erase,
upload-start, upload-resume, reset, watchdog, ...).
"""
import argparse
import base64
import binascii
import hashlib
import json
import os
import select
import struct
import sys
import time
import tty

import cbor2

MAGIC = 0x96F3B83D


def image_info(data):
    """(version, hash from the SHA-256 TLV, valid) of an MCUboot image, or None."""
    if data is None or len(data) < 32:
        return None
    magic, _load, hdr_size, prot, img_size, _flags = struct.unpack_from("<IIHHII", data, 0)
    if magic != MAGIC:
        return None
    major, minor, rev, build = struct.unpack_from("<BBHI", data, 20)
    version = f"{major}.{minor}.{rev}" + (f".{build}" if build else "")
    o = hdr_size + img_size + prot
    if len(data) < o + 4 or struct.unpack_from("<H", data, o)[0] != 0x6907:
        return None
    end = o + struct.unpack_from("<H", data, o + 2)[0]
    t = o + 4
    while t + 4 <= end and t + 4 <= len(data):
        typ, _pad, ln = struct.unpack_from("<BBH", data, t)
        if typ == 0x10 and ln == 32:
            h = data[t + 4:t + 36]
            valid = hashlib.sha256(data[:hdr_size + img_size + prot]).digest() == h
            return version, h, valid
        t += 4 + ln
    return None


class Device:
    def __init__(self, d, primary, slot_size):
        self.dir = d
        self.slot_size = slot_size
        self.slots = [primary, None]
        self.confirmed = True       # the primary's image_ok
        self.swapped = False        # the primary came from a test swap (revert if not confirmed)
        self.pending = False        # the secondary is marked for test
        self.permanent = False
        self.upload = None          # {"sha", "len", "off", "buf"}: RAM, lost on reset
        self.boots = 1
        self.events = []
        self.cfg = {"drop_requests": 0, "drop_responses": 0, "corrupt_responses": 0,
                    "drop_every": 0, "corrupt_every": 0, "answers": 0, "drop_reset_answers": 0, "reset_at_upload_off": None,
                    "hang_versions": [], "hang_ms": 300, "self_confirm": False, "silent": False, "silent_after_event": None,
                    "delay_ms": 0, "baud": 0}
        self.quiet_until = 0.0      # booting or hanging: input is lost
        self.wakeup = None          # time of a pending reset (after an answer) or watchdog reset
        self.line = bytearray()
        self.frame = None
        self.frame_bytes = 0
        self.dirty = True
        self.last_save = 0.0
        self.requests = 0

    # --- the flash model -------------------------------------------------------------
    def event(self, what):
        self.events.append(what)
        self.dirty = True
        if self.cfg["silent_after_event"] and what.startswith(self.cfg["silent_after_event"]):
            self.cfg["silent"] = True

    def boot(self, why):
        self.upload = None
        self.boots += 1
        self.event(why)
        if self.pending:
            info = image_info(self.slots[1])
            if info and info[2]:
                self.slots = [self.slots[1], self.slots[0]]
                self.confirmed = self.permanent
                self.swapped = True
                self.event("swap")
            else:
                self.slots[1] = None
                self.event("invalid-image-erased")
            self.pending = self.permanent = False
        elif self.swapped and not self.confirmed:
            self.slots = [self.slots[1], self.slots[0]]
            self.confirmed = True
            self.swapped = False
            self.event("revert")
        now = time.monotonic()
        self.quiet_until = now + 0.05
        version = image_info(self.slots[0])[0]
        if version in self.cfg["hang_versions"]:
            self.quiet_until = now + 3600
            self.wakeup = (now + self.cfg["hang_ms"] / 1000, "watchdog")
            self.event(f"hang {version}")
        elif self.cfg["self_confirm"] and not self.confirmed:
            self.confirmed = True
            self.event("self-confirm")
        self.console(b"*** Booting Zephyr OS build v3.5.0 ***\r\n")

    # --- SMP ---------------------------------------------------------------------------
    def images(self):
        out = []
        for slot in (0, 1):
            info = image_info(self.slots[slot])
            if not info:
                continue
            out.append({"image": 0, "slot": slot, "version": info[0], "hash": info[1], "bootable": True,
                        "pending": slot == 1 and self.pending, "confirmed": slot == 0 and self.confirmed,
                        "active": slot == 0, "permanent": slot == 1 and self.permanent})
        return {"images": out, "splitStatus": 0}

    def state_write(self, req):
        h = req.get("hash")
        confirm = bool(req.get("confirm"))
        i0, i1 = image_info(self.slots[0]), image_info(self.slots[1])
        if confirm and (h is None or (i0 and h == i0[1])):
            self.confirmed = True
            self.event("confirm")
        elif i1 and h == i1[1]:
            self.pending, self.permanent = True, confirm
            self.event("permanent" if confirm else "test")
        else:
            return {"rc": 5}
        return self.images()

    def upload_chunk(self, req):
        off, data = req.get("off"), req.get("data", b"")
        u = self.upload
        if off == 0:
            sha = req.get("sha")
            if u and sha and u["sha"] == sha and u["len"] == req.get("len") and u["off"] > 0:
                self.event(f"upload-resume {u['off']}")
                return {"rc": 0, "off": u["off"]}
            length = req.get("len")
            if not isinstance(length, int) or length > self.slot_size:
                return {"rc": 3}
            self.slots[1] = None
            self.pending = self.permanent = False
            u = self.upload = {"sha": sha, "len": length, "off": 0, "buf": bytearray()}
            self.event("upload-start")
        if u is None or off != u["off"]:
            return {"rc": 0, "off": u["off"] if u else 0}
        if off + len(data) > u["len"]:
            return {"rc": 3}
        u["buf"] += data
        u["off"] += len(data)
        self.dirty = True
        at = self.cfg["reset_at_upload_off"]
        if at is not None and u["off"] >= at:
            self.cfg["reset_at_upload_off"] = None
            self.boot("reset-during-upload")
            return None
        if u["off"] == u["len"]:
            self.slots[1] = bytes(u["buf"])
            self.upload = None
            self.event("upload-done")
        return {"rc": 0, "off": off + len(data)}

    def handle(self, pkt):
        op, _flags, ln, group, seq, cid = struct.unpack_from(">BBHHBB", pkt, 0)
        try:
            req = cbor2.loads(pkt[8:8 + ln]) if ln else {}
        except Exception:
            return None
        self.requests += 1
        if group == 1 and cid == 0:
            rsp = self.images() if op == 0 else self.state_write(req)
        elif group == 1 and cid == 1 and op == 2:
            rsp = self.upload_chunk(req)
        elif group == 1 and cid == 5 and op == 2:
            self.slots[1] = None
            self.pending = self.permanent = False
            self.upload = None
            self.event("erase")
            rsp = {"rc": 0}
        elif group == 0 and cid == 0:
            rsp = {"r": req.get("d", "")}
        elif group == 0 and cid == 5 and op == 2:
            rsp = {}
            self.wakeup = (time.monotonic() + 0.02, "reset")
        else:
            rsp = {"rc": 8}
        if rsp is None:
            return None
        body = cbor2.dumps(rsp)
        return struct.pack(">BBHHBB", op + 1, 0, len(body), group, seq, cid) + body

    # --- the serial framing ------------------------------------------------------------
    def send(self, pkt):
        raw = struct.pack(">H", len(pkt) + 2) + pkt + struct.pack(">H", binascii.crc_hqx(pkt, 0))
        b64 = base64.b64encode(raw)
        if self.cfg["corrupt_responses"] > 0:
            self.cfg["corrupt_responses"] -= 1
            i = len(b64) // 2
            b64 = b64[:i] + (b"A" if b64[i:i + 1] != b"A" else b"B") + b64[i + 1:]
        out = bytearray()
        for i in range(0, len(b64), 124):
            out += (b"\x06\x09" if i == 0 else b"\x04\x14") + b64[i:i + 124] + b"\n"
        self.pace(len(out))
        self.write(bytes(out))

    def pace(self, nbytes):
        if self.cfg["baud"]:
            time.sleep(nbytes * 10 / self.cfg["baud"])

    def console(self, text):
        self.write(text)

    def write(self, data):
        try:
            os.write(self.master, data)
        except BlockingIOError:
            pass  # nobody reads the line: the bytes are lost, as on a UART

    def on_line(self, line):
        self.frame_bytes += len(line) + 1
        if line.startswith(b"\x06\x09"):
            self.frame = bytearray()
            self.frame_bytes = len(line) + 1
        elif not line.startswith(b"\x04\x14") or self.frame is None:
            return
        try:
            self.frame += base64.b64decode(bytes(line[2:]), validate=True)
        except binascii.Error:
            self.frame = None
            return
        if len(self.frame) < 2:
            return
        want = struct.unpack_from(">H", self.frame, 0)[0]
        if len(self.frame) - 2 < want:
            return
        frame, self.frame = bytes(self.frame), None
        self.pace(self.frame_bytes)
        if len(frame) - 2 != want or binascii.crc_hqx(frame[2:], 0) != 0:
            return
        self.on_packet(frame[2:-2])

    def on_packet(self, pkt):
        if len(pkt) < 8 or self.cfg["silent"] or time.monotonic() < self.quiet_until:
            return
        if self.cfg["drop_requests"] > 0:
            self.cfg["drop_requests"] -= 1
            return
        rsp = self.handle(pkt)
        if rsp is None:
            return
        if pkt[4:6] == b"\0\0" and pkt[7] == 5 and self.cfg["drop_reset_answers"] > 0:
            self.cfg["drop_reset_answers"] -= 1
            return
        self.cfg["answers"] += 1
        n = self.cfg["answers"]
        if self.cfg["drop_responses"] > 0 or (self.cfg["drop_every"] and n % self.cfg["drop_every"] == 0):
            self.cfg["drop_responses"] = max(0, self.cfg["drop_responses"] - 1)
            return
        if self.cfg["corrupt_every"] and n % self.cfg["corrupt_every"] == 0:
            self.cfg["corrupt_responses"] += 1
        if self.cfg["delay_ms"]:
            time.sleep(self.cfg["delay_ms"] / 1000)
        self.send(rsp)

    # --- the test's side ---------------------------------------------------------------
    def read_control(self):
        p = os.path.join(self.dir, "control.json")
        try:
            with open(p) as f:
                new = json.load(f)
            os.unlink(p)
        except (FileNotFoundError, ValueError):
            return
        self.cfg.update(new)
        self.event("control " + json.dumps(new, sort_keys=True))

    def save(self):
        def slot(i):
            info = image_info(self.slots[i])
            return None if not info else {"version": info[0], "hash": info[1].hex(), "valid": info[2]}
        st = {"slot0": slot(0), "slot1": slot(1), "confirmed": self.confirmed, "pending": self.pending,
              "permanent": self.permanent, "boots": self.boots, "requests": self.requests,
              "upload_off": self.upload["off"] if self.upload else None, "events": self.events}
        tmp = os.path.join(self.dir, "state.json.tmp")
        with open(tmp, "w") as f:
            json.dump(st, f)
        os.replace(tmp, os.path.join(self.dir, "state.json"))
        self.dirty = False
        self.last_save = time.monotonic()

    def serve(self):
        self.master, slave = os.openpty()
        tty.setraw(slave)  # held open: the pty lives between the Interface's calls
        os.set_blocking(self.master, False)
        link = os.path.join(self.dir, "tty")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.ttyname(slave), link)
        self.save()
        while True:
            now = time.monotonic()
            if self.wakeup and now >= self.wakeup[0]:
                why = self.wakeup[1]
                self.wakeup = None
                self.boot(why)
            self.read_control()
            if self.dirty and (time.monotonic() - self.last_save > 0.05 or self.upload is None):
                self.save()
            r, _, _ = select.select([self.master], [], [], 0.01)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                continue
            for b in data:
                if b == 0x0A:
                    self.on_line(self.line)
                    self.line = bytearray()
                elif len(self.line) < 4096:
                    self.line.append(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--primary", required=True)
    ap.add_argument("--slot-size", type=int, default=1 << 20)
    a = ap.parse_args()
    with open(a.primary, "rb") as f:
        primary = f.read()
    if not image_info(primary):
        sys.exit("smp_device: --primary is not an MCUboot image")
    Device(a.dir, primary, a.slot_size).serve()


if __name__ == "__main__":
    main()
