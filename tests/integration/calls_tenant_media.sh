#!/usr/bin/env bash
# calls_tenant_media.sh - media of calls within one tenant through the
# dataplane (issue 13): keys agreed by callseal-control, packets through
# callseal-dataplane over net_pcap, checked byte for byte and by libsrtp2.
#
# For a call A -> B, RTP/RTCP from A's media address goes in at A's inside
# port (dataplane run on A's key table: A's out entry encrypts); what leaves
# A's outside port is fed to B's outside port (a run on B's key table: B's in
# entry decrypts, found by the destination address, B's media address); what
# B's inside port sends must equal the input byte for byte. Both directions,
# for a call between two users of ONE daemon (both legs in one table: the
# caller leg's out key must be the callee leg's in key) and between two
# daemons of the same tenant, e2ee and standard. In the standard calls the
# compliance recorder's keys (`call keys`, opened with callseal-recorder-open
# --inline) also decrypt A's output in libsrtp2 (callseal-srtpcheck); e2ee
# keys are never given out, so e2ee media is checked byte for byte only.
# Last, an AES_CM_128_HMAC_SHA1_80 call (site 2 restarted offering only that):
# its media through both dataplanes and libsrtp2 with the recorder's v2 keys.
#
# usage: calls_tenant_media.sh DATAPLANE CONTROL CALLSEALCTL RTPGEN SRTPCHECK RECORDER_OPEN
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 RTPGEN=$4 SRTPCHECK=$5 RECOPEN=$6
require_cmd python3

TA="cma$$x$RANDOM" TB="cmb$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT

. "$(dirname "$0")/tenant_sites.sh"
start_sites 192.0.2.1:25000-25099 192.0.2.2:26000-26099

empty_pcap() {
  python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$1"
}
empty_pcap "$TEST_TMP/empty.pcap"

# run_dp NAME TABLE INSIDE_RX OUTSIDE_RX: NAME.to_app.pcap, NAME.to_net.pcap, NAME.json
run_dp() { dp_pcap_run "$@"; }
stat() { dp_stat "$@"; }

# media NAME SEED TABLE_A MEDIA_A TABLE_B MEDIA_B [INLINE_A_OUT [PROFILE]]: A -> B
# through A's dataplane (encrypt) and B's (decrypt), byte for byte; with the
# recorder's key of A's out entry, libsrtp2 decrypts A's output too (PROFILE,
# default AEAD_AES_256_GCM).
media() {
  local name=$1 seed=$2 ta=$3 ma=$4 tb=$5 mb=$6 inl=${7:-} prof=${8:-AEAD_AES_256_GCM} g n
  "$RTPGEN" --out "$TEST_TMP/$name.rtp.pcap" --local "$ma" --remote "$mb" --direction out \
    --ssrcs 2 --packets 200 --rtcp-every 9 --seed "$seed" >"$TEST_TMP/$name.gen.json"
  g=$(cat "$TEST_TMP/$name.gen.json")
  n=$(( $(json_get "$g" rtp) + $(json_get "$g" rtcp) ))
  run_dp "$name.a" "$ta" "$TEST_TMP/$name.rtp.pcap" "$TEST_TMP/empty.pcap" &&
    run_dp "$name.b" "$tb" "$TEST_TMP/empty.pcap" "$TEST_TMP/$name.a.to_net.pcap"
  tap_is "$?" 0 "$name: both dataplane runs exited cleanly"
  tap_is "$(stat "$name.a" encrypted) $(stat "$name.b" decrypted) $(stat "$name.b" dropped.auth)" \
    "$n $n 0" "$name: $n packets encrypted with $ma's out key, all decrypted with $mb's in key"
  tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/$name.rtp.pcap" \
    --got "$TEST_TMP/$name.b.to_app.pcap"
  if [ -n "$inl" ]; then
    tap_include "$SRTPCHECK" --tap --mode decrypt --profile "$prof" --inline "$inl" \
      --expect "$TEST_TMP/$name.rtp.pcap" --got "$TEST_TMP/$name.a.to_net.pcap"
  fi
}
# dial SITE FROM TO MODE: ID, LOCAL and REMOTE (media) of the dial
dial() {
  "$CTL" --admin "$1" call dial --from "$2" --to "$3" >"$TEST_TMP/dial" 2>&1
  tap_is "$? $(grep -c "^mode: $4" "$TEST_TMP/dial")" "0 1" "call $2 -> $3 is $4" ||
    sed 's/^/#   /' "$TEST_TMP/dial"
  ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial")
  LOCAL=$(sed -n 's/^local media: //p' "$TEST_TMP/dial")
  REMOTE=$(sed -n 's/^remote media: //p' "$TEST_TMP/dial")
}
recorder_inline() { a call keys "$1" | "$RECOPEN" --inline "$2" "$TEST_TMP/recorder.sk"; }

# ---- one daemon: both legs in one table --------------------------------------
dial "$SA" alice carol@contoso e2ee
media one-e2ee-fwd 1 "$TA" "$LOCAL" "$TA" "$REMOTE"
media one-e2ee-rev 2 "$TA" "$REMOTE" "$TA" "$LOCAL"
tap_check "one daemon e2ee: call end" a call end "$ID"
tap_check "carol turns e2ee off" a user set carol --e2ee off
dial "$SA" alice carol@contoso standard
media one-std-fwd 3 "$TA" "$LOCAL" "$TA" "$REMOTE" "$(recorder_inline "$ID" out)"
media one-std-rev 4 "$TA" "$REMOTE" "$TA" "$LOCAL" "$(recorder_inline "$ID" in)"
tap_check "one daemon standard: call end" a call end "$ID"

# ---- two daemons of one tenant ----------------------------------------------------
dial "$SA" alice dave@contoso e2ee
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
media sites-e2ee-fwd 5 "$TA" "$LOCAL" "$TB" "$REMOTE"
media sites-e2ee-rev 6 "$TB" "$REMOTE" "$TA" "$LOCAL"
tap_check "two sites e2ee: call end" a call end "$ID"
tap_check "dave turns e2ee off" b user set dave --e2ee off
dial "$SA" alice dave@contoso standard
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
media sites-std-fwd 7 "$TA" "$LOCAL" "$TB" "$REMOTE" "$(recorder_inline "$ID" out)"
media sites-std-rev 8 "$TB" "$REMOTE" "$TA" "$LOCAL" "$(recorder_inline "$ID" in)"
tap_check "two sites standard: call end" a call end "$ID"

# ---- AES-CM: the recorder's blob v2 (docs/calls.md "Recorder blob") ------------------
# site 2 restarted offering AES_CM_128_HMAC_SHA1_80 only: the call runs on it,
# and the recorder's keys (v2: 16-octet key, 14-octet salt) decrypt in libsrtp2
stop_proc "$SITE2_PID" 5
start_site2 site2cm 192.0.2.2:26000-26099 --srtp-profiles AES_CM_128_HMAC_SHA1_80
wait_until 10 b status >/dev/null 2>&1
tap_result $? "site 2 restarted offering AES_CM_128_HMAC_SHA1_80 only"
dial "$SA" alice dave@contoso standard
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
tap_is "$(a call show "$ID" --json | jq_ 'd["profile"]')" AES_CM_128_HMAC_SHA1_80 \
  "two sites AES-CM: the call runs on AES_CM_128_HMAC_SHA1_80"
media sites-cm-fwd 9 "$TA" "$LOCAL" "$TB" "$REMOTE" "$(recorder_inline "$ID" out)" \
  AES_CM_128_HMAC_SHA1_80
media sites-cm-rev 10 "$TB" "$REMOTE" "$TA" "$LOCAL" "$(recorder_inline "$ID" in)" \
  AES_CM_128_HMAC_SHA1_80
tap_check "two sites AES-CM: call end" a call end "$ID"
tap_done
