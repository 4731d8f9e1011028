#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""badframes.py - frames the dataplane must drop, mixed into valid media.

usage: badframes.py --direction out|in --local4 A.B.C.D:PORT --local6 [ADDR]:PORT
                    --out FILE [--merge VALID.pcap ...] [--expect EXP.pcap ...]
                    [--expect-out FILE] [--seed N]

Writes --out: the frames of every --merge pcap (valid media from
callseal-rtpgen, in their order) with the bad frames spread evenly among
them, so that they share rx bursts. --expect-out gets the --expect pcaps one
after the other (what the dataplane must deliver). The bad frames are aimed
at the local address and port of each family (keyed in the test), from the
inside (--direction out: local = source) or the outside (in: local =
destination), and are of three kinds, each counted on stdout as one JSON line
{"malformed":N,"fragment":N,"auth":N,"bad":N,"valid":N}:

  malformed  the classifier cannot parse them to their end (docs/dataplane.md,
             "What the classifier accepts"): an IPv6 chain one header longer
             than walked (the frame that leaked before issue 14), a header past
             the payload, a jumbogram; IPv4 IHL < 5; IP lengths past the frame;
             UDP lengths < 8, past the IP payload, short of it; every cut of a
             media frame through its headers, as cut and with the IP length
             fitted; wrong IP versions; QinQ, S-tag, MPLS, PPPoE and LLC/SNAP
             around media; AH around media; a first fragment without the UDP
             ports; random bytes behind an IP ethertype; and RTP/RTCP the SRTP
             step refuses: too short for its SSRC, 15 CSRCs that are not there,
             a header extension longer than the packet
  fragment   IPv4 and IPv6 fragments of media, first and later
  auth       (in) SRTP-shaped packets with random bodies: the tag fails

Only the standard library; the same --seed gives the same bytes.
"""
import argparse
import json
import random
import struct
import sys

MAC_L = bytes.fromhex("0200" "00c50001")
MAC_R = bytes.fromhex("0200" "00c50002")


def addr(s):
    """'1.2.3.4:5' or '[2001:db8::1]:5' -> (family, packed address, port)"""
    import socket
    if s.startswith("["):
        a, p = s[1:].split("]:")
        return 6, socket.inet_pton(socket.AF_INET6, a), int(p)
    a, p = s.rsplit(":", 1)
    return 4, socket.inet_pton(socket.AF_INET, a), int(p)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        ts, tu, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000,
                                len(fr), len(fr)))
            f.write(fr)


class Gen:
    def __init__(self, direction, fam, laddr, lport, rng):
        self.out = direction == "out"
        self.fam, self.laddr, self.lport, self.rng = fam, laddr, lport, rng
        self.raddr = (bytes([198, 51, 100, 7]) if fam == 4 else
                      bytes.fromhex("20010db8000000000000000000000099"))
        self.rport = 40000
        self.seq = 1000

    def rtp(self, n=20, first=0x80, pt=0x60, ssrc=None, extra=b""):
        self.seq += 1
        ssrc = self.rng.getrandbits(32) if ssrc is None else ssrc
        body = bytes(self.rng.getrandbits(8) for _ in range(n))
        return struct.pack(">BBHII", first, pt, self.seq & 0xffff, self.seq * 160, ssrc) + extra + body

    def eth(self, ethertype, tags=b""):
        src, dst = (MAC_L, MAC_R) if self.out else (MAC_R, MAC_L)
        return dst + src + tags + struct.pack(">H", ethertype)

    def udp(self, payload, ulen=None):
        sp, dp = (self.lport, self.rport) if self.out else (self.rport, self.lport)
        return struct.pack(">HHHH", sp, dp, 8 + len(payload) if ulen is None else ulen, 0) + payload

    def ip(self, l4, proto=17, tot=None, ihl=5, ver=None, frag=0x4000, exts=b"", first_nh=None):
        """an IPv4 or IPv6 header before exts + l4 (IPv6: exts are whole
        extension headers, first_nh the type of the first)"""
        src, dst = (self.laddr, self.raddr) if self.out else (self.raddr, self.laddr)
        if self.fam == 4:
            n = 4 * ihl + len(exts) + len(l4) if tot is None else tot
            h = struct.pack(">BBHHHBBH4s4s", ((4 if ver is None else ver) << 4) | ihl, 0, n,
                            self.seq & 0xffff, frag, 64,
                            proto if first_nh is None else first_nh, 0, src, dst)
            h += b"\x01" * (4 * ihl - 20) if ihl > 5 else b""
            return h + exts + l4
        n = len(exts) + len(l4) if tot is None else tot
        return struct.pack(">IHBB16s16s", (6 if ver is None else ver) << 28, n,
                           proto if first_nh is None else first_nh, 64, src, dst) + exts + l4

    def etype(self):
        return 0x0800 if self.fam == 4 else 0x86DD

    def frame(self, payload, **kw):
        return self.eth(self.etype()) + self.ip(self.udp(payload), **kw)

    def ext(self, t, nh, n=8):
        """an IPv6 extension header of type t, n bytes, next header nh"""
        if t == 51:
            return struct.pack(">BBH", nh, n // 4 - 2, 0) + bytes(n - 4)
        if t == 44:
            return struct.pack(">BBHI", nh, 0, 1, 7)         # offset 0, M
        return struct.pack(">BB", nh, n // 8 - 1) + bytes(n - 2)

    def chain(self, types, last=17):
        b = b""
        for i, t in enumerate(types):
            b += self.ext(t, types[i + 1] if i + 1 < len(types) else last)
        return b

    def malformed(self):
        """frames the classifier or the SRTP step must count as malformed"""
        f, r = [], self.rng
        good = self.frame(self.rtp())
        l3 = 14
        l4 = l3 + (20 if self.fam == 4 else 40)
        # every cut through the headers and the RTP header, as cut (the IP
        # length claims more) and with the IP length fitted to the cut
        for cut in range(1, l4 + 8 + 12):
            f.append(good[:cut])
            if cut >= l4:
                g = bytearray(good[:cut])
                if self.fam == 4:
                    struct.pack_into(">H", g, l3 + 2, cut - l3)
                else:
                    struct.pack_into(">H", g, l3 + 4, cut - l4)
                f.append(bytes(g))
        p = self.rtp()
        if self.fam == 6:
            # the frame that leaked: 9 destination-options headers (8 walked)
            f.append(self.eth(0x86DD) + self.ip(self.udp(p), exts=self.chain([60] * 9),
                                                 first_nh=60))
            f.append(self.eth(0x86DD) + self.ip(self.udp(p), exts=self.chain([0] * 12),
                                                 first_nh=0))
            bad = bytearray(self.chain([60, 43]))
            bad[9] = 30                                        # routing: 248 bytes
            f.append(self.eth(0x86DD) + self.ip(self.udp(p), exts=bytes(bad), first_nh=60))
            f.append(self.eth(0x86DD) + self.ip(self.udp(p), exts=self.chain([0]),
                                                 first_nh=0, tot=0))   # jumbogram
        else:
            f.append(self.frame(p, ihl=4))
            f.append(self.frame(p, ihl=15, tot=40))            # total < header
        body = self.udp(p)
        f.append(self.frame(p, tot=(20 if self.fam == 4 else 0) + len(body) + 1))
        f.append(self.eth(self.etype()) + self.ip(self.udp(p, ulen=7)))
        f.append(self.eth(self.etype()) + self.ip(self.udp(p, ulen=8 + len(p) + 1)))
        f.append(self.eth(self.etype()) + self.ip(self.udp(p, ulen=8 + len(p) - 1)))
        for v in (0, 5, 15, 10 - self.fam):                   # wrong IP versions
            f.append(self.frame(p, ver=v))
        ipkt = self.ip(self.udp(p))
        for outer in (0x8100, 0x88A8, 0x9100):                 # two tags, S-tags
            f.append(self.eth(self.etype(), struct.pack(">HHHH", outer, 5, 0x8100, 6)))
            f[-1] += ipkt
        f.append(self.eth(self.etype(), struct.pack(">HH", 0x88A8, 5)) + ipkt)   # one S-tag
        f.append(self.eth(0x8847) + struct.pack(">I", (16 << 12) | 0x100 | 64) + ipkt)
        f.append(self.eth(0x8864) + struct.pack(">BBHHH", 0x11, 0, 1, len(ipkt) + 2,
                                                0x0021 if self.fam == 4 else 0x0057) + ipkt)
        f.append(self.eth(len(ipkt) + 8) + bytes([0xAA, 0xAA, 3, 0, 0, 0])     # LLC/SNAP
                 + struct.pack(">H", self.etype()) + ipkt)
        # media under AH (v4: proto 51; v6: after a destination-options header)
        if self.fam == 4:
            f.append(self.eth(0x0800) + self.ip(self.udp(p), exts=self.ext(51, 17, 24),
                                                 first_nh=51))
        else:
            f.append(self.eth(0x86DD) + self.ip(self.udp(p), exts=self.ext(60, 51) +
                                                 self.ext(51, 17, 24), first_nh=60))
        # a first fragment with 4 bytes of UDP (RFC 1858)
        short = self.udp(p)[:4]
        if self.fam == 4:
            f.append(self.eth(0x0800) + self.ip(short, frag=0x2000))
        else:
            f.append(self.eth(0x86DD) + self.ip(short, exts=self.ext(44, 17), first_nh=44))
        # random bytes behind an IP ethertype, the version nibble wrong
        for _ in range(8):
            b = bytearray(r.getrandbits(8) for _ in range(r.randrange(1, 200)))
            b[0] = (r.choice([v for v in range(16) if v != self.fam]) << 4) | (b[0] & 15)
            f.append(self.eth(self.etype()) + bytes(b))
        # RTP/RTCP the SRTP step refuses (outbound: plaintext; inbound: before
        # the tag is checked): too short for the SSRC, 15 CSRCs missing, a
        # header extension past the end
        f.append(self.frame(self.rtp()[:10]))
        f.append(self.frame(struct.pack(">BBHI", 0x80, 200, 1, 0)[:6]))   # RTCP, 6 bytes
        f.append(self.frame(self.rtp(n=8, first=0x8F)))
        f.append(self.frame(self.rtp(n=0, first=0x90, extra=struct.pack(">HH", 0xBEDE, 1000))))
        return f

    def fragments(self):
        p = self.udp(self.rtp(n=200))
        if self.fam == 4:
            return [self.eth(0x0800) + self.ip(p[:104], frag=0x2000),        # first, MF
                    self.eth(0x0800) + self.ip(p[104:], proto=17, frag=13)]  # offset 104
        fr = self.ext(44, 17)
        later = bytearray(fr)
        struct.pack_into(">H", later, 2, 104)                                  # offset 104, last
        return [self.eth(0x86DD) + self.ip(p[:104], exts=fr, first_nh=44),
                self.eth(0x86DD) + self.ip(p[104:], exts=bytes(later), first_nh=44)]

    def auth(self):
        """SRTP-shaped: a valid header, random bytes where the ciphertext
        and the tag are; the tag cannot verify"""
        return [self.frame(self.rtp(n=self.rng.randrange(17, 300))) for _ in range(6)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--direction", choices=("out", "in"), required=True)
    ap.add_argument("--local4", required=True)
    ap.add_argument("--local6", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--merge", action="append", default=[])
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--expect-out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    counts = {"malformed": 0, "fragment": 0, "auth": 0}
    bad = []
    for spec in (a.local4, a.local6):
        fam, la, lp = addr(spec)
        g = Gen(a.direction, fam, la, lp, rng)
        for kind, frames in (("malformed", g.malformed()), ("fragment", g.fragments()),
                             ("auth", g.auth() if a.direction == "in" else [])):
            counts[kind] += len(frames)
            bad += frames
    rng.shuffle(bad)
    valid = [fr for m in a.merge for fr in read_pcap(m)]
    # spread the bad frames evenly through the valid ones
    out, vi = [], 0
    for i, b in enumerate(bad):
        upto = (i + 1) * len(valid) // (len(bad) + 1)
        out += valid[vi:upto]
        vi = upto
        out.append(b)
    out += valid[vi:]
    write_pcap(a.out, out)
    if a.expect_out:
        write_pcap(a.expect_out, [fr for e in a.expect for fr in read_pcap(e)])
    counts["bad"] = len(bad)
    counts["valid"] = len(valid)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
