#!/usr/bin/env bash
# index_reuse.sh - issue 13's recovery from index reuse, end to end: two
# callseal-control daemons in one e2ee call (alice@contoso calls bob@fabrikam),
# two callseal-dataplanes joined by net_memif, as in rekey_live.sh. Alice's
# application sends RTP from a kernel socket into the first dataplane's tap;
# it leaves as SRTP over memif, bob's dataplane decrypts it into a pcap.
#
# The application "restarts": run 1 sends N1 packets on SSRC S from sequence
# number Q1; run 2 (a new process, the same SSRC) sends N2 packets from
# Q2 = Q1 - 1600, so that every one of its indexes is at or below run 1's last
# one (Q2 + N2 - 1 = Q1 + N1 - 1): each was protected under the call's key
# already, or is older than the sender's window. Alice's dataplane refuses them
# as index_reuse until alice's daemon, polling the statistics area every
# second, sees the counter rise and rekeys the call by itself; once bob's
# acknowledgement replaced alice's OUT entry, run 2's packets go out under the
# new key (a fresh window) and bob's dataplane takes the first of them under
# its pending key (older than its window: a sender that started over).
#
# Checked, each with a deadline: alice's dataplane counted index_reuse (call
# show --json, then the exit JSON); alice's daemon logged the recovery and the
# rekey count rose on both sides with no `call rekey`, one automatic rekey;
# what bob's dataplane delivered is run 1 and then run 2 from its (k+1)-th
# packet on, byte for byte, each once, in order, where k is the number alice's
# dataplane refused (a tail, no gap: nothing the application sent after the
# new key was in place is lost), and that tail reuses run 1's indexes (it can
# only have passed under the new key); bob's call show counts the packets
# delivered. Measured (printed): packets refused before the recovery landed,
# and the time from the restart to the first delivered packet.
#
# usage: index_reuse.sh DATAPLANE CONTROL CALLSEALCTL SRTPCHECK
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 SRTPCHECK=$4
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/e2ee_call.sh"
memif_sites ir

# ---- the call, two dataplanes over memif ---------------------------------------------
e2ee_call "call dial alice -> bob@fabrikam, media 10.200.0.1:5004 -> 10.200.0.2:40000"
memif_dataplanes

# cs SOCK: call show --json on one side, as one line of numbers (-1: none yet):
# rekeys auto_rekeys out.packets out.index_reuse in.packets in.auth in.replay
# (one callsealctl and one python per call: under load each costs a while)
cs() {
  "$CTL" --admin "$1" call show "$ID" --json 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    d = {}
m = d.get("media") or {}
o, i = m.get("out") or {}, m.get("in") or {}
v = [d.get("rekeys"), d.get("auto_rekeys"), o.get("packets"), o.get("index_reuse"),
     i.get("packets"), i.get("auth"), i.get("replay")]
print(" ".join(str(-1 if x is None else x) for x in v))'
}
# f SOCK N...: fields N... (1-based) of cs SOCK
f() { local sock=$1 v; shift; read -ra v <<<"$(cs "$sock")"; local o=() n; for n in "$@"; do o+=("${v[n - 1]:--1}"); done; echo "${o[*]}"; }
is_() { [ "$("${@:2}")" = "$1" ]; }          # is_ WANT CMD...: CMD prints WANT
gt0() { [ "$("$@")" -gt 0 ]; }

# media_rtp PCAP: the RTP payloads of the media frames (UDP to 10.200.0.2:40000)
# in PCAP, hex, one a line (the tap's own frames, if any, left out)
media_rtp() {
  python3 - "$1" <<'EOF'
import struct, sys
try:
    d = open(sys.argv[1], "rb").read()
except OSError:
    d = b""
off = 24
while off + 16 <= len(d):
    n = struct.unpack("<I", d[off + 8:off + 12])[0]
    f = d[off + 16:off + 16 + n]
    off += 16 + n
    if len(f) < 34 or f[12:14] != b"\x08\x00" or f[23] != 17:
        continue
    ihl = (f[14] & 15) * 4
    if struct.unpack("!H", f[14 + ihl + 2:14 + ihl + 4])[0] == 40000:
        print(f[14 + ihl + 8:].hex())
EOF
}
delivered() { media_rtp "$TEST_TMP/plain_out.pcap" | wc -l; }

# ---- run 1, then the application restarts with lower sequence numbers ----------------
SSRC=0x7e57ab1e N1=400 N2=2000 IV=2        # IV: ms between packets
Q1=$(( 20000 + RANDOM % 20000 ))
Q2=$(( Q1 - 1600 ))                          # run 2: Q1-1600 .. Q1+399, all reused
send() {                                     # send NAME COUNT SEQ
  spawn "$1" ip netns exec "$NS" python3 "$HERE/rtpsend.py" --src 10.200.0.1:5004 \
    --dst 10.200.0.2:40000 --count "$2" --interval-ms $IV --ssrc $SSRC --seq-start "$3" \
    --expect "$TEST_TMP/$1.pcap" --times "$TEST_TMP/$1.times"
}
echo "# SSRC $SSRC: run 1 seq $Q1..$((Q1 + N1 - 1)), run 2 (the restart) seq $Q2..$((Q2 + N2 - 1))"
G0="$(f "$SA" 1) $(f "$SB" 1)"
send run1 $N1 $Q1
wait_pid "$SPAWN_PID" 20
tap_is "$?" 0 "run 1: the application sent $N1 packets"
both() { echo "$(f "$SA" 3 4) $(f "$SB" 5)"; }
wait_for 15 is_ "$N1 0 $N1" both
tap_is "$(both)" "$N1 0 $N1" \
  "run 1 delivered: alice's call show counts $N1 out, no index_reuse; bob's $N1 in"

send run2 $N2 $Q2
APP2=$SPAWN_PID
# 1. the sending dataplane refuses run 2 as index_reuse, seen in alice's call show
wait_for 15 gt0 f "$SA" 4
tap_result $? "the restart: alice's call show counts index_reuse > 0 on the OUT leg" ||
  tap_diag "call show: $("$CTL" --admin "$SA" call show "$ID" --json 2>&1)"

# 2. alice's daemon recovers by itself: the log line, a new rekey on both sides
LINE_RE="^.*call $ID: the application reused RTP/RTCP indexes on its outbound stream \(([0-9]+) packets refused as index_reuse\): rekeying\$"
wait_for 10 grep -qE "$LINE_RE" "$TEST_TMP/ctl_a.log"
tap_result $? "alice's daemon logged the recovery: 'call $ID: the application reused ...: rekeying'" ||
  tail -5 "$TEST_TMP/ctl_a.log" | sed 's/^/#   /'
LOGGED_N=$(grep -E "$LINE_RE" "$TEST_TMP/ctl_a.log" | head -1 | sed -E "s|$LINE_RE|\\1|")
gens() { echo "$(f "$SA" 1) $(f "$SB" 1)"; }
rose() { local g; read -ra g <<<"$(gens)"; [ "${g[0]}" = "${g[1]}" ] && [ "${g[0]}" -gt "${G0%% *}" ]; }
wait_for 15 rose
ROSE=$?
G1=$(gens)
tap_result $ROSE "the rekey count rose on both sides without a call rekey: $G0 -> $G1" ||
  tail -5 "$TEST_TMP/ctl_b.log" | sed 's/^/#   /'
grep -qE "^.*call $ID: rekeyed by itself for index reuse \(rekey ${G1%% *} of the call, 1 automatic rekey of this leg\)\$" \
  "$TEST_TMP/ctl_a.log"
tap_result $? "alice's daemon: 'rekeyed by itself for index reuse (rekey ${G1%% *} of the call, 1 automatic rekey of this leg)'"
! grep -h "call rekey $ID" "$TEST_TMP/ctl_a.log" "$TEST_TMP/ctl_b.log"
tap_result $? "no operator 'call rekey' in either daemon's log"

wait_pid "$APP2" 30
tap_is "$?" 0 "run 2: the application sent $N2 packets"
# every packet of the two runs is either protected or refused: K refused
accounted() { local v; read -ra v <<<"$(f "$SA" 3 4)"; [ $((v[0] + v[1])) -eq $((N1 + N2)) ]; }
wait_for 15 accounted
tap_result $? "alice's call show: every packet sent was protected or refused as index_reuse" ||
  tap_diag "out: packets index_reuse $(f "$SA" 3 4)"
K=$(f "$SA" 4)
D=$((N1 + N2 - K))                           # delivered, if none is lost after the recovery
[ "$K" -gt 0 ] && [ "$K" -lt "$N2" ]
tap_result $? "the recovery landed while run 2 was sending: $K of its $N2 packets refused, the rest protected under the new key"
tap_is "$(f "$SA" 2 1) $(f "$SB" 1)" "1 $G1" \
  "one automatic rekey (the refusals until the acknowledgement are within the storm guard)"

# 4. bob's call show counts what was delivered
wait_for 15 is_ "$D" f "$SB" 5
tap_is "$(f "$SB" 5 6 7) $(delivered)" "$D 0 0 $D" \
  "bob's call show counts the $D packets delivered (run 1 and run 2's tail), no auth or replay drop"

stop_proc "$TX_PID" 5
tap_is "$?" 0 "alice's dataplane stops cleanly"
stop_proc "$RX_PID" 5
tap_is "$?" 0 "bob's dataplane stops cleanly"
tap_is "$(st "$TEST_TMP/tx.json" '"%d %d" % (t["dropped"]["index_reuse"], t["encrypted"])')" "$K $D" \
  "alice's dataplane's exit JSON: dropped.index_reuse $K (> 0), encrypted $D"
tap_is "$(st "$TEST_TMP/rx.json" '"%d %d %d %d" % (t["decrypted"], t["dropped"]["auth"], t["dropped"]["replay"], t["dropped"]["no_stream"])')" \
  "$D 0 0 0" "bob's dataplane's exit JSON: decrypted $D; no tag failure, replay or missing key"

# 3. run 1, then run 2 from its packet K + 1 on, byte for byte, each once
python3 - "$TEST_TMP/run1.pcap" "$TEST_TMP/run2.pcap" "$K" "$TEST_TMP/expect.pcap" <<'EOF'
import struct, sys
def frames(p):
    d = open(p, "rb").read()
    out, off = [], 24
    while off + 16 <= len(d):
        n = struct.unpack("<I", d[off + 8:off + 12])[0]
        out.append(d[off:off + 16 + n]); off += 16 + n
    return d[:24], out
h, r1 = frames(sys.argv[1])
_, r2 = frames(sys.argv[2])
k = int(sys.argv[3])
open(sys.argv[4], "wb").write(h + b"".join(r1 + r2[k:]))
EOF
tap_include "$SRTPCHECK" --tap --mode plain --media-only --expect "$TEST_TMP/expect.pcap" \
  --got "$TEST_TMP/plain_out.pcap"
# the delivered stream: each packet once; run 2's part reuses run 1's indexes
media_rtp "$TEST_TMP/plain_out.pcap" >"$TEST_TMP/got.rtp"
CHECK=$(python3 - "$TEST_TMP/got.rtp" "$N1" "$Q1" <<'EOF'
import struct, sys
rtp = [bytes.fromhex(l) for l in open(sys.argv[1]).read().split()]
n1, q1 = int(sys.argv[2]), int(sys.argv[3])
seqs = [struct.unpack("!H", p[2:4])[0] for p in rtp]
dup = len(rtp) - len(set(rtp))
a, b = seqs[:n1], seqs[n1:]
inc = all(x < y for x, y in zip(a, a[1:])) and all(x < y for x, y in zip(b, b[1:]))
reused = len(b) > 0 and all(s <= q1 + n1 - 1 for s in b)
print(dup, "increasing" if inc else "not-increasing", reused, len(set(a) & set(b)))
EOF
)
read -r DUP ORDER REUSED OVERLAP <<<"$CHECK"
tap_is "$DUP $ORDER $REUSED" "0 increasing True" \
  "nothing delivered twice; each run's sequence numbers once, in order; run 2's delivered tail ($((N2 - K)) packets) all at reused indexes"
echo "# run 2's delivered packets that carry the very sequence numbers run 1 delivered (same index, new key): $OVERLAP"

# ---- measured --------------------------------------------------------------------------
T0=$(head -1 "$TEST_TMP/run2.times" | cut -d' ' -f2)
TK=$([ "$K" -ge 0 ] && sed -n "$((K + 1))p" "$TEST_TMP/run2.times" | cut -d' ' -f2)
echo "# refused before the recovery landed: $K of run 2's $N2 packets (one every $IV ms);" \
  "the daemon's log line said $LOGGED_N (the rise it saw; the rest came until bob's acknowledgement)"
python3 -c 'import sys; t0, tk = map(float, sys.argv[1:]); print("# time to recover: %.0f ms from the restart to its first packet that went out (under the new key)" % ((tk - t0) * 1e3))' \
  "$T0" "${TK:-$T0}"

tap_done
