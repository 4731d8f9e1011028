#!/usr/bin/env python3
"""Write the seed corpora of the libFuzzer harnesses: tests/fuzz/corpus/NAME/seed-*.

One valid input of every kind each harness parses (see the input layout at the
top of each fuzz_NAME.c). Run it again after changing a layout; it replaces the
seed-* files only: regress-* files (inputs of findings, kept as regression
tests) stay. Deterministic: the same files every time.

    python3 tests/fuzz/gen_corpus.py
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def write_all(name, seeds):
    d = os.path.join(HERE, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith('seed-'):
            os.remove(os.path.join(d, f))
    for label, data in seeds:
        with open(os.path.join(d, 'seed-' + label), 'wb') as fh:
            fh.write(data)
    print(f"corpus/{name}: {len(seeds)} seeds")


# ---- RTP and RTCP (RFC 3550) --------------------------------------------------

def rtp(seq=1, ts=160, ssrc=0x11223344, pt=0, csrcs=(), ext=None, pad=0, payload=b'\xd5' * 20,
        marker=0):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | len(csrcs)
    h = struct.pack('!BBHII', b0, (marker << 7) | pt, seq, ts, ssrc)
    for c in csrcs:
        h += struct.pack('!I', c)
    if ext is not None:
        profile, words = ext
        h += struct.pack('!HH', profile, len(words) // 4) + words
    body = payload
    if pad:
        body += b'\x00' * (pad - 1) + bytes([pad])
    return h + body


def rtcp_sr(ssrc=0x11223344):
    return struct.pack('!BBHIIIIII', 0x80, 200, 6, ssrc, 0xe0000000, 0, 160, 10, 1600)


def rtcp_rr(ssrc=0x11223344, reports=1):
    out = struct.pack('!BBHI', 0x80 | reports, 201, 1 + 6 * reports, ssrc)
    for i in range(reports):
        out += struct.pack('!IIIIII', 0x55667788 + i, 0x00000005, 7, 0, 0, 0)
    return out


def rtcp_sdes(ssrc=0x11223344, cname=b'alice@example.org'):
    item = bytes([1, len(cname)]) + cname + b'\x00'
    item += b'\x00' * (-len(item) % 4)
    chunk = struct.pack('!I', ssrc) + item
    return struct.pack('!BBH', 0x81, 202, len(chunk) // 4) + chunk


def rtcp_bye(ssrc=0x11223344):
    return struct.pack('!BBHI', 0x81, 203, 1, ssrc)


RTP_KINDS = [
    ('rtp-plain', rtp()),
    ('rtp-csrc', rtp(csrcs=(1, 2, 3), seq=2)),
    ('rtp-ext', rtp(ext=(0xbede, b'\x10\xaa\x00\x00'), seq=3)),
    ('rtp-ext2', rtp(ext=(0x1000, b'\x01\x02\xaa\xbb\xcc\x00\x00\x00'), seq=4)),
    ('rtp-pad', rtp(pad=4, seq=5)),
    ('rtp-csrc-ext-pad', rtp(csrcs=(9,), ext=(0xbede, b'\x22\x01\x02\x03'), pad=3, seq=6,
                             marker=1, pt=111)),
    ('rtp-seq-wrap', rtp(seq=0xffff)),
    ('rtp-empty-payload', rtp(payload=b'')),
    ('rtp-max-csrc', rtp(csrcs=tuple(range(15)), seq=7)),
]
RTCP_KINDS = [
    ('rtcp-sr', rtcp_sr()),
    ('rtcp-rr', rtcp_rr()),
    ('rtcp-compound', rtcp_sr() + rtcp_sdes()),
    ('rtcp-compound-rr', rtcp_rr(reports=2) + rtcp_sdes() + rtcp_bye()),
    ('rtcp-bye', rtcp_rr(reports=0) + rtcp_bye()),
]


# ---- frames (classify) ---------------------------------------------------------

def csum(b):
    if len(b) % 2:
        b += b'\x00'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp(sport, dport, payload):
    return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload


def ipv4(l4, proto=17, options=b'', frag=0):
    ihl = 5 + len(options) // 4
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, ihl * 4 + len(l4), 1, frag, 64, proto, 0,
                    bytes([192, 0, 2, 10]), bytes([198, 51, 100, 20])) + options
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + l4


def ipv6(l4, nh=17, ext=b''):
    return struct.pack('!IHBB16s16s', 0x60000000, len(ext) + len(l4), nh, 64,
                       bytes.fromhex('20010db8000000000000000000000001'),
                       bytes.fromhex('20010db8000000000000000000000002')) + ext + l4


def eth(l3, ethertype, vlan=None):
    h = bytes.fromhex('020000000002') + bytes.fromhex('020000000001')
    if vlan is not None:
        h += struct.pack('!HH', 0x8100, vlan)
    return h + struct.pack('!H', ethertype) + l3


def classify_seeds():
    ports = struct.pack('!HH', 40000, 40999)
    stun = struct.pack('!HHI12s', 0x0001, 0, 0x2112a442, b'\x01' * 12)
    dtls = bytes([22, 0xfe, 0xfd]) + b'\x00' * 8 + b'\x00\x10' + b'\x01' * 16
    hbh = bytes([17, 0]) + b'\x01\x04\x00\x00\x00\x00'          # hop-by-hop, PadN
    dst = bytes([17, 1]) + b'\x01\x0c' + b'\x00' * 12           # destination options, 16 octets
    frag6 = bytes([17, 0, 0, 1, 0, 0, 0, 9])
    out = []
    for label, p in RTP_KINDS[:6] + RTCP_KINDS[:3]:
        out.append(('v4-' + label, ports + eth(ipv4(udp(40000, 5004, p)), 0x0800)))
    out += [
        ('v4-in-rtp', ports + eth(ipv4(udp(5004, 40002, rtp())), 0x0800)),
        ('v6-rtp', ports + eth(ipv6(udp(40010, 5004, rtp(csrcs=(1,)))), 0x86dd)),
        ('v6-rtcp', ports + eth(ipv6(udp(5005, 40011, rtcp_sr() + rtcp_sdes())), 0x86dd)),
        ('v6-hbh-rtp', ports + eth(ipv6(udp(40012, 5004, rtp()), nh=0, ext=hbh), 0x86dd)),
        ('v6-dstopt-rtp', ports + eth(ipv6(udp(40012, 5004, rtp()), nh=60, ext=dst), 0x86dd)),
        ('v6-fragment', ports + eth(ipv6(udp(40012, 5004, rtp()), nh=44, ext=frag6), 0x86dd)),
        ('vlan-v4-rtp', ports + eth(ipv4(udp(40020, 5004, rtp())), 0x0800, vlan=100)),
        ('vlan-v6-rtcp', ports + eth(ipv6(udp(40021, 5005, rtcp_rr())), 0x86dd, vlan=7)),
        ('v4-options-rtp', ports + eth(ipv4(udp(40030, 5004, rtp()),
                                            options=b'\x94\x04\x00\x00'), 0x0800)),
        ('v4-fragment', ports + eth(ipv4(udp(40030, 5004, rtp()), frag=0x2000), 0x0800)),
        ('v4-stun', ports + eth(ipv4(udp(40040, 3478, stun)), 0x0800)),
        ('v4-dtls', ports + eth(ipv4(udp(40041, 5004, dtls)), 0x0800)),
        ('v4-tcp', ports + eth(ipv4(b'\x00' * 20, proto=6), 0x0800)),
        ('v4-other-port', ports + eth(ipv4(udp(1234, 5004, rtp())), 0x0800)),
        ('arp', ports + eth(bytes.fromhex('0001080006040001') + b'\x00' * 20, 0x0806)),
        ('v4-udp-len-bad', ports + eth(ipv4(udp(40000, 5004, rtp()))[:-4], 0x0800)),
    ]
    return out


# ---- SRTP harness --------------------------------------------------------------

def srtp_seeds():
    out = []
    roc0 = struct.pack('!I', 0)
    for label, p in RTP_KINDS:
        out.append((label, bytes([0x00]) + roc0 + p))
    for label, p in RTCP_KINDS:
        out.append((label, bytes([0x02]) + roc0 + p))
    out += [
        ('rtp-256', bytes([0x01]) + roc0 + rtp(seq=100)),
        ('rtp-auth-only', bytes([0x04]) + roc0 + rtp(csrcs=(5,), seq=9)),
        ('rtp-burst-api', bytes([0x08]) + roc0 + rtp(ext=(0xbede, b'\x10\xaa\x00\x00'))),
        ('rtp-roc', bytes([0x01]) + struct.pack('!I', 0x12345) + rtp(seq=0xfff0)),
        ('rtcp-256-auth-only', bytes([0x07]) + roc0 + rtcp_sr() + rtcp_sdes()),
        ('rtcp-burst-api', bytes([0x0a]) + roc0 + rtcp_rr(reports=2)),
        # four packets in one burst: ctl bits 4-5 = 3; equal-sized pieces
        ('rtp-burst4', bytes([0x30]) + roc0 + b''.join(rtp(seq=s) for s in (1, 2, 2, 0x8001))),
        ('rtcp-burst2', bytes([0x12]) + roc0 + rtcp_rr() + rtcp_rr(ssrc=0x99)),
    ]
    # AES-CM (ctl bit 6; bit 0: the 32-bit tag): every kind under
    # AES_CM_128_HMAC_SHA1_80, and the other paths under both tags
    CM, CM32 = 0x40, 0x41
    for label, p in RTP_KINDS:
        out.append(('cm80-' + label, bytes([CM]) + roc0 + p))
    for label, p in RTCP_KINDS:
        out.append(('cm80-' + label, bytes([CM | 0x02]) + roc0 + p))
    out += [
        ('cm32-rtp-plain', bytes([CM32]) + roc0 + rtp(seq=100)),
        ('cm32-rtp-csrc-ext-pad', bytes([CM32]) + roc0 +
         rtp(csrcs=(9,), ext=(0xbede, b'\x22\x01\x02\x03'), pad=3, seq=6)),
        ('cm32-rtcp-compound', bytes([CM32 | 0x02]) + roc0 + rtcp_sr() + rtcp_sdes()),
        ('cm80-rtp-auth-only', bytes([CM | 0x04]) + roc0 + rtp(csrcs=(5,), seq=9)),
        ('cm32-rtp-auth-only', bytes([CM32 | 0x04]) + roc0 + rtp(seq=10)),
        ('cm80-rtcp-auth-only', bytes([CM | 0x06]) + roc0 + rtcp_sr() + rtcp_sdes()),
        ('cm32-rtcp-auth-only', bytes([CM32 | 0x06]) + roc0 + rtcp_rr()),
        ('cm80-rtp-burst-api', bytes([CM | 0x08]) + roc0 + rtp(ext=(0xbede, b'\x10\xaa\x00\x00'))),
        ('cm32-rtp-burst-api', bytes([CM32 | 0x08]) + roc0 + rtp(seq=11)),
        ('cm80-rtcp-burst-api', bytes([CM | 0x0a]) + roc0 + rtcp_rr(reports=2)),
        ('cm32-rtcp-burst-api', bytes([CM32 | 0x0a]) + roc0 + rtcp_bye()),
        ('cm80-rtp-roc', bytes([CM]) + struct.pack('!I', 0x12345) + rtp(seq=0xfff0)),
        ('cm32-rtp-roc', bytes([CM32]) + struct.pack('!I', 0xfffffffe) + rtp(seq=0xffff)),
        ('cm80-rtp-burst4', bytes([CM | 0x30]) + roc0 +
         b''.join(rtp(seq=s) for s in (1, 2, 2, 0x8001))),
        ('cm32-rtp-burst4-api', bytes([CM32 | 0x38]) + roc0 +
         b''.join(rtp(seq=s) for s in (5, 6, 7, 8))),
        ('cm80-rtcp-burst2', bytes([CM | 0x12]) + roc0 + rtcp_rr() + rtcp_rr(ssrc=0x99)),
        ('cm32-rtcp-burst3-api', bytes([CM32 | 0x2a]) + roc0 +
         rtcp_rr() + rtcp_rr(ssrc=0x98) + rtcp_rr(ssrc=0x97)),
    ]
    return out


# ---- call protocol (docs/handshake.md) -------------------------------------------

def pieces(ctl, *ps):
    return bytes([ctl]) + b''.join(struct.pack('!H', len(p)) + p for p in ps)


def tlv(t, v):
    return struct.pack('!BH', t, len(v)) + v


INTENT_ON = tlv(1, b'\x03\x00')
INTENT_OFF = tlv(1, b'\x01\x03')
PROFILES = tlv(2, struct.pack('!HH', 0x0008, 0x0007))
PROFILES_128 = tlv(2, struct.pack('!H', 0x0007))
CHOSEN_256 = tlv(3, struct.pack('!H', 0x0008))
PROFILES_CM80 = tlv(2, struct.pack('!H', 0x0001))
PROFILES_CM32 = tlv(2, struct.pack('!H', 0x0002))
PROFILES_GCM_CM = tlv(2, struct.pack('!HH', 0x0008, 0x0001))
CHOSEN_CM80 = tlv(3, struct.pack('!H', 0x0001))
CHOSEN_CM32 = tlv(3, struct.pack('!H', 0x0002))
MEDIA_V4 = tlv(4, bytes([4, 192, 0, 2, 10]) + struct.pack('!H', 40000))
MEDIA_V6 = tlv(4, bytes([6]) + bytes.fromhex('20010db8000000000000000000000001') +
               struct.pack('!H', 40000))


def frame(t, body):
    return struct.pack('!H', len(body) + 1) + bytes([t]) + body


def callproto_seeds():
    hello = bytes([1]) + bytes(range(1, 17)) + bytes([13]) + b'alice@contoso' + \
        bytes([12]) + b'bob@fabrikam'
    noise3 = INTENT_ON + PROFILES + CHOSEN_256 + MEDIA_V4
    noise2 = INTENT_ON + PROFILES + MEDIA_V4
    confirm_ok = bytes([0, 1, 0x00, 0x08])
    abort = frame(0x7f, bytes([9]))
    return [
        # the state under test is the responder; the harness calls
        ('resp-done', pieces(0x00, b'', b'', noise3)),
        ('resp-done-callbacks', pieces(0x10, b'', b'', noise3)),
        ('resp-need-callee', pieces(0x20, b'', b'', noise3)),
        ('resp-refuse', pieces(0x40, b'', b'', noise3)),
        ('resp-rekey', pieces(0x80, b'', b'', noise3, b'\x00\x05')),
        ('resp-hello-body', pieces(0x00, hello, b'', INTENT_OFF + PROFILES + CHOSEN_256 +
                                   MEDIA_V6)),
        ('resp-raw-hello', pieces(0x02, frame(0x01, hello), b'', noise3)),
        ('resp-abort-after', pieces(0x00, b'', b'', noise3, abort)),
        ('resp-abort-early', pieces(0x04, b'', abort)),
        ('resp-noise1-payload', pieces(0x00, b'', b'\x01\x02', noise3)),
        # the state under test is the initiator; the harness answers
        ('init-done', pieces(0x01, noise2, confirm_ok)),
        ('init-done-callbacks', pieces(0x11, noise2, confirm_ok)),
        ('init-refuse', pieces(0x41, noise2, confirm_ok)),
        ('init-rekey', pieces(0x81, noise2, confirm_ok, b'', b'\x03\xff')),
        ('init-reject', pieces(0x01, noise2, bytes([6, 0, 0, 0]))),
        ('init-128', pieces(0x01, INTENT_ON + PROFILES_128 + MEDIA_V6, bytes([0, 1, 0, 7]))),
        ('init-abort', pieces(0x03, abort)),
        ('init-late-frame', pieces(0x01, noise2, confirm_ok, frame(0x03, b'\x00' * 48))),
        # AES-CM (issue 16): chosen only without GCM in common
        ('init-cm80', pieces(0x81, INTENT_ON + PROFILES_CM80 + MEDIA_V4, bytes([0, 1, 0, 1]),
                             b'', b'\x00\x02')),
        ('resp-cm32', pieces(0x80, b'', b'', INTENT_ON + PROFILES_CM32 + CHOSEN_CM32 + MEDIA_V4,
                             b'\x00\x01')),
        ('resp-cm-downgrade', pieces(0x00, b'', b'', INTENT_ON + PROFILES_GCM_CM + CHOSEN_CM80 +
                                     MEDIA_V4)),
    ]


# ---- admin commands -----------------------------------------------------------------

KEY128 = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=='      # 28 octets
KEY256 = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis='   # 44
KEY30 = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd'       # 30: AES-CM key || salt
PUB = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='  # 32


def features():
    src = open(os.path.join(TOP, 'control', 'policy', 'policy.h')).read()
    return re.findall(r'X\([A-Z_]+, "([a-z-]+)"', src)


def admin_commands():
    cmds = [
        ['key', 'add', '--local', '192.0.2.10:5004', '--direction', 'in', '--profile',
         'AEAD_AES_128_GCM', '--inline', KEY128],
        ['key', 'add', '--local=[2001:db8::1]:5006', '--direction=out', '--profile',
         'AEAD_AES_256_GCM', '--inline', KEY256, '--mode', 'e2ee', '--call-id', 'c-1'],
        ['key', 'add', '--local', '*:5004', '--direction', 'in', '--profile',
         'AEAD_AES_128_GCM', '--inline', KEY128, '--mode', 'standard'],
        ['key', 'rekey', '--local', '192.0.2.10:5004', '--direction', 'in', '--inline', KEY128],
        ['key', 'rekey', '--local', '192.0.2.10:5004', '--direction', 'out', '--inline', KEY256,
         '--profile', 'AEAD_AES_256_GCM', '--from-index', '65536'],
        ['key', 'del', '--local', '192.0.2.10:5004', '--direction', 'in'],
        ['key', 'add', '--local', '192.0.2.10:5008', '--direction', 'in', '--sdes',
         'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' + KEY30 + '|2^20|1:4 KDR=0 WSH=64',
         '--print-sdes'],
        ['key', 'rekey', '--local', '192.0.2.10:5008', '--direction', 'in', '--sdes=crypto:7 '
         'AEAD_AES_256_GCM inline:' + KEY256 + '|1000', '--from-index', '5'],
        ['key', 'list'], ['key', 'list', '--json'],
        ['group', 'add', 'sales'], ['group', 'del', 'sales', '--json'], ['group', 'list'],
        ['user', 'add', 'alice', '--group', 'sales', '--group', 'eng'],
        ['user', 'list', '--json'], ['user', 'show', 'alice'],
        ['user', 'set', 'alice', '--e2ee', 'on'],
        ['user', 'set', 'alice', '--compliance-recording', 'off', '--json'],
        ['user', 'del', 'alice'],
        ['policy', 'add', 'p1', '--e2ee', 'users-can-turn-on'],
        ['policy', 'set', 'p1', '--e2ee', 'disabled'], ['policy', 'del', 'p1'],
        ['policy', 'list'], ['policy', 'assign', 'p1', '--tenant'],
        ['policy', 'assign', 'p1', '--group', 'sales'],
        ['policy', 'unassign', '--user', 'alice', '--json'],
        ['peer', 'add', 'bob@fabrikam', '--key', PUB, '--addr', '198.51.100.20:7000'],
        ['peer', 'add', 'bob@fabrikam', '--addr', '[2001:db8::2]:7000'],
        ['peer', 'set', 'bob@fabrikam', '--addr', 'example.org:7000'],
        ['peer', 'del', 'bob@fabrikam'], ['peer', 'list', '--json'],
        ['call', 'dial', '--from', 'alice', '--to', 'bob@fabrikam', '--local-media',
         '192.0.2.10:40000', '--remote-media', '198.51.100.20:50000'],
        ['call', 'dial', '--from=alice', '--to=bob@fabrikam'],
        ['call', 'list'], ['call', 'show', '0123456789abcdef', '--json'],
        ['call', 'end', '0123456789abcdef'],
        ['call', 'rekey', '0123456789abcdef'],
        ['status'], ['status', '--json'], ['help'],
    ]
    for f in features():
        cmds.append(['call', f, '0123456789abcdef'])
    return cmds


def admin_seeds():
    out = []
    for argv in admin_commands():
        label = '-'.join(w for w in argv[:2] if not w.startswith('-'))
        words = b'\x00'.join(w.encode() for w in argv)
        n = sum(1 for l, _ in out if l.startswith('words-' + label))
        out.append((f'words-{label}-{n}', bytes([0]) + words))
    # raw client streams: a framed request, a wrong version, a wrong type, oversized
    req = b'\x00'.join(w.encode() for w in ['key', 'list', '--json']) + b'\x00'
    out += [
        ('client-request', bytes([1]) + bytes([1, 1, 0, 0]) + struct.pack('!I', len(req)) + req),
        ('client-version', bytes([1]) + bytes([2, 1, 0, 0]) + struct.pack('!I', len(req)) + req),
        ('client-type', bytes([1]) + bytes([1, 2, 0, 0]) + struct.pack('!I', len(req)) + req),
        ('client-no-nul', bytes([1]) + bytes([1, 1, 0, 0]) + struct.pack('!I', 4) + b'help'),
        ('client-huge', bytes([1]) + bytes([1, 1, 0, 0]) + struct.pack('!I', 0x10001)),
        ('client-short', bytes([1]) + bytes([1, 1, 0, 0]) + struct.pack('!I', 40) + req),
    ]
    # daemon replies: DATA frames then END (status BE32 || message)
    data = b'alice@contoso e2ee\n'
    end_ok = struct.pack('!i', 0) + b'ok'
    end_err = struct.pack('!i', 2) + b'no such user'
    out += [
        ('reply-ok', bytes([2]) + bytes([1, 2, 0, 0]) + struct.pack('!I', len(data)) + data +
         bytes([1, 3, 0, 0]) + struct.pack('!I', len(end_ok)) + end_ok),
        ('reply-error', bytes([2]) + bytes([1, 3, 0, 0]) + struct.pack('!I', len(end_err)) +
         end_err),
        ('reply-short-end', bytes([2]) + bytes([1, 3, 0, 0]) + struct.pack('!I', 2) + b'\x00\x00'),
        ('reply-request', bytes([2]) + bytes([1, 1, 0, 0]) + struct.pack('!I', 1) + b'\x00'),
        ('reply-cut', bytes([2]) + bytes([1, 2, 0, 0]) + struct.pack('!I', 100) + data),
    ]
    return out


def main():
    write_all('classify', classify_seeds())
    write_all('srtp', srtp_seeds())
    write_all('callproto', callproto_seeds())
    write_all('admin', admin_seeds())
    return 0


if __name__ == '__main__':
    sys.exit(main())
