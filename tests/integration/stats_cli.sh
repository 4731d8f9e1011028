#!/usr/bin/env bash
# stats_cli.sh - `callsealctl stats` (text, --json, --prometheus) served by
# callseal-control from a real statistics area, without DPDK.
#
# usage: stats_cli.sh CONTROL CALLSEALCTL DPSTATS_WRITER
#
# callseal-dpstats-writer --totals plays the dataplane: it creates the area
# of the daemon's table with known worker totals and bumps them on SIGUSR1.
# Checked: the no-dataplane answer (exit 1; --prometheus: up 0), every value
# the writer set (totals, per worker, drops by reason: the names of
# include/callseal/dpstats.h's DPSTATS_DROPS), "rate: n/a (first reading)",
# the rates after a bump (packets over the interval between two readings),
# `promtool check metrics` on the Prometheus text (skipped, saying why,
# without promtool), a dataplane that died (its last counters, exit 1, up 0),
# its area replaced by a new one (attached again, its counters, no rate yet),
# and the area removed; docs/operations.md's row for every drop reason.
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DPW=$3
require_cmd python3

TABLE="sts$$x$RANDOM"
SOCK="$TEST_TMP/admin.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.stats"' EXIT
SRC=${CALLSEAL_SRCDIR:-$(dirname "$0")/../..}

ctl() { "$CTL" --admin "$SOCK" "$@"; }
# py EXPR...: EXPR over d, the JSON object on stdin (several: space between)
py() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
# the drop reasons of DPSTATS_DROPS, in order, from the header itself
REASONS=$(sed -n 's/^[[:space:]]*X([A-Z_]*, *\([a-z_]*\), *".*/\1/p' \
  "$SRC/include/callseal/dpstats.h" | tr '\n' ' ')
NOANSWER="callsealctl: no dataplane statistics for table $TABLE (is callseal-dataplane running?)"

spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK" \
  --capacity 16
wait_for 10 ctl status >/dev/null 2>&1
tap_result $? "callseal-control serves its socket (no --listen, no --tenant)" ||
  tap_bail "callseal-control did not start: $(tail -3 "$TEST_TMP/control.log")"
tap_is "$(echo "$REASONS" | wc -w)" 16 "the 16 drop reasons read from dpstats.h" ||
  tap_diag "$REASONS"
# docs/operations.md "Statistics": a row per reason, with DPSTATS_DROPS's help text
tap_is "$(python3 - "$SRC" <<'EOF'
import re, sys
hdr = open(sys.argv[1] + "/include/callseal/dpstats.h").read()
doc = open(sys.argv[1] + "/docs/operations.md").read()
rows = re.findall(r'^\s*X\([A-Z_]+,\s*([a-z_]+),\s*"([^"]*)"\)', hdr, re.M)
print(len(rows), [n for n, h in rows if "| `%s` | %s | " % (n, h) not in doc])
EOF
)" "16 []" "docs/operations.md documents every drop reason with its help text"

# ---- no dataplane ------------------------------------------------------------
ctl stats >"$TEST_TMP/none.out" 2>"$TEST_TMP/none.err"; RC=$?
tap_is "$RC $(wc -c <"$TEST_TMP/none.out") $(cat "$TEST_TMP/none.err")" "1 0 $NOANSWER" \
  "no dataplane: stats says so, exit 1"
ctl stats --json >"$TEST_TMP/none.out" 2>"$TEST_TMP/none.err"; RC=$?
tap_is "$RC $(wc -c <"$TEST_TMP/none.out") $(cat "$TEST_TMP/none.err")" "1 0 $NOANSWER" \
  "no dataplane: stats --json says so, exit 1"
ctl stats --prometheus >"$TEST_TMP/none.prom" 2>&1; RC=$?
tap_is "$RC $(grep -v '^#' "$TEST_TMP/none.prom" | tr '\n' ' ')" "0 callseal_dataplane_up 0 " \
  "no dataplane: stats --prometheus answers callseal_dataplane_up 0 (a scrape succeeds)"
tap_check_rc 2 "stats --json --prometheus is refused before sending" \
  ctl stats --json --prometheus
tap_is "$(cat "$TEST_TMP/last.out")" "callsealctl: stats: --json or --prometheus, not both" \
  "... with one line saying why"

promcheck() {   # promcheck FILE DESC: promtool check metrics, or a skip saying why
  if ! command -v promtool >/dev/null 2>&1; then
    tap_skip "$2" "promtool not found (Debian package prometheus; scripts/deps installs it)"
    return 0
  fi
  promtool check metrics <"$1" >"$TEST_TMP/promtool.out" 2>&1
  tap_result $? "$2" || sed 's/^/#   /' "$TEST_TMP/promtool.out"
}
promcheck "$TEST_TMP/none.prom" "promtool check metrics: the no-dataplane answer"

# ---- a dataplane with two workers ---------------------------------------------
spawn writer "$DPW" --totals "$TABLE" 2
W1=$SPAWN_PID
wait_for 5 grep -q '^ready pid' "$TEST_TMP/writer.log"
tap_result $? "callseal-dpstats-writer made the area" || cat "$TEST_TMP/writer.log"

ctl stats >"$TEST_TMP/s1" 2>&1
tap_result $? "stats: exit 0" || sed 's/^/#   /' "$TEST_TMP/s1"
tap_is "$(sed -n 1p "$TEST_TMP/s1" | sed 's/started [^,]*,/started T,/')" \
  "dataplane of table $TABLE: callseal-dataplane pid $W1, running, started T, 2 workers" \
  "stats: the area's table, pid, running, workers"
tap_is "$(sed -n 2p "$TEST_TMP/s1")" \
  "total: rx_inside 2001, rx_outside 4001, tx_inside 6001, tx_outside 8001, encrypted 10001, decrypted 12001, passed 14001" \
  "stats: the totals by port role, encrypted, decrypted, passed (sums of the workers)"
tap_is "$(sed -n 4p "$TEST_TMP/s1")" \
  "  flows 21, max_flows 2048, streams 41, max_streams 8192, tentative 1, max_tentative 512, evictions 61" \
  "stats: occupancy and limits"
tap_is "$(grep -c '^  rate: n/a (first reading)$' "$TEST_TMP/s1")" 3 \
  "stats: rate n/a (first reading), total and each worker"
tap_is "$(grep -A1 '^worker 1 (lcore 2, queue 1): rx_inside 1001,' "$TEST_TMP/s1" | sed -n 2p | cut -d, -f1-2)" \
  "  dropped 1376: auth 11, replay 21" "stats: worker 1's line and its drops by reason" ||
  sed 's/^/#   /' "$TEST_TMP/s1"

ctl stats --json >"$TEST_TMP/j1"
tap_result $? "stats --json: exit 0"
tap_is "$(py 'd["table"], d["up"], d["pid"], d["started_ns"] > 0, d["abi"], d["interval_s"], d["total"]["rates"]' <"$TEST_TMP/j1")" \
  "$TABLE True $W1 True 4 None None" "stats --json: table, up, pid, started_ns, abi; no rate yet"
tap_is "$(py 'd["total"]["rx_inside"], d["total"]["tx_outside"], d["total"]["encrypted"], d["total"]["streams"], d["total"]["dropped"]["auth"], d["total"]["dropped"]["icmp_media"]' <"$TEST_TMP/j1")" \
  "2001 8001 10001 41 21 281" "stats --json: totals and drops by name"
tap_is "$(py '[(w["worker"], w["lcore"], w["queue"], w["rx_outside"], w["dropped"]["replay"], w["evictions"]) for w in d["workers"]]' <"$TEST_TMP/j1")" \
  "[(0, 1, 0, 2000, 20, 30), (1, 2, 1, 2001, 21, 31)]" "stats --json: workers[]"
tap_is "$(py '" ".join(d["total"]["dropped"]) + " "' <"$TEST_TMP/j1")" "$REASONS" \
  "stats --json: dropped names every reason of DPSTATS_DROPS, in order"

ctl stats --prometheus >"$TEST_TMP/p1" 2>&1
tap_result $? "stats --prometheus: exit 0"
promcheck "$TEST_TMP/p1" "promtool check metrics: the Prometheus text of a running dataplane"
tap_is "$(grep -cE '^callseal_dataplane_(up 1|workers 2|packets_received_total\{worker="0",port="inside"\} 1000|packets_sent_total\{worker="1",port="outside"\} 4001|encrypted_total\{worker="1"\} 5001|streams\{worker="1"\} 21|streams_max\{worker="0"\} 4096|tentative_evictions_total\{worker="0"\} 30|dropped_total\{worker="1",reason="replay"\} 21)$' "$TEST_TMP/p1")" \
  9 "stats --prometheus: up, workers, counters by worker and port, gauges, drops by reason" ||
  sed 's/^/#   /' "$TEST_TMP/p1"
STARTED=$(py 'd["started_ns"]' <"$TEST_TMP/j1")
tap_is "$(sed -n 's/^callseal_dataplane_start_time_seconds //p' "$TEST_TMP/p1" | tr -d .)" \
  "$STARTED" "stats --prometheus: start_time_seconds is the area's started_ns"
GOT=""
for R in $REASONS; do
  GOT+="$(grep -c "^callseal_dataplane_dropped_total{worker=\"0\",reason=\"$R\"} [0-9]*$" "$TEST_TMP/p1")"
done
tap_is "$GOT" "1111111111111111" "stats --prometheus: a sample for every reason of DPSTATS_DROPS"
tap_is "$(grep -c '^# TYPE' "$TEST_TMP/p1") $(grep -c '^# HELP' "$TEST_TMP/p1") $(grep -vc '^#' "$TEST_TMP/p1")" \
  "16 16 $((3 + 2 * (2 + 2 + 10) + 2 * 16))" \
  "stats --prometheus: 16 families, each with HELP and TYPE; every sample"

# ---- rates: the writer adds 500 packets per worker ---------------------------
kill -USR1 "$W1"
wait_for 5 grep -q '^bumped 1$' "$TEST_TMP/writer.log"
tap_result $? "the writer bumped its counters"
# a reading at least 1 s after the one before has the bump in it
rated() { ctl stats --json >"$TEST_TMP/j2" && [ "$(py 'd["interval_s"] is not None and d["total"]["rates"]["rx_inside"] > 0' <"$TEST_TMP/j2")" = True ]; }
wait_for 5 rated
tap_result $? "stats --json: a rate once two readings are apart" || sed 's/^/#   /' "$TEST_TMP/j2"
tap_is "$(py 'round(d["total"]["rates"]["rx_inside"] * d["interval_s"]), round(d["total"]["rates"]["encrypted"] * d["interval_s"]), round(d["workers"][1]["rates"]["encrypted"] * d["interval_s"]), round(d["total"]["rates"]["dropped"] * d["interval_s"]), d["total"]["rates"]["decrypted"], d["interval_s"] >= 1' <"$TEST_TMP/j2")" \
  "1000 1000 500 14 0.0 True" "stats --json: rates x interval = the packets added (1000 rx, 14 drops), 0 where none"
tap_is "$(py 'd["total"]["rx_inside"], d["total"]["dropped"]["auth"]' <"$TEST_TMP/j2")" "3001 35" \
  "stats --json: the live counters after the bump"
ctl stats >"$TEST_TMP/s2" 2>&1
tap_is "$(grep -cE '^  rate over the last [0-9]+\.[0-9]{2} s: rx_inside [0-9.]+/s, .*, dropped [0-9.]+/s$' "$TEST_TMP/s2")" 3 \
  "stats: the rate line, total and each worker" || sed 's/^/#   /' "$TEST_TMP/s2"

# ---- the dataplane dies: its last counters, up 0 ------------------------------
kill -KILL "$W1"
wait "$W1" 2>/dev/null
ctl stats >"$TEST_TMP/s3" 2>"$TEST_TMP/s3.err"; RC=$?
tap_is "$RC $(grep -c "^dataplane of table $TABLE: callseal-dataplane pid $W1, not running (its last counters)," "$TEST_TMP/s3") $(grep -c '^total: rx_inside 3001,' "$TEST_TMP/s3")" \
  "1 1 1" "a dead dataplane: its last counters, exit 1"
tap_is "$(cat "$TEST_TMP/s3.err")" \
  "callsealctl: callseal-dataplane pid $W1 of table $TABLE is not running: these are its last counters (is callseal-dataplane running?)" \
  "... and why"
ctl stats --prometheus >"$TEST_TMP/p3" 2>&1
tap_is "$(grep -cE '^callseal_dataplane_(up 0|packets_received_total\{worker="0",port="inside"\} 1500)$' "$TEST_TMP/p3")" \
  2 "stats --prometheus of a dead dataplane: up 0, its last counters"

# ---- a new dataplane replaces the area: attached again ---------------------------
spawn writer2 "$DPW" --totals "$TABLE" 1
W2=$SPAWN_PID
wait_for 5 grep -q '^ready pid' "$TEST_TMP/writer2.log"
tap_result $? "a new writer replaced the dead one's area" || cat "$TEST_TMP/writer2.log"
ctl stats --json >"$TEST_TMP/j4"
tap_is "$(py 'd["up"], d["pid"], len(d["workers"]), d["total"]["rx_inside"], d["interval_s"]' <"$TEST_TMP/j4")" \
  "True $W2 1 1000 None" "stats follows the new area: its pid, workers, counters; no rate across areas"

# ---- the dataplane stops: the area goes ----------------------------------------
stop_proc "$W2"
tap_is "$([ -e "/dev/shm/callseal.$TABLE.stats" ] && echo there || echo gone)" gone \
  "the writer removed its area on SIGTERM"
ctl stats >"$TEST_TMP/none.out" 2>"$TEST_TMP/none.err"; RC=$?
tap_is "$RC $(cat "$TEST_TMP/none.err")" "1 $NOANSWER" "after the area went: no dataplane, exit 1"
tap_is "$(ctl stats --prometheus | grep -vc '^#')" 1 "... --prometheus: up 0 alone"
tap_check "the daemon still serves (status)" ctl status

tap_done
