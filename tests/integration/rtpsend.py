#!/usr/bin/env python3
"""rtpsend.py - an ordinary application: sends RTP from a kernel UDP socket.

usage: rtpsend.py --src ADDR:PORT --dst ADDR:PORT --count N [--interval-ms MS]
                  [--ssrc X] [--seq-start S] [--ssrc2 Y --seq-start2 T]
                  [--expect PCAP] [--times FILE]

Sends N RTP packets (payload 160 bytes, seq from S), one every MS ms. With
--ssrc2, every other packet is of SSRC Y, seq from T (N packets in all).
--expect writes the packets sent as Ethernet/IPv4/UDP frames (MACs and IP
header fields are invented: compare with callseal-srtpcheck --media-only).
--times writes "seq wallclock" per packet sent.
"""
import argparse
import os
import socket
import struct
import time


def addr(s):
    host, port = s.rsplit(':', 1)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--src', type=addr, required=True)
    ap.add_argument('--dst', type=addr, required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--interval-ms', type=float, default=0.0)
    ap.add_argument('--ssrc', type=lambda x: int(x, 0), default=0x5eed1234)
    ap.add_argument('--seq-start', type=int, default=1000)
    ap.add_argument('--ssrc2', type=lambda x: int(x, 0))
    ap.add_argument('--seq-start2', type=int, default=0)
    ap.add_argument('--expect')
    ap.add_argument('--times')
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(a.src)
    pcap = open(a.expect, 'wb') if a.expect else None
    if pcap:
        pcap.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    times = open(a.times, 'w') if a.times else None
    src_ip = socket.inet_aton(a.src[0])
    dst_ip = socket.inet_aton(a.dst[0])
    t0 = time.monotonic()
    for i in range(a.count):
        ssrc, seq = a.ssrc, (a.seq_start + i) & 0xffff
        if a.ssrc2 is not None:
            if i % 2:
                ssrc, seq = a.ssrc2, (a.seq_start2 + i // 2) & 0xffff
            else:
                seq = (a.seq_start + i // 2) & 0xffff
        payload = os.urandom(160)
        rtp = struct.pack('!BBHII', 0x80, 0, seq, 160 * i, ssrc) + payload
        s.sendto(rtp, a.dst)
        if times:
            times.write(f'{seq} {time.time():.6f}\n')
        if pcap:
            udp = struct.pack('!HHHH', a.src[1], a.dst[1], 8 + len(rtp), 0) + rtp
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), i & 0xffff, 0x4000,
                             64, 17, 0, src_ip, dst_ip)
            frame = b'\x02\x00\x00\x00\x00\x02' + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00' + ip + udp
            pcap.write(struct.pack('<IIII', 0, 0, len(frame), len(frame)) + frame)
        if a.interval_ms:
            # pace against the start, so that the rate holds on a busy machine
            delay = t0 + (i + 1) * a.interval_ms / 1000 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    if pcap:
        pcap.close()
    if times:
        times.close()


if __name__ == '__main__':
    main()
