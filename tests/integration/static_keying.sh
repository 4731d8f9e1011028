#!/usr/bin/env bash
# static_keying.sh - callseal-control and callsealctl end to end (static keys).
#
# usage: static_keying.sh CONTROL CALLSEALCTL KEYTABLE_DUMP
#
# Drives a real daemon over its admin socket and checks what lands in the key
# table with callseal-keytable-dump (a read-only attach that prints a SHA-256
# of each key, never the key): add, list, rekey now, rekey from an index
# (schedule), delete; every bad input is a one-line error with a non-zero exit
# status and leaves the table as it was, whether the CLI or the daemon catches
# it (raw protocol requests skip the CLI's checks); a slow client does not
# wedge the daemon; a second daemon on the table is refused naming the first's
# pid; a live socket is refused and a stale one replaced; entries survive a
# restart; SIGTERM and SIGINT exit 0; key bytes appear in no output or log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keying.sh"

CONTROL=$1 CTL=$2 DUMP=$3
require_cmd python3 base64 sha256sum

TABLE="ctl$$x$RANDOM"
TABLE2="${TABLE}b"
SOCK="$TEST_TMP/admin.sock"
STATE="$TEST_TMP/state"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume" "/dev/shm/callseal.$TABLE2" "/dev/shm/callseal.$TABLE2.resume"' EXIT

K1=$(key 28) K2=$(key 44) K3=$(key 28) K4=$(key 44) K5=$(key 44) K6=$(key 28)
KC1=$(key 30) KC2=$(key 30)   # AES-CM: 16-byte key || 14-byte salt
ALLKEYS=("$K1" "$K2" "$K3" "$K4" "$K5" "$K6" "$KC1" "$KC2")

start_daemon() {   # start_daemon NAME [extra options]: sets DPID
  local name=$1
  shift
  spawn "$name" "$CONTROL" --table "$TABLE" --state "$STATE" --admin "$SOCK" \
    --capacity 1000 "$@"
  DPID=$SPAWN_PID
  wait_until 10 ctl status >/dev/null 2>&1
}

# ---- start ------------------------------------------------------------------
start_daemon control1
tap_result $? "daemon creates table callseal.$TABLE and serves its socket" ||
  tap_bail "callseal-control did not start: $(tail -3 "$TEST_TMP/control1.log")"
PID1=$DPID
tap_is "$(stat -c %a "$SOCK") $(stat -c %a "$STATE") $(stat -c %a "/dev/shm/callseal.$TABLE")" \
  "600 700 600" "admin socket 0600, state dir 0700, table 0600"

# ---- add ----------------------------------------------------------------------
tap_check "key add IPv4 out AES-128 with a call id" ctl key add --local 192.0.2.1:5004 \
  --direction out --profile AEAD_AES_128_GCM --inline "$K1" --call-id c42
tap_check "key add IPv6 in AES-256 e2ee" ctl key add --local '[2001:db8::1]:5004' \
  --direction in --profile AEAD_AES_256_GCM --inline "$K2" --mode e2ee
tap_check "key add wildcard in (--inline - from stdin)" bash -c \
  "printf '%s\n' '$K6' | '$CTL' --admin '$SOCK' key add --local '*:6000' --direction in \
   --profile AEAD_AES_128_GCM --inline -"

tap_is "$(dump | wc -l)" 3 "the table holds 3 entries"
tap_is "$(field 192.0.2.1:5004/out key_sha256) $(field 192.0.2.1:5004/out profile) $(field 192.0.2.1:5004/out mode) $(field 192.0.2.1:5004/out call_id)" \
  "$(sha "$K1") AEAD_AES_128_GCM standard c42" "IPv4 entry: key, profile, default mode standard, call id"
tap_is "$(field '[2001:db8::1]:5004/in' key_sha256) $(field '[2001:db8::1]:5004/in' profile) $(field '[2001:db8::1]:5004/in' mode)" \
  "$(sha "$K2") AEAD_AES_256_GCM e2ee" "IPv6 entry: key, profile, mode"
tap_is "$(field '*:6000/in' key_sha256)" "$(sha "$K6")" "wildcard entry: key read from stdin"

ctl key list >"$TEST_TMP/list1.txt" 2>&1
tap_is "$(grep -c -E '^(192\.0\.2\.1:5004 +out|\[2001:db8::1\]:5004 +in|\*:6000 +in) ' "$TEST_TMP/list1.txt")" 3 \
  "key list shows the 3 streams"
ctl key list --json >"$TEST_TMP/list1.json" 2>&1
python3 - "$TEST_TMP/list1.json" >"$TEST_TMP/json.out" 2>&1 <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
assert len(l) == 3, l
e = {(x["local"], x["direction"]): x for x in l}
a = e[("192.0.2.1:5004", "out")]
assert a["profile"] == "AEAD_AES_128_GCM" and a["mode"] == "standard", a
assert a["call_id"] == "c42" and a["next"] is None and a["generation"] >= 1, a
assert e[("[2001:db8::1]:5004", "in")]["mode"] == "e2ee"
assert e[("*:6000", "in")]["call_id"] is None
for x in l:
    assert set(x) == {"local", "direction", "profile", "mode", "generation", "mki",
                      "lifetime", "next", "call_id", "created", "updated"}, x
    assert x["mki"] is None and x["lifetime"] == 0, x   # --inline: neither
EOF
tap_result $? "key list --json: 3 objects with the right fields" || sed 's/^/#   /' "$TEST_TMP/json.out"

# ---- rekey, schedule, delete ------------------------------------------------------
GEN0=$(field 192.0.2.1:5004/out gen)
tap_check "key rekey now (profile kept)" ctl key rekey --local 192.0.2.1:5004 --direction out \
  --inline "$K3"
tap_is "$(field 192.0.2.1:5004/out key_sha256) $(field 192.0.2.1:5004/out profile) $(field 192.0.2.1:5004/out next_from) $(( $(field 192.0.2.1:5004/out gen) > GEN0 ))" \
  "$(sha "$K3") AEAD_AES_128_GCM - 1" "rekey replaced the key under a new generation"
tap_check "key rekey --profile AEAD_AES_256_GCM changes the profile" ctl key rekey \
  --local '*:6000' --direction in --profile AEAD_AES_256_GCM --inline "$K5"
tap_is "$(field '*:6000/in' key_sha256) $(field '*:6000/in' profile)" \
  "$(sha "$K5") AEAD_AES_256_GCM" "wildcard entry now AES-256 with the new key"
tap_check "key rekey --from-index 65536 (schedule)" ctl key rekey --local '[2001:db8::1]:5004' \
  --direction in --inline "$K4" --from-index 65536
tap_is "$(field '[2001:db8::1]:5004/in' key_sha256) $(field '[2001:db8::1]:5004/in' next_from) $(field '[2001:db8::1]:5004/in' next_sha256)" \
  "$(sha "$K2") 65536 $(sha "$K4")" "schedule: current key kept, next key from index 65536"
ctl key list >"$TEST_TMP/list2.txt" 2>&1
tap_is "$(grep -E '^\[2001:db8::1\]:5004 ' "$TEST_TMP/list2.txt" | awk '{print $6}')" 65536 \
  "key list shows the next key's from-index"
tap_is "$(ctl key list --json | python3 -c 'import json,sys; print([x["next"] for x in json.load(sys.stdin) if x["direction"]=="in" and x["local"].startswith("[")][0])')" \
  "{'from_index': 65536, 'on_auth': False, 'profile': 'AEAD_AES_256_GCM'}" "key list --json shows the next key (at its from-index, not on auth)"
# ---- AES-CM (SDES) profiles: 30-byte inline keys, the whole salt kept ----------------
tap_check "key add AES_CM_128_HMAC_SHA1_32" ctl key add --local 192.0.2.1:5100 \
  --direction out --profile AES_CM_128_HMAC_SHA1_32 --inline "$KC1"
tap_is "$(field 192.0.2.1:5100/out key_sha256) $(field 192.0.2.1:5100/out profile)" \
  "$(sha "$KC1") AES_CM_128_HMAC_SHA1_32" "AES-CM entry: key and 14-byte salt as given, profile named"
tap_is "$(ctl key list | awk '$1 == "192.0.2.1:5100" {print $3}')" AES_CM_128_HMAC_SHA1_32 \
  "key list names the AES-CM profile"
tap_check "key rekey AES-CM (profile kept)" ctl key rekey --local 192.0.2.1:5100 \
  --direction out --inline "$KC2"
tap_is "$(field 192.0.2.1:5100/out key_sha256) $(field 192.0.2.1:5100/out profile)" \
  "$(sha "$KC2") AES_CM_128_HMAC_SHA1_32" "AES-CM rekey replaced key and salt"
ctl key rekey --local 192.0.2.1:5100 --direction out --inline "$K3" >/dev/null 2>"$TEST_TMP/cm.err"
tap_is "$? $(grep -c 'AES_CM_128_HMAC_SHA1_32 needs 30' "$TEST_TMP/cm.err") $(field 192.0.2.1:5100/out key_sha256)" \
  "1 1 $(sha "$KC2")" "AES-CM rekey with a 28-byte (GCM) key refused, key unchanged"
cat "$TEST_TMP/cm.err" >>"$TEST_TMP/all_errors.txt"
tap_check "key rekey --profile AES_CM_128_HMAC_SHA1_80 changes the profile" ctl key rekey \
  --local 192.0.2.1:5100 --direction out --profile AES_CM_128_HMAC_SHA1_80 --inline "$KC1"
tap_is "$(field 192.0.2.1:5100/out profile)" AES_CM_128_HMAC_SHA1_80 "AES-CM entry now _80"
ctl key list >"$TEST_TMP/list_cm.txt"
tap_check "key del AES-CM" ctl key del --local 192.0.2.1:5100 --direction out

tap_check "key del" ctl key del --local '*:6000' --direction in
tap_is "$(dump | wc -l) $(entry '*:6000/in' | wc -l)" "2 0" "deleted entry is gone"

# ---- bad input: a one-line error, non-zero exit, nothing changed ----------------------
ctl key list >"$TEST_TMP/before.list" 2>&1
dump >"$TEST_TMP/before.dump"
# refuse WANT_STATUS DESC ARGS...: callsealctl ARGS must exit WANT_STATUS with
# exactly one line on stderr, nothing on stdout, and the table unchanged
refuse() {
  local want=$1 desc=$2 st
  shift 2
  ctl "$@" >"$TEST_TMP/r.out" 2>"$TEST_TMP/r.err"
  st=$?
  cat "$TEST_TMP/r.err" >>"$TEST_TMP/all_errors.txt"
  ctl key list >"$TEST_TMP/after.list" 2>&1
  dump >"$TEST_TMP/after.dump"
  if [ "$st" -eq "$want" ] && [ "$(wc -l <"$TEST_TMP/r.err")" -eq 1 ] && [ ! -s "$TEST_TMP/r.out" ] &&
     cmp -s "$TEST_TMP/before.list" "$TEST_TMP/after.list" &&
     cmp -s "$TEST_TMP/before.dump" "$TEST_TMP/after.dump"; then
    tap_ok "refused: $desc (exit $st: $(cat "$TEST_TMP/r.err"))"
  else
    tap_not_ok "refused: $desc" "exit $st (want $want)" "stderr: $(head -c 300 "$TEST_TMP/r.err")" \
      "stdout: $(head -c 300 "$TEST_TMP/r.out")" "$(diff "$TEST_TMP/before.dump" "$TEST_TMP/after.dump")"
  fi
}
A=(--local 198.51.100.9:7000 --direction out)
refuse 2 "unknown profile" key add "${A[@]}" --profile AES_CM_128_HMAC_SHA1_64 --inline "$K1"
refuse 2 "AES-CM profile with a 28-byte key" key add "${A[@]}" --profile AES_CM_128_HMAC_SHA1_80 --inline "$K1"
refuse 2 "wrong key length for the profile" key add "${A[@]}" --profile AEAD_AES_256_GCM --inline "$K1"
refuse 2 "bad base64" key add "${A[@]}" --profile AEAD_AES_128_GCM --inline 'not*base64!'
refuse 2 "lifetime/MKI suffix" key add "${A[@]}" --profile AEAD_AES_128_GCM --inline "$K1|2^20|1:4"
refuse 2 "all-zero master key" key add "${A[@]}" --profile AEAD_AES_128_GCM \
  --inline "$(head -c 28 /dev/zero | base64 -w0)"
refuse 2 "bad IPv4 address" key add --local 256.1.1.1:7000 --direction out --profile AEAD_AES_128_GCM --inline "$K1"
refuse 2 "IPv6 without brackets" key add --local 2001:db8::9:7000 --direction out --profile AEAD_AES_128_GCM --inline "$K1"
refuse 2 "port 0" key add --local 198.51.100.9:0 --direction out --profile AEAD_AES_128_GCM --inline "$K1"
refuse 2 "port 70000" key add --local 198.51.100.9:70000 --direction out --profile AEAD_AES_128_GCM --inline "$K1"
refuse 2 "missing port" key add --local 198.51.100.9 --direction out --profile AEAD_AES_128_GCM --inline "$K1"
refuse 2 "bad direction" key add --local 198.51.100.9:7000 --direction sideways --profile AEAD_AES_128_GCM --inline "$K1"
refuse 2 "bad mode" key add "${A[@]}" --profile AEAD_AES_128_GCM --inline "$K1" --mode secret
refuse 2 "call id too long" key add "${A[@]}" --profile AEAD_AES_128_GCM --inline "$K1" --call-id 0123456789abcdefXYZ
refuse 2 "missing --inline" key add "${A[@]}" --profile AEAD_AES_128_GCM
refuse 2 "missing --direction" key del --local 192.0.2.1:5004
refuse 2 "option without a value" key del --local 192.0.2.1:5004 --direction
refuse 2 "unknown option" key add "${A[@]}" --profile AEAD_AES_128_GCM --inline "$K1" --colour red
refuse 2 "stray word (a key typed without --inline)" key add "${A[@]}" --profile AEAD_AES_128_GCM "$K1"
refuse 2 "from-index past 2^48-1" key rekey --local 192.0.2.1:5004 --direction out --inline "$K1" --from-index 281474976710656
refuse 2 "unknown command" frobnicate
refuse 2 "unknown key command" key frob
refuse 2 "no command" 
refuse 1 "add of an existing stream" key add --local 192.0.2.1:5004 --direction out --profile AEAD_AES_128_GCM --inline "$K1"
refuse 1 "del of an absent stream" key del "${A[@]}"
refuse 1 "rekey of an absent stream" key rekey "${A[@]}" --inline "$K1"
refuse 1 "rekey with a key the stream's profile does not fit" key rekey --local 192.0.2.1:5004 --direction out --inline "$K2"

# ---- the daemon checks again: raw protocol requests that skip the CLI --------------
# raw MODE [WORDS...]: speak the admin protocol directly; prints "status=N msg"
raw() {
  python3 - "$SOCK" "$@" <<'EOF'
import socket, struct, sys, time
path, mode, words = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(path)
def frame(ver, typ, payload, length=None):
    return struct.pack(">BBHI", ver, typ, 0, len(payload) if length is None else length) + payload
payload = b"".join(w.encode() + b"\0" for w in words)
if mode == "req":
    s.sendall(frame(1, 1, payload))
elif mode == "version":
    s.sendall(frame(9, 1, payload))
elif mode == "huge":
    s.sendall(frame(1, 1, b"", 1 << 30))
elif mode == "nonul":
    s.sendall(frame(1, 1, b"status"))
elif mode == "garbage":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
elif mode == "manywords":
    s.sendall(frame(1, 1, b"x\0" * 100))
elif mode == "trickle":       # one byte a second: must be cut off
    for b in frame(1, 1, b"status\0"):
        s.sendall(bytes([b]))
        time.sleep(1)
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except OSError as e:
    print("error=%s" % e)
    sys.exit(0)
while len(data) >= 8:
    ver, typ, _, n = struct.unpack(">BBHI", data[:8])
    body, data = data[8:8 + n], data[8 + n:]
    if typ == 3:
        print("status=%d %s" % (struct.unpack(">I", body[:4])[0], body[4:].decode()))
        sys.exit(0)
print("closed")
EOF
}
# rawrefuse DESC MODE [WORDS...]: the daemon must answer with a non-zero status
# (or close) and leave the table unchanged
rawrefuse() {
  local desc=$1 out
  shift
  out=$(raw "$@" 2>&1)
  echo "$out" >>"$TEST_TMP/all_errors.txt"
  dump >"$TEST_TMP/after.dump"
  case "$out" in
    "status=0"*|"") tap_not_ok "daemon refuses: $desc" "$out" ;;
    *) if cmp -s "$TEST_TMP/before.dump" "$TEST_TMP/after.dump"; then
         tap_ok "daemon refuses: $desc ($out)"
       else
         tap_not_ok "daemon refuses: $desc (table changed)" "$out"
       fi ;;
  esac
}
rawrefuse "bad base64" req key add "${A[@]}" --profile AEAD_AES_128_GCM --inline '@@@@'
rawrefuse "wrong key length" req key add "${A[@]}" --profile AEAD_AES_256_GCM --inline "$K1"
rawrefuse "unknown profile" req key add "${A[@]}" --profile NULL_CIPHER --inline "$K1"
rawrefuse "bad address" req key add --local 1.2.3.4.5:6 --direction out --profile AEAD_AES_128_GCM --inline "$K1"
rawrefuse "missing option" req key add "${A[@]}" --inline "$K1"
rawrefuse "unknown command" req drop tables
rawrefuse "protocol version 9" version status
rawrefuse "a 1 GiB length" huge
rawrefuse "words without a final NUL" nonul
rawrefuse "an HTTP request" garbage
rawrefuse "100 words" manywords
tap_is "$(raw req status | head -c 8)" "status=0" "daemon still answers after the bad requests"

# A slow client holds a partial frame (4 of the 8 header octets, then nothing).
# What the daemon guarantees (control/daemon/admin_server.c): each client's
# whole request bounded by ADMIN_TIMEOUT_MS (5000 ms, control/proto/admin.h),
# so the slow client is cut off 5 s after it was accepted; and a `key list`
# another client sends meanwhile is answered no later than that (+ SLACK_S for
# a loaded machine). Clients are served concurrently, so it is answered at
# once: admin_clients.sh checks that tighter bound. A longer or missing
# bound fails here.
ADMIN_TIMEOUT_S=5 SLACK_S=1.0
python3 - "$SOCK" "$TEST_TMP/slow.marker" >"$TEST_TMP/slow.out" 2>&1 <<'EOF' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(struct.pack(">BBHI", 1, 1, 0, 7)[:4])     # half a header: hold it
t0 = time.monotonic()
open(sys.argv[2], "w").close()
s.settimeout(30)
try:
    while s.recv(4096):
        pass
    print("eof_after_s=%.3f" % (time.monotonic() - t0))
except OSError as e:
    print("error=%s after %.3f s" % (e, time.monotonic() - t0))
EOF
SLOW=$!
# accepted: its connection is made and the listener's accept queue is empty again
accepted() {
  [ -e "$TEST_TMP/slow.marker" ] &&
    [ "$(ss -Hxl src "$SOCK" | awk '{print $3}')" = 0 ]
}
wait_for 5 accepted
ACC=$?
TA=$EPOCHREALTIME
OUT=$(raw req key list 2>&1)
TB=$EPOCHREALTIME
wait "$SLOW"
SLOW_OUT=$(cat "$TEST_TMP/slow.out")
DT=$(awk -v a="$TA" -v b="$TB" 'BEGIN {printf "%.2f", b - a}')
tap_is "$ACC ${OUT:0:8} $(awk -v d="$DT" -v m="$ADMIN_TIMEOUT_S" -v s="$SLACK_S" 'BEGIN {print (d <= m + s)}')" \
  "0 status=0 1" \
  "a slow client holding a partial frame: another client's key list is answered within ${ADMIN_TIMEOUT_S} s + ${SLACK_S} s of its accept (in $DT s)" ||
  tap_diag "accepted: $ACC, answer: $OUT"
E=$(echo "$SLOW_OUT" | sed -n 's/^eof_after_s=//p')
tap_is "$(awk -v e="${E:-99}" -v m="$ADMIN_TIMEOUT_S" -v s="$SLACK_S" 'BEGIN {print (e >= m - 0.5 && e <= m + s)}')" 1 \
  "the slow client is cut off at the daemon's ${ADMIN_TIMEOUT_S} s request timeout (after ${E:-?} s)" ||
  tap_diag "slow client: $SLOW_OUT"
tap_is "$(grep -c 'no complete request within' "$TEST_TMP/control1.log")" 1 "the slow client is logged as timed out"

# ---- single writer, live and stale sockets ---------------------------------------------
timeout 10 "$CONTROL" --table "$TABLE" --state "$STATE" --admin "$TEST_TMP/other.sock" \
  >"$TEST_TMP/second.log" 2>&1
ST=$?
tap_is "$ST $(grep -c "pid $PID1" "$TEST_TMP/second.log") $([ -e "$TEST_TMP/other.sock" ] && echo sock || echo nosock)" \
  "1 1 nosock" "a second daemon on the table is refused naming pid $PID1: $(head -1 "$TEST_TMP/second.log")"
timeout 10 "$CONTROL" --table "$TABLE2" --state "$STATE" --admin "$SOCK" \
  >"$TEST_TMP/third.log" 2>&1
ST=$?
tap_is "$ST $(grep -c 'is live' "$TEST_TMP/third.log") $([ -e "/dev/shm/callseal.$TABLE2" ] && echo table || echo notable)" \
  "1 1 notable" "a daemon on a live socket is refused and leaves no table behind"
tap_is "$(raw req status | head -c 8)" "status=0" "the first daemon still serves its socket"
mkdir -m 0755 "$TEST_TMP/openstate"
timeout 10 "$CONTROL" --table "$TABLE2" --state "$TEST_TMP/openstate" --admin "$TEST_TMP/x.sock" \
  >"$TEST_TMP/open.log" 2>&1
tap_is "$? $(grep -c 'chmod 700' "$TEST_TMP/open.log")" "1 1" "a state dir others can read is refused"
"$CONTROL" --state "$STATE" --admin "$TEST_TMP/x.sock" >"$TEST_TMP/opt.log" 2>&1
ST1=$?
"$CONTROL" --table "$TABLE2" --state "$STATE" --admin "$TEST_TMP/x.sock" --capacity 0 >>"$TEST_TMP/opt.log" 2>&1
tap_is "$ST1 $? $(wc -l <"$TEST_TMP/opt.log")" "2 2 2" "daemon: missing --table, --capacity 0: one-line errors, exit 2"

# ---- SIGTERM, restart, stale socket, SIGINT -------------------------------------------------
dump >"$TEST_TMP/before_restart.dump"
ctl key list >"$TEST_TMP/before_restart.list" 2>&1
stop_proc "$PID1" 5
ST=$?
tap_is "$ST $([ -e "$SOCK" ] && echo sock || echo nosock)" "0 nosock" "SIGTERM: exit 0, socket removed"
tap_is "$(dump)" "$(cat "$TEST_TMP/before_restart.dump")" "the table and its keys outlive the daemon"

start_daemon control2
tap_result $? "daemon restarts on the existing table" || tap_diag "$(tail -3 "$TEST_TMP/control2.log")"
PID2=$DPID
ctl key list >"$TEST_TMP/after_restart.list" 2>&1
tap_is "$(cat "$TEST_TMP/after_restart.list")" "$(cat "$TEST_TMP/before_restart.list")" \
  "the restarted daemon finds its entries (key list unchanged)"
tap_is "$(grep -c 'attached to table .* 2 entries' "$TEST_TMP/control2.log")" 1 \
  "the restarted daemon reports attaching with 2 entries"

kill -KILL "$PID2"
wait "$PID2" 2>/dev/null
tap_is "$([ -S "$SOCK" ] && echo stale)" "stale" "SIGKILL leaves a stale socket"
start_daemon control3
tap_result $? "a new daemon replaces the stale socket" || tap_diag "$(tail -3 "$TEST_TMP/control3.log")"
PID3=$DPID
tap_is "$(grep -c 'replaced a stale admin socket' "$TEST_TMP/control3.log") $(dump | wc -l)" "1 2" \
  "it says so, and the entries are there"
tap_check "key add after the restarts" ctl key add --local '*:6002' --direction out \
  --profile AEAD_AES_256_GCM --inline "$K5"
kill -INT -- "-$PID3"
wait_pid "$PID3" 10
tap_is "$?" 0 "SIGINT: exit 0"

# ---- help, and no key bytes anywhere ------------------------------------------------------------
"$CTL" --help >"$TEST_TMP/ctl.help" 2>&1
ST1=$?
"$CONTROL" --help >"$TEST_TMP/control.help" 2>&1
ST2=$?
missing=""
for o in --admin --local --direction --profile --inline --mode --call-id --from-index --json \
         "key add" "key rekey" "key del" "key list" AEAD_AES_128_GCM AEAD_AES_256_GCM \
         AES_CM_128_HMAC_SHA1_80 AES_CM_128_HMAC_SHA1_32 Example; do
  grep -qiF -- "$o" "$TEST_TMP/ctl.help" || missing="$missing ctl:$o"
done
for o in --table --state --admin --capacity example; do
  grep -qF -- "$o" "$TEST_TMP/control.help" || missing="$missing control:$o"
done
tap_is "$ST1 $ST2${missing}" "0 0" "both --help texts explain every option, with an example"

cat "$TEST_TMP"/control*.log "$TEST_TMP"/*.list "$TEST_TMP"/list*.txt "$TEST_TMP"/list*.json \
  "$TEST_TMP/all_errors.txt" "$TEST_TMP"/*.dump "$TEST_TMP/second.log" "$TEST_TMP/third.log" \
  >"$TEST_TMP/everything.txt" 2>/dev/null
leaks=$(key_leaks "$TEST_TMP/everything.txt" "${ALLKEYS[@]}")
tap_is "$leaks" "" "no key bytes (base64 or hex) in any list, dump, error or daemon log"

tap_done
