#!/usr/bin/env bash
# metrics_http.sh - callseal-control --metrics ADDR:PORT: the dataplane's
# statistics over HTTP for a Prometheus scrape (issue 15; docs/operations.md
# "Statistics"), without DPDK.
#
# usage: metrics_http.sh CONTROL CALLSEALCTL DPSTATS_WRITER
#
# callseal-dpstats-writer --totals plays the dataplane (as in stats_cli.sh);
# the daemon runs without --tenant and --listen, with --metrics 127.0.0.1:0,
# and the port is read from its start-up line. Checked (metricsclients.py
# drives the clients):
#   1. GET /metrics: 200, the Prometheus content type, Content-Length,
#      Connection: close; the body has the series (names and labels) of
#      `callsealctl stats --prometheus` in the same order, and the writer's
#      values; `promtool check metrics` passes it (skipped, saying why,
#      without promtool); HEAD; / points to /metrics; 404; 405 (Allow);
#      a malformed request and a head over 8 KiB: 400;
#   2. a client that sends nothing and one that trickles a byte a second: a
#      scrape meanwhile is answered at once; both are closed at the 5 s
#      deadline, counted (status) and logged;
#   3. 20 clients at once: 16 are held, the 4 beyond the bound get 503 and are
#      closed at once; the admin socket answers meanwhile; once they go a
#      scrape is answered; status counts the refusals;
#   4. bad --metrics values exit 2 with a message, before anything is made;
#      an address in use exits 1 and leaves nothing behind.
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DPW=$3
HERE=$(cd "$(dirname "$0")" && pwd)
require_cmd python3

TABLE="mth$$x$RANDOM" T2="mth$$y$RANDOM"
SOCK="$TEST_TMP/admin.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.stats" "/dev/shm/callseal.$T2"' EXIT

LIMIT_S=1.0          # "answered at once", on a loaded 2-core machine
TIMEOUT_S=5          # METRICS_TIMEOUT_MS (control/daemon/metrics.h)

ctl() { "$CTL" --admin "$SOCK" "$@"; }
drive() { python3 "$HERE/metricsclients.py" "$@"; }
secs_ok() { awk -v t="$1" -v m="$LIMIT_S" 'BEGIN {exit !(t != "" && t <= m)}'; }
# kv KEY LINE: the value of KEY=VALUE in LINE
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
mstatus() { ctl status | grep '^metrics '; }
connected() { mstatus | grep -q ": $1 connected,"; }

spawn writer "$DPW" --totals "$TABLE" 2
wait_for 5 grep -q '^ready pid' "$TEST_TMP/writer.log"
tap_result $? "callseal-dpstats-writer made the statistics area" || cat "$TEST_TMP/writer.log"
spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK" \
  --capacity 16 --metrics 127.0.0.1:0
CPID=$SPAWN_PID
wait_for 10 grep -q 'metrics: serving http://' "$TEST_TMP/control.log"
PORT=$(sed -n 's|^callseal-control: metrics: serving http://127\.0\.0\.1:\([0-9]*\)/metrics .*|\1|p' \
  "$TEST_TMP/control.log")
tap_is "$([ -n "$PORT" ] && [ "$PORT" -gt 0 ] && echo port)" port \
  "the start-up line names the port 0 picked (no --tenant, no --listen)" ||
  tap_bail "no metrics line: $(tail -3 "$TEST_TMP/control.log")"
URL="http://127.0.0.1:$PORT"
wait_for 10 ctl status >/dev/null 2>&1

# ---- 1. the scrape and the other answers --------------------------------------
OUT=$(drive get "$URL/metrics" "$TEST_TMP/scrape.prom")
ctl stats --prometheus >"$TEST_TMP/ctl.prom" 2>&1
tap_is "$(kv status "$OUT") $(kv type "$OUT") $(kv length "$OUT") $(kv connection "$OUT")" \
  "200 text/plain;_version=0.0.4;_charset=utf-8 $(wc -c <"$TEST_TMP/scrape.prom") close" \
  "GET /metrics: 200, the exposition's content type, Content-Length, Connection: close" ||
  tap_diag "$OUT"
# the series (name and labels) of both, in order; the values the writer set
series() { grep -v '^#' "$1" | sed 's/ [^ ]*$//'; }
tap_is "$(series "$TEST_TMP/scrape.prom" | md5sum) $(grep -c '^# HELP' "$TEST_TMP/scrape.prom")" \
  "$(series "$TEST_TMP/ctl.prom" | md5sum) 16" \
  "the body has every series of 'callsealctl stats --prometheus', in its order, 16 families" ||
  diff <(series "$TEST_TMP/scrape.prom") <(series "$TEST_TMP/ctl.prom") | sed 's/^/#   /'
tap_is "$(grep -v '^#' "$TEST_TMP/scrape.prom" | wc -l)" "$(grep -v '^#' "$TEST_TMP/ctl.prom" | wc -l)" \
  "... and as many samples"
tap_is "$(grep -cE '^callseal_dataplane_(up 1|workers 2|packets_received_total\{worker="0",port="inside"\} 1000|encrypted_total\{worker="1"\} 5001|dropped_total\{worker="1",reason="replay"\} 21)$' "$TEST_TMP/scrape.prom")" \
  5 "the body has the writer's values: up, workers, counters by worker, port and reason" ||
  sed 's/^/#   /' "$TEST_TMP/scrape.prom"
tap_is "$(grep -v '^callseal_dataplane_' "$TEST_TMP/scrape.prom" | grep -vc '^# \(HELP\|TYPE\) callseal_dataplane_')" 0 \
  "the body holds the dataplane's statistics only"
if command -v promtool >/dev/null 2>&1; then
  promtool check metrics <"$TEST_TMP/scrape.prom" >"$TEST_TMP/promtool.out" 2>&1
  tap_result $? "promtool check metrics passes the scrape" || sed 's/^/#   /' "$TEST_TMP/promtool.out"
else
  tap_skip "promtool check metrics passes the scrape" \
    "promtool not found (Debian package prometheus; scripts/deps installs it)"
fi
OUT=$(drive get "$URL/metrics" "$TEST_TMP/head.body" HEAD)
tap_is "$(kv status "$OUT") $(kv length "$OUT") $(wc -c <"$TEST_TMP/head.body")" \
  "200 $(wc -c <"$TEST_TMP/scrape.prom") 0" "HEAD /metrics: the GET's Content-Length, no body"
OUT=$(drive get "$URL/?x" "$TEST_TMP/root.body")
tap_is "$(kv status "$OUT") $(grep -c 'href="/metrics"' "$TEST_TMP/root.body")" "200 1" \
  "GET / answers a line pointing to /metrics"
OUT=$(drive get "$URL/metricsx" "$TEST_TMP/nf.body")
tap_is "$(kv status "$OUT") $(kv connection "$OUT")" "404 close" "GET of another path: 404"
OUT=$(drive get "$URL/metrics" "$TEST_TMP/post.body" POST)
tap_is "$(kv status "$OUT") $(kv allow "$OUT")" "405 GET,_HEAD" \
  "POST /metrics: 405, Allow: GET, HEAD"
# hex FORMAT: the bytes printf FORMAT makes, in hex (no command substitution
# in between: it would drop the trailing newlines)
hex() { printf "$1" | od -An -tx1 -v | tr -d ' \n'; }
for REQ in 'GARBAGE\r\n\r\n' 'GET /metrics\r\n\r\n' 'GET /metrics HTTP/2.0\r\n\r\n' \
           'GET metrics HTTP/1.1\r\n\r\n' 'GET /metrics HTTP/1.1\r\nno colon\r\n\r\n' \
           'GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n'; do
  OUT=$(drive raw "$PORT" "$(hex "$REQ")")
  tap_is "$(kv status "$(head -1 <<<"$OUT")")" 400 "a malformed request ('$REQ'): 400, closed" ||
    tap_diag "$OUT"
done
BIG="GET /metrics HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n"
OUT=$(drive raw "$PORT" "$(hex "$BIG")")
tap_is "$(kv status "$(head -1 <<<"$OUT")") $(grep -c 'over 8192 bytes' <<<"$OUT")" "400 1" \
  "a head over 8 KiB: 400, closed" || tap_diag "$OUT"
OUT=$(drive raw "$PORT" "$(hex 'GET /metrics HTTP/1.0\n\n')")
tap_is "$(sed -n 2p <<<"$OUT") $(grep -c '^callseal_dataplane_up 1$' <<<"$OUT")" "HTTP/1.1 200 OK 1" \
  "an HTTP/1.0 request with bare LFs is answered"

# ---- 2. stalled clients do not hold up a scrape ---------------------------------
drive stall "$PORT" "$TEST_TMP/stall.marker" >"$TEST_TMP/stall.out" 2>&1 &
STALL=$!
drive trickle "$PORT" 1 "$TEST_TMP/trickle.marker" >"$TEST_TMP/trickle.out" 2>&1 &
TRICKLE=$!
wait_for 5 test -e "$TEST_TMP/stall.marker" -a -e "$TEST_TMP/trickle.marker"
wait_for 5 connected 2
tap_result $? "a silent and a trickling client are connected" || mstatus | sed 's/^/#   /'
OUT=$(drive get "$URL/metrics" "$TEST_TMP/scrape2.prom")
STILL=$(kill -0 "$STALL" 2>/dev/null && kill -0 "$TRICKLE" 2>/dev/null && echo yes || echo no)
tap_is "$(kv status "$OUT") $(secs_ok "$(kv secs "$OUT")" && echo fast || echo slow) $STILL" \
  "200 fast yes" "meanwhile a scrape is answered in $(kv secs "$OUT") s (at most $LIMIT_S s), both still connected"
wait "$STALL"
E=$(kv eof_after "$(cat "$TEST_TMP/stall.out")")
tap_is "$(awk -v e="$E" -v m="$TIMEOUT_S" 'BEGIN {print (e >= m - 0.5 && e <= m + 1.5)}') $(kv answer "$(cat "$TEST_TMP/stall.out")")" \
  "1 0" "the silent client is closed at its ${TIMEOUT_S} s deadline (after $E s), no answer" ||
  sed 's/^/#   /' "$TEST_TMP/stall.out"
wait "$TRICKLE"
E=$(kv eof_after "$(cat "$TEST_TMP/trickle.out")")
tap_is "$(awk -v e="$E" -v m="$TIMEOUT_S" 'BEGIN {print (e >= m - 0.5 && e <= m + 1.5)}')" \
  1 "the trickling client is closed at its ${TIMEOUT_S} s deadline too (after $E s, $(kv sent "$(cat "$TEST_TMP/trickle.out")") bytes sent)" ||
  sed 's/^/#   /' "$TEST_TMP/trickle.out"
wait_for 3 grep -q 'metrics: closed [0-9]* client(s) at their 5000 ms deadline' "$TEST_TMP/control.log"
tap_result $? "the timeouts are logged"
tap_is "$(mstatus | sed -n 's/.*timed out \([0-9]*\),.*/\1/p')" 2 "status counts them (timed out 2)" ||
  mstatus | sed 's/^/#   /'

# ---- 3. more clients than the bound ----------------------------------------------
wait_for 5 connected 0
drive flood "$PORT" 20 "$TEST_TMP/flood.marker" "$TEST_TMP/flood.release" \
  >"$TEST_TMP/flood.out" 2>&1 &
FLOOD=$!
wait_for 10 test -e "$TEST_TMP/flood.marker"
tap_result $? "20 clients connect at once"
wait_for 5 connected 16
tap_result $? "16 of them are held (the bound)" || mstatus | sed 's/^/#   /'
T0=$EPOCHREALTIME
ctl stats --prometheus >"$TEST_TMP/ctl2.prom" 2>&1
RC=$?
SECS=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}')
tap_is "$RC $(secs_ok "$SECS" && echo fast || echo slow)" "0 fast" \
  "meanwhile the admin socket answers stats --prometheus (in $SECS s)"
OUT=$(drive raw "$PORT" "$(hex 'GET /metrics HTTP/1.1\r\n\r\n')")
tap_is "$(kv status "$(head -1 <<<"$OUT")") $(secs_ok "$(kv secs "$(head -1 <<<"$OUT")")" && echo fast || echo slow)" \
  "503 fast" "a scrape beyond the bound gets 503 at once"
touch "$TEST_TMP/flood.release"
wait "$FLOOD"
tap_is "$(cat "$TEST_TMP/flood.out")" "refused=4 held=16 other=0" \
  "16 are held; the 4 beyond the bound get 503 and are closed at once"
wait_for 5 connected 0
OUT=$(drive get "$URL/metrics" "$TEST_TMP/scrape3.prom")
tap_is "$(kv status "$OUT") $(grep -c '^callseal_dataplane_up 1$' "$TEST_TMP/scrape3.prom")" "200 1" \
  "once they go, a scrape is answered"
tap_is "$(mstatus | sed -n 's/.*refused \([0-9]*\) at the bound.*/\1/p')" 5 \
  "status counts the 5 refusals" || mstatus | sed 's/^/#   /'
wait_for 3 grep -q 'metrics: refused [0-9]* client(s) at the bound' "$TEST_TMP/control.log"
tap_result $? "the refusals are logged"
tap_check "the daemon still serves (status)" ctl status

# ---- 4. bad --metrics values -----------------------------------------------------
for BAD in 127.0.0.1 localhost:9464 127.0.0.1:65536 ::1:9464 '[::1]' 127.0.0.1:-1 \
           ':9464' '0.0.0.0:'; do
  "$CONTROL" --table "$T2" --state "$TEST_TMP/state2" --admin "$TEST_TMP/b.sock" \
    --metrics "$BAD" >"$TEST_TMP/bad.out" 2>&1
  RC=$?
  tap_is "$RC $(grep -cF "callseal-control: --metrics '$BAD': want ADDR:PORT" "$TEST_TMP/bad.out") $([ -e "/dev/shm/callseal.$T2" ] || [ -e "$TEST_TMP/state2" ] && echo made || echo none)" \
    "2 1 none" "--metrics $BAD: exit 2, a message, nothing made" || sed 's/^/#   /' "$TEST_TMP/bad.out"
done
"$CONTROL" --table "$T2" --state "$TEST_TMP/state2" --admin "$TEST_TMP/b.sock" \
  --metrics "127.0.0.1:$PORT" >"$TEST_TMP/inuse.out" 2>&1
RC=$?
tap_is "$RC $(grep -c "metrics: cannot listen on 127.0.0.1:$PORT: Address already in use" "$TEST_TMP/inuse.out") $([ -e "/dev/shm/callseal.$T2" ] && echo table || echo none)" \
  "1 1 none" "an address in use: exit 1, says so, removes the table it made" ||
  sed 's/^/#   /' "$TEST_TMP/inuse.out"
stop_proc "$CPID"
tap_is "$(grep -c 'stopped; table' "$TEST_TMP/control.log")" 1 "the daemon stops cleanly on SIGTERM"

tap_done
