#!/usr/bin/env bash
# dataplane_sdes.sh - SDES keys with an MKI and a lifetime (RFC 4568
# `inline:KEY|LIFETIME|MKI:LEN`, RFC 3711 s. 3.1 and 9.2) through
# callseal-dataplane end to end over net_pcap, checked by libsrtp2.
#
# usage: dataplane_sdes.sh DATAPLANE CONTROL CALLSEALCTL RTPGEN SRTPCHECK
#
# Keys are installed with `callsealctl key add|rekey --sdes`. One dataplane
# run carries every stream (each on its own local port) both ways:
#   cm80   AES_CM_128_HMAC_SHA1_80, MKI 1:4: SRTP and SRTCP made by libsrtp2
#          with the MKI are decrypted byte for byte; what the dataplane
#          protects carries the MKI and libsrtp2 (srtpcheck --mki) takes it
#   gcm    AEAD_AES_128_GCM, MKI 2:1: the same
#   badmki inbound SRTP/SRTCP under an MKI the stream does not hold (and
#          cm80's SSRCs under another MKI): every packet dropped as bad_mki
#   life   AES_CM_128_HMAC_SHA1_80, lifetime 100: packets 1-100 of the SSRC
#          pass, the 101st on are dropped as key_expired, sending and receiving
#   rekey  AES_CM_128_HMAC_SHA1_80 MKI 1:4, then `key rekey --sdes` with MKI
#          2:4 and --from-index: libsrtp2 switches MKI at the same index, both
#          ways, nothing lost
# AES_CM_128_HMAC_SHA1_32 is left out: libsrtp2 2.5.0 cannot unprotect its
# SRTCP with an MKI (tools/pcap/README.md), and the engine's MKI is the same
# for every profile (unit tests: test_csrtp_mki).
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 RTPGEN=$4 SRTPCHECK=$5
require_cmd tshark python3 mergecap

b64() { python3 -c 'import base64,sys;print(base64.b64encode(bytes(range(int(sys.argv[1]),int(sys.argv[2])))).decode())' "$@"; }
KEYCM=$(b64 100 130)     # AES-CM: 16-byte key || 14-byte salt
KEYCM2=$(b64 140 170)
KEY128=$(b64 1 29)       # AEAD_AES_128_GCM: 16-byte key || 12-byte salt
CM80=AES_CM_128_HMAC_SHA1_80 GCM=AEAD_AES_128_GCM
REMOTE=198.51.100.7
TABLE="t$$"
SOCK="$TEST_TMP/admin.sock"

control_up "$TABLE" "$SOCK"
ctl() { "$CTL" --admin "$SOCK" "$@"; }

# sdes_add PORT SUITE KEYPARAMS: key add --sdes, both directions, on 192.0.2.1:PORT
sdes_add() {
  local port=$1 suite=$2 kp=$3 d
  for d in out in; do
    ctl key add --local "192.0.2.1:$port" --direction $d --sdes "a=crypto:1 $suite inline:$kp" || return 1
  done
}

# gen PORT [rtpgen options]: rtpgen between 192.0.2.1:PORT and the far end
gen() {
  local port=$1
  shift
  "$RTPGEN" --local "192.0.2.1:$port" --remote "$REMOTE:$((port + 30000))" "$@"
}

# sub FILE PORT OUT: the frames of FILE to or from UDP port PORT
sub() { tshark -r "$1" -Y "udp.port == $2" -w "$3" 2>/dev/null; }

# ---- keys ---------------------------------------------------------------------
tap_check "cm80: key add --sdes '$CM80 inline:KEY|2^20|1:4', out and in" sdes_add 5100 $CM80 "$KEYCM|2^20|1:4"
tap_check "gcm: key add --sdes '$GCM inline:KEY|2:1' (MKI, no lifetime), out and in" sdes_add 5102 $GCM "$KEY128|2:1"
tap_check "badmki: key add --sdes with MKI 1:4" sdes_add 5104 $CM80 "$KEYCM|1:4"
tap_check "life: key add --sdes with lifetime 100" sdes_add 5106 $CM80 "$KEYCM|100"
FROM=$((65536 + 40))
tap_check "rekey: key add --sdes MKI 1:4, key rekey --sdes MKI 2:4 --from-index $FROM, both ways" bash -c "
  for d in out in; do
    '$CTL' --admin '$SOCK' key add --local 192.0.2.1:5108 --direction \$d --sdes 'a=crypto:1 $CM80 inline:$KEYCM|1:4' &&
    '$CTL' --admin '$SOCK' key rekey --local 192.0.2.1:5108 --direction \$d --sdes 'a=crypto:1 $CM80 inline:$KEYCM2|2:4' --from-index $FROM || exit 1
  done"
tap_is "$(ctl key list --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
keys = d["keys"] if isinstance(d, dict) else d
print(" ".join(sorted("%s/%s=%s" % (k["local"].split(":")[-1], k["direction"], k.get("mki")) for k in keys)))' 2>&1)" \
  "5100/in=00000001 5100/out=00000001 5102/in=02 5102/out=02 5104/in=00000001 5104/out=00000001 5106/in=None 5106/out=None 5108/in=00000001 5108/out=00000001" \
  "key list --json: each stream's current MKI as installed"

# ---- traffic: every stream in one run ---------------------------------------------
MEDIA=(--ssrcs 2 --packets 200 --seq-start 65400 --rtcp-every 9 --csrcs --ext --padding --payload 0-400)
gen 5100 "${MEDIA[@]}" --seed 1 --out "$TEST_TMP/cm80.out.pcap" >"$TEST_TMP/cm80.out.json"
gen 5100 "${MEDIA[@]}" --seed 2 --direction in --profile $CM80 --inline "$KEYCM" --mki 1:4 \
  --out "$TEST_TMP/cm80.in.pcap" --plain-out "$TEST_TMP/cm80.plain.pcap" >"$TEST_TMP/cm80.in.json"
gen 5102 "${MEDIA[@]}" --seed 3 --out "$TEST_TMP/gcm.out.pcap" >"$TEST_TMP/gcm.out.json"
gen 5102 "${MEDIA[@]}" --seed 4 --direction in --profile $GCM --inline "$KEY128" --mki 2:1 \
  --out "$TEST_TMP/gcm.in.pcap" --plain-out "$TEST_TMP/gcm.plain.pcap" >"$TEST_TMP/gcm.in.json"
# the right key under another MKI: on SSRCs the stream has verified (rtpgen's
# SSRCs come from --seed: cm80's, after its media) and on new ones
gen 5100 --ssrcs 2 --packets 20 --seq-start 1000 --rtcp-every 9 --seed 2 --direction in \
  --profile $CM80 --inline "$KEYCM" --mki 9:4 --out "$TEST_TMP/cm80bad.in.pcap" >"$TEST_TMP/cm80bad.in.json"
gen 5104 --ssrcs 2 --packets 40 --rtcp-every 9 --seed 5 --direction in --profile $CM80 \
  --inline "$KEYCM" --mki 9:4 --out "$TEST_TMP/badmki.in.pcap" >"$TEST_TMP/badmki.in.json"
# lifetime 100: one SSRC, RTP only; 150 sent, 130 received
gen 5106 --packets 150 --seed 6 --out "$TEST_TMP/life.out.pcap" >/dev/null
gen 5106 --packets 130 --seed 7 --direction in --profile $CM80 --inline "$KEYCM" \
  --out "$TEST_TMP/life.in.pcap" --plain-out "$TEST_TMP/life.plain.pcap" >/dev/null
editcap -r "$TEST_TMP/life.out.pcap" "$TEST_TMP/life.out100.pcap" 1-100 >/dev/null
editcap -r "$TEST_TMP/life.plain.pcap" "$TEST_TMP/life.plain100.pcap" 1-100 >/dev/null
# rekey: MKI 1 below the from-index, MKI 2 from it
RK=(--ssrcs 2 --packets 200 --seq-start 65400 --rtcp-every 9)
gen 5108 "${RK[@]}" --seed 8 --out "$TEST_TMP/rekey.out.pcap" >"$TEST_TMP/rekey.out.json"
gen 5108 "${RK[@]}" --seed 9 --direction in --profile $CM80 --inline "$KEYCM" --mki 1:4 \
  --inline-next "$KEYCM2" --mki-next 2:4 --from-index $FROM \
  --out "$TEST_TMP/rekey.in.pcap" --plain-out "$TEST_TMP/rekey.plain.pcap" >"$TEST_TMP/rekey.in.json"

mergecap -a -w "$TEST_TMP/inside.pcap" "$TEST_TMP"/{cm80,gcm,life,rekey}.out.pcap
mergecap -a -w "$TEST_TMP/outside.pcap" "$TEST_TMP"/{cm80,cm80bad,gcm,badmki,life,rekey}.in.pcap
dp_pcap_run all "$TABLE" "$TEST_TMP/inside.pcap" "$TEST_TMP/outside.pcap"
tap_is "$?" 0 "dataplane ran over every stream and exited cleanly"
for p in 5100 5102 5104 5106 5108; do
  sub "$TEST_TMP/all.to_net.pcap" $p "$TEST_TMP/net.$p.pcap"
  sub "$TEST_TMP/all.to_app.pcap" $p "$TEST_TMP/app.$p.pcap"
done

# media NAME.DIR: RTP + RTCP of rtpgen's JSON
media() { local j; j=$(cat "$TEST_TMP/$1.json"); echo $(( $(json_get "$j" rtp) + $(json_get "$j" rtcp) )); }

# ---- MKI both ways: libsrtp2 <-> dataplane -----------------------------------------
tap_include "$SRTPCHECK" --tap --profile $CM80 --inline "$KEYCM" --mki 1:4 \
  --expect "$TEST_TMP/cm80.out.pcap" --got "$TEST_TMP/net.5100.pcap"
tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/cm80.plain.pcap" --got "$TEST_TMP/app.5100.pcap"
tap_include "$SRTPCHECK" --tap --profile $GCM --inline "$KEY128" --mki 2:1 \
  --expect "$TEST_TMP/gcm.out.pcap" --got "$TEST_TMP/net.5102.pcap"
tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/gcm.plain.pcap" --got "$TEST_TMP/app.5102.pcap"
# the MKI is checked: under another MKI libsrtp2 takes none of them
r=$("$SRTPCHECK" -q --profile $CM80 --inline "$KEYCM" --mki 1:3 \
  --expect "$TEST_TMP/cm80.out.pcap" --got "$TEST_TMP/net.5100.pcap")
tap_is "$(json_get "$r" matched),$(json_get "$r" decrypt_failed)" "0,$(media cm80.out)" \
  "cm80: libsrtp2 told another MKI (1:3) unprotects none of the dataplane's packets"

# ---- an MKI the stream does not hold -----------------------------------------------
tap_is "$(dp_stat all dropped.bad_mki)" "$(( $(media badmki.in) + $(media cm80bad.in) ))" \
  "bad MKI: every SRTP/SRTCP packet under MKI 9 dropped as bad_mki (new SSRCs, and cm80's verified ones)"
tap_is "$(tshark -r "$TEST_TMP/app.5104.pcap" 2>/dev/null | wc -l)" 0 "badmki: none of them leaves"

# ---- lifetime 100 ----------------------------------------------------------------
tap_include "$SRTPCHECK" --tap --profile $CM80 --inline "$KEYCM" \
  --expect "$TEST_TMP/life.out100.pcap" --got "$TEST_TMP/net.5106.pcap"
tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/life.plain100.pcap" --got "$TEST_TMP/app.5106.pcap"
tap_is "$(dp_stat all dropped.key_expired)" $(( 50 + 30 )) \
  "life: the 101st packet on dropped as key_expired: 50 of 150 sent, 30 of 130 received"

# ---- rekey --sdes with another MKI at --from-index ----------------------------------
tap_include "$SRTPCHECK" --tap --profile $CM80 --inline "$KEYCM" --mki 1:4 \
  --inline-next "$KEYCM2" --mki-next 2:4 --from-index $FROM \
  --expect "$TEST_TMP/rekey.out.pcap" --got "$TEST_TMP/net.5108.pcap"
rk=$(last_json "$TEST_TMP/include.out")
tap_is "$([ "$(json_get "$rk" old_key)" -gt 0 ] && [ "$(json_get "$rk" new_key)" -gt 0 ] && echo both)" both \
  "rekey: outbound under MKI 1 below the from-index and MKI 2 from it: $(json_get "$rk" old_key) and $(json_get "$rk" new_key)"
tap_include "$SRTPCHECK" --tap --mode plain --expect "$TEST_TMP/rekey.plain.pcap" --got "$TEST_TMP/app.5108.pcap"
ri=$(cat "$TEST_TMP/rekey.in.json")
tap_is "$([ "$(json_get "$ri" old_key)" -gt 0 ] && [ "$(json_get "$ri" new_key)" -gt 0 ] && echo both)" both \
  "rekey: inbound came under both MKIs: $(json_get "$ri" old_key) and $(json_get "$ri" new_key)"

# ---- totals: nothing else dropped ------------------------------------------------
tap_is "$(dp_stat all encrypted)" "$(( $(media cm80.out) + $(media gcm.out) + 100 + $(media rekey.out) ))" \
  "every outbound RTP/RTCP encrypted (life: its first 100)"
tap_is "$(dp_stat all decrypted)" "$(( $(media cm80.in) + $(media gcm.in) + 100 + $(media rekey.in) ))" \
  "every genuine inbound SRTP/SRTCP decrypted (life: its first 100)"
tap_is "$(dp_stat all dropped.auth dropped.replay dropped.no_stream dropped.unverified)" "0 0 0 0" \
  "no tag failed, no replay, no stream missing, nothing unverified"

stop_proc "$CONTROL_PID" 5
tap_done
