#!/usr/bin/env python3
"""phone.py - the media application of one site in scripts/demo: a "phone" that
sends and receives RTP and RTCP through an ordinary UDP socket (rtcp-mux: both on
one port), and checks everything it receives.

usage: phone.py --name NAME --bind IP:PORT --peer IP:PORT --ssrc X --peer-ssrc Y
                --seed S --peer-seed T (--start-at EPOCH | --start-file FILE)
                --duration S [--rate PPS] [--linger S] [--report FILE]
                [--ready FILE] [--wait-for PEER_FILE] [--stop-file PATH]

--ready FILE is written once the socket is bound; --start-file FILE is waited
for (at most a minute) and holds the start time: so that a caller can start
both phones, wait until both listen, and only then set the time (a phone
that is not listening yet when its peer's first packets arrive would lose
them and answer with ICMP port unreachable).

Sends, from --start-at (wall clock, so that both phones begin together) for
--duration seconds, --rate RTP packets per second (160-byte payloads, payload
type 0, timestamp +160 per packet: 20 ms of G.711) and one RTCP compound per
second (sender report + SDES CNAME "NAME"). The first sequence number and
timestamp are random (the system's randomness, new each run), as RFC 3550 asks
and real phones do, so a stream may start anywhere and cross the 2^16 wrap;
--seq-start gives the first sequence number instead (a reproducible run).

Every payload is a function of (seed, ssrc, sequence number): BLAKE2b in counter
mode. The receiver knows the peer's seed and SSRC, so it verifies each packet it
gets byte for byte, and counts duplicates, reordering and what never came.
After the last send it keeps receiving for --linger seconds (the peer's last
packets are still on their way; closing early would make the kernel answer them
with ICMP port unreachable).

--wait-for PEER_FILE (the peer phone's --ready): send nothing until that file
exists (at most 30 s, else exit 1), then start at --start-at or at once if
that has passed: the two phones wait for each other with no caller between
them (scripts/soak).

--stop-file PATH: stop sending as soon as PATH exists (checked before each
send and at least every 50 ms), as if --duration had ended then; --duration is
then the longest it sends. A test that must keep media flowing while it does
something that takes an unknown time (tests/integration/control_kill.sh) gives
both phones one file and creates it when it is done.

Prints (and writes to --report) one JSON object:
  {"name", "ssrc", "sent_rtp", "sent_rtcp", "first_seq", "last_seq",
   "rx_rtp", "rx_rtcp", "rx_bad" (wrong payload, SSRC, version or length),
   "rx_dup", "rx_reordered", "rx_first_seq", "rx_last_seq", "rx_missing"
   (sequence numbers between the first and last received that never came),
   "rx_missing_seqs" (the first 32 of them, as [index from the first, seq]),
   "rx_rtcp_bad", "rate_pps" (RTP sent per second, measured), "send_late_ms"
   (the worst lateness of a send against its schedule)}

--plaintexts FILE writes every payload this phone sent (hex, one a line) and
the CNAME, for the demo's eavesdropper check.
"""
import argparse
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import time

PAYLOAD = 160


def addr(s):
    host, port = s.rsplit(':', 1)
    return host, int(port)


def payload(seed, ssrc, seq):
    """160 bytes that only (seed, ssrc, seq) give: BLAKE2b-512 in counter mode."""
    key = hashlib.blake2b(str(seed).encode(), digest_size=32).digest()
    out = b''
    ctr = 0
    while len(out) < PAYLOAD:
        out += hashlib.blake2b(struct.pack('!IHI', ssrc, seq, ctr), key=key).digest()
        ctr += 1
    return out[:PAYLOAD]


def rtcp_compound(ssrc, cname, ntp, rtp_ts, packets, octets):
    # SR: V=2, RC=0, PT=200, length 6 (28 bytes)
    sec = int(ntp) + 2208988800
    frac = int((ntp % 1) * (1 << 32)) & 0xffffffff
    sr = struct.pack('!BBHIIIIII', 0x80, 200, 6, ssrc, sec & 0xffffffff, frac,
                     rtp_ts & 0xffffffff, packets, octets)
    # SDES: one chunk, CNAME item, padded to 32 bits
    item = struct.pack('!BB', 1, len(cname)) + cname
    chunk = struct.pack('!I', ssrc) + item + b'\0'
    chunk += b'\0' * (-len(chunk) % 4)
    sdes = struct.pack('!BBH', 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--name', required=True)
    ap.add_argument('--bind', type=addr, required=True)
    ap.add_argument('--peer', type=addr, required=True)
    ap.add_argument('--ssrc', type=lambda x: int(x, 0), required=True)
    ap.add_argument('--peer-ssrc', type=lambda x: int(x, 0), required=True)
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--peer-seed', type=int, required=True)
    ap.add_argument('--peer-name', default='')
    ap.add_argument('--start-at', type=float)
    ap.add_argument('--start-file')
    ap.add_argument('--ready')
    ap.add_argument('--wait-for')
    ap.add_argument('--duration', type=float, required=True)
    ap.add_argument('--rate', type=float, default=50.0)
    ap.add_argument('--linger', type=float, default=1.0)
    ap.add_argument('--report')
    ap.add_argument('--plaintexts')
    ap.add_argument('--stop-file')
    ap.add_argument('--seq-start', type=int, help='first sequence number (default: random)')
    a = ap.parse_args()
    if (a.start_at is None) == (a.start_file is None):
        ap.error('give one of --start-at and --start-file')

    cname = a.name.encode()
    peer_cname = a.peer_name.encode()
    rng = random.SystemRandom()      # RFC 3550 5.1: random initial values
    seq0 = rng.randrange(65536)
    if a.seq_start is not None:
        seq0 = a.seq_start & 0xffff
    ts0 = rng.randrange(1 << 32)

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(a.bind)
    s.setblocking(False)
    if a.ready:
        open(a.ready, 'w').close()
    if a.start_file:
        deadline = time.time() + 60
        while not os.path.exists(a.start_file):
            if time.time() > deadline:
                sys.exit('phone.py: no start time in %s after a minute' % a.start_file)
            time.sleep(0.01)
        with open(a.start_file) as f:
            a.start_at = float(f.read())
    plain = open(a.plaintexts, 'w') if a.plaintexts else None
    if plain:
        plain.write('cname %s\n' % cname.hex())

    r = dict(name=a.name, ssrc=a.ssrc, sent_rtp=0, sent_rtcp=0, first_seq=seq0,
             last_seq=None, rx_rtp=0, rx_rtcp=0, rx_bad=0, rx_dup=0, rx_reordered=0,
             rx_first_seq=None, rx_last_seq=None, rx_missing=0, rx_rtcp_bad=0,
             rx_missing_seqs=[], rate_pps=0.0, send_late_ms=0.0)
    seen = set()
    rx_ext_max = None          # highest extended sequence number received
    interval = 1.0 / a.rate
    n_total = int(round(a.duration * a.rate))
    t_start = a.start_at
    if a.wait_for:
        give_up = time.time() + 30.0
        while not os.path.exists(a.wait_for):
            if time.time() > give_up:
                print('phone.py: %s did not appear within 30 s' % a.wait_for, file=sys.stderr)
                return 1
            time.sleep(0.01)
        t_start = max(t_start, time.time())
    t_end_send = t_start + n_total * interval
    t_stop = t_end_send + a.linger
    next_rtcp = t_start + 1.0
    i = 0
    now = time.time()
    if now < t_start:
        time.sleep(t_start - now)
    first_sent = last_sent = None
    octets = 0

    def receive():
        nonlocal rx_ext_max
        while True:
            try:
                d = s.recv(2048)
            except BlockingIOError:
                return
            if len(d) >= 2 and 192 <= d[1] <= 223:
                r['rx_rtcp'] += 1
                ok = (len(d) >= 28 and d[0] >> 6 == 2 and d[1] == 200 and
                      struct.unpack('!I', d[4:8])[0] == a.peer_ssrc)
                if ok and peer_cname:
                    ok = peer_cname in d[28:]
                if not ok:
                    r['rx_rtcp_bad'] += 1
                continue
            if (len(d) != 12 + PAYLOAD or d[0] != 0x80 or (d[1] & 0x7f) != 0 or
                    struct.unpack('!I', d[8:12])[0] != a.peer_ssrc):
                r['rx_bad'] += 1
                continue
            seq = struct.unpack('!H', d[2:4])[0]
            if d[12:] != payload(a.peer_seed, a.peer_ssrc, seq):
                r['rx_bad'] += 1
                continue
            # extended sequence number (RFC 3550 A.1, simplified: in-order-ish)
            if rx_ext_max is None:
                ext = seq
                r['rx_first_seq'] = seq
            else:
                ext = (rx_ext_max & ~0xffff) | seq
                if ext < rx_ext_max - 0x8000:
                    ext += 0x10000
                elif ext > rx_ext_max + 0x8000:
                    ext -= 0x10000
            if ext in seen:
                r['rx_dup'] += 1
                continue
            seen.add(ext)
            r['rx_rtp'] += 1
            if rx_ext_max is not None and ext < rx_ext_max:
                r['rx_reordered'] += 1
            else:
                rx_ext_max = ext

    def send(pkt):
        """False if the kernel refused it (the site's interface is gone: its
        dataplane restarts): counted in send_errors, not as sent."""
        try:
            s.sendto(pkt, a.peer)
            return True
        except OSError:
            r['send_errors'] = r.get('send_errors', 0) + 1
            return False

    while True:
        now = time.time()
        if now >= t_stop:
            break
        if a.stop_file and i < n_total and os.path.exists(a.stop_file):
            n_total = i                  # the last send was the last packet
            t_stop = now + a.linger
            continue
        if i < n_total and now >= t_start + i * interval:
            late = (now - (t_start + i * interval)) * 1000
            r['send_late_ms'] = max(r['send_late_ms'], late)
            seq = (seq0 + i) & 0xffff
            pl = payload(a.seed, a.ssrc, seq)
            pkt = struct.pack('!BBHII', 0x80, 0, seq, (ts0 + 160 * i) & 0xffffffff, a.ssrc) + pl
            if not send(pkt):
                i += 1
                continue
            if plain:
                plain.write(pl.hex() + '\n')
            r['sent_rtp'] += 1
            r['last_seq'] = seq
            octets += PAYLOAD
            first_sent = first_sent or now
            last_sent = now
            i += 1
            continue
        if i < n_total and now >= next_rtcp:
            if send(rtcp_compound(a.ssrc, cname, now, ts0 + 160 * i, r['sent_rtp'], octets)):
                r['sent_rtcp'] += 1
            next_rtcp += 1.0
            continue
        receive()
        wake = t_stop
        if i < n_total:
            wake = min(t_start + i * interval, next_rtcp)
        select.select([s], [], [], max(0.0, min(wake - time.time(), 0.05)))
    receive()
    if rx_ext_max is not None:
        lo = min(seen)
        r['rx_missing'] = (rx_ext_max - lo + 1) - len(seen)
        r['rx_missing_seqs'] = [[e - lo, e & 0xffff] for e in range(lo, rx_ext_max + 1)
                                if e not in seen][:32]
        r['rx_last_seq'] = rx_ext_max & 0xffff
    if first_sent and last_sent and r['sent_rtp'] > 1:
        r['rate_pps'] = round((r['sent_rtp'] - 1) / (last_sent - first_sent), 2)
    r['send_late_ms'] = round(r['send_late_ms'], 2)
    line = json.dumps(r)
    print(line)
    if a.report:
        with open(a.report, 'w') as f:
            f.write(line + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
