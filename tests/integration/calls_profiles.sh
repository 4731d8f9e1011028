#!/usr/bin/env bash
# calls_profiles.sh - SRTP profile negotiation between two callseal-control
# daemons (issue 16, docs/calls.md "SRTP profiles"): --srtp-profiles on the
# callee's daemon limits its offer to AES_CM_128_HMAC_SHA1_80, the caller's
# offers the default (GCM first, then AES-CM), and the call runs on AES-CM with
# 14-octet salts in both key tables; a daemon offering only GCM then finds
# nothing in common and the call fails on both sides, no key installed; bad
# --srtp-profiles lists are refused at start with exit status 2. The
# compliance recorder (on alice's daemon) gets an AES-CM call's keys in blob
# v2 and a GCM call's in v1 (docs/calls.md "Recorder blob"), both equal to the
# key table's; callseal-recorder-open refuses truncated and garbled blobs.
#
# usage: calls_profiles.sh CONTROL CALLSEALCTL KEYTABLE_DUMP RECORDER_OPEN
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DUMP=$3 RECOPEN=$4
require_cmd python3

TA="cpA$$x$RANDOM" TB="cpB$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
a() { "$CTL" --admin "$SA" "$@"; }
b() { "$CTL" --admin "$SB" "$@"; }

# ---- refused at start ------------------------------------------------------------------
bad_start() {   # DESC WANT-TEXT ARGS...
  local desc=$1 want=$2
  shift 2
  "$CONTROL" --table "x$$" --state "$TEST_TMP/sx" --admin "$TEST_TMP/x.sock" "$@" \
    >/dev/null 2>"$TEST_TMP/bad.err"
  tap_is "$? $(grep -cF -- "$want" "$TEST_TMP/bad.err")" "2 1" "$desc" ||
    sed 's/^/#   /' "$TEST_TMP/bad.err"
}
L=(--tenant t --listen 127.0.0.1:0)
bad_start "an unknown profile: exit 2, naming it" \
  "'SRTP_NULL_HMAC_SHA1_80' is not an SRTP profile" "${L[@]}" --srtp-profiles SRTP_NULL_HMAC_SHA1_80
bad_start "a profile twice: exit 2" "AES_CM_128_HMAC_SHA1_32 is listed twice" "${L[@]}" \
  --srtp-profiles AES_CM_128_HMAC_SHA1_32,aes_cm_128_hmac_sha1_32
bad_start "an empty item: exit 2" "an empty item" "${L[@]}" \
  --srtp-profiles AEAD_AES_128_GCM,
bad_start "--srtp-profiles without --listen: exit 2" "--srtp-profiles needs --listen" \
  --srtp-profiles AES_CM_128_HMAC_SHA1_80
tap_is "$(ls /dev/shm | grep -c "callseal.x$$")" 0 "no table made by a refused start"

# ---- alice offers the default, bob AES_CM_128_HMAC_SHA1_80 only ------------------------------
start_b() {
  spawn_listen "$1" PB 10 "$CONTROL" --table "$TB" --state "$TEST_TMP/sb" --admin "$SB" --capacity 64 \
    --tenant fabrikam --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:26000-26049 \
    --handshake-timeout 5000 --srtp-profiles "$2"
  PID_B=$SPAWN_PID
}
PB=""
PA=""
RECPK=$("$RECOPEN" --keygen "$TEST_TMP/recorder.sk")
spawn_listen ctl_a PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/sa" --admin "$SA" --capacity 64 \
  --tenant contoso --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:25000-25049 \
  --handshake-timeout 5000 --recorder-key "$RECPK"
PID_A=$SPAWN_PID
start_b ctl_b AES_CM_128_HMAC_SHA1_80
wait_until 10 a status >/dev/null 2>&1 && wait_until 10 b status >/dev/null 2>&1
tap_result $? "both daemons start (bob's with --srtp-profiles AES_CM_128_HMAC_SHA1_80)" ||
  tap_bail "daemons did not start: $(tail -3 "$TEST_TMP/ctl_a.log") $(tail -3 "$TEST_TMP/ctl_b.log")"
tap_is "$(grep -c 'SRTP profiles offered AEAD_AES_256_GCM,AEAD_AES_128_GCM,AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32,' "$TEST_TMP/ctl_a.log") $(grep -c 'SRTP profiles offered AES_CM_128_HMAC_SHA1_80,' "$TEST_TMP/ctl_b.log")" \
  "1 1" "the start-up lines say what each offers (alice's: the default, GCM first)"

tap_check "users, pinned peers" bash -c \
  "'$CTL' --admin '$SA' user add alice && '$CTL' --admin '$SB' user add bob &&
   '$CTL' --admin '$SA' peer add bob@fabrikam --key \"\$('$CTL' --admin '$SB' user show bob --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"public_key\"])')\" --addr 127.0.0.1:$PB &&
   '$CTL' --admin '$SB' peer add alice@contoso --key \"\$('$CTL' --admin '$SA' user show alice --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"public_key\"])')\" --addr 127.0.0.1:$PA"

a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial1" 2>&1
tap_result $? "call dial alice -> bob" || sed 's/^/#   /' "$TEST_TMP/dial1"
ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial1")
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
tap_is "$(a call show "$ID" --json | jq_ 'd["profile"]') $(b call show "$ID" --json | jq_ 'd["profile"]')" \
  "AES_CM_128_HMAC_SHA1_80 AES_CM_128_HMAC_SHA1_80" "the call runs on AES_CM_128_HMAC_SHA1_80 on both sides"
# both tables: two entries each, the AES-CM profile, and alice's out key is
# bob's in key (and the reverse)
"$DUMP" "$TA" >"$TEST_TMP/ta" 2>&1 && "$DUMP" "$TB" >"$TEST_TMP/tb" 2>&1
tap_is "$(grep -c 'AES_CM_128_HMAC_SHA1_80' "$TEST_TMP/ta") $(grep -c 'AES_CM_128_HMAC_SHA1_80' "$TEST_TMP/tb")" \
  "2 2" "both key tables: two AES_CM_128_HMAC_SHA1_80 entries" ||
  sed 's/^/#   /' "$TEST_TMP/ta" "$TEST_TMP/tb"
# key_sha256 is of master key || salt, the salt at its length (14 octets here)
sha() { sed -n "s|^127.0.0.1:$2/$3 .*key_sha256=\([0-9a-f]\{64\}\).*|\1|p" "$1"; }
KA="$(sha "$TEST_TMP/ta" 25000 out) $(sha "$TEST_TMP/ta" 25000 in)"
KB="$(sha "$TEST_TMP/tb" 26000 in) $(sha "$TEST_TMP/tb" 26000 out)"
tap_is "$(echo "$KA" | wc -w) $KA" "2 $KB" "alice's out key and salt are bob's in, and the reverse"

# ---- the recorder's keys: v2 for AES-CM ---------------------------------------------
# opened DIR PROFILE SALT_LEN VERSION...: what the opener should print for the
# keys in $TEST_TMP/keys, the digests from alice's table dump $TEST_TMP/ta
opened() {
  "$RECOPEN" "$TEST_TMP/recorder.sk" <"$TEST_TMP/keys" 2>&1 |
    sed -E 's/^call_id=([^ ]*) ([a-z]+) profile=([0-9]+) salt_len=([0-9]+) version=([0-9]+) key_sha256=([0-9a-f]+)$/\1 \2 \3 \4 \5 \6/' |
    tr '\n' ' '
}
tabled() {   # ID PORT PROFILE SALT_LEN VERSION
  echo "$1 out $3 $4 $5 $(sha "$TEST_TMP/ta" "$2" out) $1 in $3 $4 $5 $(sha "$TEST_TMP/ta" "$2" in) "
}
blob_len() { head -1 "$TEST_TMP/keys" | base64 -d | wc -c; }
# recorded ID PROFILE SALT_LEN VERSION LEN DESC: call keys of a call with
# alice's side on her table's only entries: its blob's length and contents
recorded() {
  a call keys "$1" >"$TEST_TMP/keys" 2>&1 || sed 's/^/#   /' "$TEST_TMP/keys"
  "$DUMP" "$TA" >"$TEST_TMP/ta" 2>&1
  local port
  port=$(sed -n 's|^127.0.0.1:\([0-9]*\)/out .*|\1|p' "$TEST_TMP/ta")
  tap_is "$(blob_len) $(opened)" "$5 $(tabled "$1" "$port" "$2" "$3" "$4")" "$6"
}
a call keys "$ID" >"$TEST_TMP/keys" 2>&1
tap_result $? "call keys of an AES-CM call (alice's daemon has the recorder)" ||
  sed 's/^/#   /' "$TEST_TMP/keys"
tap_is "$(blob_len)" 176 "an AES-CM call's blob is v2: 176 octets"
tap_is "$(opened)" "$(tabled "$ID" 25000 1 14 2)" \
  "the recorder opens v2: profile 1, 14-octet salts, the keys of alice's table entries"
INL=$("$RECOPEN" --inline out "$TEST_TMP/recorder.sk" <"$TEST_TMP/keys" | base64 -d | wc -c)
INH=$("$RECOPEN" --inline out "$TEST_TMP/recorder.sk" <"$TEST_TMP/keys" | base64 -d | sha256sum | cut -d' ' -f1)
tap_is "$INL $INH" "30 $(sha "$TEST_TMP/ta" 25000 out)" \
  "--inline out: the 16-octet key and the whole 14-octet salt (libsrtp2's 30)"
# refused WANT-TEXT DESC < BLOB: does not open; exit 1, nothing on stdout, says why
refused() {
  "$RECOPEN" "$TEST_TMP/recorder.sk" >"$TEST_TMP/ref.out" 2>"$TEST_TMP/ref.err"
  tap_is "$? $(wc -c <"$TEST_TMP/ref.out") $(grep -cF -- "$1" "$TEST_TMP/ref.err")" "1 0 1" "$2" ||
    sed 's/^/#   /' "$TEST_TMP/ref.err"
}
# mangle PYTHON-EXPR-OF-b: the blob's octets b changed, in base64
mangle() {
  head -1 "$TEST_TMP/keys" | python3 -c "import base64,sys
b = bytearray(base64.b64decode(sys.stdin.read()))
print(base64.b64encode(bytes($1)).decode())"
}
NOTBLOB="not a sealed blob: expected one base64 line of 168 (v1) or 176 (v2) octets"
BAD="$TEST_TMP/bad"
mangle 'b[:170]' >"$BAD"
refused "$NOTBLOB" "a truncated blob (170 octets): refused, saying what it expects" <"$BAD"
mangle 'b + b"x"' >"$BAD"
refused "$NOTBLOB" "a blob one octet too long: refused" <"$BAD"
echo 'not base64!' >"$BAD"
refused "$NOTBLOB" "a line that is not base64: refused" <"$BAD"
mangle 'b[:100] + bytes([b[100] ^ 1]) + b[101:]' >"$BAD"
refused "not sealed to this recorder (or were modified)" "a garbled blob (one bit flipped): refused" <"$BAD"
mangle 'b[:168]' >"$BAD"
refused "not sealed to this recorder (or were modified)" "a v2 blob cut to v1's length: does not open" <"$BAD"
# reseal PYTHON-STATEMENTS: the blob opened with the recorder's secret key (the
# test is the recorder), its plain octets p changed, sealed again to it
# (libsodium through ctypes): what a sender of malformed content would send
reseal() {
  python3 -c "import base64, ctypes, ctypes.util, sys
s = ctypes.CDLL(ctypes.util.find_library('sodium'))
assert s.sodium_init() >= 0
sk = base64.b64decode(open(sys.argv[1]).read()); pk = base64.b64decode(sys.argv[2])
c = base64.b64decode(open(sys.argv[3]).readline())
p = ctypes.create_string_buffer(len(c) - 48)
assert s.crypto_box_seal_open(p, c, ctypes.c_ulonglong(len(c)), pk, sk) == 0
p = bytearray(p.raw)
$1
o = ctypes.create_string_buffer(len(p) + 48)
assert s.crypto_box_seal(o, bytes(p), ctypes.c_ulonglong(len(p)), pk) == 0
print(base64.b64encode(o.raw).decode())" "$TEST_TMP/recorder.sk" "$RECPK" "$TEST_TMP/keys"
}
# v2: version at 0, call id at 4, the out entry at 20, the in entry at 74
reseal 'pass' >"$BAD"
tap_is "$("$RECOPEN" "$TEST_TMP/recorder.sk" <"$BAD" | md5sum)" "$("$RECOPEN" "$TEST_TMP/recorder.sk" <"$TEST_TMP/keys" | md5sum)" \
  "resealed unchanged: opens as the original (the checks below change one thing each)"
reseal 'p[0] = 3' >"$BAD"
refused "malformed blob: version 3, expected 2" "v2 with version 3: refused" <"$BAD"
reseal 'p[20], p[74] = p[74], p[20]' >"$BAD"
refused "malformed v2 blob: entry 0: direction" "v2 with the in entry first: refused" <"$BAD"
reseal 'p[22], p[23] = 0, 3' >"$BAD"
refused "malformed v2 blob: entry 0: unknown profile" "v2 with an unknown profile: refused" <"$BAD"
reseal 'p[24] = 32' >"$BAD"
refused "malformed v2 blob: entry 0: key length is not the profile's" \
  "v2 with a 32-octet key for AES-CM: refused" <"$BAD"
reseal 'p[79] = 12' >"$BAD"
refused "malformed v2 blob: entry 1: salt length is not the profile's" \
  "v2 with a 12-octet salt for AES-CM: refused" <"$BAD"
reseal 'p[20 + 8 + 16] = 1' >"$BAD"
refused "malformed v2 blob: entry 0: non-zero padding" "v2 with a key octet past key_len: refused" <"$BAD"
a call end "$ID" >/dev/null 2>&1
wait_until 5 bash -c "[ \"\$('$DUMP' '$TB' 2>/dev/null | grep -c AES_CM)\" = 0 ]"
tap_result $? "call end: bob's entries go"

# ---- restarts on the same ports, other offers -----------------------------------------
restart_b() {   # NAME LIST
  stop_proc "$PID_B" 5
  start_b "$1" "$2"
  wait_until 10 b status >/dev/null 2>&1
  tap_result $? "bob's daemon restarted with --srtp-profiles $2"
}
# dial_profile SOCKET FROM TO SHOW-SOCKET: dial, wait for the callee's side;
# the call id in $LAST_ID, the profile the callee's side shows in $PROFILE
dial_profile() {
  "$CTL" --admin "$1" call dial --from "$2" --to "$3" >"$TEST_TMP/dial" 2>&1 ||
    sed 's/^/#   /' "$TEST_TMP/dial"
  LAST_ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial")
  wait_until 5 bash -c "'$CTL' --admin '$4' call show '$LAST_ID' >/dev/null 2>&1"
  PROFILE=$("$CTL" --admin "$4" call show "$LAST_ID" --json | jq_ 'd["profile"]')
}
end_and_wait() {   # SOCKET ID TABLE-OF-THE-OTHER-SIDE
  "$CTL" --admin "$1" call end "$2" >/dev/null 2>&1
  wait_until 5 bash -c "[ \"\$('$DUMP' '$3' 2>/dev/null | grep -c 'AES\|GCM')\" = 0 ]"
}

# bob (the caller now) offers AES_CM_128_HMAC_SHA1_32 only, alice everything
restart_b ctl_b2 AES_CM_128_HMAC_SHA1_32
dial_profile "$SB" bob alice@contoso "$SA"
tap_is "$PROFILE" "AES_CM_128_HMAC_SHA1_32" \
  "bob's call to alice: AES_CM_128_HMAC_SHA1_32, the one in common"
recorded "$LAST_ID" 2 14 2 176 \
  "AES_CM_128_HMAC_SHA1_32 (alice the callee): blob v2, profile 2, alice's entries"
end_and_wait "$SB" "$LAST_ID" "$TA"
tap_result $? "call end: alice's entries go"

# bob offers AES-CM first, then GCM: GCM is the choice (the order given does not count)
restart_b ctl_b3 AES_CM_128_HMAC_SHA1_80,AEAD_AES_128_GCM
dial_profile "$SB" bob alice@contoso "$SA"
tap_is "$PROFILE" "AEAD_AES_128_GCM" \
  "GCM in common: AEAD_AES_128_GCM, not AES-CM"
# a GCM call keeps blob v1, which recorders that know only v1 open
recorded "$LAST_ID" 7 12 1 168 \
  "AEAD_AES_128_GCM: blob v1 (168 octets), profile 7, alice's entries"
end_and_wait "$SB" "$LAST_ID" "$TA"
tap_result $? "call end: alice's entries go"

# nothing in common: alice restarted offering GCM only, bob AES-CM only
restart_b ctl_b4 AES_CM_128_HMAC_SHA1_80
stop_proc "$PID_A" 5 2>/dev/null
spawn_listen ctl_a2 PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/sa" --admin "$SA" --capacity 64 \
  --tenant contoso --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:25000-25049 \
  --handshake-timeout 5000 --srtp-profiles AEAD_AES_256_GCM
wait_until 10 a status >/dev/null 2>&1
tap_result $? "alice's daemon restarted with --srtp-profiles AEAD_AES_256_GCM"
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial4" 2>&1
tap_is "$? $(grep -c 'no SRTP profile in common' "$TEST_TMP/dial4")" "1 1" \
  "GCM only against AES-CM only: the dial fails, saying why" || sed 's/^/#   /' "$TEST_TMP/dial4"
tap_is "$("$DUMP" "$TA" 2>/dev/null | grep -c 'AES\|GCM') $("$DUMP" "$TB" 2>/dev/null | grep -c 'AES\|GCM')" \
  "0 0" "no key installed on either side"
tap_done
