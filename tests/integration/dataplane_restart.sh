#!/usr/bin/env bash
# dataplane_restart.sh - issue 14, "Faults": kill -9 a dataplane under traffic
# and start it again. Two callseal-control daemons in one e2ee call (alice ->
# bob), two callseal-dataplanes with a phone each (scripts/lib/phone.py, in a
# network namespace behind the net_tap inside port), the outside ports joined
# through callseal-pcapfwd, which copies the wire to a pcap. Media both ways,
# RTP and RTCP; both phones' sequence numbers wrap (ROC 1) before the kill, so
# a dataplane that started its streams again at ROC 0 would protect indexes a
# second time under the call's key (AES-GCM nonce reuse) and the peer, whose
# ROC went on, would fail every packet.
#
# 2 s in, alice's dataplane is killed (SIGKILL) and started again at once: it
# finds the streams' indexes its predecessor stored before each packet left
# (/dev/shm/callseal.TABLE.resume, dataplane/resume.h) and goes on from them,
# with no rekey. Checks: the restart says it resumes the call's streams; both
# phones receive again after it (the last packet sent arrives), no packet twice
# or altered; over the whole run neither dataplane fails a tag, sees a replay
# or refuses an index (auth, replay, unverified, index_reuse all 0: the ROC
# was recovered both ways); the call's rekey count is unchanged (no rekey did
# it); on the wire no ciphertext twice (the phones' payloads are a function of
# SSRC and sequence number: one index protected twice under one key would put
# two identical SRTP bodies on the wire). The last check is a second line of
# defence only: a dataplane that restarted its streams at ROC 0 here would send
# sequence numbers its ROC 0 never carried (the streams wrapped 0.5 s in), so
# what catches it is the peer's tag failures (with the restore taken out, bob's
# dataplane counted 482). test_flows test_restart checks the index refusals.
#
# usage: dataplane_restart.sh DATAPLANE CONTROL CALLSEALCTL PCAPFWD
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 PCAPFWD=$4
HERE=$(cd "$(dirname "$0")" && pwd)
PHONE=$HERE/../../scripts/lib/phone.py
RATE=200
DURATION=5
KILL_AT=2.0
. "$HERE/e2ee_call.sh"
tap_sites dr

e2ee_call "call dial alice -> bob@fabrikam, media 10.200.0.1:5004 <-> 10.200.0.2:40000"
wire_link --copy "$TEST_TMP/wire.pcap"
tap_site a "$NSA" "$IFA" "$TA" "role=client,socket=$MA" 0
DPA=$SPAWN_PID
tap_site b "$NSB" "$IFB" "$TB" "role=client,socket=$MB" 1
DPB=$SPAWN_PID
tap_site_up a && tap_site_up b
tap_result $? "both dataplanes started: tap inside, memif outside to the link" ||
  tap_bail "$(tail -3 "$TEST_TMP/dp_a.log") $(tail -3 "$TEST_TMP/dp_b.log")"
phone_nets

# both wrap about 0.5 s in: ROC 1 well before the kill
SEQ_A=$(( 65536 - RATE / 2 - RANDOM % 20 ))
SEQ_B=$(( 65536 - RATE / 2 - RANDOM % 20 ))
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
at() { sleep "$(python3 -c "import time; print(max(0, $START + $1 - time.time()))")"; }
gen() { "$CTL" --admin "$1" call show "$ID" --json | jq_ 'd["rekeys"]'; }

at "$KILL_AT"
GEN0=$(gen "$SA")
kill -9 "$DPA"
wait "$DPA" 2>/dev/null
echo "# $(date +%T.%N): alice's dataplane killed (SIGKILL) at rekey $GEN0"
tap_site a2 "$NSA" "$IFA" "$TA" "role=client,socket=$MA" 0
DPA=$SPAWN_PID
tap_site_up a2 && bash -c "$(declare -f phone_net); phone_net $NSA $IFA 10.200.0.1 02:00:00:00:00:01 10.200.0.2 02:00:00:00:00:02"
tap_result $? "alice's dataplane restarted on the same table at once, its tap set up again" ||
  tap_bail "$(tail -5 "$TEST_TMP/dp_a2.log")"
echo "# $(date +%T.%N): restarted"
grep '^callseal-dataplane: resuming' "$TEST_TMP/dp_a2.log" | sed 's/^/# /'
N=$(sed -n 's/^callseal-dataplane: resuming \([0-9]*\) stream.*/\1/p' "$TEST_TMP/dp_a2.log")
tap_is "$N" 2 "the restarted dataplane resumes the call's two streams (alice's outbound, bob's inbound)"
wait_pid "$PHA" 30; pa=$?
wait_pid "$PHB" 30; pb=$?
tap_is "$pa $pb" "0 0" "both phones ran to the end"
tap_is "$(gen "$SA") $(gen "$SB")" "$GEN0 $GEN0" "no rekey: both sides still at rekey $GEN0"

report() {   # report SENDER RECEIVER: flows again after the restart, each packet once
  python3 - "$1" "$2" <<'EOF'
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("# %s -> %s: RTP %d sent (%d refused by the kernel while the tap was gone), %d received "
      "(lost %d, bad %d, dup %d), RTCP %d sent, %d received (bad %d); seq %s-%s sent, %s-%s "
      "received" % (s["name"], r["name"], s["sent_rtp"], s.get("send_errors", 0), r["rx_rtp"],
      s["sent_rtp"] - r["rx_rtp"], r["rx_bad"], r["rx_dup"], s["sent_rtcp"], r["rx_rtcp"],
      r["rx_rtcp_bad"], s["first_seq"], s["last_seq"], r["rx_first_seq"], r["rx_last_seq"]))
ok = (r["rx_rtp"] > 0 and r["rx_dup"] == 0 and r["rx_bad"] == 0 and r["rx_rtcp_bad"] == 0 and
      r["rx_last_seq"] == s["last_seq"])
sys.exit(0 if ok else 1)
EOF
}
report "$TEST_TMP/phone_a.json" "$TEST_TMP/phone_b.json" >"$TEST_TMP/ab" 2>&1
tap_result $? "alice -> bob: flows again after the restart (the last packet arrives), none twice, none altered"
cat "$TEST_TMP/ab"
report "$TEST_TMP/phone_b.json" "$TEST_TMP/phone_a.json" >"$TEST_TMP/ba" 2>&1
tap_result $? "bob -> alice: flows again after the restart (the last packet arrives), none twice, none altered"
cat "$TEST_TMP/ba"

sites_stop a2 b
crypto='sum(t["dropped"][k] for k in ("auth", "replay", "unverified", "index_reuse", "key_exhausted", "no_stream"))'
tap_is "$(st "$TEST_TMP/dp_b.json" "$crypto") $(st "$TEST_TMP/dp_a2.json" "$crypto")" "0 0" \
  "no tag failure, replay, index refusal or missing key on either dataplane (bob's over the whole run: it decrypted alice's ROC 1 packets from both of her dataplanes)"
tap_is "$(st "$TEST_TMP/dp_a2.json" 't["encrypted"] > 0 and t["decrypted"] > 0')" True \
  "the restarted dataplane carried media both ways"

# no (SSRC, key, index) twice on the wire: identical plaintexts (a function of
# SSRC and sequence number) under one key and index give identical ciphertexts
python3 - "$TEST_TMP/wire.pcap" "$SSRC_A" "$SSRC_B" >"$TEST_TMP/wirecheck" 2>&1 <<'EOF'
import struct, sys
ssrcs = {int(sys.argv[2], 16), int(sys.argv[3], 16)}
f = open(sys.argv[1], 'rb')
f.read(24)
seen, n, dup = {}, 0, 0
while True:
    h = f.read(16)
    if len(h) < 16:
        break
    incl = struct.unpack('<IIII', h)[2]
    d = f.read(incl)
    if len(d) < 14 + 20 + 8 + 12 or d[12:14] != b'\x08\x00' or d[23] != 17:
        continue
    ihl = (d[14] & 15) * 4
    p = d[14 + ihl + 8:]
    if len(p) < 12 + 16 or p[0] >> 6 != 2 or 72 <= (p[1] & 0x7f) <= 76:
        continue
    ssrc = struct.unpack('!I', p[8:12])[0]
    if ssrc not in ssrcs:
        continue
    n += 1
    body = (ssrc, bytes(p[12:-16]))
    if body in seen:
        dup += 1
        if dup <= 5:
            print("# SSRC %08x seq %d: same ciphertext as seq %d" % (ssrc, struct.unpack('!H', p[2:4])[0], seen[body]))
    seen[body] = struct.unpack('!H', p[2:4])[0]
print("# wire: %d SRTP packets of the call, %d with a ciphertext seen before" % (n, dup))
sys.exit(0 if n > 0 and dup == 0 else 1)
EOF
tap_result $? "the wire: no SRTP ciphertext twice (no index protected twice under one key)"
cat "$TEST_TMP/wirecheck"
tap_done
