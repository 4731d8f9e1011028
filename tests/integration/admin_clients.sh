#!/usr/bin/env bash
# admin_clients.sh - callseal-control serves its admin clients concurrently
# (issue 14, "a daemon that cannot be stalled"; docs/operations.md "Admin
# socket").
#
# usage: admin_clients.sh CONTROL CALLSEALCTL
#
# Two daemons (alice@contoso, bob@fabrikam, one e2ee call: e2ee_call.sh), and
# clients that behave badly on alice's admin socket (adminclients.py):
#   1. one trickles a request a byte every 200 ms, one sends half a request and
#      stalls, one dial waits for a callee that never answers and one dial's
#      client hangs up: meanwhile user list, status and a call dial on other
#      connections are answered at once (each within 1 s), while the stalled
#      client is still connected; the trickled request is answered too;
#   2. the stalled client is closed at its 5 s deadline (END ETIMEDOUT), logged
#      and counted; the waiting dial gets its answer (failed, handshake
#      timeout); the hang-up is logged;
#   3. 80 clients at once: 64 are taken, 16 refused at once (END EBUSY), a
#      status meanwhile is refused at once too, a call from bob still reaches
#      alice's daemon; once they go, status is served and counts the refusals;
#   4. the socket is mode 0600; a client of another uid (socket made 0666 for
#      the check; needs root and setpriv) is refused with EACCES and logged.
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2
HERE=$(cd "$(dirname "$0")" && pwd)
DRIVE="$HERE/adminclients.py"
require_cmd python3
TA="adma$$x$RANDOM" TB="admb$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT
. "$HERE/e2ee_call.sh"

LIMIT_S=1.0          # "answered at once", on a loaded 2-core machine
TIMEOUT_S=5          # ADMIN_TIMEOUT_MS (control/proto/admin.h)

e2ee_call "call dial alice -> bob@fabrikam"
# bob's media pool has one address: the call gives it back when it ends
a call end "$ID" >/dev/null 2>&1
wait_for 5 bash -c "! '$CTL' --admin '$SB' call list | grep -q active"
drive() { python3 "$DRIVE" "$@"; }
# secs_ok SECS: SECS <= LIMIT_S
secs_ok() { awk -v t="$1" -v m="$LIMIT_S" 'BEGIN {exit !(t != "" && t <= m)}'; }
# connected N: alice's status says N admin clients are connected (this one too)
connected() { a status 2>/dev/null | grep -q "^admin clients: $1 connected"; }
counter() { a status | sed -n "s/.*$1 \([0-9]*\).*/\1/p"; }

# ---- 1. stalled clients do not hold up the others --------------------------------
spawn_listen silent SILENT 10 python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)' @PORT@
a peer add dave@silent --key "$(head -c 32 /dev/urandom | base64 -w0)" \
  --addr "127.0.0.1:$SILENT" >/dev/null

drive stall "$SA" "$TEST_TMP/stall.marker" >"$TEST_TMP/stall.out" 2>&1 &
STALL=$!
drive trickle "$SA" 0.2 status >"$TEST_TMP/trickle.out" 2>&1 &
TRICKLE=$!
"$CTL" --admin "$SA" call dial --from alice --to dave@silent >"$TEST_TMP/wait.out" \
  2>"$TEST_TMP/wait.err" &
WAITDIAL=$!
wait_for 5 test -e "$TEST_TMP/stall.marker"
drive hangup "$SA" call dial --from alice --to dave@silent
# the staller, the trickler and the waiting dial are connected (and this status)
wait_for 5 connected 4
tap_result $? "a stalled, a trickling and a dialling client are connected at once" ||
  a status | sed 's/^/#   /'

ask_timed() {   # ask_timed NAME CMD...: "RC SECS" into $TEST_TMP/NAME.t
  local name=$1 t0=$EPOCHREALTIME rc
  shift
  "$@" >"$TEST_TMP/$name.ask" 2>&1
  rc=$?
  echo "$rc $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}')" \
    >"$TEST_TMP/$name.t"
}
ask_timed user_list a user list
ask_timed status a status
ask_timed dial a call dial --from alice --to bob@fabrikam
# the staller has had no answer yet: its process waits for EOF
STILL=$( (kill -0 "$STALL" 2>/dev/null && [ ! -s "$TEST_TMP/stall.out" ]) && echo yes || echo no)
for q in user_list status dial; do
  read -r RC SECS <"$TEST_TMP/$q.t"
  tap_is "$RC $(secs_ok "$SECS" && echo fast || echo "slow")" "0 fast" \
    "while clients stall: '${q/_/ }' answered in $SECS s (at most $LIMIT_S s)" ||
    sed 's/^/#   /' "$TEST_TMP/$q.ask"
done
tap_is "$STILL" yes "... all while the stalled client is still connected"
ID2=$(sed -n 's/^call id: //p' "$TEST_TMP/dial.ask")

wait "$TRICKLE"
read -r ST T <<<"$(sed 's/[a-z_]*=//g' "$TEST_TMP/trickle.out")"
tap_is "$ST $(awk -v t="$T" 'BEGIN {print (t >= 2.5)}')" "0 1" \
  "a request trickled a byte every 200 ms is answered (after $T s)" ||
  sed 's/^/#   /' "$TEST_TMP/trickle.out"

# ---- 2. the stalled client is cut off at its deadline ------------------------------
wait "$STALL"
read -r ST E <<<"$(sed 's/[a-z_]*=//g' "$TEST_TMP/stall.out")"
tap_is "$ST $(awk -v e="$E" -v m="$TIMEOUT_S" 'BEGIN {print (e >= m - 0.5 && e <= m + 1.5)}')" \
  "110 1" "the stalled client gets END ETIMEDOUT and is closed at its ${TIMEOUT_S} s deadline (after $E s)" ||
  sed 's/^/#   /' "$TEST_TMP/stall.out"
tap_is "$(grep -c 'no complete request within' "$TEST_TMP/ctl_a.log") $(counter 'timed out')" "1 1" \
  "it is logged and counted (status: timed out 1)"
wait "$WAITDIAL"
RC=$?
tap_is "$RC $(grep -c 'timed out' "$TEST_TMP/wait.err")" "1 1" \
  "the dial that waited gets its answer: failed, handshake timeout" ||
  sed 's/^/#   /' "$TEST_TMP/wait.err"
wait_for 10 grep -q 'left before its dial' "$TEST_TMP/ctl_a.log"
tap_result $? "the dial whose client hung up is logged and forgotten (the call goes on)"
a call end "$ID2" >/dev/null 2>&1
wait_for 5 bash -c "! '$CTL' --admin '$SB' call list | grep -q active"

# ---- 3. more clients than the bound ------------------------------------------------
wait_for 10 connected 1
tap_result $? "every client of part 1 is gone" || a status | sed 's/^/#   /'
R0=$(counter 'refused')
drive flood "$SA" 80 "$TEST_TMP/flood.marker" "$TEST_TMP/flood.release" \
  >"$TEST_TMP/flood.out" 2>&1 &
FLOOD=$!
wait_for 10 test -e "$TEST_TMP/flood.marker"
tap_result $? "80 clients connect at once"
# accepted after every flood client (one accept queue): its answer means
# each of them has been taken or refused
PROBE=$(drive ask "$SA" status)
read -r PST PSECS <<<"$(head -1 <<<"$PROBE" | sed 's/[a-z_]*=//g')"
tap_is "$PST $(secs_ok "$PSECS" && echo fast || echo slow)" "16 fast" \
  "a status meanwhile is refused at once: END EBUSY in $PSECS s ($(tail -1 <<<"$PROBE"))"
ask_timed bobdial b call dial --from bob --to alice@contoso
read -r RC SECS <"$TEST_TMP/bobdial.t"
tap_is "$RC $(secs_ok "$SECS" && echo fast || echo slow)" "0 fast" \
  "a call from bob still reaches alice's daemon (in $SECS s)" ||
  sed 's/^/#   /' "$TEST_TMP/bobdial.ask"
touch "$TEST_TMP/flood.release"
wait "$FLOOD"
tap_is "$(cat "$TEST_TMP/flood.out")" "refused=16 held=64 other=0" \
  "64 clients are taken, the 16 beyond the bound are refused with END EBUSY"
wait_for 5 a status >/dev/null 2>&1
tap_result $? "once they go, status is served again"
tap_is "$(($(counter 'refused') - R0))" 17 "status counts the 17 refusals"
wait_for 3 grep -q 'admin: refused [0-9]* client(s)' "$TEST_TMP/ctl_a.log"
tap_result $? "the refusals are logged"
ID3=$(sed -n 's/^call id: //p' "$TEST_TMP/bobdial.ask")
b call end "$ID3" >/dev/null 2>&1

# ---- 4. permissions ---------------------------------------------------------------
tap_is "$(stat -c '%a %F' "$SA")" "600 socket" "the admin socket is mode 0600"
# the system's python3 (a per-user one, such as root's pyenv, is not for uid 65534)
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
  chmod 711 "$TEST_TMP" && chmod 666 "$SA"
  OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - ask "$SA" \
    status <"$DRIVE" 2>&1)
  chmod 600 "$SA" && chmod 700 "$TEST_TMP"
  tap_is "$(head -1 <<<"$OUT" | cut -d' ' -f1) $(grep -c 'refused a client with uid 65534' "$TEST_TMP/ctl_a.log")" \
    "status=13 1" "a client of uid 65534 (socket opened to it for the check) is refused: EACCES, logged" ||
    tap_diag "$OUT"
  tap_is "$(counter 'bound and')" 1 "status counts it"
else
  tap_skip "a client of another uid is refused" "needs root, setpriv and /usr/bin/python3"
  tap_skip "status counts it" "needs root, setpriv and /usr/bin/python3"
fi

tap_done
