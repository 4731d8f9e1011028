#!/usr/bin/env bash
# rekey_wan.sh - issue 13, "Rekey without loss, at any index", both directions
# over a long link: two callseal-control daemons in one e2ee call (alice@contoso
# calls bob@fabrikam), two callseal-dataplanes, each with its phone
# (scripts/lib/phone.py, a kernel UDP socket) in a network namespace behind its
# net_tap inside port; the outside ports (net_memif) are joined through
# callseal-pcapfwd --delay-ms 25, so media takes 25 ms from site to site (a
# ping takes 50 ms or more, checked). The control channel is TCP on 127.0.0.1
# (not delayed): the keys reach both tables at once, the media lags behind them.
#
# Media both ways, RTP and RTCP: alice's stream starts at a random sequence
# number just below 2^15 and crosses it, bob's just below 2^16 and wraps
# (ROC 1). While it flows: `call rekey` from alice, then from bob, then from
# both close together (two callsealctl started side by side: the same
# generation crossing, or two in flight when one REKEY arrives first). Each
# phone verifies every packet it receives against the sender's seed (payload
# byte for byte, SSRC, sequence): every RTP packet and RTCP compound sent must
# be received once, in order; the dataplanes' drop counters must all be 0, the
# relay must have dropped nothing; both sides at the same rekey count.
#
# usage: rekey_wan.sh DATAPLANE CONTROL CALLSEALCTL PCAPFWD
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 PCAPFWD=$4
HERE=$(cd "$(dirname "$0")" && pwd)
PHONE=$HERE/../../scripts/lib/phone.py
DELAY_MS=25
RATE=250                  # RTP packets per second, each way (4 ms apart)
DURATION=6.5              # seconds of media
. "$HERE/e2ee_call.sh"
tap_sites rw

# ---- the call -------------------------------------------------------------------
e2ee_call "call dial alice -> bob@fabrikam, media 10.200.0.1:5004 <-> 10.200.0.2:40000"

# ---- the long link and two sites -----------------------------------------------------
wire_link --delay-ms "$DELAY_MS"
tap_site a "$NSA" "$IFA" "$TA" "role=client,socket=$MA" 0
DPA=$SPAWN_PID
tap_site b "$NSB" "$IFB" "$TB" "role=client,socket=$MB" 1
DPB=$SPAWN_PID
tap_site_up a && tap_site_up b
tap_result $? "both dataplanes started: tap inside, memif outside to the link" ||
  tap_bail "$(tail -3 "$TEST_TMP/dp_a.log") $(tail -3 "$TEST_TMP/dp_b.log")"
phone_nets
# UDP off the media port passes both dataplanes unchanged: the round trip of
# an echo shows the link's delay
spawn echo ip netns exec "$NSB" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.200.0.2", 7))
s.settimeout(10)
for _ in range(5):
    d, a = s.recvfrom(100)
    s.sendto(d, a)'
ECHO=$SPAWN_PID
sleep 0.3
RTT=$(ip netns exec "$NSA" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
best = None
for i in range(5):
    t = time.monotonic()
    s.sendto(b"echo %d" % i, ("10.200.0.2", 7))
    try:
        s.recv(100)
    except socket.timeout:
        continue
    rtt = (time.monotonic() - t) * 1000
    best = rtt if best is None else min(best, rtt)
    time.sleep(0.05)
print("%.1f" % best if best is not None else "")' 2>&1)
stop_proc "$ECHO" 1
echo "# UDP echo alice -> bob -> alice: round trip min ${RTT:-none} ms"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1] or 0) >= 2 * $DELAY_MS else 1)" "$RTT" 2>/dev/null
tap_result $? "a UDP echo between the sites takes at least $((2 * DELAY_MS)) ms (${RTT:-no reply})"

# ---- media both ways, and rekeys while it flows ---------------------------------------------
SEQ_A=$(( 32768 - 400 - RANDOM % 600 ))   # crosses 2^15 in its first 1,000 packets
SEQ_B=$(( 65536 - 200 - RANDOM % 1000 ))  # wraps: ROC 1
SSRC_A=0x$(printf '%08x' $(( (RANDOM << 16 | RANDOM) | 1 )))
SSRC_B=0x$(printf '%08x' $(( (RANDOM << 16 | RANDOM) | 2 )))
media=(--duration "$DURATION" --rate "$RATE" --linger 1.0)
tap_phone a "$NSA" 10.200.0.1:5004 10.200.0.2:40000 "$SSRC_A" "$SSRC_B" 11 22 alice@contoso bob@fabrikam \
  --seq-start "$SEQ_A" "${media[@]}"
PHA=$SPAWN_PID
tap_phone b "$NSB" 10.200.0.2:40000 10.200.0.1:5004 "$SSRC_B" "$SSRC_A" 22 11 bob@fabrikam alice@contoso \
  --seq-start "$SEQ_B" "${media[@]}"
PHB=$SPAWN_PID
phones_go
echo "# alice -> bob: SSRC $SSRC_A from seq $SEQ_A; bob -> alice: SSRC $SSRC_B from seq $SEQ_B; $RATE packets/s each way for $DURATION s"
rekey() { "$CTL" --admin "$1" call rekey "$ID" >>"$TEST_TMP/rekey_$2.log" 2>&1; }
gen() { "$CTL" --admin "$1" call show "$ID" --json | jq_ 'd["rekeys"]'; }
at() { sleep "$(python3 -c "import time; print(max(0, $START + $1 - time.time()))")"; }
ms() { python3 -c "import time; print('%.1f' % ((time.time() - $START) * 1000))"; }
at 1.5
echo "# $(ms) ms: rekey from alice"
rekey "$SA" a1; r1=$?
at 3.0
echo "# $(ms) ms: rekey from bob"
rekey "$SB" b1; r2=$?
at 4.5
echo "# $(ms) ms: rekey from alice and from bob together"
t0=$EPOCHREALTIME
rekey "$SA" a2 & p1=$!
rekey "$SB" b2 & p2=$!
wait $p1; r3=$?
wait $p2; r3="$r3 $?"
echo "# both rekeys answered after $(python3 -c "print('%.1f' % (($EPOCHREALTIME - $t0) * 1000))") ms"
tap_is "$r1 $r2 $r3" "0 0 0 0" "call rekey while media flows: alice, bob, both together"
wait_pid "$PHA" 30; pa=$?
wait_pid "$PHB" 30; pb=$?
tap_is "$pa $pb" "0 0" "both phones ran to the end"
GA=$(gen "$SA") GB=$(gen "$SB")
# rekeys: 0, then 1 (alice), 2 (bob), 3 if the two together crossed (one
# rekey), 4 if one REKEY came in first (two in flight)
echo "# rekeys: alice $GA, bob $GB"
tap_is "$GA $([ "$GA" = "$GB" ] && [ "$GA" -ge 3 ] && [ "$GA" -le 4 ] && echo same)" "$GA same" \
  "both sides at the same rekey count, 3 or 4"

# ---- every packet once, byte for byte, both ways --------------------------------------------
media_ok() {   # media_ok SENDER_REPORT RECEIVER_REPORT
  python3 - "$1" "$2" "$RATE" <<'EOF'
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("# %s -> %s: RTP %d sent, %d received once (lost %d, bad %d, dup %d, reordered %d), "
      "RTCP %d sent, %d received (bad %d); seq %s-%s sent, %s-%s received" % (
      s["name"], r["name"], s["sent_rtp"], r["rx_rtp"], s["sent_rtp"] - r["rx_rtp"], r["rx_bad"],
      r["rx_dup"], r["rx_reordered"], s["sent_rtcp"], r["rx_rtcp"], r["rx_rtcp_bad"],
      s["first_seq"], s["last_seq"], r["rx_first_seq"], r["rx_last_seq"]))
rate = float(sys.argv[3])
if r.get("rx_missing_seqs"):
    print("#   missing (seq: sent at ms after the start): " + ", ".join(
        "%d: %.0f" % (q, i * 1000.0 / rate) for i, q in r["rx_missing_seqs"]))
ok = (s["sent_rtp"] > 0 and r["rx_rtp"] == s["sent_rtp"] and r["rx_rtcp"] == s["sent_rtcp"] and
      not any(r[k] for k in ("rx_bad", "rx_dup", "rx_missing", "rx_rtcp_bad", "rx_reordered")) and
      r["rx_first_seq"] == s["first_seq"] and r["rx_last_seq"] == s["last_seq"])
sys.exit(0 if ok else 1)
EOF
}
media_ok "$TEST_TMP/phone_a.json" "$TEST_TMP/phone_b.json" >"$TEST_TMP/ab" 2>&1
tap_result $? "alice -> bob: every RTP packet and RTCP compound received once, in order, byte for byte"
cat "$TEST_TMP/ab"
media_ok "$TEST_TMP/phone_b.json" "$TEST_TMP/phone_a.json" >"$TEST_TMP/ba" 2>&1
tap_result $? "bob -> alice: every RTP packet and RTCP compound received once, in order, byte for byte"
cat "$TEST_TMP/ba"

sites_stop a b
# tx_full is the ports' (a tap whose reader lagged on a loaded machine): a
# media packet lost to it would be missing at a phone, checked above
tap_is "$(st "$TEST_TMP/dp_a.json" 'sum(v for k, v in t["dropped"].items() if k != "tx_full")') $(st "$TEST_TMP/dp_b.json" 'sum(v for k, v in t["dropped"].items() if k != "tx_full")')" "0 0" \
  "neither dataplane dropped a packet for a crypto or parse reason (every drop reason but tx_full 0: no tag failure, replay, missing key, index reuse)"
sent() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["sent_rtp"] + r["sent_rtcp"])' "$1"; }
tap_is "$(st "$TEST_TMP/dp_a.json" 't["encrypted"], t["decrypted"]') $(st "$TEST_TMP/dp_b.json" 't["encrypted"], t["decrypted"]')" \
  "($(sent "$TEST_TMP/phone_a.json"), $(sent "$TEST_TMP/phone_b.json")) ($(sent "$TEST_TMP/phone_b.json"), $(sent "$TEST_TMP/phone_a.json"))" \
  "each dataplane encrypted what its phone sent and decrypted what the other phone sent"
WJ=$(grep '^{' "$TEST_TMP/wire.log" | tail -1)
echo "# link: $WJ"
tap_is "$(json_get "$WJ" dropped) $(json_get "$WJ" delay_full)" "0 0" \
  "the link dropped nothing (output full: 0, delay FIFO full: 0; link_down counts frames before both memif peers connected)"

tap_done
