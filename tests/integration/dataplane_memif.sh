#!/usr/bin/env bash
# dataplane_memif.sh - two callseal-dataplane processes back to back over
# net_memif: the first encrypts what enters its inside port (a pcap) and sends
# SRTP out of its outside port (memif client); the second receives it on its
# outside port (memif server), decrypts, and sends RTP out of its inside port
# (a pcap). The plaintext that leaves the second must equal what entered the
# first, byte for byte.
#
# Each dataplane's statistics area (/dev/shm/callseal.TABLE.stats, read with
# callseal-dpstats-dump) is checked while it runs: the OUT flow's packets and
# bytes on the first, the IN flow's on the second, equal what was sent; the
# totals equal the exit JSON's; a second dataplane on a table is refused with
# the first one's pid; the area is gone once the dataplane has exited.
#
# usage: dataplane_memif.sh DATAPLANE CONTROL CALLSEALCTL RTPGEN SRTPCHECK DPSTATS_DUMP
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 RTPGEN=$4 SRTPCHECK=$5 DUMP=$6
require_cmd python3

# one key table per dataplane (one dataplane per table: the statistics
# area's lock), one callseal-control each
TABLE="m$$" TABLE_RX="mr$$"
SOCK="$TEST_TMP/admin.sock" SOCK_RX="$TEST_TMP/admin_rx.sock"
MEMIF="$TEST_TMP/memif.sock"
KEY=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(100,144))).decode())')
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume" "/dev/shm/callseal.$TABLE_RX" "/dev/shm/callseal.$TABLE_RX.resume"' EXIT

spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK"
CONTROL_PID=$SPAWN_PID
spawn control_rx "$CONTROL" --table "$TABLE_RX" --state "$TEST_TMP/state_rx" --admin "$SOCK_RX"
CONTROL_RX_PID=$SPAWN_PID
wait_for_socket "$SOCK" 10 "$CONTROL_PID" && wait_for_socket "$SOCK_RX" 10 "$CONTROL_RX_PID" ||
  tap_bail "callseal-control did not start"
# the sender's stream is (its address, out), the receiver's is (its own
# address = the destination, in)
tap_check "keys for both ends" bash -c "
  '$CTL' --admin '$SOCK' key add --local 192.0.2.1:5004 --direction out --profile AEAD_AES_256_GCM --inline '$KEY' &&
  '$CTL' --admin '$SOCK_RX' key add --local 198.51.100.7:40000 --direction in --profile AEAD_AES_256_GCM --inline '$KEY'"

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
  -- --table "$TABLE_RX" --stats-json "$TEST_TMP/rx.json"
RX_PID=$SPAWN_PID
wait_for_socket "$MEMIF" 20 "$RX_PID"
tap_result $? "receiving dataplane listens on memif" || tap_bail "$(tail -5 "$TEST_TMP/rx.log")"

# the sender runs until stopped, so that its statistics can be read after
# the traffic
read -ra eal <<<"$(eal_args tx)"
spawn tx "$DATAPLANE" "${eal[@]}" -l 1 \
  --vdev "net_pcap1,rx_pcap=$TEST_TMP/rtp.pcap,tx_pcap=$TEST_TMP/tx_inside.pcap" \
  --vdev "net_memif1,role=client,socket=$MEMIF,socket-abstract=no,rsize=14" \
  -- --table "$TABLE" --stats-json "$TEST_TMP/tx.json"
TX_PID=$SPAWN_PID
# the receiving side has written out every packet of the input
WANT=$(pcap_count "$TEST_TMP/rtp.pcap")
all_out() { [ "$(pcap_count "$TEST_TMP/plain_out.pcap")" -ge "$WANT" ]; }
wait_for 20 all_out
tap_result $? "every frame went through both dataplanes ($WANT)"

# ---- the statistics areas, while both run ----------------------------------
# the media the generator wrote: RTP/RTCP frames (RFC 7983: first byte
# 128-191) from the media port, and their RTP/RTCP bytes (the plaintext)
read -r MEDIA_N MEDIA_BYTES < <(python3 - "$TEST_TMP/rtp.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, n, b = 24, 0, 0
while off + 16 <= len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    f = d[off + 16:off + 16 + incl]
    off += 16 + incl
    if f[12:14] == b"\x08\x00" and f[23] == 17:
        u = f[14 + (f[14] & 15) * 4:]
        if int.from_bytes(u[0:2], "big") == 5004 and len(u) > 8 and 128 <= u[8] <= 191:
            n, b = n + 1, b + int.from_bytes(u[4:6], "big") - 8
print(n, b)
PY
)
tap_check "the sender's statistics area exists while it runs" \
  test -f "/dev/shm/callseal.$TABLE.stats" -a -f "/dev/shm/callseal.$TABLE_RX.stats"
# dump TABLE ARGS...: the area as JSON; settled TABLE: every frame received
# has been sent or dropped (nothing in flight)
dump() { "$DUMP" "$@" --json 2>/dev/null; }
settled() {
  dump "$1" | python3 -c 'import json,sys; t = json.load(sys.stdin)["total"]
sys.exit(0 if sum(t["rx_" + p] for p in ("inside", "outside")) ==
         sum(t["tx_" + p] for p in ("inside", "outside")) + sum(t["dropped"].values()) else 1)'
}
# flow_is TABLE ADDR PORT DIR PACKETS BYTES: that flow's row says so
flow_is() {
  [ "$(dump "$1" --flow "$2" "$3" "$4" | python3 -c 'import json,sys
f = json.load(sys.stdin)["flow"] or {}; print(f.get("packets"), f.get("bytes"))')" = "$5 $6" ]
}
wait_for 10 settled "$TABLE" && wait_for 10 settled "$TABLE_RX"
tap_result $? "both dataplanes settled (every frame received was sent or dropped)"
wait_for 10 flow_is "$TABLE" 192.0.2.1 5004 out "$MEDIA_N" "$MEDIA_BYTES"
tap_result $? "the OUT flow's row: $MEDIA_N packets, $MEDIA_BYTES bytes protected" ||
  tap_diag "$(dump "$TABLE" --flow 192.0.2.1 5004 out)"
wait_for 10 flow_is "$TABLE_RX" 198.51.100.7 40000 in "$MEDIA_N" "$MEDIA_BYTES"
tap_result $? "the IN flow's row: $MEDIA_N packets, $MEDIA_BYTES bytes delivered" ||
  tap_diag "$(dump "$TABLE_RX" --flow 198.51.100.7 40000 in)"
FLOW=$(dump "$TABLE" --flow 192.0.2.1 5004 out)
tap_is "$(python3 -c 'import json,sys; f = json.loads(sys.argv[1])["flow"]
print(f["rows"], f["generation"] > 0, f["entry_created_ns"] > 0, f["last_ns"] >= f["since_ns"] > 0,
      f["auth"] + f["replay"] + f["index_reuse"] + f["key_exhausted"] + f["other_drops"])' "$FLOW")" \
  "1 True True True 0" "the OUT row: one worker, its entry instance and generation, times, no drops"
dump "$TABLE" >"$TEST_TMP/tx_area.json"
dump "$TABLE_RX" >"$TEST_TMP/rx_area.json"
tap_is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$TEST_TMP/tx_area.json")" \
  "$TX_PID" "the area names its dataplane's pid"

# one dataplane per key table: a second one on the sender's table is refused
read -ra eal <<<"$(eal_args second)"
tap_check_rc 1 "a second dataplane on the same table is refused" timeout 60 "$DATAPLANE" \
  "${eal[@]}" -l 0 \
  --vdev "net_pcap2,rx_pcap=$TEST_TMP/empty.pcap,tx_pcap=$TEST_TMP/second0.pcap" \
  --vdev "net_pcap3,rx_pcap=$TEST_TMP/empty.pcap,tx_pcap=$TEST_TMP/second1.pcap" \
  -- --table "$TABLE"
grep -q "held by callseal-dataplane pid $TX_PID" "$TEST_TMP/last.out"
tap_result $? "the refusal names the running dataplane's pid ($TX_PID)" ||
  tap_diag "$(tail -3 "$TEST_TMP/last.out")"
tap_check "the first dataplane's area is still there, unchanged in owner" \
  bash -c "'$DUMP' '$TABLE' --json | grep -q '\"pid\": $TX_PID,'"

stop_proc "$TX_PID" 5
tap_is "$?" 0 "sending dataplane stops cleanly"
stop_proc "$RX_PID" 5
tap_is "$?" 0 "receiving dataplane stops cleanly"
tap_check_rc 1 "no statistics area once the dataplanes have exited" bash -c "
  test -e '/dev/shm/callseal.$TABLE.stats' || test -e '/dev/shm/callseal.$TABLE_RX.stats' && exit 0
  '$DUMP' '$TABLE' 2>&1 | grep -q 'no callseal-dataplane serves it' && exit 1; exit 2"
# what the areas said after the traffic is what each dataplane reported at exit
same_totals() {
  python3 - "$1" "$2" <<'PY'
import json, sys
area = json.load(open(sys.argv[1]))["total"]
exit_ = json.load(open(sys.argv[2]))["total"]
keys = ["rx_inside", "rx_outside", "tx_inside", "tx_outside", "encrypted", "decrypted",
        "passed", "dropped"]
a, e = {k: area[k] for k in keys}, {k: exit_[k] for k in keys}
if a != e:
    print("area:", a)
    print("exit:", e)
sys.exit(0 if a == e else 1)
PY
}
tap_check "the sender's area totals equal its exit JSON" same_totals "$TEST_TMP/tx_area.json" "$TEST_TMP/tx.json"
tap_check "the receiver's area totals equal its exit JSON" same_totals "$TEST_TMP/rx_area.json" "$TEST_TMP/rx.json"

tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/rtp.pcap" \
  --got "$TEST_TMP/plain_out.pcap"

media=$(( $(json_get "$GEN" rtp) + $(json_get "$GEN" rtcp) ))
tx_enc=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["total"]["encrypted"])' "$TEST_TMP/tx.json")
rx_dec=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["total"]["decrypted"])' "$TEST_TMP/rx.json")
tap_is "$tx_enc" "$media" "the first encrypted every RTP/RTCP packet"
tap_is "$rx_dec" "$media" "the second decrypted every one"
tap_is "$MEDIA_N" "$media" "the pcap's RTP/RTCP frames are the generator's media"

stop_proc "$CONTROL_PID" 5
stop_proc "$CONTROL_RX_PID" 5
tap_done
