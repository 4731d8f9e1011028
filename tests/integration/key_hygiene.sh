#!/usr/bin/env bash
# key_hygiene.sh - issue 14, "Key hygiene", through the real processes: two
# callseal-control daemons in one e2ee call (alice@contoso calls bob@fabrikam,
# e2ee_call.sh), two callseal-dataplanes joined by net_memif, media both ways
# (alice's application sends RTP from a kernel socket into alice's net_tap
# inside port; bob's inside port replays RTP + RTCP from a pcap), so that all
# four key-table entries of the call are expanded in a dataplane.
#
# While the call is up: the call's secrets are learnt from both key tables
# (callseal-keytable-dump --show-keys: master keys and salts, and the SRTP/
# SRTCP session keys and salts derived from them), all four processes are
# checked to be non-dumpable, and the memory scan is shown to find keys where
# they must be (the key tables; the dataplanes' expanded keys). Then the call
# ends; once both tables no longer hold it, every process's memory (through
# /proc/PID/mem: memscan.py), every log, the stores, the key tables and the
# statistics areas must hold none of those bytes; then the dataplanes stop and
# their exit statistics and logs are scanned too.
#
# Non-dumpable, seen from outside: the daemons run with real and effective
# gid KH_GID (setpriv); the files of /proc/PID/ of a non-dumpable process
# belong to root:root instead of the process's uid:gid, so the group of
# /proc/PID/mem is 0 (and KH_GID for a dumpable one: checked on a sleep(1)).
#
# usage: key_hygiene.sh DATAPLANE CONTROL CALLSEALCTL KEYTABLE_DUMP RTPGEN
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL_BIN=$2 CTL=$3 DUMP=$4 RTPGEN=$5
HERE=$(cd "$(dirname "$0")" && pwd)
require_cmd ip python3 setpriv stat
[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun: net_tap cannot run here"
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (network namespace, /proc/PID/mem)"

NS="kh$$"
IFACE="kht$$"
TA="kha$$x$RANDOM" TB="khb$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
MEMIF="$TEST_TMP/memif.sock"
KH_GID=4242
SECRETS="$TEST_TMP/secret/keys"      # never scanned itself
mkdir -m 700 "$TEST_TMP/secret"
ip netns add "$NS" 2>/dev/null || tap_skip_all "cannot create a network namespace"
trap '_lib_cleanup; ip netns del "$NS" 2>/dev/null; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume" "/dev/shm/callseal.$TA.stats" "/dev/shm/callseal.$TB.stats"' EXIT

# the daemons run as uid 0, gid KH_GID (see above)
asgid() { setpriv --regid="$KH_GID" --keep-groups "$@"; }
CONTROL="$TEST_TMP/control"
printf '#!/bin/sh\nexec setpriv --regid=%s --keep-groups %q "$@"\n' "$KH_GID" "$CONTROL_BIN" >"$CONTROL"
chmod 755 "$CONTROL"
. "$HERE/e2ee_call.sh"

# ---- the call, and both dataplanes ------------------------------------------------
e2ee_call "call dial alice -> bob@fabrikam, media 10.200.0.1:5004 -> 10.200.0.2:40000"
PID_CA=$(pgrep -f -- "--table $TA " | head -1)
PID_CB=$(pgrep -f -- "--table $TB " | head -1)

# bob's application: RTP and RTCP to alice, replayed from a pcap
"$RTPGEN" --out "$TEST_TMP/bob_rtp.pcap" --local 10.200.0.2:40000 --remote 10.200.0.1:5004 \
  --packets 200 --rtcp-every 20 --seed 14 >/dev/null
DPOPT=(--max-flows 64 --max-streams 64 --idle-sleep 100)
MEM=(-m 64)              # after eal_args' -m 256: less memory to scan
# alice's dataplane listens on memif first: bob's, the client, starts sending
# its pcap only once connected (a server's first packets could find no ring)
read -ra eal <<<"$(eal_args tx)"
spawn dp_a ip netns exec "$NS" setpriv --regid="$KH_GID" --keep-groups "$DATAPLANE" \
  "${eal[@]}" "${MEM[@]}" -l 1 --vdev "net_tap0,iface=$IFACE" \
  --vdev "net_memif0,role=server,socket=$MEMIF,socket-abstract=no" \
  -- --table "$TA" --inside 0 --outside 1 "${DPOPT[@]}" --stats-json "$TEST_TMP/dp_a.json"
PID_DA=$SPAWN_PID
wait_for_socket "$MEMIF" 20 "$PID_DA"
tap_result $? "alice's dataplane listens on memif" || tap_bail "$(tail -5 "$TEST_TMP/dp_a.log")"
read -ra eal <<<"$(eal_args rx)"
spawn dp_b setpriv --regid="$KH_GID" --keep-groups "$DATAPLANE" "${eal[@]}" "${MEM[@]}" -l 0 \
  --vdev "net_pcap0,rx_pcap=$TEST_TMP/bob_rtp.pcap,tx_pcap=$TEST_TMP/plain_out.pcap" \
  --vdev "net_memif1,role=client,socket=$MEMIF,socket-abstract=no" \
  -- --table "$TB" "${DPOPT[@]}" --stats-json "$TEST_TMP/dp_b.json"
PID_DB=$SPAWN_PID
started() { grep -q "^callseal-dataplane: inside port" "$TEST_TMP/$1.log"; }
wait_for 20 started dp_a && wait_for 20 started dp_b
tap_result $? "both dataplanes started (alice: tap inside port; bob: pcap)" ||
  tap_bail "$(tail -3 "$TEST_TMP/dp_a.log") $(tail -3 "$TEST_TMP/dp_b.log")"
tap_check "the application's side of the tap: 10.200.0.1 in the namespace" ns_tap_up "$NS" "$IFACE"
tap_check "alice's application sends 300 RTP packets through both dataplanes" \
  ip netns exec "$NS" python3 "$HERE/rtpsend.py" --src 10.200.0.1:5004 \
  --dst 10.200.0.2:40000 --count 300 --interval-ms 1 --ssrc 0x1414
plain_in() { [ "$(pcap_count "$TEST_TMP/plain_out.pcap")" -ge 300 ]; }
wait_for 10 plain_in
tap_result $? "bob's dataplane decrypted them ($(pcap_count "$TEST_TMP/plain_out.pcap") packets)"

# ---- while the call lasts ------------------------------------------------------------
"$DUMP" --show-keys "$TA" >"$SECRETS" 2>&1 && "$DUMP" --show-keys "$TB" >>"$SECRETS" 2>&1
NSEC=$(grep -c '^secret ' "$SECRETS")
NDIST=$(awk '/^secret /{print $5}' "$SECRETS" | sort -u | wc -l)
tap_is "$NSEC $NDIST" "24 12" \
  "the call's secrets from both tables: 4 entries x (master key, salt, 4 session keys/salts), 12 distinct"
grep -q "call_id=$ID" "$SECRETS"
tap_result $? "they are the entries of call $ID"
# static keying through the admin socket too: a key on callsealctl's command
# line, then rekeyed (the old key must go), and one read from its stdin
K1=$(head -c 28 /dev/urandom | base64) K2=$(head -c 28 /dev/urandom | base64)
K3=$(head -c 44 /dev/urandom | base64)
S1=(--local 10.200.0.9:6000 --direction out) S2=(--local 10.200.0.9:6002 --direction in)
a key add "${S1[@]}" --profile AEAD_AES_128_GCM --inline "$K1" >"$TEST_TMP/static.out" 2>&1 &&
  "$DUMP" --show-keys "$TA" >>"$SECRETS" 2>&1 &&
  a key rekey "${S1[@]}" --inline "$K2" >>"$TEST_TMP/static.out" 2>&1 &&
  echo "$K3" | a key add "${S2[@]}" --profile AEAD_AES_256_GCM --inline - \
    >>"$TEST_TMP/static.out" 2>&1 &&
  "$DUMP" --show-keys "$TA" >>"$SECRETS" 2>&1
tap_result $? "static keys on alice's daemon: key add --inline KEY, key rekey, key add --inline - (stdin)" ||
  sed 's/^/#   /' "$TEST_TMP/static.out"
# their base64 text is as good as the key: looked for too
for k in "$K1" "$K2" "$K3"; do
  printf 'secret 10.200.0.9:6000/- cur inline_base64 %s\n' "$(printf %s "$k" | od -An -tx1 | tr -d ' \n')"
done >>"$SECRETS"
tap_is "$(awk '/^secret 10.200.0.9:/{print $5}' "$SECRETS" | sort -u | wc -l)" 21 \
  "their secrets: 3 master keys, each with its salt and 4 session keys/salts, and the 3 base64 texts"

dumpable_gid() { stat -c %g "/proc/$1/mem"; }
setpriv --regid="$KH_GID" --keep-groups sleep 5 & SLEEPER=$!
sleep 0.1
GIDS="$(dumpable_gid "$PID_CA") $(dumpable_gid "$PID_CB") $(dumpable_gid "$PID_DA") $(dumpable_gid "$PID_DB")"
tap_is "$(dumpable_gid "$SLEEPER")" "$KH_GID" "a dumpable process's /proc/PID/mem belongs to its group (the check can tell)"
kill "$SLEEPER" 2>/dev/null; wait "$SLEEPER" 2>/dev/null
tap_is "$GIDS" "0 0 0 0" "both callseal-control and both callseal-dataplane are non-dumpable"

scan() { python3 "$HERE/memscan.py" "$SECRETS" "$@"; }
# (fewer needles, a shorter scan: the controls' master keys, the dataplanes'
# session keys)
scan --only master_key "pid:$PID_CA" >"$TEST_TMP/up_$PID_CA.out"
scan --only master_key "pid:$PID_CB" >"$TEST_TMP/up_$PID_CB.out"
scan --only srtp_key,srtcp_key "pid:$PID_DA" >"$TEST_TMP/up_$PID_DA.out"
scan --only srtp_key,srtcp_key "pid:$PID_DB" >"$TEST_TMP/up_$PID_DB.out"
# found DATAPLANE_PID: the distinct session keys (not salts) its scan found
found() { grep -E '^hit .* (srtp|srtcp)_key ' "$TEST_TMP/up_$1.out" | awk '{print $4, $5}' | sort -u | wc -l; }
for p in "$PID_CA" "$PID_CB" "$PID_DA" "$PID_DB"; do
  [ "$(tail -n 1 "$TEST_TMP/up_$p.out" | jq_ 'd["hits"]')" -gt 0 ] || break
done
tap_result $? "the scan finds the call's keys in each process while the call is up (the key tables are mapped)"
# session keys are only in the dataplanes' expanded keys (the table holds masters)
tap_is "$(found "$PID_DA") $(found "$PID_DB")" "4 4" \
  "the scan finds each dataplane's SRTP and SRTCP session keys (both directions) while the call is up"

# ---- the call ends ---------------------------------------------------------------------
tap_check "call end $ID" a call end "$ID"
tap_check "static keys deleted" bash -c "'$CTL' --admin '$SA' key del ${S1[*]} &&
  '$CTL' --admin '$SA' key del ${S2[*]}"
empty() { "$DUMP" "$1" | grep -q '^# count=0 '; }
wait_for 5 empty "$TA" && wait_for 5 empty "$TB"
tap_result $? "both key tables no longer hold the call's entries"
sleep 0.5       # the dataplanes drop the ended call's flows at their next polls

# processes, then files: logs, stores, key tables, statistics areas
for p in "$PID_CA" "$PID_CB" "$PID_DA" "$PID_DB"; do
  SECONDS=0
  scan "pid:$p" >"$TEST_TMP/scan_$p.out"
  echo "# scan of pid $p: $SECONDS s"
done
scan "$TEST_TMP" --exclude "$TEST_TMP/secret" /dev/shm/callseal."$TA"* /dev/shm/callseal."$TB"* \
  >"$TEST_TMP/scan_files.out"
report() {
  local f=$1 what=$2 j
  j=$(tail -n 1 "$f")
  if [ "$(echo "$j" | jq_ 'd["hits"]')" = 0 ] && [ "$(echo "$j" | jq_ 'd["bytes"]')" -gt 0 ]; then
    tap_ok "$what: none of the call's key bytes ($(echo "$j" | jq_ 'd["bytes"] >> 20') MiB in $(echo "$j" | jq_ 'd["regions"]') regions)"
  else
    local lines
    mapfile -t lines < <(head -n 20 "$f")
    tap_not_ok "$what: key bytes found after the call ended" "${lines[@]}"
  fi
}
report "$TEST_TMP/scan_$PID_CA.out" "alice's callseal-control memory"
report "$TEST_TMP/scan_$PID_CB.out" "bob's callseal-control memory"
report "$TEST_TMP/scan_$PID_DA.out" "alice's callseal-dataplane memory"
report "$TEST_TMP/scan_$PID_DB.out" "bob's callseal-dataplane memory"
report "$TEST_TMP/scan_files.out" "logs, stores, key tables, statistics areas"

# ---- the dataplanes stop: exit statistics --------------------------------------------
stop_proc "$PID_DA" 5
tap_is "$?" 0 "alice's dataplane stops cleanly"
stop_proc "$PID_DB" 5
tap_is "$?" 0 "bob's dataplane stops cleanly"
st() { python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print(eval(sys.argv[2]))' "$@"; }
tap_is "$(st "$TEST_TMP/dp_a.json" 't["encrypted"] >= 300 and t["decrypted"] > 0') $(st "$TEST_TMP/dp_b.json" 't["decrypted"] >= 300 and t["encrypted"] > 0')" \
  "True True" "media went both ways: all four entries were in use in a dataplane"
scan "$TEST_TMP" --exclude "$TEST_TMP/secret" >"$TEST_TMP/scan_exit.out"
report "$TEST_TMP/scan_exit.out" "logs and exit statistics (JSON) after the dataplanes stopped"

tap_done
