#!/usr/bin/env python3
"""rtpengine_ng.py - drive rtpengine as a live SRTP peer for tests/integration/rtpengine.sh.

Standard library only. Subcommands (each prints one JSON line on success):

  ping   --ng HOST:PORT [--deadline S]
      Send rtpengine's ng "ping" until it answers "pong" (its start-up check).

  call   --ng HOST:PORT --call-id ID --suite SUITE --inline B64
         --savp ADDR:PORT --plain ADDR:PORT
      One call through rtpengine, ng protocol (bencode over UDP, each message
      "COOKIE <bencoded dict>"): the SRTP side (--savp, callseal) offers
      RTP/SAVP with one SDES line (RFC 4568 section 9.1)
      "a=crypto:1 SUITE inline:B64", asking rtpengine for "transport-protocol"
      RTP/AVP towards the plain side (--plain); the plain side answers RTP/AVP,
      and rtpengine's answer to the SRTP side is RTP/SAVP with its own SDES
      line (the key it encrypts with). Both sides offer and answer PCMU,
      PCMA, 96 and 111 (the payload types callseal-rtpgen uses) and RTCP on
      the RTP port (a=rtcp-mux, RFC 5761). Prints
      {"savp_port": N, "plain_port": N, "suite": S, "inline": B64, "crypto": LINE}
      where savp_port is rtpengine's port facing --savp, plain_port the one
      facing --plain, and LINE rtpengine's crypto attribute value
      ("1 SUITE inline:KEY"). Exit 1 (with the reason on stderr) if rtpengine refuses
      or answers a different suite than offered.

  delete --ng HOST:PORT --call-id ID

  freeports N --from LO
      N even UDP ports from LO up (LO to LO+99) on 127.0.0.1 that, with the
      odd port above each (RTCP's, RFC 3550), were free a moment ago.

  relay  --pcap IN [--pcap IN2 ...] --send-from ADDR:PORT --send-to ADDR:PORT --recv ADDR:PORT
         --out OUT [--expect N] [--deadline S] [--gap-ms MS]
      The live leg: sends the UDP payload of every frame of IN, then IN2 ...
      (pcaps of Ethernet/IPv4/UDP frames) from a socket bound to --send-from to
      --send-to, while a socket bound to --recv collects what rtpengine
      forwards; writes each datagram received (--expect of them, default as
      many as sent, or until --deadline seconds pass) to OUT as an
      Ethernet/IPv4/UDP frame from its sender to --recv (checksums set), ready
      for DPDK's net_pcap. Prints {"sent": N, "received": N}.

  compare --expect A --got B
      The UDP payloads of A's and B's frames must be the same packets, byte
      for byte, in any order (UDP may reorder). Prints {"expected": N, "got": N,
      "equal": N, "missing": N, "extra": N, "in_order": N}; exit 1 unless
      nothing is missing or extra (the first few of each go to stderr).

Exit status: 0 ok, 1 the check or call failed, 2 usage.
"""
import argparse
import collections
import json
import os
import random
import select
import socket
import struct
import sys
import time

# ---- bencode (the ng protocol's encoding) --------------------------------------


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k.decode()] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


def addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def ng(server, msg, deadline=5.0):
    """One ng request; resent every 0.5 s until answered or deadline."""
    cookie = b"%d_%d" % (os.getpid(), random.getrandbits(32))
    data = cookie + b" " + benc(msg)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            s.sendto(data, server)
            r, _, _ = select.select([s], [], [], min(0.5, max(0.0, end - time.monotonic())))
            if not r:
                continue
            reply = s.recv(65535)
            c, _, body = reply.partition(b" ")
            if c != cookie:
                continue
            d, _ = bdec(body)
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in d.items()}
    finally:
        s.close()
    raise TimeoutError("no ng reply from %s:%d in %.1f s" % (server[0], server[1], deadline))


def fail(msg):
    print("rtpengine_ng: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- SDP ------------------------------------------------------------------------


def sdp(a, port, proto, crypto=None):
    host = a
    # the payload types callseal-rtpgen picks from, so that rtpengine knows them all;
    # RTCP on the RTP port, as callseal-rtpgen sends it
    lines = ["v=0", "o=- 1 1 IN IP4 " + host, "s=callseal", "c=IN IP4 " + host, "t=0 0",
             "m=audio %d %s 0 8 96 111" % (port, proto), "a=rtpmap:0 PCMU/8000",
             "a=rtpmap:8 PCMA/8000", "a=rtpmap:96 speex/8000", "a=rtpmap:111 opus/48000/2",
             "a=rtcp-mux", "a=sendrecv"]
    if crypto:
        lines.append("a=crypto:" + crypto)
    return "\r\n".join(lines) + "\r\n"


def sdp_media(text):
    """(port, proto, [crypto attribute values]) of the first m= section."""
    port, proto, crypto = None, None, []
    for ln in text.replace("\r", "").split("\n"):
        if ln.startswith("m=") and port is None:
            f = ln[2:].split()
            port, proto = int(f[1]), f[2]
        elif ln.startswith("a=crypto:") and port is not None:
            crypto.append(ln[len("a=crypto:"):])
    return port, proto, crypto


def cmd_ping(o):
    end = time.monotonic() + o.deadline
    while True:
        try:
            r = ng(addr(o.ng), {"command": "ping"}, deadline=min(1.0, max(0.1, end - time.monotonic())))
            if r.get("result") == "pong":
                print(json.dumps({"result": "pong"}))
                return 0
        except (TimeoutError, OSError):
            pass
        if time.monotonic() >= end:
            fail("rtpengine did not answer ping within %.1f s" % o.deadline)
        time.sleep(0.05)


def cmd_call(o):
    server = addr(o.ng)
    savp_host, savp_port = addr(o.savp)
    plain_host, plain_port = addr(o.plain)
    offer = ng(server, {
        "command": "offer", "call-id": o.call_id, "from-tag": "callseal",
        "sdp": sdp(savp_host, savp_port, "RTP/SAVP", "1 %s inline:%s" % (o.suite, o.inline)),
        "transport-protocol": "RTP/AVP", "ICE": "remove",
        "replace": ["origin", "session-connection"],
    })
    if offer.get("result") != "ok":
        fail("offer refused: %s" % json.dumps(offer))
    plain_side_port, plain_proto, plain_crypto = sdp_media(offer["sdp"])
    if plain_proto != "RTP/AVP" or plain_crypto:
        fail("offer towards the plain side is %s with %d crypto lines, wanted plain RTP/AVP:\n%s"
             % (plain_proto, len(plain_crypto), offer["sdp"]))
    answer = ng(server, {
        "command": "answer", "call-id": o.call_id, "from-tag": "callseal", "to-tag": "plain",
        "sdp": sdp(plain_host, plain_port, "RTP/AVP"), "ICE": "remove",
        "replace": ["origin", "session-connection"],
    })
    if answer.get("result") != "ok":
        fail("answer refused: %s" % json.dumps(answer))
    savp_side_port, savp_proto, savp_crypto = sdp_media(answer["sdp"])
    if savp_proto != "RTP/SAVP":
        fail("answer towards the SRTP side is %s, wanted RTP/SAVP:\n%s" % (savp_proto, answer["sdp"]))
    if len(savp_crypto) != 1:
        fail("answer has %d crypto lines, wanted 1:\n%s" % (len(savp_crypto), answer["sdp"]))
    f = savp_crypto[0].split()
    if len(f) < 3 or f[1] != o.suite or not f[2].startswith("inline:"):
        fail("rtpengine answered crypto '%s' to an offer of %s" % (savp_crypto[0], o.suite))
    key = f[2][len("inline:"):].split("|")[0]
    print(json.dumps({"savp_port": savp_side_port, "plain_port": plain_side_port, "suite": f[1],
                      "inline": key, "crypto": savp_crypto[0]}))
    return 0


def cmd_delete(o):
    r = ng(addr(o.ng), {"command": "delete", "call-id": o.call_id})
    print(json.dumps({"result": r.get("result")}))
    return 0 if r.get("result") == "ok" else 1


# ---- pcap -----------------------------------------------------------------------


def pcap_udp_payloads(path):
    """UDP payloads of a pcap's Ethernet (optionally 802.1Q) IPv4/IPv6 UDP frames."""
    d = open(path, "rb").read()
    if len(d) < 24:
        return []
    magic = struct.unpack("<I", d[:4])[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    out, off = [], 24
    while off + 16 <= len(d):
        incl = struct.unpack(e + "I", d[off + 8:off + 12])[0]
        f = d[off + 16:off + 16 + incl]
        off += 16 + incl
        et, p = struct.unpack("!H", f[12:14])[0], 14
        if et == 0x8100:
            et, p = struct.unpack("!H", f[16:18])[0], 18
        if et == 0x0800 and f[p + 9] == 17:
            p += (f[p] & 15) * 4
        elif et == 0x86dd and f[p + 6] == 17:
            p += 40
        else:
            continue
        ulen = struct.unpack("!H", f[p + 4:p + 6])[0]
        out.append(f[p + 8:p + ulen])
    return out


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp4_frame(src, dst, payload, ident):
    sip, dip = socket.inet_aton(src[0]), socket.inet_aton(dst[0])
    ulen = 8 + len(payload)
    udp = struct.pack("!HHHH", src[1], dst[1], ulen, 0) + payload
    c = csum(sip + dip + struct.pack("!BBH", 0, 17, ulen) + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident & 0xffff, 0x4000, 64, 17, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    # MACs as callseal-rtpgen writes them: the far end 02:..:02, the local 02:..:01
    eth = bytes.fromhex("020000c50001") + bytes.fromhex("020000c50002") + b"\x08\x00"
    return eth + ip + udp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000, len(fr), len(fr)))
            f.write(fr)


def cmd_relay(o):
    payloads = [p for f in o.pcap for p in pcap_udp_payloads(f)]
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(addr(o.send_from))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    rx.bind(addr(o.recv))
    to = addr(o.send_to)
    want = o.expect if o.expect is not None else len(payloads)
    got = []

    def drain(wait):
        r, _, _ = select.select([rx], [], [], wait)
        while r:
            got.append(rx.recvfrom(65535))
            r, _, _ = select.select([rx], [], [], 0)

    for p in payloads:
        tx.sendto(p, to)
        drain(o.gap_ms / 1000.0)
    end = time.monotonic() + o.deadline
    while len(got) < want and time.monotonic() < end:
        drain(min(0.1, max(0.0, end - time.monotonic())))
    dst = addr(o.recv)
    write_pcap(o.out, [udp4_frame(src, dst, data, i + 1) for i, (data, src) in enumerate(got)])
    print(json.dumps({"sent": len(payloads), "received": len(got)}))
    return 0 if len(got) == want else 1


def cmd_freeports(o):
    found = []
    for port in range(o.lo + (o.lo & 1), o.lo + 100, 2):
        socks = []
        try:
            for q in (port, port + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", q))
            found.append(port)
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
        if len(found) == o.n:
            print(" ".join(map(str, found)))
            return 0
    fail("fewer than %d free even UDP ports from %d" % (o.n, o.lo))


def cmd_compare(o):
    # as multisets: UDP (and rtpengine's worker threads) may reorder, and
    # the SRTP on either side takes packets out of order within its window
    a, b = pcap_udp_payloads(o.expect), pcap_udp_payloads(o.got)
    left = collections.Counter(a)
    extra = []
    for p in b:
        if left[p] > 0:
            left[p] -= 1
        else:
            extra.append(p)
    missing = []
    for p in a:
        if left[p] > 0:
            left[p] -= 1
            missing.append(p)
    in_order = sum(1 for x, y in zip(a, b) if x == y)
    print(json.dumps({"expected": len(a), "got": len(b), "equal": len(b) - len(extra),
                      "missing": len(missing), "extra": len(extra), "in_order": in_order}))
    for what, lst in (("missing", missing), ("unexpected", extra)):
        for p in lst[:3]:
            print("rtpengine_ng: %s packet: %s" % (what, p.hex()), file=sys.stderr)
    return 0 if not missing and not extra else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ping")
    p.add_argument("--ng", required=True)
    p.add_argument("--deadline", type=float, default=10.0)
    p = sub.add_parser("call")
    for a in ("--ng", "--call-id", "--suite", "--inline", "--savp", "--plain"):
        p.add_argument(a, required=True)
    p = sub.add_parser("delete")
    p.add_argument("--ng", required=True)
    p.add_argument("--call-id", required=True)
    p = sub.add_parser("freeports")
    p.add_argument("n", type=int)
    p.add_argument("--from", dest="lo", type=int, required=True)
    p = sub.add_parser("relay")
    p.add_argument("--pcap", required=True, action="append")
    for a in ("--send-from", "--send-to", "--recv", "--out"):
        p.add_argument(a, required=True)
    p.add_argument("--expect", type=int)
    p.add_argument("--deadline", type=float, default=10.0)
    p.add_argument("--gap-ms", type=float, default=1.0)
    p = sub.add_parser("compare")
    p.add_argument("--expect", required=True)
    p.add_argument("--got", required=True)
    o = ap.parse_args()
    try:
        return {"ping": cmd_ping, "call": cmd_call, "delete": cmd_delete,
                "freeports": cmd_freeports, "relay": cmd_relay, "compare": cmd_compare}[o.cmd](o)
    except (OSError, TimeoutError, KeyError, ValueError) as e:
        fail("%s: %s" % (o.cmd, e))


if __name__ == "__main__":
    sys.exit(main())
