#!/usr/bin/env bash
# dataplane_memif.sh - two callseal-dataplane processes back to back over
# net_memif: the first encrypts what enters its inside port (a pcap) and sends
# SRTP out of its outside port (memif client); the second receives it on its
# outside port (memif server), decrypts, and sends RTP out of its inside port
# (a pcap). The plaintext that leaves the second must equal what entered the
# first, byte for byte.
#
# usage: dataplane_memif.sh DATAPLANE CONTROL CALLSEALCTL RTPGEN SRTPCHECK
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 RTPGEN=$4 SRTPCHECK=$5
require_cmd python3

TABLE="m$$"
SOCK="$TEST_TMP/admin.sock"
MEMIF="$TEST_TMP/memif.sock"
KEY=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(100,144))).decode())')
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE"' EXIT

spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK"
CONTROL_PID=$SPAWN_PID
wait_for_socket "$SOCK" 10 "$CONTROL_PID" || tap_bail "callseal-control did not start"
# one table serves both: the sender's stream is (its address, out), the
# receiver's is (its own address = the destination, in)
tap_check "keys for both ends" bash -c "
  '$CTL' --admin '$SOCK' key add --local 192.0.2.1:5004 --direction out --profile AEAD_AES_256_GCM --inline '$KEY' &&
  '$CTL' --admin '$SOCK' key add --local 198.51.100.7:40000 --direction in --profile AEAD_AES_256_GCM --inline '$KEY'"

"$RTPGEN" --out "$TEST_TMP/rtp.pcap" --local 192.0.2.1:5004 --remote 198.51.100.7:40000 \
  --direction out --ssrcs 3 --packets 500 --seq-start 65000 --rtcp-every 10 --csrcs --ext \
  --padding --mix --payload 0-1200 --seed 5 >"$TEST_TMP/gen.json"
GEN=$(cat "$TEST_TMP/gen.json")
python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$TEST_TMP/empty.pcap"

# the receiver first: the memif server must listen before the client starts.
# rsize=14: 16384-slot rings, so that the whole pcap (read in a millisecond)
# fits while the receiver drains it: a full ring is a tx_full drop, by design.
read -ra eal <<<"$(eal_args rx)"
spawn rx "$DATAPLANE" "${eal[@]}" -l 0 \
  --vdev "net_pcap0,rx_pcap=$TEST_TMP/empty.pcap,tx_pcap=$TEST_TMP/plain_out.pcap" \
  --vdev "net_memif0,role=server,socket=$MEMIF,socket-abstract=no,rsize=14" \
  -- --table "$TABLE" --stats-json "$TEST_TMP/rx.json"
RX_PID=$SPAWN_PID
wait_for_socket "$MEMIF" 20 "$RX_PID"
tap_result $? "receiving dataplane listens on memif" || tap_bail "$(tail -5 "$TEST_TMP/rx.log")"

read -ra eal <<<"$(eal_args tx)"
timeout 120 "$DATAPLANE" "${eal[@]}" -l 1 \
  --vdev "net_pcap1,rx_pcap=$TEST_TMP/rtp.pcap,tx_pcap=$TEST_TMP/tx_inside.pcap" \
  --vdev "net_memif1,role=client,socket=$MEMIF,socket-abstract=no,rsize=14" \
  -- --table "$TABLE" --idle-exit 500 --stats-json "$TEST_TMP/tx.json" >"$TEST_TMP/tx.log" 2>&1
tap_is "$?" 0 "sending dataplane encrypted its pcap and exited"
# the receiving side has written out every packet of the input
WANT=$(pcap_count "$TEST_TMP/rtp.pcap")
all_out() { [ "$(pcap_count "$TEST_TMP/plain_out.pcap")" -ge "$WANT" ]; }
wait_for 10 all_out
stop_proc "$RX_PID" 5
tap_is "$?" 0 "receiving dataplane stops cleanly"

tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/rtp.pcap" \
  --got "$TEST_TMP/plain_out.pcap"

media=$(( $(json_get "$GEN" rtp) + $(json_get "$GEN" rtcp) ))
tx_enc=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["total"]["encrypted"])' "$TEST_TMP/tx.json")
rx_dec=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["total"]["decrypted"])' "$TEST_TMP/rx.json")
tap_is "$tx_enc" "$media" "the first encrypted every RTP/RTCP packet"
tap_is "$rx_dec" "$media" "the second decrypted every one"

stop_proc "$CONTROL_PID" 5
tap_done
