# shellcheck shell=bash
# tests/integration/lib.sh - shared helpers for callseal's integration test scripts.
#
# Source it first:
#
#     . "$(dirname "$0")/lib.sh"
#
# What sourcing does:
#   - `set -u -o pipefail` (not -e: a failed check must not end the script);
#   - makes TEST_TMP, a fresh temp directory for this script;
#   - sets TEST_NAME (the script's name without .sh);
#   - installs an EXIT/INT/TERM trap that stops every process started with
#     `spawn` (and its children), removes the DPDK runtime directories of the
#     file prefixes made by `dpdk_prefix`/`eal_args`, and removes TEST_TMP
#     (kept, and its path printed, when CALLSEAL_KEEP_TMP=1).
#
# Output is TAP, which meson records and scripts/lib/tally.py counts:
#
#     tap_plan 3
#     tap_check "generator runs" "$RTPGEN" --out "$TEST_TMP/a.pcap" ...
#     tap_is "$(json_get "$json" rtp)" 100 "100 RTP packets"
#     tap_ok "something that was checked by hand"
#     tap_done                      # summary line, exit status
#
# A script that cannot run here (no tshark, no DPDK) calls tap_skip_all,
# which exits 77: meson reports the test as skipped.

set -u -o pipefail

TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/callseal-${TEST_NAME}.XXXXXX") || {
  echo "Bail out! cannot create a temp directory"; exit 1; }

_tap_n=0          # checks reported so far
_tap_fail=0       # of which failed
_tap_skip=0       # of which skipped
_tap_plan=""      # the plan given to tap_plan, if any
_lib_pids=()      # processes started by spawn (each leads its own process group)
_lib_prefix_base="cs${$}"   # every DPDK file prefix of this script starts so

# ---- TAP ---------------------------------------------------------------------

# tap_plan N: announce N checks ("1..N"). Optional: without it tap_done prints
# the plan at the end.
tap_plan() {
  _tap_plan=$1
  echo "1..$1"
}

# tap_diag MSG...: a TAP comment line per argument ("# MSG").
tap_diag() {
  local m
  for m in "$@"; do
    printf '# %s\n' "$m"
  done
}

# tap_ok DESC: report a passed check.
tap_ok() {
  _tap_n=$((_tap_n + 1))
  echo "ok $_tap_n - $1"
}

# tap_not_ok DESC [DIAG...]: report a failed check, with optional comment lines.
tap_not_ok() {
  _tap_n=$((_tap_n + 1))
  _tap_fail=$((_tap_fail + 1))
  echo "not ok $_tap_n - $1"
  shift
  [ $# -gt 0 ] && tap_diag "$@"
  return 0
}

# tap_result STATUS DESC: ok if STATUS is 0, else not ok. Returns STATUS.
tap_result() {
  local st=$1
  if [ "$st" -eq 0 ]; then tap_ok "$2"; else tap_not_ok "$2"; fi
  return "$st"
}

# tap_skip DESC REASON: report a skipped check ("ok N - DESC # SKIP REASON").
tap_skip() {
  _tap_n=$((_tap_n + 1))
  _tap_skip=$((_tap_skip + 1))
  echo "ok $_tap_n - $1 # SKIP $2"
}

# tap_check DESC CMD [ARGS...]: run CMD; ok if it exits 0. Its stdout and
# stderr go to $TEST_TMP/last.out (and stay there for the caller to read);
# on failure their last 20 lines are shown as comments. Returns CMD's status.
tap_check() {
  local desc=$1 st
  shift
  "$@" >"$TEST_TMP/last.out" 2>&1
  st=$?
  if [ $st -eq 0 ]; then
    tap_ok "$desc"
  else
    tap_not_ok "$desc" "exit status $st: $*"
    tail -n 20 "$TEST_TMP/last.out" | sed 's/^/#   /'
  fi
  return $st
}

# tap_check_rc WANT DESC CMD [ARGS...]: like tap_check, but ok only if CMD
# exits with status WANT (e.g. 1 for "the checker must find the fault").
# Returns 0 if it did.
tap_check_rc() {
  local want=$1 desc=$2 st
  shift 2
  "$@" >"$TEST_TMP/last.out" 2>&1
  st=$?
  if [ $st -eq "$want" ]; then
    tap_ok "$desc"
    return 0
  fi
  tap_not_ok "$desc" "exit status $st, wanted $want: $*"
  tail -n 20 "$TEST_TMP/last.out" | sed 's/^/#   /'
  return 1
}

# tap_is GOT WANT DESC: ok if the two strings are equal; else show both.
tap_is() {
  if [ "$1" = "$2" ]; then
    tap_ok "$3"
  else
    tap_not_ok "$3" "got:  '$1'" "want: '$2'"
    return 1
  fi
}

# tap_include CMD [ARGS...]: run a command that prints TAP of its own (such
# as `callseal-srtpcheck --tap`) and fold its results into this script's:
# its "ok N"/"not ok N" lines are renumbered into our sequence and counted,
# its plan lines are dropped, anything else is passed through as is.
# Returns CMD's exit status.
tap_include() {
  local line st rest
  local out="$TEST_TMP/include.out"
  "$@" >"$out" 2>&1
  st=$?
  while IFS= read -r line; do
    case "$line" in
      "not ok"*)
        rest=$(printf '%s' "$line" | sed -E 's/^not ok[[:space:]]*[0-9]*[[:space:]]*//')
        _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1))
        echo "not ok $_tap_n $rest" ;;
      "ok"*)
        rest=$(printf '%s' "$line" | sed -E 's/^ok[[:space:]]*[0-9]*[[:space:]]*//')
        _tap_n=$((_tap_n + 1))
        case "$rest" in *"# SKIP"*|*"# skip"*) _tap_skip=$((_tap_skip + 1)) ;; esac
        echo "ok $_tap_n $rest" ;;
      1..*) ;;
      *) echo "$line" ;;
    esac
  done <"$out"
  return $st
}

# tap_bail REASON: stop the whole script now ("Bail out! REASON", exit 1);
# the cleanup trap still runs.
tap_bail() {
  echo "Bail out! $*"
  exit 1
}

# tap_skip_all REASON: this script cannot run here: "1..0 # SKIP REASON",
# exit 77 (meson's "skipped").
tap_skip_all() {
  echo "1..0 # SKIP $*"
  exit 77
}

# tap_done: print the plan if tap_plan was not called, a summary comment,
# and exit: 0 if nothing failed and the plan (if any) was met, else 1.
tap_done() {
  local st=0
  if [ -z "$_tap_plan" ]; then
    echo "1..$_tap_n"
  elif [ "$_tap_plan" -ne "$_tap_n" ]; then
    tap_diag "planned $_tap_plan checks but ran $_tap_n"
    st=1
  fi
  tap_diag "$TEST_NAME: $((_tap_n - _tap_fail - _tap_skip)) passed, $_tap_fail failed, $_tap_skip skipped"
  [ "$_tap_fail" -eq 0 ] || st=1
  exit $st
}

# ---- small helpers -----------------------------------------------------------

# require_cmd CMD...: skip the whole script (tap_skip_all) unless every
# CMD is on PATH.
require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || tap_skip_all "'$c' is not installed"
  done
}

# json_get JSON KEY: print the value of top-level KEY in a one-line JSON
# object (as the pcap tools print), or nothing if absent, null or not JSON
# (true/false print as True/False, objects and lists as JSON). A flat object
# of plain values is read in bash (no process: the scripts call this a lot);
# anything else goes through Python's json.
json_get() {
  local j=$1 k=$2 v
  if [[ $j =~ ^\{[^{}\[\]\\]*\}$ ]]; then
    if [[ $j =~ [{,][[:space:]]*\"$k\"[[:space:]]*:[[:space:]]*(\"[^\"]*\"|[-+.0-9eE]+|true|false|null)[[:space:]]*[,}] ]]; then
      v=${BASH_REMATCH[1]}
      case $v in
        null) ;;
        true) echo True ;;
        false) echo False ;;
        \"*) v=${v#\"}; echo "${v%\"}" ;;
        *) echo "$v" ;;
      esac
      return 0
    fi
    [[ $j == *\"$k\"* ]] || return 0   # absent
  fi
  python3 -c 'import json,sys
try:
    v = json.loads(sys.argv[1]).get(sys.argv[2])
except Exception:
    v = None
if v is not None:
    print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

# last_json FILE: print the last line of FILE that starts with "{" (the pcap
# tools' result line, e.g. after tap_check wrote $TEST_TMP/last.out).
last_json() {
  grep '^{' "$1" | tail -n 1
}

# pcap_count FILE: the number of packets in a pcap file (0 if absent; a
# record cut short at the end, still being written, is not counted).
pcap_count() {
  python3 - "$1" <<'EOF'
import struct, sys
try:
    d = open(sys.argv[1], "rb").read()
except OSError:
    d = b""
n, off = 0, 24
while off + 16 <= len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    if off + 16 + incl > len(d):
        break
    n, off = n + 1, off + 16 + incl
print(n)
EOF
}

# ---- processes ---------------------------------------------------------------

# spawn NAME CMD [ARGS...]: start CMD in the background, in its own process
# group (setsid), stdin from /dev/null, stdout+stderr to $TEST_TMP/NAME.log.
# Sets SPAWN_PID. The cleanup trap stops it (and its children) if it is
# still running when the script ends.
spawn() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$TEST_TMP/$name.log" 2>&1 &
  SPAWN_PID=$!
  _lib_pids+=("$SPAWN_PID")
}

# stop_proc PID [GRACE_S=3]: send SIGTERM to PID's process group, wait up to
# GRACE_S seconds, then SIGKILL. Returns the process's exit status (from
# `wait`; 143 = killed by SIGTERM, 137 = by SIGKILL).
stop_proc() {
  local pid=$1 grace=${2:-3} i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
}

# wait_pid PID TIMEOUT_S: wait for a spawned process to exit by itself.
# Returns its exit status, or 124 (and leaves it running) on timeout.
wait_pid() {
  local pid=$1 t=$2 i
  for ((i = 0; i < t * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      return $?
    fi
    sleep 0.1
  done
  return 124
}

# wait_for DEADLINE_S CMD [ARGS...]: run CMD until it succeeds (returns 0)
# or DEADLINE_S seconds (fractions allowed, e.g. 0.5) have passed on the wall
# clock (returns 124; CMD is always tried at least once). Polls every
# $WAIT_POLL_S seconds (default 0.05). Use it instead of a fixed sleep before
# an exact assertion: wait for the condition, with a deadline.
wait_for() {
  local t=$1 end
  shift
  end=$(_lib_now_plus "$t")
  while :; do
    "$@" && return 0
    _lib_before "$end" || return 124
    sleep "${WAIT_POLL_S:-0.05}"
  done
}

# wait_until TIMEOUT_S CMD [ARGS...]: the older name of wait_for.
wait_until() {
  wait_for "$@"
}

# microseconds on the wall clock, now and DELTA_S seconds from now
_lib_now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }
_lib_now_plus() { echo "$(( $(_lib_now_us) + $(awk -v s="$1" 'BEGIN {printf "%d", s * 1000000}') ))"; }
_lib_before() { [ "$(_lib_now_us)" -lt "$1" ]; }

# ---- ports ---------------------------------------------------------------------

# free_port: print a TCP port on 127.0.0.1 that was free a moment ago (the
# kernel picked it). Another process may take it before it is bound again:
# start listeners with spawn_listen, which retries.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# spawn_listen NAME VAR READY_S CMD [ARGS...]: spawn CMD (as spawn NAME) with
# every "@PORT@" in ARGS replaced by a port, and wait up to READY_S seconds
# until that process listens on that TCP port. The port is $VAR if VAR is set
# and not empty (a restart on the same port: tried once), else a free one; if
# the process exits before it listens (the port was taken between free_port
# and its bind), it tries again with another port, up to 5 times. On success
# sets VAR to the port and SPAWN_PID, returns 0; else returns 1 (the last
# attempt's log is in $TEST_TMP/NAME.log).
spawn_listen() {
  local _sl_name=$1 _sl_var=$2 _sl_t=$3 _sl_try _sl_p _sl_a _sl_args _sl_fixed
  shift 3
  _sl_fixed=${!_sl_var:-}
  for ((_sl_try = 0; _sl_try < 5; _sl_try++)); do
    _sl_p=${_sl_fixed:-$(free_port)}
    _sl_args=()
    for _sl_a in "$@"; do _sl_args+=("${_sl_a//@PORT@/$_sl_p}"); done
    spawn "$_sl_name" "${_sl_args[@]}"
    wait_for "$_sl_t" _lib_listening_or_gone "$_sl_p" "$SPAWN_PID"
    if _lib_listening "$_sl_p" "$SPAWN_PID"; then
      printf -v "$_sl_var" '%s' "$_sl_p"
      return 0
    fi
    if kill -0 "$SPAWN_PID" 2>/dev/null; then
      tap_diag "$_sl_name: pid $SPAWN_PID runs but does not listen on port $_sl_p after $_sl_t s"
      stop_proc "$SPAWN_PID" 2     # runs, but does not listen: give up
      return 1
    fi
    wait "$SPAWN_PID" 2>/dev/null
    [ -n "$_sl_fixed" ] && return 1
    tap_diag "$_sl_name: exited before listening on port $_sl_p (taken?); another port"
  done
  return 1
}
_lib_listening() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "pid=$2,"; }
_lib_listening_or_gone() { _lib_listening "$1" "$2" || ! kill -0 "$2" 2>/dev/null; }

# wait_for_file PATH [TIMEOUT_S=10] [PID]: wait until PATH exists and is not
# empty. With PID, give up at once (status 1) if that process has exited.
# Returns 0, 1 (PID gone) or 124 (timeout).
wait_for_file() {
  _lib_wait_for -s "$@"
}

# wait_for_socket PATH [TIMEOUT_S=10] [PID]: wait until PATH is a Unix
# socket (e.g. a memif socket or DPDK's telemetry socket). Same statuses.
wait_for_socket() {
  _lib_wait_for -S "$@"
}

_lib_wait_for() {
  local op=$1 path=$2 t=${3:-10} pid=${4:-} i
  for ((i = 0; i < t * 10; i++)); do
    test "$op" "$path" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      test "$op" "$path" && return 0
      return 1
    fi
    sleep 0.1
  done
  return 124
}

# ---- DPDK --------------------------------------------------------------------

# dpdk_prefix [TAG]: print a DPDK --file-prefix unique to this call: every
# process that runs at the same time needs its own (PLATFORM.md). It starts
# with "cs<script pid>", so the cleanup trap finds and removes its runtime
# directory. Safe to call in $(...).
dpdk_prefix() {
  local tag=${1:-eal}
  tag=${tag//[^A-Za-z0-9]/}
  printf '%s_%s_%s%s\n' "$_lib_prefix_base" "${tag:0:12}" "$BASHPID" "$((RANDOM * 32768 + RANDOM))"
}

# dpdk_runtime_dir PREFIX: where DPDK keeps that prefix's runtime files
# (config, fbarrays, the mp and telemetry sockets).
dpdk_runtime_dir() {
  if [ "$(id -u)" -eq 0 ]; then
    echo "/var/run/dpdk/$1"
  else
    echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$1"
  fi
}

# eal_args [TAG]: print the EAL arguments that work on machines without
# hugepages or NICs, with a fresh file prefix:
#   --no-huge --no-pci -m 256 --log-level=error --file-prefix=cs<pid>_<tag>_<n>
# Use unquoted (the words contain no spaces), then add -l and --vdev:
#   spawn dp "$DATAPLANE" $(eal_args dp) -l 0 --vdev "net_pcap0,rx_pcap=$in,tx_pcap=$out" -- ...
# or, for shellcheck's peace, as an array:
#   read -ra eal <<<"$(eal_args dp)"; spawn dp "$DATAPLANE" "${eal[@]}" -l 0 ...
eal_args() {
  echo "--no-huge --no-pci -m 256 --log-level=error --file-prefix=$(dpdk_prefix "${1:-eal}")"
}

# ns_tap_up NS IFACE: the application's side of a dataplane's net_tap inside
# port in network namespace NS: 10.200.0.1/24, a static neighbour for the far
# end 10.200.0.2 (nothing answers ARP on the DPDK side), no IPv6 noise.
ns_tap_up() {
  local ns=$1 ifc=$2
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" &&
    ip netns exec "$ns" ip link set lo up &&
    ip netns exec "$ns" ip addr add 10.200.0.1/24 dev "$ifc" &&
    ip netns exec "$ns" ip link set "$ifc" up &&
    ip netns exec "$ns" ip neigh replace 10.200.0.2 lladdr 02:00:00:00:00:02 dev "$ifc" nud permanent
}

# dp_pcap_run NAME TABLE INSIDE_RX OUTSIDE_RX [DATAPLANE OPTIONS...]: run
# $DATAPLANE on key table TABLE over two net_pcap ports, port 0 inside (rx
# INSIDE_RX, tx $TEST_TMP/NAME.to_app.pcap) and port 1 outside (rx
# OUTSIDE_RX, tx NAME.to_net.pcap), until both pcaps are read (--idle-exit
# 300: net_pcap never signals their end), for at most $DP_PCAP_TIMEOUT_S
# seconds (default 120). Final statistics in NAME.json (read them with
# dp_stat), output in NAME.log. Returns the dataplane's exit status.
dp_pcap_run() {
  local name=$1 table=$2 in_rx=$3 out_rx=$4 eal
  shift 4
  read -ra eal <<<"$(eal_args "$name")"
  timeout "${DP_PCAP_TIMEOUT_S:-120}" "$DATAPLANE" "${eal[@]}" -l 0 \
    --vdev "net_pcap0,rx_pcap=$in_rx,tx_pcap=$TEST_TMP/$name.to_app.pcap" \
    --vdev "net_pcap1,rx_pcap=$out_rx,tx_pcap=$TEST_TMP/$name.to_net.pcap" \
    -- --table "$table" --idle-exit 300 --stats-json "$TEST_TMP/$name.json" "$@" \
    >"$TEST_TMP/$name.log" 2>&1
}

# dp_stat NAME KEY [KEY...]: counters from the totals of $TEST_TMP/NAME.json
# (as dp_pcap_run writes it), separated by spaces; a dotted KEY goes down
# ("dropped.auth").
dp_stat() {
  python3 -c 'import json, sys
total = json.load(open(sys.argv[1]))["total"]
out = []
for key in sys.argv[2:]:
    t = total
    for k in key.split("."):
        t = t[k]
    out.append(str(t))
print(" ".join(out))' "$TEST_TMP/$1.json" "${@:2}"
}

# control_up TABLE SOCK: spawn $CONTROL (callseal-control) on key table TABLE,
# admin socket SOCK, state in $TEST_TMP/state, and wait for its socket; sets
# CONTROL_PID; at exit the table's /dev/shm files go too. Bails out if it does
# not start.
control_up() {
  _lib_table=$1
  trap '_lib_cleanup; rm -f "/dev/shm/callseal.$_lib_table" "/dev/shm/callseal.$_lib_table.resume"' EXIT
  spawn control "$CONTROL" --table "$1" --state "$TEST_TMP/state" --admin "$2"
  CONTROL_PID=$SPAWN_PID
  wait_for_socket "$2" 10 "$CONTROL_PID" ||
    tap_bail "callseal-control did not start: $(tail -3 "$TEST_TMP/control.log")"
}

# ---- cleanup -----------------------------------------------------------------

_lib_cleanup() {
  local pid d
  for pid in "${_lib_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && stop_proc "$pid" 2
  done
  for d in "/var/run/dpdk/${_lib_prefix_base}_"* "${XDG_RUNTIME_DIR:-/tmp}/dpdk/${_lib_prefix_base}_"*; do
    [ -d "$d" ] && rm -rf -- "$d"
  done
  if [ "${CALLSEAL_KEEP_TMP:-0}" = 1 ]; then
    echo "# $TEST_NAME: files kept in $TEST_TMP"
  else
    rm -rf -- "$TEST_TMP"
  fi
}

trap '_lib_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
