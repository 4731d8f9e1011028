#!/usr/bin/env bash
# dataplane_options.sh - callseal-dataplane's option errors and start-up
# failures (issue 15; docs/dataplane.md, "Running it"): each is one line
# "callseal-dataplane: ..." saying what is wrong and what to do, never EAL's
# usage (about 100 lines) nor rte_exit()'s "EAL: Error - exiting with code"
# banner; exit 2 for bad options, 1 for a start that fails.
#
# Our options are checked before EAL starts, so most checks need no DPDK
# environment; the last ones start EAL with tests' usual arguments (eal_args:
# no hugepages, no PCI) and no port.
#
# Then --queues 2 on two net_null ports, which offer RSS on the 5-tuple but
# not on one side only: refused (a stream could reach two workers: a replay
# with another source port would meet a fresh window), and started with
# --rss-5tuple, which accepts that.
#
# usage: dataplane_options.sh DATAPLANE CONTROL
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2

# bad WANT_RC WANT_LINE DESC ARGS...: exit WANT_RC, and the output (stdout and
# stderr) is exactly the one line WANT_LINE
bad() {
  local rc=$1 line=$2 desc=$3 st
  shift 3
  timeout 60 "$DATAPLANE" "$@" >"$TEST_TMP/bad.out" 2>&1
  st=$?
  tap_is "$st $(wc -l <"$TEST_TMP/bad.out") $(head -1 "$TEST_TMP/bad.out")" "$rc 1 $line" "$desc" ||
    head -5 "$TEST_TMP/bad.out" | sed 's/^/#   /'
}

# ---- before EAL: our options ---------------------------------------------------
bad 2 "callseal-dataplane: --table is a callseal option: put callseal options after --, as in \
callseal-dataplane [EAL options] -- --table ... (see --help)" \
  "callseal options without --: one line saying where they go (it printed EAL's usage)" \
  --no-huge --no-pci -l 0 --table main --idle-exit 200
bad 2 "callseal-dataplane: --idle-exit is a callseal option: put callseal options after --, as in \
callseal-dataplane [EAL options] -- --idle-exit ... (see --help)" \
  "a callseal option before -- (--name=value too)" --no-huge -l 0 --idle-exit=200 -- --table main
bad 2 "callseal-dataplane: unknown option --tabel (did you mean --table?) (see --help; EAL options go before --)" \
  "a mistyped option: named, with the one meant" --no-huge -- --tabel main
bad 2 "callseal-dataplane: unknown option --bogus (see --help; EAL options go before --)" \
  "an unknown option" --no-huge -- --table main --bogus
bad 2 "callseal-dataplane: --table: table name may use only A-Z a-z 0-9 . _ -" \
  "a bad --table name" -- --table bad/name
bad 2 "callseal-dataplane: --table needs a value (see --help)" "an option without its value" -- --table
bad 2 "callseal-dataplane: --queues takes 1-64, not '0'" "a value out of range" -- --queues 0
bad 2 "callseal-dataplane: --inside and --outside must be different ports" \
  "the same port twice" -- --inside 1 --outside 1
bad 2 "callseal-dataplane: unexpected argument 'extra' (see --help)" "a stray word" -- --table main extra
tap_check "--help explains the options" "$DATAPLANE" --help
grep -q -- "--media-ports LO-HI" "$TEST_TMP/last.out" && tap_ok "--help lists --media-ports" ||
  tap_not_ok "--help lists --media-ports"

# ---- with EAL ------------------------------------------------------------------
read -ra eal <<<"$(eal_args opts)"
timeout 60 "$DATAPLANE" "${eal[@]}" --bogus-eal -l 0 -- --table main >/dev/null 2>"$TEST_TMP/ealbad.err"
tap_is "$? $(tail -1 "$TEST_TMP/ealbad.err")" \
  "2 callseal-dataplane: EAL refused its options (see its message; callseal options go after --)" \
  "an option EAL refuses: exit 2, and the last line says so"
read -ra eal <<<"$(eal_args notable)"
timeout 60 "$DATAPLANE" "${eal[@]}" -l 0 -- --table "nope$$" >"$TEST_TMP/notable.out" 2>&1
tap_is "$? $(wc -l <"$TEST_TMP/notable.out") $(cat "$TEST_TMP/notable.out")" \
  "1 1 callseal-dataplane: key table: table callseal.nope$$ does not exist (/dev/shm/callseal.nope$$) \
(start callseal-control --table nope$$ first)" \
  "a missing key table: exit 1, one line saying what to do (no EAL banner)"
tap_is "$(ls /dev/shm | grep -c "callseal.nope$$")" 0 "  ... and it leaves nothing in /dev/shm"

# ---- --queues 2: RSS on the local side only, or --rss-5tuple --------------------
T="rss$$x$RANDOM"
trap '_lib_cleanup; rm -f /dev/shm/callseal."$T"{,.stats,.resume}' EXIT
spawn ctl "$CONTROL" --table "$T" --state "$TEST_TMP/st" --admin "$TEST_TMP/a.sock"
wait_for_socket "$TEST_TMP/a.sock" 10 "$SPAWN_PID" || tap_bail "callseal-control did not start"
read -ra eal <<<"$(eal_args rss)"
nulls=(-l 0-1 --vdev net_null0 --vdev net_null1)
timeout 60 "$DATAPLANE" "${eal[@]}" "${nulls[@]}" -- --table "$T" --queues 2 \
  >"$TEST_TMP/rss.out" 2>&1
tap_is "$? $(grep -c '^callseal-dataplane: inside port 0 (net_null) cannot hash on its local address and port only (RSS L3/L4_SRC_ONLY): with --queues 2 a stream could reach two workers; use --queues 1, a NIC that can, or --rss-5tuple to accept that' "$TEST_TMP/rss.out")" \
  "1 1" "--queues 2 on ports that cannot hash on their local side only: refused, saying what to do"
spawn dp5 "$DATAPLANE" "${eal[@]}" "${nulls[@]}" -- --table "$T" --queues 2 --rss-5tuple --idle-sleep 100
wait_until 20 grep -q "^callseal-dataplane: inside port 0, outside port 1, 2 queue(s)" "$TEST_TMP/dp5.log"
tap_result $? "... and with --rss-5tuple it starts on two queues" || tail -3 "$TEST_TMP/dp5.log" | sed 's/^/#   /'
stop_proc "$SPAWN_PID" 10
tap_is "$?" 0 "  ... and stops cleanly"

tap_done
