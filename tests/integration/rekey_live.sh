#!/usr/bin/env bash
# rekey_live.sh - issue 13, "Rekey without loss, at any index", through the
# real processes: two callseal-control daemons in one e2ee call (alice@contoso
# calls bob@fabrikam), two callseal-dataplanes joined by net_memif. Alice's
# application sends RTP from a kernel socket into the first dataplane's
# net_tap inside port (in a network namespace made for this test); it leaves
# as SRTP over memif, the second dataplane decrypts it and writes it to a pcap.
# Two SSRCs: one starts at a random sequence number just below 2^15 and
# crosses it, the other just below 2^16 and wraps (ROC 1). While media flows:
# `call rekey` from alice, then from bob, then from both at once (the same
# generation crossing, or two in flight when alice's REKEY reaches bob's
# daemon first: the timing decides; test_calls makes the crossing certain),
# then two rekeys in flight (alice, bob 0.2 s later),
# then a third too soon is refused. Every packet sent must come out once, byte
# for byte, with no tag failure and no replay drop.
#
# usage: rekey_live.sh DATAPLANE CONTROL CALLSEALCTL SRTPCHECK
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 SRTPCHECK=$4
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/e2ee_call.sh"
memif_sites rk

# ---- the call -------------------------------------------------------------------
e2ee_call "call dial alice -> bob@fabrikam, media 10.200.0.1:5004 -> 10.200.0.2:40000"

# ---- two dataplanes over memif ------------------------------------------------------
memif_dataplanes

# ---- media, and rekeys while it flows -------------------------------------------------
N=5000                                  # packets in all, 2 SSRCs, one every 1.5 ms
S1=$(( 32768 - 300 - RANDOM % 600 ))     # crosses 2^15 within its 2500 packets
S2=$(( 65536 - 200 - RANDOM % 1000 ))    # wraps: ROC 1
spawn app ip netns exec "$NS" python3 "$HERE/rtpsend.py" --src 10.200.0.1:5004 \
  --dst 10.200.0.2:40000 --count $N --interval-ms 1.5 --ssrc 0x1515 --seq-start $S1 \
  --ssrc2 0x2626 --seq-start2 $S2 --expect "$TEST_TMP/expect.pcap"
APP=$SPAWN_PID
echo "# SSRC 0x1515 from seq $S1, SSRC 0x2626 from seq $S2"
rekey() { "$CTL" --admin "$1" call rekey "$ID" >>"$TEST_TMP/rekey.log" 2>&1; }
gen() { "$CTL" --admin "$1" call show "$ID" --json | jq_ 'd["rekeys"]'; }
sleep 1.2
rekey "$SA"; r1=$?
sleep 1.2
rekey "$SB"; r2=$?
sleep 1.2
rekey "$SA" & p1=$!
rekey "$SB"; r3=$?
wait $p1; r3="$r3 $?"
sleep 1.2
rekey "$SA"; r4=$?
sleep 0.2
rekey "$SB"; r4="$r4 $?"
"$CTL" --admin "$SA" call rekey "$ID" >/dev/null 2>"$TEST_TMP/busy.err"
r5="$? $(grep -c 'two rekeys are already in flight' "$TEST_TMP/busy.err")"
tap_is "$r1 $r2 $r3 $r4" "0 0 0 0 0 0" \
  "call rekey while media flows: alice, bob, both at once, two in flight"
tap_is "$r5" "1 1" "a third rekey that soon is refused: two rekeys are already in flight"
wait_pid "$APP" 30
tap_is "$?" 0 "the application sent its $N packets"
# rekeys: 0, then 1..5; 6 if "both at once" did not cross (bob's REKEY came
# after alice's arrived: two in flight instead)
GA=$(gen "$SA") GB=$(gen "$SB")
echo "# rekeys $GA"
tap_is "$GA $([ "$GA" = "$GB" ] && [ "$GA" -ge 5 ] && [ "$GA" -le 6 ] && echo same)" "$GA same" \
  "both sides at the same rekey count, 5 or 6"
sleep 0.5
stop_proc "$TX_PID" 5
tap_is "$?" 0 "alice's dataplane stops cleanly"
out_all() { [ "$(pcap_count "$TEST_TMP/plain_out.pcap")" -ge "$N" ]; }
wait_for 5 out_all
stop_proc "$RX_PID" 5
tap_is "$?" 0 "bob's dataplane stops cleanly"

# ---- every packet once, byte for byte ---------------------------------------------------
tap_include "$SRTPCHECK" --tap --mode plain --media-only --expect "$TEST_TMP/expect.pcap" \
  --got "$TEST_TMP/plain_out.pcap"
ENC=$(st "$TEST_TMP/tx.json" 't["encrypted"]')
DEC=$(st "$TEST_TMP/rx.json" 't["decrypted"]')
DROPS=$(st "$TEST_TMP/rx.json" '"%d %d %d" % (t["dropped"]["auth"], t["dropped"]["replay"], t["dropped"]["no_stream"])')
echo "# sent $N, encrypted $ENC, decrypted $DEC, lost $((N - DEC)) (srtpcheck above: each once, byte for byte)"
tap_is "$ENC $DEC" "$N $N" "every packet sent was encrypted and decrypted"
tap_is "$DROPS" "0 0 0" "receiver: no tag failure, no replay, no missing key"
tap_is "$(st "$TEST_TMP/tx.json" 't["dropped"]["index_reuse"]')" 0 "sender: no index reused"

tap_done
