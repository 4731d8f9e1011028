# e2ee_call.sh - sourced by rekey_live.sh, rekey_wan.sh and index_reuse.sh (after lib.sh): two
# callseal-control daemons, alice@contoso and bob@fabrikam, pinned peers of each
# other, a policy allowing E2EE at both and E2EE on for both, and one e2ee call
# from alice (media 10.200.0.1:5004) to bob (media pool 10.200.0.2:40000).
# Needs CONTROL, CTL, TA, TB, SA, SB set; defines a, b (callsealctl on each
# side) and jq_.
#
# e2ee_call DESCRIPTION: starts both daemons, sets them up and dials (three TAP
# checks; the dial's one is named DESCRIPTION); sets PA, PB (listen ports) and
# ID (the call id), and waits until bob's daemon shows the call.
# B_MEDIA_POOL (default 10.200.0.2:40000-40000, one call) is bob's media pool;
# CTL_CAPACITY (default 16) both tables' capacity; CTL_CAPACITY_B, if set,
# bob's.
#
# phone_net NS IFACE MY-IP MY-MAC PEER-IP PEER-MAC: the phone's side of a
# dataplane's net_tap inside port in network namespace NS (rekey_wan.sh,
# control_kill.sh: a phone at each site).
#
# tap_sites, wire_link, tap_site, tap_site_up, tap_phone, phones_go, sites_stop: two sites
# with a phone each (rekey_wan.sh, control_kill.sh, dataplane_restart.sh),
# described where they are defined; st: a dataplane's exit totals.
#
# ctl_a_start NAME: (re)starts alice's daemon as spawn NAME, on PA if it is set
# (a restart: same table, state, admin socket and port); sets A_PID.

# memif_sites PREFIX: what a two-site test over memif names and makes: NS and
# IFACE (alice's namespace and tap), TA and TB (the key tables), SA and SB (the
# admin sockets), MEMIF (the link's socket); the namespace itself, and the
# EXIT trap that removes them. Skips the whole test where net_tap or network
# namespaces cannot run.
memif_sites() {
  require_cmd ip python3
  [ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun: net_tap cannot run here"
  NS="$1$$" IFACE="${1}t$$"
  TA="${1}a$$x$RANDOM" TB="${1}b$$x$RANDOM"
  SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
  MEMIF="$TEST_TMP/memif.sock"
  ip netns add "$NS" 2>/dev/null || tap_skip_all "cannot create a network namespace (not root?)"
  trap '_lib_cleanup; ip netns del "$NS" 2>/dev/null; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT
}

a() { "$CTL" --admin "$SA" "$@"; }
b() { "$CTL" --admin "$SB" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

phone_net() {
  local x=(ip netns exec "$1")
  "${x[@]}" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" &&
    "${x[@]}" ip link set lo up &&
    "${x[@]}" ip link set "$2" down &&
    "${x[@]}" ip link set "$2" address "$4" &&
    "${x[@]}" ip addr add "$3/24" dev "$2" &&
    "${x[@]}" ip link set "$2" up &&
    "${x[@]}" ip neigh replace "$5" lladdr "$6" dev "$2" nud permanent
}
# phone_nets: alice's phone network (10.200.0.1 in NSA behind IFA) and bob's
# (10.200.0.2 in NSB behind IFB), each pointing at the other (one TAP check)
phone_nets() {
  tap_check "the phones' networks: 10.200.0.1 (alice) and 10.200.0.2 (bob), one in each namespace" bash -c \
    "$(declare -f phone_net); phone_net $NSA $IFA 10.200.0.1 02:00:00:00:00:01 10.200.0.2 02:00:00:00:00:02 &&
     phone_net $NSB $IFB 10.200.0.2 02:00:00:00:00:02 10.200.0.1 02:00:00:00:00:01"
}

# tap_sites PREFIX: what a two-site test with a phone at each site names and
# makes: NSA, NSB and IFA, IFB (each site's namespace and net_tap), TA, TB, SA,
# SB as memif_sites, MA and MB (a link's two memif sockets), MEMIF (one memif
# socket joining the sites directly); both namespaces and the EXIT trap that
# removes them and the tables' files. Skips the whole test where net_tap or
# network namespaces cannot run.
tap_sites() {
  require_cmd ip python3
  [ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun: net_tap cannot run here"
  NSA="${1}a$$" NSB="${1}b$$" IFA="${1}ta$$" IFB="${1}tb$$"
  TA="${1}a$$x$RANDOM" TB="${1}b$$x$RANDOM"
  SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
  MA="$TEST_TMP/wire-a.sock" MB="$TEST_TMP/wire-b.sock" MEMIF="$TEST_TMP/memif.sock"
  ip netns add "$NSA" 2>/dev/null || tap_skip_all "cannot create a network namespace (not root?)"
  ip netns add "$NSB" 2>/dev/null || { ip netns del "$NSA"; tap_skip_all "cannot create a second network namespace"; }
  trap '_lib_cleanup; ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null; rm -f /dev/shm/callseal."$TA"{,.stats,.resume} /dev/shm/callseal."$TB"{,.stats,.resume}' EXIT
}

# wire_link ARGS...: callseal-pcapfwd (PCAPFWD) between the memif sockets MA
# and MB with ARGS after its "--" (one TAP check); sets WIRE_PID.
wire_link() {
  local eal_
  read -ra eal_ <<<"$(eal_args wire)"
  spawn wire "$PCAPFWD" "${eal_[@]}" -l 0 \
    --vdev "net_memif0,role=server,socket=$MA,socket-abstract=no" \
    --vdev "net_memif1,role=server,socket=$MB,socket-abstract=no" \
    -- --idle-ms 0 --max-ms 0 --idle-sleep 100 "$@"
  WIRE_PID=$SPAWN_PID
  echo "# the link: callseal-pcapfwd -- $*"
  wait_for_socket "$MA" 20 "$WIRE_PID" && wait_for_socket "$MB" 20 "$WIRE_PID"
  tap_result $? "the link: callseal-pcapfwd between two memif sockets" ||
    tap_bail "$(tail -5 "$TEST_TMP/wire.log")"
}

# tap_site NAME NS IFACE TABLE MEMIF LCORE: a dataplane (DATAPLANE) in NS, its
# inside port net_tap IFACE, its outside port net_memif0 with MEMIF's options
# (role=...,socket=...); log dp_NAME.log, exit JSON dp_NAME.json; sets
# SPAWN_PID. tap_site_up NAME: waits for its start line.
tap_site() {
  local eal_
  read -ra eal_ <<<"$(eal_args "dp${1%[0-9]}")"
  spawn "dp_$1" ip netns exec "$2" "$DATAPLANE" "${eal_[@]}" -l "$6" \
    --vdev "net_tap0,iface=$3" \
    --vdev "net_memif0,$5,socket-abstract=no" \
    -- --table "$4" --inside 0 --outside 1 --idle-sleep 100 --stats-json "$TEST_TMP/dp_$1.json"
}
tap_site_up() { wait_until 20 grep -q "^callseal-dataplane: inside port" "$TEST_TMP/dp_$1.log"; }

# tap_phone SIDE NS BIND PEER SSRC PEER-SSRC SEED PEER-SEED NAME PEER-NAME
# ARGS...: scripts/lib/phone.py in NS (PHONE), started by phones_go; its
# report phone_SIDE.json; ARGS are more of its options. Sets SPAWN_PID.
tap_phone() {
  local side=$1 ns=$2
  spawn "phone_$side" ip netns exec "$ns" python3 "$PHONE" --name "$9" --peer-name "${10}" \
    --bind "$3" --peer "$4" --ssrc "$5" --peer-ssrc "$6" --seed "$7" --peer-seed "$8" \
    --start-file "$TEST_TMP/start" --ready "$TEST_TMP/phone_$side.ready" \
    --report "$TEST_TMP/phone_$side.json" "${@:11}"
}
# phones_go: once both phones listen (a phone still starting on a loaded
# machine would lose the first packets), both start 0.3 s from now; sets
# START (epoch seconds, fractional).
phones_go() {
  wait_until 30 test -e "$TEST_TMP/phone_a.ready" -a -e "$TEST_TMP/phone_b.ready" ||
    tap_bail "the phones did not start"
  START=$(python3 -c "import time; print(time.time() + 0.3)")
  echo "$START" >"$TEST_TMP/start.tmp" && mv "$TEST_TMP/start.tmp" "$TEST_TMP/start"
}

# st JSON EXPR: EXPR (Python) over a dataplane's exit JSON's totals, t.
st() { python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print(eval(sys.argv[2]))' "$@"; }

# sites_stop NAME...: stops DPA, DPB and the link (WIRE_PID) (one TAP check),
# then prints the totals of each dataplane NAME (dp_NAME.json).
sites_stop() {
  local sa sb sw s j
  stop_proc "$DPA" 5; sa=$?
  stop_proc "$DPB" 5; sb=$?
  stop_proc "$WIRE_PID" 5; sw=$?
  tap_is "$sa $sb $sw" "0 0 0" "both dataplanes and the link stop cleanly"
  for s in "$@"; do
    j="$TEST_TMP/dp_$s.json"
    echo "# dataplane $s: encrypted $(st "$j" 't["encrypted"]'), decrypted $(st "$j" 't["decrypted"]'), dropped $(st "$j" 'json.dumps({k: v for k, v in t["dropped"].items() if v})')"
  done
}

ctl_a_start() {
  spawn_listen "$1" PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/sa" --admin "$SA" \
    --capacity "${CTL_CAPACITY:-16}" --tenant contoso --listen "127.0.0.1:@PORT@" \
    --handshake-timeout 5000 || return 1
  A_PID=$SPAWN_PID
}

e2ee_call() {
  local ka kb
  ctl_a_start ctl_a
  spawn_listen ctl_b PB 10 "$CONTROL" --table "$TB" --state "$TEST_TMP/sb" --admin "$SB" \
    --capacity "${CTL_CAPACITY_B:-${CTL_CAPACITY:-16}}" --tenant fabrikam --listen "127.0.0.1:@PORT@" \
    --media-pool "${B_MEDIA_POOL:-10.200.0.2:40000-40000}" --handshake-timeout 5000
  wait_until 10 a status >/dev/null 2>&1 && wait_until 10 b status >/dev/null 2>&1
  tap_result $? "both daemons start" ||
    tap_bail "daemons did not start: $(tail -3 "$TEST_TMP/ctl_a.log") $(tail -3 "$TEST_TMP/ctl_b.log")"
  a user add alice >/dev/null && b user add bob >/dev/null
  ka=$(a user show alice --json | jq_ 'd["public_key"]')
  kb=$(b user show bob --json | jq_ 'd["public_key"]')
  tap_check "users, pinned peers, policies allowing E2EE" bash -c \
    "'$CTL' --admin '$SA' peer add bob@fabrikam --key '$kb' --addr 127.0.0.1:$PB &&
     '$CTL' --admin '$SB' peer add alice@contoso --key '$ka' --addr 127.0.0.1:$PA &&
     '$CTL' --admin '$SA' policy add open --e2ee users-can-turn-on &&
     '$CTL' --admin '$SA' policy assign open --tenant &&
     '$CTL' --admin '$SB' policy add open --e2ee users-can-turn-on &&
     '$CTL' --admin '$SB' policy assign open --tenant &&
     '$CTL' --admin '$SA' user set alice --e2ee on && '$CTL' --admin '$SB' user set bob --e2ee on"
  a call dial --from alice --to bob@fabrikam --local-media 10.200.0.1:5004 >"$TEST_TMP/dial" 2>&1
  tap_result $? "$1" || sed 's/^/#   /' "$TEST_TMP/dial"
  ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial")
  wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
}

# memif_dataplanes: the call's two dataplanes joined by net_memif (four TAP
# checks). Bob's (table TB) is the memif server and writes what it decrypts to
# $TEST_TMP/plain_out.pcap (its inside port reads an empty pcap); alice's
# (table TA) runs in network namespace NS with a net_tap inside port IFACE,
# whose application side is 10.200.0.1 (ns_tap_up). Needs DATAPLANE, NS,
# IFACE, MEMIF; sets RX_PID, TX_PID; exit JSONs $TEST_TMP/rx.json, tx.json.
memif_dataplanes() {
  local eal
  python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$TEST_TMP/empty.pcap"
  read -ra eal <<<"$(eal_args rx)"
  spawn rx "$DATAPLANE" "${eal[@]}" -l 0 \
    --vdev "net_pcap0,rx_pcap=$TEST_TMP/empty.pcap,tx_pcap=$TEST_TMP/plain_out.pcap" \
    --vdev "net_memif0,role=server,socket=$MEMIF,socket-abstract=no" \
    -- --table "$TB" --stats-json "$TEST_TMP/rx.json"
  RX_PID=$SPAWN_PID
  wait_for_socket "$MEMIF" 20 "$RX_PID"
  tap_result $? "bob's dataplane listens on memif" || tap_bail "$(tail -5 "$TEST_TMP/rx.log")"
  read -ra eal <<<"$(eal_args tx)"
  spawn tx ip netns exec "$NS" "$DATAPLANE" "${eal[@]}" -l 1 \
    --vdev "net_tap0,iface=$IFACE" \
    --vdev "net_memif1,role=client,socket=$MEMIF,socket-abstract=no" \
    -- --table "$TA" --inside 0 --outside 1 --stats-json "$TEST_TMP/tx.json"
  TX_PID=$SPAWN_PID
  wait_until 20 grep -q "^callseal-dataplane: inside port" "$TEST_TMP/tx.log"
  tap_result $? "alice's dataplane started with a tap inside port" || tap_bail "$(tail -5 "$TEST_TMP/tx.log")"
  tap_check "the application's side of the tap: 10.200.0.1 in the namespace" ns_tap_up "$NS" "$IFACE"
}
