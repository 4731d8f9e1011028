#!/usr/bin/env python3
"""admindrive.py - drives calls_attack.sh's many-dial loops in one process.

Python 3 standard library only. It speaks callseal-control's admin protocol
(docs/operations.md "Admin protocol (version 1)") itself, so a dial costs no
callsealctl process, and reads the key tables itself (read-only, the layout of
include/callseal/keytable.h), so a check costs no callseal-keytable-dump.

    admindrive.py tables NAME...

For each /dev/shm/callseal.NAME: "NAME COUNT LIVE" (the header's count of live
entries, and the number of slots whose state is LIVE).

    admindrive.py sweep --x SOCK NAME TABLE --y SOCK NAME TABLE --plan FILE
                        --status DIR --target PORT --mask M --dir c2s:176
                        [--dir s2c:144] --reasons FILE [--ctl CALLSEALCTL]
                        [--ctl-every N]

For every octet of each --dir (direction:octets) in turn: point the relay
(tcpmitm.py, plan file FILE, status directory DIR) at 127.0.0.1:PORT with that
octet XORed with M, have X dial alice -> bob@fabrikam, and check what
calls_attack.sh's sweep checks: the dial fails with a reason ("call ID failed:
REASON"), then (within 5 s) neither X nor Y lists a call or attempt and
neither table holds an entry, and the relay did flip that octet. Every N-th
dial (--ctl-every, with --ctl) goes through callsealctl instead, which must
exit non-zero with the reason on stderr. Each failed check is printed as a
TAP comment line ("# ..."); the reasons (call ids replaced by ID) go to
FILE (--reasons), one a line; the last line printed is
    result RUNS BAD_FLIP BAD_DIAL BAD_LEFT CTL_DIALS

    admindrive.py ready --x SOCK NAME TABLE --y SOCK NAME TABLE --plan FILE
                        --status DIR --target PORT --mask M --from A --to B

For each caller -> callee octet A..B-1 (the caller's READY): that octet XORed
with M, X dials, and then (within 5 s) nothing may be left on either side; a
call left behind is printed and ended. Last line: "result RUNS BAD_LEFT".
"""
import argparse
import json
import mmap
import os
import re
import struct
import subprocess
import socket
import sys
import time



def keytable_abi():
    """KEYTABLE_MAGIC and KEYTABLE_ABI_VERSION, read from the ABI header itself
    (include/callseal/keytable.h), so this reader follows every ABI bump."""
    hdr = os.path.join(os.environ.get("CALLSEAL_SRCDIR",
                                      os.path.join(os.path.dirname(__file__), "..", "..")),
                       "include", "callseal", "keytable.h")
    text = open(hdr).read()
    magic = re.search(r"#define KEYTABLE_MAGIC\s+UINT64_C\((0x[0-9A-Fa-f]+)\)", text)
    abi = re.search(r"#define KEYTABLE_ABI_VERSION\s+(\d+)u", text)
    return int(magic.group(1), 16), int(abi.group(1))


KEYTABLE_MAGIC, KEYTABLE_ABI_VERSION = keytable_abi()
STATE_OFFSET = 32          # struct keytable_entry.state
COUNT_OFFSET = 80          # struct keytable_header.count

ADMIN_REQUEST, ADMIN_DATA, ADMIN_END = 1, 2, 3


def admin(sock, *words, timeout=15.0):
    """One admin request; returns (END status, output text, END message)."""
    payload = b"".join(w.encode() + b"\0" for w in words)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall(struct.pack(">BBHI", 1, ADMIN_REQUEST, 0, len(payload)) + payload)
        buf, out = b"", b""
        while True:
            while len(buf) >= 8:
                ver, typ, _, ln = struct.unpack(">BBHI", buf[:8])
                if ver != 1:
                    raise OSError("admin reply of version %d" % ver)
                if len(buf) < 8 + ln:
                    break
                body, buf = buf[8:8 + ln], buf[8 + ln:]
                if typ == ADMIN_DATA:
                    out += body
                elif typ == ADMIN_END:
                    st = struct.unpack(">I", body[:4])[0]
                    return st, out.decode(errors="replace"), body[4:].decode(errors="replace")
                else:
                    raise OSError("admin reply frame of type %d" % typ)
            d = s.recv(65536)
            if not d:
                raise OSError("the daemon closed the connection without END")
            buf += d
    finally:
        s.close()


def table(name):
    """(header count, slots in state LIVE) of /dev/shm/callseal.NAME."""
    with open("/dev/shm/callseal." + name, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    try:
        magic, abi, hsize, esize, _cap, bits = struct.unpack_from("=QIIIII", m, 0)
        if magic != KEYTABLE_MAGIC or abi != KEYTABLE_ABI_VERSION:
            raise ValueError("callseal.%s: magic %#x, ABI %d" % (name, magic, abi))
        count = struct.unpack_from("=I", m, COUNT_OFFSET)[0]
        live = sum(1 for i in range(1 << bits) if m[hsize + i * esize + STATE_OFFSET] != 0)
        return count, live
    finally:
        m.close()


class Daemon:
    def __init__(self, spec):
        self.sock, self.name, self.table = spec

    def calls(self):
        st, out, msg = admin(self.sock, "call", "list", "--json")
        if st != 0:
            raise OSError("%s: call list: status %d %s" % (self.name, st, msg))
        return json.loads(out)

    def entries(self):
        count, live = table(self.table)
        return max(count, live)

    def describe(self):
        return "%s %d calls %d entries" % (self.name, len(self.calls()), self.entries())


def quiet(*daemons):
    """No call (not even an attempt) on these daemons, their tables empty."""
    return all(not d.calls() and d.entries() == 0 for d in daemons)


def wait_quiet(daemons, deadline_s=5.0):
    end, pause = time.monotonic() + deadline_s, 0.002
    while True:
        if quiet(*daemons):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def set_plan(path, plan):
    with open(path + ".tmp", "w") as f:
        f.write(json.dumps(plan) + "\n")
    os.replace(path + ".tmp", path)


def diag(msg):
    print("# " + msg, flush=True)


ID_RE = re.compile(r"[0-9a-f]{16}")
FAILED_RE = re.compile(r"^.*call [0-9a-f]* failed: (.*)$", re.M)


def dial(args, x, via_ctl):
    """X dials alice -> bob@fabrikam: (exit-or-status, reason, text)."""
    words = ("call", "dial", "--from", "alice", "--to", "bob@fabrikam")
    if via_ctl:
        p = subprocess.run([args.ctl, "--admin", x.sock] + list(words), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        st, out, err = p.returncode, p.stdout, p.stderr
    else:
        st, out, err = admin(x.sock, *words)
    m = FAILED_RE.search(err)
    return st, m.group(1) if m else "", out, err


def end_calls(d, out=""):
    ids = set(re.findall(r"^call id: (\S+)$", out, re.M))
    ids.update(c["id"] for c in d.calls())
    for i in ids:
        admin(d.sock, "call", "end", i)


def sweep(args):
    x, y = Daemon(args.x), Daemon(args.y)
    runs = bad_flip = bad_dial = bad_left = ctl_dials = 0
    with open(args.reasons, "w") as reasons:
        for spec in args.dir:
            d, total = spec.split(":")
            for n in range(int(total)):
                runs += 1
                tag = "f%d-%s-%d" % (args.mask, d, n)
                set_plan(args.plan, {"tag": tag, "target": args.target,
                                     "flip": {"dir": d, "offset": n, "mask": args.mask}})
                via_ctl = bool(args.ctl) and args.ctl_every > 0 and runs % args.ctl_every == 1
                ctl_dials += via_ctl
                st, reason, out, err = dial(args, x, via_ctl)
                if st == 0 or not reason:
                    bad_dial += 1
                    diag("mask %d %s offset %d: call dial %s %d: %s" % (
                        args.mask, d, n, "exit" if via_ctl else "status", st,
                        (out + err).replace("\n", " ")))
                    end_calls(x, out)
                reasons.write(ID_RE.sub("ID", reason) + "\n")
                if not wait_quiet((x, y)):
                    bad_left += 1
                    diag("mask %d %s offset %d: left behind: %s, %s" % (
                        args.mask, d, n, x.describe(), y.describe()))
                try:
                    with open(os.path.join(args.status, tag + ".json")) as f:
                        flipped = json.load(f).get("flipped") is True
                except (OSError, ValueError):
                    flipped = False
                if not flipped:
                    bad_flip += 1
                    diag("mask %d %s offset %d: the relay did not reach the octet" % (args.mask, d, n))
    print("result %d %d %d %d %d" % (runs, bad_flip, bad_dial, bad_left, ctl_dials), flush=True)


def ready(args):
    x, y = Daemon(args.x), Daemon(args.y)
    runs = bad_left = 0
    for n in range(args.start, args.stop):
        runs += 1
        set_plan(args.plan, {"tag": "ready-%d" % n, "target": args.target,
                             "flip": {"dir": "c2s", "offset": n, "mask": args.mask}})
        _st, _reason, out, _err = dial(args, x, False)
        if not wait_quiet((x, y)):
            bad_left += 1
            diag("READY octet %d: left: %s, %s" % (n, x.describe(), y.describe()))
            end_calls(x, out)
            end_calls(y)
    print("result %d %d" % (runs, bad_left), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tables")
    t.add_argument("names", nargs="+")
    for name in ("sweep", "ready"):
        p = sub.add_parser(name)
        p.add_argument("--x", nargs=3, required=True, metavar=("SOCK", "NAME", "TABLE"))
        p.add_argument("--y", nargs=3, required=True, metavar=("SOCK", "NAME", "TABLE"))
        p.add_argument("--plan", required=True)
        p.add_argument("--status", required=True)
        p.add_argument("--target", type=int, required=True)
        p.add_argument("--mask", type=int, required=True)
        p.add_argument("--ctl")
        if name == "sweep":
            p.add_argument("--dir", action="append", required=True)
            p.add_argument("--reasons", required=True)
            p.add_argument("--ctl-every", type=int, default=0)
        else:
            p.add_argument("--from", dest="start", type=int, required=True)
            p.add_argument("--to", dest="stop", type=int, required=True)
    args = ap.parse_args()
    if args.cmd == "tables":
        for n in args.names:
            print("%s %d %d" % ((n,) + table(n)))
    elif args.cmd == "sweep":
        sweep(args)
    else:
        ready(args)


if __name__ == "__main__":
    main()
