#!/usr/bin/env python3
"""metricsclients.py - HTTP clients of callseal-control --metrics, good and bad,
for metrics_http.sh.

Python 3 standard library only. Each mode prints one result line of key=value
words.

    metricsclients.py get URL BODY [METHOD]
        one request with urllib; the body goes to the file BODY:
        "status=S secs=T type=CONTENT-TYPE length=CONTENT-LENGTH connection=C
        allow=A" (an HTTP error status is a status too: 404, 405, ...)
    metricsclients.py raw PORT HEXBYTES
        the bytes (hex) sent as they are to 127.0.0.1:PORT, then the answer
        read to EOF: "status=S secs=T bytes=N" then the answer's first line
        and its body on the next lines
    metricsclients.py stall PORT MARKER
        connects and sends nothing; MARKER is created once connected; waits
        (30 s at most) for the daemon to close: "eof_after=T answer=B"
        (T from connect to EOF, B the bytes that came)
    metricsclients.py trickle PORT DELAY_S MARKER
        a GET /metrics sent a byte every DELAY_S seconds (its blank line never
        comes in time), until the daemon closes (30 s at most): "eof_after=T
        sent=N answer=B"
    metricsclients.py flood PORT N MARKER RELEASE
        N connections that send nothing; MARKER is created once all are
        connected; each then gets 2 s to be closed by the daemon: "refused=R
        held=H other=O" (R: answered 503 and closed; H: nothing, still open;
        O: anything else); printed once RELEASE appears (30 s at most), then
        all close.
"""
import os
import select
import socket
import sys
import time
import urllib.error
import urllib.request


def get(url, body_path, method="GET"):
    t0 = time.monotonic()
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, headers, body = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, body = e.code, e.headers, e.read()
    secs = time.monotonic() - t0
    with open(body_path, "wb") as f:
        f.write(body)
    print("status=%d secs=%.3f type=%s length=%s connection=%s allow=%s" % (
        status, secs, headers.get("Content-Type", "").replace(" ", "_"),
        headers.get("Content-Length"), headers.get("Connection"),
        (headers.get("Allow") or "").replace(" ", "_")))


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_to_eof(s, limit_s):
    """What s sends until it closes (or limit_s passes), and when it closed."""
    data, t_end = b"", time.monotonic() + limit_s
    s.setblocking(False)
    while time.monotonic() < t_end:
        r, _, _ = select.select([s], [], [], 0.05)
        if not r:
            continue
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return data, True
        except BlockingIOError:
            continue
        if not d:
            return data, True
        data += d
    return data, False


def raw(port, hexbytes):
    t0 = time.monotonic()
    s = connect(port)
    s.sendall(bytes.fromhex(hexbytes))
    data, _ = read_to_eof(s, 10)
    secs = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n")[0].decode(errors="replace")
    status = line.split(" ")[1] if line.startswith("HTTP/") else "-1"
    print("status=%s secs=%.3f bytes=%d" % (status, secs, len(data)))
    print(line)
    sys.stdout.write(body.decode(errors="replace"))


def stall(port, marker):
    t0 = time.monotonic()
    s = connect(port)
    open(marker, "w").close()
    data, _ = read_to_eof(s, 30)
    print("eof_after=%.3f answer=%d" % (time.monotonic() - t0, len(data)))


def trickle(port, delay, marker):
    msg = b"GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: a-slow-one\r\n\r\n"
    t0 = time.monotonic()
    s = connect(port)
    open(marker, "w").close()
    sent, data, closed = 0, b"", False
    while not closed and time.monotonic() - t0 < 30 and sent < len(msg) - 1:
        try:
            s.send(msg[sent:sent + 1])
            sent += 1
        except OSError:          # reset: the daemon closed
            closed = True
            break
        d, closed = read_to_eof(s, delay)
        data += d
    print("eof_after=%.3f sent=%d answer=%d" % (time.monotonic() - t0, sent, len(data)))


def flood(port, n, marker, release):
    conns = [connect(port) for _ in range(n)]
    open(marker, "w").close()
    got = {s: b"" for s in conns}
    closed = set()
    t_end = time.monotonic() + 2
    for s in conns:
        s.setblocking(False)
    while len(closed) < n and time.monotonic() < t_end:
        r, _, _ = select.select([s for s in conns if s not in closed], [], [], 0.05)
        for s in r:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                d = b""
            except BlockingIOError:
                continue
            if d:
                got[s] += d
            else:
                closed.add(s)
    refused = sum(1 for s in closed if got[s].startswith(b"HTTP/1.1 503 "))
    held = sum(1 for s in conns if s not in closed and not got[s])
    t_end = time.monotonic() + 30
    while not os.path.exists(release) and time.monotonic() < t_end:
        time.sleep(0.05)
    print("refused=%d held=%d other=%d" % (refused, held, n - refused - held))
    for s in conns:
        s.close()


def main(argv):
    mode = argv[1]
    if mode == "get":
        get(argv[2], argv[3], *(argv[4:5]))
    elif mode == "raw":
        raw(int(argv[2]), argv[3])
    elif mode == "stall":
        stall(int(argv[2]), argv[3])
    elif mode == "trickle":
        trickle(int(argv[2]), float(argv[3]), argv[4])
    elif mode == "flood":
        flood(int(argv[2]), int(argv[3]), argv[4], argv[5])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
