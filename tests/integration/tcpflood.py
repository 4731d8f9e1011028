#!/usr/bin/env python3
"""tcpflood.py - idle TCP connections to a listener, held open (calls_flood.sh).

  tcpflood.py PORT --from ADDR:N [--from ADDR:N ...] [--speak] --report FILE
              [--expect-closed K] [--hold-until FILE]

Opens N connections from each source address ADDR (a 127.0.0.x address the
kernel accepts as a local source) to 127.0.0.1:PORT, all at once, without
blocking; with --speak each sends one octet (the first of a frame length) as
soon as it is connected, so the listener no longer sees it idle. It waits
(at most 20 s) until every connect has finished, then writes one line to
FILE: "opened O failed F closed C", where closed counts connections the
listener closed by then (end of stream or reset); with --expect-closed it
first waits (at most 10 s) until K of them are closed. Then it holds every
connection until --hold-until FILE exists (or 120 s), and writes FILE.done
with the same line counted again (the listener may close more meanwhile)."""
import argparse
import errno
import os
import select
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--from", dest="sources", action="append", required=True)
    ap.add_argument("--speak", action="store_true")
    ap.add_argument("--report", required=True)
    ap.add_argument("--hold-until")
    ap.add_argument("--expect-closed", type=int, default=0)
    a = ap.parse_args()
    pending, conns, failed = {}, [], 0
    for spec in a.sources:
        addr, n = spec.rsplit(":", 1)
        for _ in range(int(n)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((addr, 0))
            rc = s.connect_ex(("127.0.0.1", a.port))
            if rc in (0, errno.EINPROGRESS):
                pending[s.fileno()] = s
            else:
                failed += 1
                s.close()
    p = select.poll()
    for fd in pending:
        p.register(fd, select.POLLOUT)
    end = time.monotonic() + 20
    while pending and time.monotonic() < end:
        for fd, _ in p.poll(200):
            s = pending.pop(fd)
            p.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                failed += 1
                s.close()
                continue
            if a.speak:
                try:
                    s.send(b"\0")
                except OSError:
                    pass
            conns.append(s)
    failed += len(pending)

    gone = set()

    def closed_now():
        for s in conns:
            if s in gone:
                continue
            try:
                if s.recv(1) == b"":
                    gone.add(s)
            except BlockingIOError:
                pass
            except OSError:
                gone.add(s)
        return len(gone)

    def closed():
        return closed_now()

    def report(path):
        with open(path + ".tmp", "w") as f:
            f.write("opened %d failed %d closed %d\n" % (len(conns), failed, closed()))
        os.rename(path + ".tmp", path)

    end = time.monotonic() + 10
    while a.expect_closed and closed_now() < a.expect_closed and time.monotonic() < end:
        time.sleep(0.02)
    report(a.report)
    if a.hold_until:
        end = time.monotonic() + 120
        while not os.path.exists(a.hold_until) and time.monotonic() < end:
            time.sleep(0.05)
        report(a.report + ".done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
