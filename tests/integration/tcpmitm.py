#!/usr/bin/env python3
"""tcpmitm.py - an active attacker on callseal/1's TCP path, for calls_attack.sh.

Python 3 standard library only; 127.0.0.1 only.

    tcpmitm.py proxy --port-file FILE --plan PLAN --status DIR

A TCP relay on 127.0.0.1 (an ephemeral port, written to FILE). At every
accepted connection it reads PLAN, a JSON object, afresh:

    {"tag": "t1",             name of this connection's status file DIR/t1.json
     "target": 40123,         127.0.0.1 port to relay to
     "flip": {"dir": "c2s", "offset": 57, "mask": 255},
                              optional: XOR the octet at that offset of that
                              direction's stream (c2s: caller -> callee) with mask
     "cut": {"dir": "s2c", "after": 144},
                              optional: once that direction has passed that
                              many octets, drop the connection both ways (what
                              either side sends afterwards is lost)
     "record": "/path",       optional: write the caller -> callee octets there
     "dial": ["argv", ...]}   optional: run this command when the connection
                              arrives (the man in the middle dials the real
                              callee itself); its output goes to DIR/TAG.dial.out
                              and its exit status to DIR/TAG.dial.rc

DIR/TAG.json is rewritten (atomically) after every relayed chunk:
    {"c2s": octets, "s2c": octets, "flipped": bool, "closed": bool,
     "frames": {"c2s": [[offset, length, type], ...], "s2c": [...]}}
(frames: the callseal/1 frames as they were received, before any flip).
A half close is passed on as a half close, so either end sees the other close.

    tcpmitm.py client --port P [--hex HEX | --file F | --random N --seed S]
                      [--close] [--wait SECONDS] [--marker FILE]

Connects to 127.0.0.1:P, sends the octets, then with --close shuts down its
sending side (the peer sees end of stream), else keeps the connection open
sending nothing more. It writes FILE (--marker) once the octets are sent, then
reads until the peer closes or --wait seconds pass, and prints one JSON line:
    {"sent": n, "eof_after_s": seconds or null, "reset": bool, "received_hex": "..."}
(eof_after_s counts from the moment the octets were sent.)
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


class Relay:
    def __init__(self, conn, plan, status_dir):
        self.a = conn
        self.plan = plan
        self.tag = str(plan.get("tag", "conn"))
        self.path = os.path.join(status_dir, self.tag + ".json")
        self.status_dir = status_dir
        self.lock = threading.Lock()
        self.n = {"c2s": 0, "s2c": 0}
        self.frames = {"c2s": [], "s2c": []}
        self.fbuf = {"c2s": b"", "s2c": b""}
        self.fpos = {"c2s": 0, "s2c": 0}
        self.flipped = False
        self.closed = False
        self.cut = False
        self.b = None
        self.rec = open(plan["record"], "wb") if plan.get("record") else None

    def save(self):
        write_json(self.path, {"c2s": self.n["c2s"], "s2c": self.n["s2c"],
                               "flipped": self.flipped, "closed": self.closed,
                               "frames": self.frames})

    def parse_frames(self, d, data):
        if self.fpos[d] < 0:
            return          # gave up on this direction (an invalid length)
        buf = self.fbuf[d] + data
        while len(buf) >= 2:
            ln = buf[0] << 8 | buf[1]
            if ln == 0 or ln > 1024:
                self.frames[d].append([self.fpos[d], ln, buf[2] if len(buf) > 2 else -1])
                self.fpos[d], buf = -1, b""
                break
            if len(buf) < 2 + ln:
                break
            self.frames[d].append([self.fpos[d], ln, buf[2]])
            buf = buf[2 + ln:]
            self.fpos[d] += 2 + ln
        self.fbuf[d] = buf

    def pump(self, src, dst, d):
        fl = self.plan.get("flip")
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    start = self.n[d]
                    self.n[d] += len(data)
                    self.parse_frames(d, data)
                    if d == "c2s" and self.rec:
                        self.rec.write(data)
                        self.rec.flush()
                    if fl and fl["dir"] == d and start <= fl["offset"] < start + len(data):
                        b = bytearray(data)
                        b[fl["offset"] - start] ^= fl.get("mask", 0xFF)
                        data = bytes(b)
                        self.flipped = True
                    self.save()
                    cut = self.plan.get("cut")
                    if self.cut or (cut and cut["dir"] == d and self.n[d] >= cut["after"]):
                        # pass on what reached the limit, then drop the connection:
                        # nothing more in either direction
                        if not self.cut:
                            dst.sendall(data[:len(data) - (self.n[d] - cut["after"])])
                        self.cut = True
                        for x in (self.a, self.b):
                            try:
                                x.shutdown(socket.SHUT_RDWR)
                            except OSError:
                                pass
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def reap(self, dial, out):
        rc = dial.wait()
        out.close()
        write_json(os.path.join(self.status_dir, self.tag + ".dial.rc"), rc)

    def run(self):
        try:
            b = socket.create_connection(("127.0.0.1", int(self.plan["target"])), timeout=5)
            b.settimeout(None)
            self.b = b
        except OSError:
            self.a.close()
            return
        with self.lock:
            self.save()
        if self.plan.get("dial"):
            out = open(os.path.join(self.status_dir, self.tag + ".dial.out"), "w")
            dial = subprocess.Popen(self.plan["dial"], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            threading.Thread(target=self.reap, args=(dial, out), daemon=True).start()
        t1 = threading.Thread(target=self.pump, args=(self.a, b, "c2s"), daemon=True)
        t2 = threading.Thread(target=self.pump, args=(b, self.a, "s2c"), daemon=True)
        t1.start()
        t2.start()
        t1.join()
        t2.join()
        self.a.close()
        b.close()
        if self.rec:
            self.rec.close()
        with self.lock:
            self.closed = True
            self.save()


def proxy(args):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.replace(tmp, args.port_file)
    while True:
        conn, _ = ls.accept()
        try:
            with open(args.plan) as f:
                plan = json.load(f)
        except (OSError, ValueError) as e:
            print("tcpmitm: bad plan: %s" % e, file=sys.stderr, flush=True)
            conn.close()
            continue
        threading.Thread(target=Relay(conn, plan, args.status).run, daemon=True).start()


def client(args):
    if args.hex is not None:
        data = bytes.fromhex(args.hex)
    elif args.file:
        with open(args.file, "rb") as f:
            data = f.read()
    else:
        rnd = random.Random(args.seed)
        data = bytes(rnd.randrange(256) for _ in range(args.random))
    s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
    s.sendall(data)
    if args.close:
        s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    if args.marker:
        with open(args.marker, "w") as f:
            f.write("sent\n")
    got, eof, reset = b"", None, False
    s.settimeout(0.05)
    while time.monotonic() - t0 < args.wait:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            reset, eof = True, time.monotonic() - t0
            break
        if not d:
            eof = time.monotonic() - t0
            break
        got += d
    s.close()
    print(json.dumps({"sent": len(data), "eof_after_s": None if eof is None else round(eof, 3),
                      "reset": reset, "received_hex": got.hex()}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("proxy")
    p.add_argument("--port-file", required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--status", required=True)
    c = sub.add_parser("client")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--hex")
    c.add_argument("--file")
    c.add_argument("--random", type=int, default=0)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--close", action="store_true")
    c.add_argument("--wait", type=float, default=5.0)
    c.add_argument("--marker")
    args = ap.parse_args()
    if args.cmd == "proxy":
        proxy(args)
    else:
        client(args)


if __name__ == "__main__":
    main()
