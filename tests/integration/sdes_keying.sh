#!/usr/bin/env bash
# sdes_keying.sh - static keys given as SDES a=crypto lines (RFC 4568) end to end.
#
# usage: sdes_keying.sh CONTROL CALLSEALCTL KEYTABLE_DUMP
#
# A real daemon over its admin socket; what lands in the key table is read
# with callseal-keytable-dump (SHA-256 of key || salt, the MKI in hex, the
# lifetime): key add and key rekey (now and from an index) with --sdes, on
# the command line and from stdin; the MKI and lifetime reach the table;
# --print-sdes prints a line that parses back to the same key; every bad
# line is a one-line error with exit 2 (the CLI's check) or 1 (the daemon's,
# raw requests that skip the CLI) and leaves the table unchanged; the key
# appears in no error, list or daemon log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keying.sh"

CONTROL=$1 CTL=$2 DUMP=$3
require_cmd python3 base64 sha256sum

TABLE="sdes$$x$RANDOM"
SOCK="$TEST_TMP/admin.sock"
STATE="$TEST_TMP/state"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume"' EXIT

KC1=$(key 30) KC2=$(key 30) KC3=$(key 30) KG1=$(key 28) KG2=$(key 44)
ALLKEYS=("$KC1" "$KC2" "$KC3" "$KG1" "$KG2")

# fields SELECTOR NAME...: those fields of the entry, space separated
fields() { local s=$1 f out=""; shift; for f in "$@"; do out="$out $(field "$s" "$f")"; done; echo "${out# }"; }

spawn control "$CONTROL" --table "$TABLE" --state "$STATE" --admin "$SOCK" --capacity 100
DPID=$SPAWN_PID
wait_until 10 ctl status >/dev/null 2>&1
tap_result $? "daemon serves table callseal.$TABLE" ||
  tap_bail "callseal-control did not start: $(tail -3 "$TEST_TMP/control.log")"

# ---- add with --sdes ---------------------------------------------------------------
L1="a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$KC1|2^20|1:4"
tap_check "key add --sdes (AES-CM, lifetime 2^20, MKI 1:4)" ctl key add \
  --local 192.0.2.1:5004 --direction in --sdes "$L1" --call-id sdes1
tap_is "$(fields 192.0.2.1:5004/in key_sha256 profile mode mki lifetime call_id)" \
  "$(sha "$KC1") AES_CM_128_HMAC_SHA1_80 standard 00000001 1048576 sdes1" \
  "the table holds the line's key and salt, suite, MKI (4 bytes) and lifetime"
tap_check "key add --sdes - (GCM-256 from stdin, no a= prefix, MKI only)" bash -c \
  "printf '%s\r\n' 'crypto:7 AEAD_AES_256_GCM inline:$KG2|513:2 KDR=0 WSH=64' |
   '$CTL' --admin '$SOCK' key add --local '[2001:db8::5]:6000' --direction out --sdes -"
tap_is "$(fields '[2001:db8::5]:6000/out' key_sha256 profile mki lifetime)" \
  "$(sha "$KG2") AEAD_AES_256_GCM 0201 0" "stdin line: key, suite, MKI 0x0201, lifetime 0 (the maximum)"

# ---- --print-sdes: the installed key as a line that parses back ----------------------
ctl key add --local 192.0.2.1:5006 --direction out --sdes \
  "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:$KC2|2^31|258:2" --print-sdes \
  >"$TEST_TMP/print.out" 2>"$TEST_TMP/print.err"
ST=$?
PRINTED=$(grep '^a=crypto:' "$TEST_TMP/print.out")
tap_is "$ST $(grep -c . "$TEST_TMP/print.out") $(wc -c <"$TEST_TMP/print.err")" "0 2 0" \
  "key add --print-sdes: exit 0, the message and one line, nothing on stderr"
tap_is "$PRINTED" "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:$KC2|2^31|258:2" \
  "the printed line is the key, tag, suite, lifetime and MKI installed"
tap_check "the printed line installs again (it parses back)" ctl key add \
  --local 192.0.2.1:5008 --direction in --sdes "$PRINTED"
tap_is "$(fields 192.0.2.1:5008/in key_sha256 profile mki lifetime)" \
  "$(fields 192.0.2.1:5006/out key_sha256 profile mki lifetime)" \
  "the entry made from the printed line equals the original"
ctl key add --local 192.0.2.1:5010 --direction out --profile AEAD_AES_128_GCM \
  --inline "$KG1" --print-sdes >"$TEST_TMP/print2.out" 2>&1
tap_is "$? $(grep '^a=crypto:' "$TEST_TMP/print2.out")" \
  "0 a=crypto:1 AEAD_AES_128_GCM inline:$KG1" "--print-sdes with --profile/--inline: tag 1, no lifetime or MKI"
ctl key list >"$TEST_TMP/list.txt" 2>&1
tap_is "$(grep -c 'a=crypto\|inline' "$TEST_TMP/list.txt")" 0 "key list never shows a line or key"
ctl key list --json >"$TEST_TMP/list.json" 2>&1
tap_is "$(python3 -c 'import json,sys; print(sorted((x["local"], x["mki"], x["lifetime"]) for x in json.load(open(sys.argv[1]))))' "$TEST_TMP/list.json")" \
  "[('192.0.2.1:5004', '00000001', 1048576), ('192.0.2.1:5006', '0102', 2147483648), ('192.0.2.1:5008', '0102', 2147483648), ('192.0.2.1:5010', None, 0), ('[2001:db8::5]:6000', '0201', 0)]" \
  "key list --json: each key's MKI (hex) and lifetime"

# ---- the table's AES-CM key derives RFC 3711's session keys -----------------------------
# RFC 3711 appendix B.3: master key E1F9...4139, 14-byte master salt 0EC6...ABE6;
# callseal-keytable-dump --show-keys derives the SRTP session keys from what
# the table holds (the whole 14-byte salt: the test tool's AES-CM fix)
tap_check "key add --sdes with RFC 3711 B.3's master key and salt" ctl key add \
  --local 192.0.2.1:5012 --direction in \
  --sdes "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm"
"$DUMP" --show-keys "$TABLE" 2>&1 | grep '^secret 192.0.2.1:5012/in cur ' >"$TEST_TMP/b3.keys"
b3() { awk -v n="$1" '$4 == n {print $5}' "$TEST_TMP/b3.keys"; }
tap_is "$(b3 master_key) $(b3 master_salt) $(b3 srtp_key) $(b3 srtp_salt) $(b3 srtp_auth)" \
  "e1f97a0d3e018be0d64fa32c06de4139 0ec675ad498afeebb6960b3aabe6 c61e7a93744f39ee10734afe3ff7a087 30cbbc08863d8c85d49db34a9ae1 cebe321f6ff7716b6fd4ab49af256a156d38baa4" \
  "dump --show-keys: RFC 3711 B.3's session key, 14-byte session salt and 20-byte auth key"
tap_is "$(b3 srtcp_key | wc -c) $(b3 srtcp_salt | wc -c) $(b3 srtcp_auth | wc -c)" "33 29 41" \
  "and SRTCP's: 16-byte key, 14-byte salt, 20-byte auth key"
tap_check "key del the B.3 entry" ctl key del --local 192.0.2.1:5012 --direction in

# ---- rekey with --sdes ---------------------------------------------------------------
GEN0=$(field 192.0.2.1:5004/in gen)
tap_check "key rekey --sdes (new key, suite _32, MKI 2:1, no lifetime)" ctl key rekey \
  --local 192.0.2.1:5004 --direction in --sdes "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:$KC3|2:1"
tap_is "$(fields 192.0.2.1:5004/in key_sha256 profile mki lifetime) $(( $(field 192.0.2.1:5004/in gen) > GEN0 ))" \
  "$(sha "$KC3") AES_CM_128_HMAC_SHA1_32 02 0 1" "rekey: the new key, suite, MKI and lifetime under a new generation"
tap_check "key rekey --sdes --from-index 65536 (schedule)" ctl key rekey \
  --local 192.0.2.1:5004 --direction in --from-index 65536 \
  --sdes "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$KC1|1000|4294967295:4"
tap_is "$(fields 192.0.2.1:5004/in key_sha256 mki next_from next_sha256 next_mki next_lifetime)" \
  "$(sha "$KC3") 02 65536 $(sha "$KC1") ffffffff 1000" \
  "schedule: current key and MKI kept; next key with its own MKI and lifetime"

# ---- bad lines: one line on stderr, nothing changed ------------------------------------
dump >"$TEST_TMP/before.dump"
ctl key list >"$TEST_TMP/before.list" 2>&1
: >"$TEST_TMP/all_errors.txt"
# refuse WANT DESC WHY ARGS...: callsealctl ARGS exits WANT with one line on
# stderr holding WHY, nothing on stdout, and the table unchanged
refuse() {
  local want=$1 desc=$2 why=$3 st
  shift 3
  ctl "$@" >"$TEST_TMP/r.out" 2>"$TEST_TMP/r.err"
  st=$?
  cat "$TEST_TMP/r.err" >>"$TEST_TMP/all_errors.txt"
  dump >"$TEST_TMP/after.dump"
  ctl key list >"$TEST_TMP/after.list" 2>&1
  if [ "$st" -eq "$want" ] && [ "$(wc -l <"$TEST_TMP/r.err")" -eq 1 ] && [ ! -s "$TEST_TMP/r.out" ] &&
     grep -qF -- "$why" "$TEST_TMP/r.err" &&
     cmp -s "$TEST_TMP/before.dump" "$TEST_TMP/after.dump" &&
     cmp -s "$TEST_TMP/before.list" "$TEST_TMP/after.list"; then
    tap_ok "refused: $desc ($(cat "$TEST_TMP/r.err"))"
  else
    tap_not_ok "refused: $desc" "exit $st (want $want), want '$why'" \
      "stderr: $(head -c 300 "$TEST_TMP/r.err")" "stdout: $(head -c 300 "$TEST_TMP/r.out")" \
      "$(diff "$TEST_TMP/before.dump" "$TEST_TMP/after.dump")"
  fi
}
A=(--local 192.0.2.1:5004 --direction in)   # an existing stream: a rekey would change it
N=(--local 198.51.100.1:7000 --direction out)
CM="a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$KC2"
refuse 2 "rekey: wrong key length for the suite" "decodes to 28 bytes; AES_CM_128_HMAC_SHA1_80 needs 30" \
  key rekey "${A[@]}" --sdes "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$KG1"
refuse 2 "rekey: unsupported suite" "crypto-suite F8_128_HMAC_SHA1_80 is not supported" \
  key rekey "${A[@]}" --sdes "a=crypto:1 F8_128_HMAC_SHA1_80 inline:$KC2"
refuse 2 "rekey: two key-params" "one master key per line" \
  key rekey "${A[@]}" --sdes "$CM|2^20|1:4;inline:$KC3|2^20|2:4"
refuse 2 "rekey: MKI of 5 bytes" "MKI: length 5 bytes; at most 4" key rekey "${A[@]}" --sdes "$CM|1:5"
refuse 2 "rekey: MKI value too big" "MKI: value 65536 does not fit" key rekey "${A[@]}" --sdes "$CM|65536:2"
refuse 2 "rekey: lifetime over 2^48" "lifetime: not 1 to 2^48" key rekey "${A[@]}" --sdes "$CM|2^49"
refuse 2 "rekey: KDR" "KDR=10 is refused" key rekey "${A[@]}" --sdes "$CM KDR=10"
refuse 2 "rekey: UNENCRYPTED_SRTP" "UNENCRYPTED_SRTP is refused" key rekey "${A[@]}" --sdes "$CM UNENCRYPTED_SRTP"
refuse 2 "rekey: UNAUTHENTICATED_SRTP" "UNAUTHENTICATED_SRTP is refused" \
  key rekey "${A[@]}" --sdes "$CM UNAUTHENTICATED_SRTP"
refuse 2 "rekey: FEC_KEY" "FEC_KEY is refused" key rekey "${A[@]}" --sdes "$CM FEC_KEY=inline:$KC3"
refuse 2 "rekey: WSH over the replay window" "WSH=256 is refused" key rekey "${A[@]}" --sdes "$CM WSH=256"
refuse 2 "add: all-zero key" "all zeros" key add "${N[@]}" \
  --sdes "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$(head -c 30 /dev/zero | base64 -w0)"
refuse 2 "add: --sdes with --profile" "not with them" key add "${N[@]}" --sdes "$CM" \
  --profile AES_CM_128_HMAC_SHA1_80
refuse 2 "add: --sdes with --inline" "not with them" key add "${N[@]}" --sdes "$CM" --inline "$KC2"
refuse 2 "add: neither --sdes nor --inline" "--inline is required (or --sdes)" key add "${N[@]}" \
  --profile AES_CM_128_HMAC_SHA1_80
refuse 2 "add: not an a=crypto line" "not an a=crypto line" key add "${N[@]}" --sdes "inline:$KC2"
refuse 2 "rekey --print-sdes without a suite" "--print-sdes names the suite" \
  key rekey "${A[@]}" --inline "$KC2" --print-sdes
refuse 1 "add --sdes on an existing stream (the daemon refuses)" "already in table" \
  key add "${A[@]}" --sdes "$CM"
# the daemon checks again: a raw request that skips callsealctl's check
python3 - "$SOCK" "$CM|1:5" >"$TEST_TMP/raw.out" 2>&1 <<'EOF'
import socket, struct, sys
words = ["key", "rekey", "--local", "192.0.2.1:5004", "--direction", "in", "--sdes", sys.argv[2]]
payload = b"".join(w.encode() + b"\0" for w in words)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(struct.pack(">BBHI", 1, 1, 0, len(payload)) + payload)
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
ver, typ, _, ln = struct.unpack(">BBHI", buf[:8])
status = struct.unpack(">I", buf[8:12])[0]
print(status, buf[12:8 + ln].decode())
EOF
cat "$TEST_TMP/raw.out" >>"$TEST_TMP/all_errors.txt"
dump >"$TEST_TMP/after.dump"
tap_is "$(grep -c '^22 .*MKI: length 5 bytes' "$TEST_TMP/raw.out") $(cmp -s "$TEST_TMP/before.dump" "$TEST_TMP/after.dump"; echo $?)" \
  "1 0" "raw request: the daemon refuses the bad line itself (EINVAL), table unchanged"

# ---- help ------------------------------------------------------------------------------
"$CTL" --help >"$TEST_TMP/ctl.help" 2>&1
"$CTL" key add --help >"$TEST_TMP/add.help" 2>&1
missing=""
for o in "--sdes LINE" "--print-sdes" "inline:KEY|2^20|1:4"; do
  grep -qF -- "$o" "$TEST_TMP/ctl.help" || missing="$missing help:$o"
done
for o in "--sdes LINE" "[--print-sdes]" "a=crypto"; do
  grep -qF -- "$o" "$TEST_TMP/add.help" || missing="$missing add:$o"
done
tap_is "$missing" "" "callsealctl --help explains --sdes and --print-sdes with an example; key add --help names them"

# ---- no key in any error, list or log -------------------------------------------------
tap_check "key del" ctl key del --local 192.0.2.1:5008 --direction in
kill -TERM -- "-$DPID"
wait_pid "$DPID" 10
tap_is "$?" 0 "SIGTERM: exit 0"
cat "$TEST_TMP"/control*.log "$TEST_TMP"/*.list "$TEST_TMP/list.txt" "$TEST_TMP/list.json" "$TEST_TMP/all_errors.txt" \
  "$TEST_TMP"/*.dump >"$TEST_TMP/everything.txt" 2>/dev/null
leaks=$(key_leaks "$TEST_TMP/everything.txt" "${ALLKEYS[@]}")
tap_is "$leaks" "" "no key bytes (base64 or hex) in any error, list, dump or daemon log"

tap_done
