#!/usr/bin/env python3
"""adminclients.py - admin clients that behave badly, for admin_clients.sh.

Python 3 standard library only; it speaks callseal-control's admin protocol
(docs/operations.md "Admin protocol (version 1)") itself. Each mode prints one
result line of key=value words (status is the END frame's, -1 when none came).

    adminclients.py ask SOCK WORD...
        one request; "status=S secs=T" then the END message on a second line
    adminclients.py trickle SOCK DELAY_S WORD...
        the request sent one byte every DELAY_S seconds, then its answer read:
        "status=S secs=T" (T from connect to END)
    adminclients.py stall SOCK MARKER
        half a request (the header and 3 of its 7 payload bytes), then nothing;
        MARKER is created once it is sent; waits (30 s at most) for the daemon
        to close: "status=S eof_after=T" (T from connect to EOF)
    adminclients.py hangup SOCK WORD...
        one request, then the connection closed without reading the answer
    adminclients.py flood SOCK N MARKER RELEASE
        N connections that send nothing; MARKER is created once all are
        connected; when the file RELEASE appears (30 s at most), each is read
        without waiting: "refused=R held=H other=O" (R: answered END EBUSY then
        closed; H: nothing yet, still open; O: anything else), then all close.
"""
import os
import select
import socket
import struct
import sys
import time

ADMIN_REQUEST, ADMIN_END = 1, 3
EBUSY = 16


def frame(words):
    payload = b"".join(w.encode() + b"\0" for w in words)
    return struct.pack(">BBHI", 1, ADMIN_REQUEST, 0, len(payload)) + payload


def connect(path, timeout=10.0):
    """Connected to path within 10 s (a full accept queue answers EAGAIN to
    a connect with a timeout: tried again); then timeout on every read."""
    deadline = time.monotonic() + 10
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10.0)
        try:
            s.connect(path)
            break
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    s.settimeout(timeout)
    return s


def end_of(data):
    """The END frame's (status, message) in data, or None."""
    while len(data) >= 8:
        _, typ, _, n = struct.unpack(">BBHI", data[:8])
        body, data = data[8:8 + n], data[8 + n:]
        if typ == ADMIN_END and len(body) >= 4:
            return struct.unpack(">I", body[:4])[0], body[4:].decode(errors="replace")
    return None


def read_to_eof(s):
    """What s sends until it closes (a reset ends it too: the daemon closed
    with our request unread, which it does when it refuses a client)."""
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return data
        if not d:
            return data
        data += d


def ask(path, words):
    t0 = time.monotonic()
    s = connect(path)
    try:
        s.sendall(frame(words))
    except OSError:
        pass            # refused at accept: the answer is there to read
    end = end_of(read_to_eof(s)) or (-1, "")
    print("status=%d secs=%.3f" % (end[0], time.monotonic() - t0))
    print(end[1])


def trickle(path, delay, words):
    t0 = time.monotonic()
    s = connect(path, 30.0)
    for b in frame(words):
        s.sendall(bytes([b]))
        time.sleep(delay)
    end = end_of(read_to_eof(s)) or (-1, "")
    print("status=%d secs=%.3f" % (end[0], time.monotonic() - t0))


def stall(path, marker):
    t0 = time.monotonic()
    s = connect(path, 30.0)
    s.sendall(frame(["status"])[:8 + 3])
    open(marker, "w").close()
    try:
        data = read_to_eof(s)
    except OSError as e:
        print("status=-1 eof_after=-1 error=%s" % e)
        return
    end = end_of(data) or (-1, "")
    print("status=%d eof_after=%.3f" % (end[0], time.monotonic() - t0))


def hangup(path, words):
    s = connect(path)
    s.sendall(frame(words))
    s.close()


def flood(path, n, marker, release):
    socks = [connect(path) for _ in range(n)]
    open(marker, "w").close()
    deadline = time.monotonic() + 30
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.02)
    refused = held = other = 0
    for s in socks:
        s.setblocking(False)
        data, eof = b"", False
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    eof = True
                    break
                data += d
        except BlockingIOError:
            pass
        except OSError:
            eof = True
        end = end_of(data)
        if eof and end is not None and end[0] == EBUSY:
            refused += 1
        elif not eof and not data:
            held += 1
        else:
            other += 1
    print("refused=%d held=%d other=%d" % (refused, held, other))
    for s in socks:
        s.close()


def main(argv):
    mode, path = argv[1], argv[2]
    if mode == "ask":
        ask(path, argv[3:])
    elif mode == "trickle":
        trickle(path, float(argv[3]), argv[4:])
    elif mode == "stall":
        stall(path, argv[3])
    elif mode == "hangup":
        hangup(path, argv[3:])
    elif mode == "flood":
        flood(path, int(argv[3]), argv[4], argv[5])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
