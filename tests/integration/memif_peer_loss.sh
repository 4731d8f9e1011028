#!/usr/bin/env bash
# memif_peer_loss.sh - a memif port's peer going away never crashes the
# dataplane (issue 14).
#
# The dataplane's outside port is net_memif; traffic flows all the time (its
# inside port replays a pcap forever, --other pass sends it out of the memif
# port, and callseal-pcapfwd, the peer, sends every frame back). Then:
#   - the peer is killed (SIGKILL) or stopped (SIGTERM) with traffic in
#     flight, a few times: the dataplane keeps running; as memif server it
#     takes the restarted peer and carries traffic again;
#   - every stop order: the peer first, the dataplane first, both at once
#     (SIGTERM, three times: the racy one), the peer killed and then the
#     dataplane stopped: the dataplane exits 0;
#   - the dataplane as memif client, its server killed: it keeps running (a
#     DPDK 22.11 memif client does not reconnect by itself: the link stays
#     down) and exits 0.
# Before the fix (quiesce.c, the stop order in main.c) a dataplane died of
# SIGSEGV inside librte_net_memif in about one peer loss or stop in ten.
#
# usage: memif_peer_loss.sh DATAPLANE CONTROL PCAPFWD RTPGEN DPSTATS_DUMP
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 FWD=$3 RTPGEN=$4 DUMP=$5
require_cmd python3

TABLE="pl$$" SOCK="$TEST_TMP/admin.sock" MEMIF="$TEST_TMP/memif.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume"' EXIT

spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK"
CONTROL_PID=$SPAWN_PID
wait_for_socket "$SOCK" 10 "$CONTROL_PID" || tap_bail "callseal-control did not start"
"$RTPGEN" --out "$TEST_TMP/rtp.pcap" --local 192.0.2.1:5004 --remote 198.51.100.7:40000 \
  --packets 200 --payload 100-1000 --seed 14 >/dev/null || tap_bail "rtpgen failed"

# start_dp ROLE: the dataplane, its outside port a memif ROLE; the media
# ports leave the generator's frames "other", passed as they are
start_dp() {
  local eal
  read -ra eal <<<"$(eal_args dp)"
  spawn dp "$DATAPLANE" "${eal[@]}" -l 0 \
    --vdev "net_pcap0,rx_pcap=$TEST_TMP/rtp.pcap,tx_pcap=/dev/null,infinite_rx=1" \
    --vdev "net_memif0,role=$1,socket=$MEMIF,socket-abstract=no" \
    -- --table "$TABLE" --media-ports 60000-60001
  DP=$SPAWN_PID
}
# start_peer ROLE: callseal-pcapfwd on the other end, sending every frame back
start_peer() {
  local eal
  read -ra eal <<<"$(eal_args peer)"
  spawn peer "$FWD" "${eal[@]}" -l 1 \
    --vdev "net_memif1,role=$1,socket=$MEMIF,socket-abstract=no" \
    -- --idle-ms 0 --max-ms 0 --idle-sleep 50
  PEER=$SPAWN_PID
}
# the pair: the memif server first (it must listen before the client starts)
start_pair() {
  rm -f "$MEMIF"
  start_dp server
  wait_for_socket "$MEMIF" 20 "$DP" || return 1
  start_peer client
}
total() {
  "$DUMP" "$TABLE" --json 2>/dev/null |
    python3 -c 'import json,sys; t = json.load(sys.stdin)["total"]; print(t["tx_outside"], t["rx_outside"])' 2>/dev/null ||
    echo "0 0"
}
# flowing: frames go out of the memif port and come back within 0.2 s
flowing() {
  local a b
  read -ra a <<<"$(total)"; sleep 0.2; read -ra b <<<"$(total)"
  [ "${b[0]}" -gt "${a[0]}" ] && [ "${b[1]}" -gt "${a[1]}" ]
}
# dp_status: the dataplane's exit status once it has gone (within 10 s)
dp_status() { wait_pid "$DP" 10; }
# alive_after LABEL: the dataplane still runs 0.3 s after its peer went
alive_after() {
  sleep 0.3
  if kill -0 "$DP" 2>/dev/null; then
    tap_ok "the dataplane survives $1"
  else
    dp_status; tap_not_ok "the dataplane survives $1 (exit status $?)"
    tap_diag "$(tail -5 "$TEST_TMP/dp.log")"
    return 1
  fi
}

# ---- the peer lost with traffic in flight, and back --------------------------
start_pair || tap_bail "the dataplane does not listen on memif: $(tail -3 "$TEST_TMP/dp.log")"
wait_for 20 flowing
tap_result $? "traffic flows through the memif peer and back" || tap_bail "no traffic"
for round in 1 2; do
  for sig in KILL TERM; do
    kill "-$sig" "$PEER"; wait "$PEER" 2>/dev/null
    alive_after "its peer's SIG$sig ($round)" || tap_bail "the dataplane died"
    start_peer client
    wait_for 10 flowing
    tap_result $? "the restarted peer reconnects and traffic flows again (SIG$sig, $round)"
  done
done

# ---- stop orders --------------------------------------------------------------
kill -TERM "$PEER"; wait "$PEER" 2>/dev/null
alive_after "its peer's SIGTERM before a stop"
kill -TERM "$DP"; dp_status
tap_is "$?" 0 "stop order peer, then dataplane: the dataplane exits 0"

start_pair && wait_for 10 flowing
kill -TERM "$DP"; dp_status
tap_is "$?" 0 "stop order dataplane, then peer: the dataplane exits 0"
kill -TERM "$PEER"; wait "$PEER" 2>/dev/null

for i in 1 2 3; do
  start_pair && wait_for 10 flowing
  kill -TERM "$DP" "$PEER"; dp_status
  tap_is "$?" 0 "both stopped at once ($i): the dataplane exits 0" ||
    tap_diag "$(tail -5 "$TEST_TMP/dp.log")"
  wait "$PEER" 2>/dev/null
done

start_pair && wait_for 10 flowing
kill -KILL "$PEER"; wait "$PEER" 2>/dev/null
kill -TERM "$DP"; dp_status
tap_is "$?" 0 "peer killed, then the dataplane stopped at once: it exits 0"

# ---- the dataplane as memif client, its server killed ------------------------
rm -f "$MEMIF"
start_peer server
wait_for_socket "$MEMIF" 20 "$PEER" || tap_bail "the peer does not listen on memif"
start_dp client
wait_for 20 flowing
tap_result $? "as memif client: traffic flows"
kill -KILL "$PEER"; wait "$PEER" 2>/dev/null
alive_after "its server's SIGKILL (as client)"
kill -TERM "$DP"; dp_status
tap_is "$?" 0 "as client, server gone: the dataplane exits 0"

stop_proc "$CONTROL_PID" 5
tap_done
