#!/usr/bin/env bash
# dataplane_pcap.sh - callseal-dataplane end to end over DPDK's net_pcap ports.
#
# usage: dataplane_pcap.sh DATAPLANE CONTROL CALLSEALCTL RTPGEN SRTPCHECK
#
# Keys are installed through callseal-control / callsealctl (static keying).
# Plaintext RTP/RTCP pcaps (IPv4 and IPv6, with and without VLAN, CSRCs,
# header extensions, padding, several SSRCs, a sequence rollover, STUN, DTLS
# and non-media mixed in; AEAD_AES_128/256_GCM and AES_CM_128_HMAC_SHA1_80/_32) go in at the inside port; what leaves the outside
# port is decrypted by libsrtp2 (callseal-srtpcheck) and must equal the input.
# The reverse direction likewise, with tampered and replayed packets that must
# be dropped and counted exactly. tshark must parse every output packet as
# valid IP/UDP with correct checksums. Frames the classifier cannot parse
# (tools/pcap/badframes.py) mixed into media both ways never leave, each is
# counted, and the media among them is all delivered (issue 14).
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 RTPGEN=$4 SRTPCHECK=$5
require_cmd tshark python3

KEY128=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(1,29))).decode())')
KEY256=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(50,94))).decode())')
# AES-CM (SDES): 16-byte key || 14-byte salt
KEYCM=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(100,130))).decode())')
TABLE="t$$"
SOCK="$TEST_TMP/admin.sock"

cleanup_table() { rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume"; }
trap '_lib_cleanup; cleanup_table' EXIT

spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK"
CONTROL_PID=$SPAWN_PID
wait_for_socket "$SOCK" 10 "$CONTROL_PID" || tap_bail "callseal-control did not start: $(tail -3 "$TEST_TMP/control.log")"

ctl() { "$CTL" --admin "$SOCK" "$@"; }

# run_dp NAME INSIDE_RX OUTSIDE_RX [dataplane options]: run the dataplane until
# both pcaps are consumed; outputs NAME.to_net.pcap (outside tx),
# NAME.to_app.pcap (inside tx), NAME.json (stats): lib.sh's dp_pcap_run
run_dp() {
  local name=$1 in_rx=$2 out_rx=$3
  shift 3
  dp_pcap_run "$name" "$TABLE" "$in_rx" "$out_rx" "$@"
}

# stat NAME KEY: a counter from NAME.json's totals ("dropped.auth" for drops)
stat() { dp_stat "$@"; }

# tshark_bad FILE [tshark options]: frames tshark finds malformed or with a bad
# IP/UDP checksum. For SRTP/SRTCP output pass --disable-protocol rtp/rtcp: an
# encrypted RTCP body is meant to look like garbage to an RTCP dissector.
tshark_bad() {
  local f=$1
  shift
  tshark -r "$f" "$@" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -Y 'ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || _ws.malformed || _ws.expert.severity >= error' \
    2>/dev/null | wc -l
}

empty_pcap() {
  python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$1"
}
empty_pcap "$TEST_TMP/empty.pcap"

# ---- one scenario per address family / encapsulation / profile -------------
# scenario NAME PROFILE KEY LOCAL REMOTE [rtpgen options...]
scenario() {
  local name=$1 profile=$2 key=$3 local=$4 remote=$5
  shift 5
  tap_check "$name: key add out and in" bash -c "
    '$CTL' --admin '$SOCK' key add --local '$local' --direction out --profile $profile --inline '$key' &&
    '$CTL' --admin '$SOCK' key add --local '$local' --direction in --profile $profile --inline '$key'"

  "$RTPGEN" --out "$TEST_TMP/$name.rtp.pcap" --local "$local" --remote "$remote" \
    --direction out --ssrcs 3 --packets 400 --seq-start 65300 --rtcp-every 9 \
    --csrcs --ext --padding --mix --payload 0-1200 --seed 11 "$@" >"$TEST_TMP/$name.gen_out.json"
  "$RTPGEN" --out "$TEST_TMP/$name.srtp.pcap" --plain-out "$TEST_TMP/$name.plain.pcap" \
    --local "$local" --remote "$remote" --direction in --profile "$profile" --inline "$key" \
    --ssrcs 2 --packets 300 --seq-start 65400 --rtcp-every 7 --csrcs --ext --padding --mix \
    --payload 0-1200 --tamper-every 11 --replay-every 13 --seed 12 "$@" >"$TEST_TMP/$name.gen_in.json"
  local go gi
  go=$(cat "$TEST_TMP/$name.gen_out.json")
  gi=$(cat "$TEST_TMP/$name.gen_in.json")

  run_dp "$name" "$TEST_TMP/$name.rtp.pcap" "$TEST_TMP/$name.srtp.pcap"
  tap_is "$?" 0 "$name: dataplane ran and exited cleanly"

  tap_include "$SRTPCHECK" --tap --mode decrypt --profile "$profile" --inline "$key" \
    --expect "$TEST_TMP/$name.rtp.pcap" --got "$TEST_TMP/$name.to_net.pcap"
  tap_include "$SRTPCHECK" --tap --mode plain \
    --expect "$TEST_TMP/$name.plain.pcap" --got "$TEST_TMP/$name.to_app.pcap"

  local media_out media_in other
  media_out=$(( $(json_get "$go" rtp) + $(json_get "$go" rtcp) ))
  media_in=$(( $(json_get "$gi" rtp) + $(json_get "$gi" rtcp) ))
  other=$(( $(json_get "$go" stun) + $(json_get "$go" dtls) + $(json_get "$go" other) +
            $(json_get "$gi" stun) + $(json_get "$gi" dtls) + $(json_get "$gi" other) ))
  tap_is "$(stat "$name" encrypted)" "$media_out" "$name: every outbound RTP/RTCP encrypted"
  tap_is "$(stat "$name" decrypted)" "$media_in" "$name: every genuine inbound SRTP/SRTCP decrypted"
  tap_is "$(stat "$name" dropped.auth)" "$(json_get "$gi" tampered)" "$name: tampered packets dropped as auth, exactly"
  tap_is "$(stat "$name" dropped.replay)" "$(json_get "$gi" replayed)" "$name: replayed packets dropped as replay, exactly"
  tap_is "$(stat "$name" passed)" "$other" "$name: STUN, DTLS and non-media passed unchanged"
  tap_is "$(stat "$name" dropped.no_stream)" 0 "$name: no media without a stream"
  tap_is "$(tshark_bad "$TEST_TMP/$name.to_net.pcap" --disable-protocol rtp --disable-protocol rtcp)" 0 \
    "$name: tshark: outside output (SRTP) is valid IP/UDP, checksums correct"
  tap_is "$(tshark_bad "$TEST_TMP/$name.to_app.pcap")" 0 \
    "$name: tshark: inside output (RTP/RTCP) is valid IP/UDP/RTP/RTCP, checksums correct"
  tap_is "$(tshark -r "$TEST_TMP/$name.to_net.pcap" 2>/dev/null | wc -l)" \
    "$(( $(json_get "$go" frames) ))" "$name: tshark reads every outbound frame"
}

scenario v4 AEAD_AES_128_GCM "$KEY128" 192.0.2.1:5004 198.51.100.7:40000
scenario v4vlan AEAD_AES_256_GCM "$KEY256" 192.0.2.1:5006 198.51.100.7:40002 --vlan 42
scenario v6 AEAD_AES_256_GCM "$KEY256" '[2001:db8::1]:5008' '[2001:db8::99]:40004'
scenario v6vlan AEAD_AES_128_GCM "$KEY128" '[2001:db8::1]:5010' '[2001:db8::99]:40006' --vlan 7
# AES-CM with HMAC-SHA1 (RFC 3711): 80- and 32-bit SRTP tags, SRTCP's 80-bit
scenario cm80 AES_CM_128_HMAC_SHA1_80 "$KEYCM" 192.0.2.1:5012 198.51.100.7:40008
scenario cm32v6 AES_CM_128_HMAC_SHA1_32 "$KEYCM" '[2001:db8::1]:5014' '[2001:db8::99]:40012' --vlan 5
tap_is "$(ctl key list | awk '$1 == "192.0.2.1:5012" { print $3 }' | sort -u)" \
  AES_CM_128_HMAC_SHA1_80 "cm80: key list shows the profile by name"

# ---- rekey with --from-index mid-stream: no loss, no tag failure ---------------
# RFC 3711 <From,To>: the next key applies from SRTP index 65536 + 40 (after the
# sequence rollover), in both directions.
KEY128B=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(200,228))).decode())')
FROM=$((65536 + 40))
tap_check "rekey: key add, then key rekey --from-index, both directions" bash -c "
  for d in out in; do
    '$CTL' --admin '$SOCK' key add --local 192.0.2.1:5020 --direction \$d --profile AEAD_AES_128_GCM --inline '$KEY128' &&
    '$CTL' --admin '$SOCK' key rekey --local 192.0.2.1:5020 --direction \$d --inline '$KEY128B' --from-index $FROM || exit 1
  done"
"$RTPGEN" --out "$TEST_TMP/rk.rtp.pcap" --local 192.0.2.1:5020 --remote 198.51.100.7:40010 \
  --direction out --ssrcs 2 --packets 300 --seq-start 65400 --rtcp-every 9 --mix --seed 21 \
  >"$TEST_TMP/rk.gen_out.json"
"$RTPGEN" --out "$TEST_TMP/rk.srtp.pcap" --plain-out "$TEST_TMP/rk.plain.pcap" \
  --local 192.0.2.1:5020 --remote 198.51.100.7:40010 --direction in --profile AEAD_AES_128_GCM \
  --inline "$KEY128" --inline-next "$KEY128B" --from-index "$FROM" --ssrcs 2 --packets 300 \
  --seq-start 65400 --rtcp-every 9 --mix --seed 22 >"$TEST_TMP/rk.gen_in.json"
run_dp rk "$TEST_TMP/rk.rtp.pcap" "$TEST_TMP/rk.srtp.pcap"
tap_is "$?" 0 "rekey: dataplane ran"
tap_include "$SRTPCHECK" --tap --mode decrypt --profile AEAD_AES_128_GCM --inline "$KEY128" \
  --inline-next "$KEY128B" --from-index "$FROM" \
  --expect "$TEST_TMP/rk.rtp.pcap" --got "$TEST_TMP/rk.to_net.pcap"
rk=$(last_json "$TEST_TMP/include.out")
[ "$(json_get "$rk" old_key)" -gt 0 ] && [ "$(json_get "$rk" new_key)" -gt 0 ] &&
  tap_ok "rekey: outbound used the old key below the from-index and the new one from it" ||
  tap_not_ok "rekey: both keys used outbound" "$rk"
tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/rk.plain.pcap" \
  --got "$TEST_TMP/rk.to_app.pcap"
tap_is "$(stat rk dropped.auth)" 0 "rekey: no tag failed"
gi=$(cat "$TEST_TMP/rk.gen_in.json")
tap_is "$(stat rk decrypted)" "$(( $(json_get "$gi" rtp) + $(json_get "$gi" rtcp) ))" \
  "rekey: no inbound packet lost"

# ---- two queues, two worker lcores (net_pcap: one rx/tx file per queue) -------
tap_check "queues: keys for two streams" bash -c "
  '$CTL' --admin '$SOCK' key add --local 192.0.2.1:5030 --direction out --profile AEAD_AES_128_GCM --inline '$KEY128' &&
  '$CTL' --admin '$SOCK' key add --local 192.0.2.1:5032 --direction out --profile AEAD_AES_128_GCM --inline '$KEY128'"
"$RTPGEN" --out "$TEST_TMP/q0.pcap" --local 192.0.2.1:5030 --remote 198.51.100.7:40030 \
  --direction out --ssrcs 2 --packets 300 --mix --seed 31 >/dev/null
"$RTPGEN" --out "$TEST_TMP/q1.pcap" --local 192.0.2.1:5032 --remote 198.51.100.7:40032 \
  --direction out --ssrcs 2 --packets 300 --mix --seed 32 >/dev/null
read -ra eal <<<"$(eal_args queues)"
timeout 120 "$DATAPLANE" "${eal[@]}" -l 0-1 \
  --vdev "net_pcap0,rx_pcap=$TEST_TMP/q0.pcap,rx_pcap=$TEST_TMP/q1.pcap,tx_pcap=$TEST_TMP/qa0.pcap,tx_pcap=$TEST_TMP/qa1.pcap" \
  --vdev "net_pcap1,rx_pcap=$TEST_TMP/empty.pcap,rx_pcap=$TEST_TMP/empty.pcap,tx_pcap=$TEST_TMP/qn0.pcap,tx_pcap=$TEST_TMP/qn1.pcap" \
  -- --table "$TABLE" --queues 2 --idle-exit 300 --stats-json "$TEST_TMP/queues.json" \
  >"$TEST_TMP/queues.log" 2>&1
tap_is "$?" 0 "queues: --queues 2 on lcores 0-1 ran"
for q in 0 1; do
  tap_include "$SRTPCHECK" --tap --mode decrypt --profile AEAD_AES_128_GCM --inline "$KEY128" \
    --expect "$TEST_TMP/q$q.pcap" --got "$TEST_TMP/qn$q.pcap"
done
per_lcore=$(python3 -c 'import json,sys; print(" ".join(str(l["encrypted"]) for l in json.load(open(sys.argv[1]))["lcores"]))' "$TEST_TMP/queues.json")
tap_is "$per_lcore" "600 600" "queues: each worker lcore encrypted its own queue's 600 packets"

# ---- unknown streams fail closed; --other drop -------------------------------
"$RTPGEN" --out "$TEST_TMP/unk.pcap" --local 192.0.2.1:6000 --remote 198.51.100.7:40000 \
  --direction out --ssrcs 2 --packets 50 --rtcp-every 5 --mix --seed 3 >"$TEST_TMP/unk.json"
gu=$(cat "$TEST_TMP/unk.json")
run_dp unk "$TEST_TMP/unk.pcap" "$TEST_TMP/empty.pcap" --other drop
tap_is "$(stat unk dropped.no_stream)" "$(( $(json_get "$gu" rtp) + $(json_get "$gu" rtcp) ))" \
  "unknown stream: every RTP/RTCP dropped as no_stream"
tap_is "$(stat unk dropped.other)" "$(( $(json_get "$gu" stun) + $(json_get "$gu" dtls) + $(json_get "$gu" other) ))" \
  "--other drop: every non-media frame dropped and counted"
tap_is "$(tshark -r "$TEST_TMP/unk.to_net.pcap" 2>/dev/null | wc -l)" 0 \
  "unknown stream: nothing leaves, above all no plaintext"

# ---- fail closed: what the classifier cannot parse never leaves (issue 14) ---
# tools/pcap/badframes.py spreads frames that must be dropped (an IPv6 chain
# one header longer than walked - the frame that leaked -, every cut through
# the headers, bad IP and UDP lengths, wrong IP versions, QinQ/MPLS/PPPoE/SNAP
# and AH around media, random bytes, RTP the SRTP step refuses, fragments;
# inbound also SRTP with random bodies) through valid media of both families,
# all aimed at keyed ports, both ways in one run. Nothing of them may leave
# either port (srtpcheck: no unexpected frame), each is counted under its
# reason exactly, and every valid frame is delivered.
BADFRAMES="$(dirname "$0")/../tools/pcap/badframes.py"
tap_check "malformed: keys for an IPv4 and an IPv6 port, both directions" bash -c "
  for l in 192.0.2.1:5040 '[2001:db8::1]:5042'; do for d in out in; do
    '$CTL' --admin '$SOCK' key add --local \"\$l\" --direction \$d --profile AEAD_AES_128_GCM --inline '$KEY128' || exit 1
  done; done"
mal_gen() {  # NAME LOCAL REMOTE DIRECTION [rtpgen options]
  local name=$1 local=$2 remote=$3 dir=$4
  shift 4
  "$RTPGEN" --local "$local" --remote "$remote" --direction "$dir" --ssrcs 2 --packets 150 \
    --rtcp-every 9 --csrcs --ext --padding --payload 0-1200 "$@" >"$TEST_TMP/$name.json"
}
mal_gen mo4 192.0.2.1:5040 198.51.100.7:40040 out --mix --seed 41 --out "$TEST_TMP/mo4.pcap"
mal_gen mo6 '[2001:db8::1]:5042' '[2001:db8::99]:40042' out --vlan 9 --seed 42 --out "$TEST_TMP/mo6.pcap"
mal_gen mi4 192.0.2.1:5040 198.51.100.7:40040 in --mix --seed 43 --profile AEAD_AES_128_GCM \
  --inline "$KEY128" --out "$TEST_TMP/mi4.pcap" --plain-out "$TEST_TMP/mi4.plain.pcap"
mal_gen mi6 '[2001:db8::1]:5042' '[2001:db8::99]:40042' in --seed 44 --profile AEAD_AES_128_GCM \
  --inline "$KEY128" --out "$TEST_TMP/mi6.pcap" --plain-out "$TEST_TMP/mi6.plain.pcap"
python3 "$BADFRAMES" --direction out --local4 192.0.2.1:5040 --local6 '[2001:db8::1]:5042' \
  --merge "$TEST_TMP/mo4.pcap" --merge "$TEST_TMP/mo6.pcap" --out "$TEST_TMP/mal.inside.pcap" \
  --expect "$TEST_TMP/mo4.pcap" --expect "$TEST_TMP/mo6.pcap" \
  --expect-out "$TEST_TMP/mal.expect_net.pcap" --seed 45 >"$TEST_TMP/mal_out.json"
python3 "$BADFRAMES" --direction in --local4 192.0.2.1:5040 --local6 '[2001:db8::1]:5042' \
  --merge "$TEST_TMP/mi4.pcap" --merge "$TEST_TMP/mi6.pcap" --out "$TEST_TMP/mal.outside.pcap" \
  --expect "$TEST_TMP/mi4.plain.pcap" --expect "$TEST_TMP/mi6.plain.pcap" \
  --expect-out "$TEST_TMP/mal.expect_app.pcap" --seed 46 >"$TEST_TMP/mal_in.json"
bo=$(cat "$TEST_TMP/mal_out.json") bi=$(cat "$TEST_TMP/mal_in.json")
run_dp mal "$TEST_TMP/mal.inside.pcap" "$TEST_TMP/mal.outside.pcap"
tap_is "$?" 0 "malformed: dataplane ran and exited cleanly"
tap_include "$SRTPCHECK" --tap --mode decrypt --profile AEAD_AES_128_GCM --inline "$KEY128" \
  --expect "$TEST_TMP/mal.expect_net.pcap" --got "$TEST_TMP/mal.to_net.pcap"
tap_include "$SRTPCHECK" --tap --mode plain \
  --expect "$TEST_TMP/mal.expect_app.pcap" --got "$TEST_TMP/mal.to_app.pcap"
sum_of() {  # KEY FILE...: the sum of KEY over rtpgen's / badframes.py's JSON lines
  local key=$1 t=0 f
  shift
  for f in "$@"; do t=$(( t + $(json_get "$(cat "$f")" "$key") )); done
  echo "$t"
}
tap_is "$(tshark -r "$TEST_TMP/mal.to_net.pcap" 2>/dev/null | wc -l)" \
  "$(sum_of frames "$TEST_TMP/mo4.json" "$TEST_TMP/mo6.json")" \
  "malformed: the outside port sent the valid frames and nothing else"
tap_is "$(tshark -r "$TEST_TMP/mal.to_app.pcap" 2>/dev/null | wc -l)" \
  "$(tshark -r "$TEST_TMP/mal.expect_app.pcap" 2>/dev/null | wc -l)" \
  "malformed: the inside port sent the valid frames and nothing else"
tap_is "$(stat mal dropped.malformed)" "$(( $(json_get "$bo" malformed) + $(json_get "$bi" malformed) ))" \
  "malformed: every frame that cannot be parsed counted as malformed, both ways ($(json_get "$bo" malformed) out, $(json_get "$bi" malformed) in)"
tap_is "$(stat mal dropped.fragment)" "$(( $(json_get "$bo" fragment) + $(json_get "$bi" fragment) ))" \
  "malformed: every fragment of media counted as fragment"
tap_is "$(( $(stat mal dropped.auth) + $(stat mal dropped.unverified) ))" "$(json_get "$bi" auth)" \
  "malformed: SRTP with random bodies counted as auth (a verified stream's SSRC) or unverified (a new SSRC)"
tap_is "$(stat mal encrypted)" "$(( $(sum_of rtp "$TEST_TMP/mo4.json" "$TEST_TMP/mo6.json") + $(sum_of rtcp "$TEST_TMP/mo4.json" "$TEST_TMP/mo6.json") ))" \
  "malformed: every valid outbound RTP/RTCP among them encrypted"
tap_is "$(stat mal decrypted)" "$(( $(sum_of rtp "$TEST_TMP/mi4.json" "$TEST_TMP/mi6.json") + $(sum_of rtcp "$TEST_TMP/mi4.json" "$TEST_TMP/mi6.json") ))" \
  "malformed: every valid inbound SRTP/SRTCP among them decrypted"
tap_is "$(stat mal dropped.no_stream),$(stat mal dropped.replay),$(stat mal dropped.other)" "0,0,0" \
  "malformed: no other drop reason"

# ---- the media port range ------------------------------------------------------
run_dp range "$TEST_TMP/unk.pcap" "$TEST_TMP/empty.pcap" --media-ports 7000-8000
tap_is "$(stat range dropped.no_stream)" 0 "--media-ports: RTP off the media ports is not media"
tap_is "$(stat range passed)" "$(json_get "$gu" frames)" "--media-ports: ...and passes unchanged"

# (bad options and start-up failures: dataplane_options.sh)
stop_proc "$CONTROL_PID" 5
tap_done
