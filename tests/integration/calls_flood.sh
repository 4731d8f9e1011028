#!/usr/bin/env bash
# calls_flood.sh - the handshake bounds (docs/calls.md, "Bounds") through two
# callseal-control daemons: alice@contoso (A) and bob@fabrikam (B), e2ee on,
# each other's keys pinned, handshake timeout 5000 ms.
#
#  1. 2,000 idle TCP connections to B's listen port, 1,000 from 127.0.0.2 ..
#     127.0.0.51 (20 each) and 1,000 from 127.0.0.99 alone (tcpflood.py),
#     held open. While they are opened and held, alice's calls to bob still
#     set up (e2ee), one dialled at the same time as the flood and three
#     after it; B never holds more incoming handshakes than its bound (64), its
#     status counts the refusals (per source) and the evictions (idle), and
#     its resident memory (VmRSS) grows by less than 8 MiB (32 MiB in a
#     sanitizer build).
#  2. 20 connections from 127.0.0.77 that each send one octet (not idle, so
#     not evicted): 16 are held (the per-source bound), the other 4 are
#     closed at once, counted; a call from alice (127.0.0.1) still sets up.
#  3. the bounds as options: a third daemon C with --max-handshakes 8
#     --max-handshakes-per-source 3 --handshake-idle 1500 reports them in its
#     status and holds 3 of 10 connections that speak from one address; a
#     per-source bound above the total is refused at start.
# B must still run at the end and exit 0 on SIGTERM.
#
# usage: calls_flood.sh CONTROL CALLSEALCTL
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2
FLOOD="$(cd "$(dirname "$0")" && pwd)/tcpflood.py"
require_cmd python3
# 2,000 sockets in tcpflood.py, a few more for the rest
if [ "$(ulimit -n)" -lt 4096 ]; then
  ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
fi
[ "$(ulimit -n)" -ge 2100 ] || tap_skip_all "ulimit -n is $(ulimit -n), 2,100 descriptors needed"

TA="cfa$$x$RANDOM" TB="cfb$$x$RANDOM"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
a() { "$CTL" --admin "$SA" "$@"; }
b() { "$CTL" --admin "$SB" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
# stat FIELD: a number from B's status line "calls: ..."
stat_b() { b status | sed -n "s/^calls: .*$1 \([0-9]*\).*/\1/p"; }

spawn_listen ctl_a PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/sa" --admin "$SA" \
  --capacity 64 --tenant contoso --listen "127.0.0.1:@PORT@" --handshake-timeout 5000
spawn_listen ctl_b PB 10 "$CONTROL" --table "$TB" --state "$TEST_TMP/sb" --admin "$SB" \
  --capacity 64 --tenant fabrikam --listen "127.0.0.1:@PORT@" \
  --media-pool 127.0.0.1:24000-24099 --handshake-timeout 5000
PIDB=$SPAWN_PID
wait_until 10 a status >/dev/null 2>&1 && wait_until 10 b status >/dev/null 2>&1
tap_result $? "both daemons start" ||
  tap_bail "daemons did not start: $(tail -3 "$TEST_TMP/ctl_a.log") $(tail -3 "$TEST_TMP/ctl_b.log")"
{ a user add alice && b user add bob &&
  a peer add bob@fabrikam --key "$(b user show bob --json | jq_ 'd["public_key"]')" \
    --addr "127.0.0.1:$PB" &&
  b peer add alice@contoso --key "$(a user show alice --json | jq_ 'd["public_key"]')" \
    --addr "127.0.0.1:$PA" &&
  a policy add open --e2ee users-can-turn-on && a policy assign open --tenant &&
  b policy add open --e2ee users-can-turn-on && b policy assign open --tenant &&
  a user set alice --e2ee on && b user set bob --e2ee on; } >"$TEST_TMP/setup.out" 2>&1
tap_result $? "users, pinned peers, policies allowing E2EE" || sed 's/^/#   /' "$TEST_TMP/setup.out"

N=0   # calls dialled
# dial NAME: alice calls bob; the call must come up e2ee on both sides
dial() {
  local id ma mb
  N=$((N + 1))
  a call dial --from alice --to bob@fabrikam --local-media "127.0.0.1:$((30000 + N))" \
    >"$TEST_TMP/dial$N" 2>&1 || { sed 's/^/#   /' "$TEST_TMP/dial$N"; return 1; }
  id=$(sed -n 's/^call id: //p' "$TEST_TMP/dial$N")
  wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$id' >/dev/null 2>&1"
  ma=$(a call show "$id" --json | jq_ 'd["mode"]')
  mb=$(b call show "$id" --json | jq_ 'd["mode"]')
  [ "$ma $mb" = "e2ee e2ee" ] || { tap_diag "call $id: modes $ma $mb"; return 1; }
}

# ---- 1. 2,000 idle connections ---------------------------------------------------
RSS0=$(rss_kib "$PIDB")
SRC=()
for i in $(seq 2 51); do SRC+=(--from "127.0.0.$i:20"); done
spawn flood python3 "$FLOOD" "$PB" "${SRC[@]}" --from 127.0.0.99:1000 \
  --report "$TEST_TMP/flood" --hold-until "$TEST_TMP/flood.stop"
FLOODPID=$SPAWN_PID
dial
tap_result $? "a call dialled while 2,000 idle connections are opened sets up, e2ee"
wait_for_file "$TEST_TMP/flood" 30 "$FLOODPID"
read -r _ opened _ failed _ closed <"$TEST_TMP/flood" 2>/dev/null
tap_diag "flood: ${opened:-?} connections opened, ${failed:-?} failed, ${closed:-?} closed by B by then"
tap_is "$(( ${opened:-0} + ${failed:-0} ))" 2000 "the flood tried 2,000 connections" 
ok=0
for k in 1 2 3; do dial || ok=1; done
tap_result $ok "while they are held, three more calls set up, each e2ee"
HS=$(b status | sed -n 's/^calls: handshakes in [0-9]* (peak \([0-9]*\),.*/\1/p')
tap_check "B held at most 64 incoming handshakes at any time (peak ${HS:-?})" \
  bash -c "[ '${HS:-999}' -le 64 ] && [ '${HS:-0}' -gt 0 ]"
RS=$(stat_b "refused: per source") EV=$(stat_b "evicted idle")
tap_check "B counts refusals per source (${RS:-?}) and evictions of idle ones (${EV:-?})" \
  bash -c "[ '${RS:-0}' -gt 0 ] && [ '${EV:-0}' -gt 0 ]"
b status | grep '^calls:' | sed 's/^/# B: /'
RSS1=$(rss_kib "$PIDB")
tap_diag "B VmRSS: $RSS0 KiB before, $RSS1 KiB with the flood held ($((RSS1 - RSS0)) KiB more)"
# 8 MiB; 32 MiB for a sanitizer build (AddressSanitizer keeps freed memory in
# its quarantine, so each connection accepted and closed leaves its bytes
# resident for a while). Without the bounds the plain build grew 31 MiB.
RSS_MAX=8192
grep -q __asan_init "$CONTROL" 2>/dev/null && RSS_MAX=32768
tap_check "B's resident memory grows by less than $((RSS_MAX / 1024)) MiB" \
  test "$((RSS1 - RSS0))" -lt "$RSS_MAX"
touch "$TEST_TMP/flood.stop"
wait_pid "$FLOODPID" 10

# ---- 2. the per-source bound, with connections that speak ------------------------
R0=$(stat_b "refused: per source")
spawn speak python3 "$FLOOD" "$PB" --from 127.0.0.77:20 --speak --expect-closed 4 \
  --report "$TEST_TMP/speak" --hold-until "$TEST_TMP/speak.stop"
SPEAKPID=$SPAWN_PID
four_more() { [ "$(stat_b "refused: per source")" -ge "$((R0 + 4))" ]; }
wait_until 10 four_more
tap_is "$(( $(stat_b "refused: per source") - R0 ))" 4 \
  "20 connections that speak from one address: B refuses 4 (per-source bound 16)"
wait_for_file "$TEST_TMP/speak" 30 "$SPEAKPID"
read -r _ opened _ failed _ closed <"$TEST_TMP/speak" 2>/dev/null
tap_is "${opened:-?} ${closed:-?}" "20 4" "  ... those 4 are closed at once, 16 held"
dial
tap_result $? "a call from another address (alice's daemon) still sets up, e2ee"
touch "$TEST_TMP/speak.stop"
wait_pid "$SPEAKPID" 10

# ---- 3. the bounds as options ------------------------------------------------------
"$CONTROL" --table "c$TB" --state "$TEST_TMP/sc" --admin "$TEST_TMP/c.sock" --tenant t \
  --listen 127.0.0.1:0 --max-handshakes 8 --max-handshakes-per-source 9 >"$TEST_TMP/bad.out" 2>&1
tap_is "$? $(grep -c 'max-handshakes-per-source 9 is more than --max-handshakes 8' "$TEST_TMP/bad.out")" \
  "2 1" "a per-source bound above the total is refused at start (exit 2, says which)"
TC="cfc$$x$RANDOM" SC="$TEST_TMP/c.sock"
spawn_listen ctl_c PC 10 "$CONTROL" --table "$TC" --state "$TEST_TMP/sc" --admin "$SC" \
  --capacity 64 --tenant northwind --listen "127.0.0.1:@PORT@" --handshake-timeout 5000 \
  --max-handshakes 8 --max-handshakes-per-source 3 --handshake-idle 1500
PIDC=$SPAWN_PID
c() { "$CTL" --admin "$SC" "$@"; }
wait_until 10 c status >/dev/null 2>&1
c status | grep '^calls:' | sed 's/^/# C: /'
tap_is "$(c status | sed -n 's/^calls: handshakes in [0-9]* (peak [0-9]*, \(limit [0-9]*, [0-9]* per source, idle [0-9]* ms\)).*/\1/p')" \
  "limit 8, 3 per source, idle 1500 ms" \
  "--max-handshakes 8 --max-handshakes-per-source 3 --handshake-idle 1500 are the bounds in force"
spawn speak_c python3 "$FLOOD" "$PC" --from 127.0.0.88:10 --speak --expect-closed 7 \
  --report "$TEST_TMP/speak_c" --hold-until "$TEST_TMP/speak_c.stop"
SPEAKC=$SPAWN_PID
wait_for_file "$TEST_TMP/speak_c" 30 "$SPEAKC"
read -r _ opened _ failed _ closed <"$TEST_TMP/speak_c" 2>/dev/null
tap_is "${opened:-?} ${closed:-?} $(c status | sed -n 's/^calls: .*refused: per source \([0-9]*\).*/\1/p')" "10 7 7" \
  "10 connections that speak from one address: C holds 3, closes and counts 7"
touch "$TEST_TMP/speak_c.stop"
wait_pid "$SPEAKC" 10
stop_proc "$PIDC" 5
rm -f "/dev/shm/callseal.$TC"

kill -0 "$PIDB" 2>/dev/null
tap_result $? "B still runs"
stop_proc "$PIDB" 5
tap_is "$?" 0 "B exits 0 on SIGTERM"
tap_done
