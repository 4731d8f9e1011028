# scripts/lib/sites.sh: the two sites of scripts/demo and scripts/soak, sourced
# by both (bash; the caller has done `set -uo pipefail` and cd to the root).
#
# contoso (alice) and fabrikam (bob), each with its own callseal-control,
# callseal-dataplane and key table; each site's phones live in a network
# namespace behind the dataplane's net_tap inside port; the dataplanes'
# net_memif outside ports are joined by callseal-pcapfwd, the network between
# the sites. docs/quickstart.md is the same set-up by hand.
#
# In order:
#   sites_build            deps and build/ (or CALLSEAL_BUILD as it is): sets B
#   sites_tools            the programs (DP CONTROL CTL FWD DUMP PHONE), root
#   sites_init NAME        names for this run (NAME: demo, soak), $T, the traps
#   sites_start [COPY]     the link (a pcap copy of it in COPY, if given), both
#                          control daemons and both dataplanes (with the options
#                          in the array DP_OPTS, if any), the taps set up
#   ...                    the caller's work (ctl, jget, tel, media_ok, ...)
#   cleanup; sites_leftovers   everything made is gone? ("" if so)
# cleanup also runs on exit and on Ctrl-C.

# ---- output ------------------------------------------------------------------
# TAP=1: checks as "ok N"/"not ok N", everything else as "# " comments
TAP=${TAP:-0}
say() { if [ "$TAP" = 1 ]; then printf '# %s\n' "$*"; else printf '%s\n' "$*"; fi; }
sayin() { if [ "$TAP" = 1 ]; then sed 's/^/# /'; else cat; fi; }
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
  N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift
  local m; for m in "$@"; do printf '#   %s\n' "$m"; done
}
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
is() { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "got:  '$1'" "want: '$2'"; fi; }
bail() { echo "Bail out! $*"; exit 1; }
now() { date +%s.%N; }

# ---- build -------------------------------------------------------------------
sites_build() {
  if [ -n "${CALLSEAL_BUILD:-}" ]; then
    B=$CALLSEAL_BUILD
    return 0
  fi
  B=build
  say "== build"
  scripts/deps || exit 1
  if [ ! -f build/build.ninja ]; then
    say "   meson setup build"
    meson setup build >/dev/null || exit 1
  fi
  # progress: a line every 25 steps (and the last), so no minute is silent
  ninja -C build 2>&1 | tee build/build.log |
    awk -v tap="$TAP" -F'[][/]' '/^\[[0-9]+\/[0-9]+\]/ { if ($2 % 25 == 0 || $2 == $3) {
      printf "%s   built %d of %d\n", (tap == 1 ? "#" : ""), $2, $3; fflush() } }'
  [ "${PIPESTATUS[0]}" -eq 0 ] || { tail -30 build/build.log; exit 1; }
}

# sites_tools WHO: the programs of build $B, and what the sites need (root,
# /dev/net/tun, iproute2); WHO names the script in the messages
sites_tools() {
  DP=$B/dataplane/callseal-dataplane
  CONTROL=$B/control/callseal-control
  CTL=$B/control/callsealctl
  FWD=$B/tests/tools/pcap/callseal-pcapfwd
  DUMP=$B/tests/tools/callseal-dpstats-dump
  PHONE=$ROOT/scripts/lib/phone.py
  local x
  for x in "$DP" "$CONTROL" "$CTL" "$FWD"; do
    [ -x "$x" ] || bail "$x was not built (see $B/meson-logs)"
  done
  if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
    [ "$TAP" = 1 ] && { echo "1..0 # SKIP needs root, /dev/net/tun and iproute2 (network namespaces, net_tap)"; exit 77; }
    echo "$1: needs root, /dev/net/tun and iproute2 (network namespaces, net_tap)" >&2
    exit 1
  fi
}

# ---- what this run makes (all removed by cleanup) --------------------------
# sites_init NAME: namespaces cs<NAME><pid>-<site>, key tables <NAME><pid>-<site>,
# DPDK file prefixes cs<NAME><pid>{c,f,w}, files in $T (/tmp/callseal-NAME.*)
sites_init() {
  SITES_NAME=$1
  ID=$$
  T=$(mktemp -d "/tmp/callseal-$SITES_NAME.XXXXXX") || exit 1
  chmod 700 "$T"
  SITES=(contoso fabrikam)
  local p=cs$SITES_NAME$ID
  declare -gA NS TABLE PFX ADMIN IP NET MAC USER OTHER MEMIF LPORT PID
  NS=([contoso]=$p-contoso [fabrikam]=$p-fabrikam)
  TABLE=([contoso]=$SITES_NAME$ID-contoso [fabrikam]=$SITES_NAME$ID-fabrikam)
  PFX=([contoso]=${p}c [fabrikam]=${p}f [wire]=${p}w)
  ADMIN=([contoso]=$T/contoso/admin.sock [fabrikam]=$T/fabrikam/admin.sock)
  MEMIF=([contoso]=$T/wire-contoso.sock [fabrikam]=$T/wire-fabrikam.sock)
  # documentation addresses, inside the namespaces only
  IP=([contoso]=192.0.2.10 [fabrikam]=198.51.100.20)
  NET=([contoso]=192.0.2.0/24 [fabrikam]=198.51.100.0/24)
  MAC=([contoso]=02:00:00:00:0c:01 [fabrikam]=02:00:00:00:0f:01)
  USER=([contoso]=alice [fabrikam]=bob)
  OTHER=([contoso]=fabrikam [fabrikam]=contoso)
  LPORT=()
  PID=()
  DP_OPTS=()
  IFACE=phone0
  KEEP_TMP=${CALLSEAL_KEEP_TMP:-0}
  CLEANED=0
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# spawn NAME CMD...: in the background, its own process group, log in $T/NAME.log
spawn() {
  local name=$1; shift
  setsid "$@" </dev/null >"$T/$name.log" 2>&1 &
  PID[$name]=$!
}
stop() {   # stop NAME: SIGTERM to its group, SIGKILL after 3 s
  local p=${PID[$1]:-} i
  [ -n "$p" ] || return 0
  kill -TERM -- "-$p" 2>/dev/null
  for ((i = 0; i < 30; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$p" 2>/dev/null
  wait "$p" 2>/dev/null
  unset "PID[$1]"
}
cleanup() {
  [ "$CLEANED" = 1 ] && return
  CLEANED=1
  local n s p order=()
  # the phones (and whatever else the caller spawned) first, then the sites
  for n in "${!PID[@]}"; do
    case $n in dp-*|wire|control-*) ;; *) order+=("$n") ;; esac
  done
  for n in "${order[@]}" dp-contoso dp-fabrikam wire control-contoso control-fabrikam; do
    stop "$n"
  done
  for s in "${SITES[@]}"; do
    # anything still running in our namespaces (a phone whose parent was killed)
    for p in $(ip netns pids "${NS[$s]}" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "${NS[$s]}" 2>/dev/null
    # the statistics area goes with its dataplane, unless that one was killed
    rm -f "/dev/shm/callseal.${TABLE[$s]}" "/dev/shm/callseal.${TABLE[$s]}.resume" "/dev/shm/callseal.${TABLE[$s]}.stats"
  done
  rm -rf "/var/run/dpdk/${PFX[wire]%w}"?
  if [ "$KEEP_TMP" = 1 ]; then say "files kept in $T"; else rm -rf "$T"; fi
}
# sites_leftovers: what of this run is still there, after cleanup ("" if nothing)
sites_leftovers() {
  local left="" s d
  for s in "${SITES[@]}"; do
    ip netns list | grep -qw "${NS[$s]}" && left+=" netns ${NS[$s]}"
    [ -e "/dev/shm/callseal.${TABLE[$s]}" ] && left+=" /dev/shm/callseal.${TABLE[$s]}"
    [ -e "/dev/shm/callseal.${TABLE[$s]}.stats" ] && left+=" /dev/shm/callseal.${TABLE[$s]}.stats"
    [ -e "/dev/shm/callseal.${TABLE[$s]}.resume" ] && left+=" /dev/shm/callseal.${TABLE[$s]}.resume"
  done
  for d in "/var/run/dpdk/${PFX[wire]%w}"?; do [ -e "$d" ] && left+=" $d"; done
  [ -e "$T" ] && left+=" $T"
  { pgrep -f "${PFX[wire]%w}" || pgrep -f "$T/"; } >/dev/null && left+=" processes"
  echo "$left"
}

wait_for() {   # wait_for SECONDS CMD...: until CMD succeeds
  local end; end=$(python3 -c "import time; print(time.time() + $1)"); shift
  until "$@"; do
    python3 -c "import time,sys; sys.exit(time.time() > $end)" || return 1
    sleep 0.1
  done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ctl() { local s=$1; shift; "$CTL" --admin "${ADMIN[$s]}" "$@"; }
# admin SITE CMD...: an administrator's or user's command, shown as typed
admin() {
  local s=$1; shift
  say "   [$s] callsealctl $*"
  ctl "$s" "$@" >"$T/last.out" 2>&1 || { sayin <"$T/last.out"; return 1; }
}
jget() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v = v[k] if v is not None else None
print("" if v is None else v)' "$@"; }
tel() {   # tel SITE: the dataplane's /callseal/stats over DPDK telemetry, JSON
  python3 - "/var/run/dpdk/${PFX[$1]}/dpdk_telemetry.v2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/callseal/stats")
print(json.dumps(json.loads(s.recv(65536))["/callseal/stats"]))
EOF
}

# sites_start [COPY]: the link, then per site a namespace, callseal-control and
# callseal-dataplane (in the namespace, so that its tap is made there), and the
# phones' side of the tap; bails out if something does not start
sites_start() {
  local copy=() s o lcore=0 nsx
  [ -n "${1:-}" ] && copy=(--copy "$1")
  # the network between the sites: a relay between two memif sockets
  spawn wire "$FWD" --no-huge --no-pci -m 256 --log-level=error --file-prefix="${PFX[wire]}" -l 0 \
    --vdev "net_memif0,role=server,socket=${MEMIF[contoso]},socket-abstract=no" \
    --vdev "net_memif1,role=server,socket=${MEMIF[fabrikam]},socket-abstract=no" \
    -- --idle-ms 0 --max-ms 0 --idle-sleep 100 "${copy[@]}"
  wait_for 20 test -S "${MEMIF[contoso]}" -a -S "${MEMIF[fabrikam]}" ||
    bail "the link between the sites did not start: $(tail -3 "$T/wire.log")"
  if [ -n "${1:-}" ]; then
    say "   the link between the sites: callseal-pcapfwd relays net_memif <-> net_memif, copy in ${1##*/}"
  else
    say "   the link between the sites: callseal-pcapfwd relays net_memif <-> net_memif"
  fi
  for s in "${SITES[@]}"; do
    mkdir -p "$T/$s"
    chmod 700 "$T/$s"
    ip netns add "${NS[$s]}" || bail "cannot create network namespace ${NS[$s]}"
    # no IPv6 on the tap made later (no router solicitations, MLD on the wire)
    ip netns exec "${NS[$s]}" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
    LPORT[$s]=$(free_port)
    spawn "control-$s" "$CONTROL" --table "${TABLE[$s]}" --state "$T/$s/state" --admin "${ADMIN[$s]}" \
      --tenant "$s" --listen "127.0.0.1:${LPORT[$s]}" --media-pool "${IP[$s]}:5004-5099"
  done
  # a socket that accepts connections means a ready daemon, and its table made
  for s in "${SITES[@]}"; do
    wait_for 20 test -S "${ADMIN[$s]}" || bail "callseal-control of $s did not start: $(tail -3 "$T/control-$s.log")"
  done
  for s in "${SITES[@]}"; do
    # the dataplane runs in the site's namespace, so that its tap is made there
    spawn "dp-$s" ip netns exec "${NS[$s]}" "$DP" --no-huge --no-pci -m 256 --log-level=error \
      --file-prefix="${PFX[$s]}" -l "$lcore" \
      --vdev "net_tap0,iface=$IFACE" \
      --vdev "net_memif0,role=client,socket=${MEMIF[$s]},socket-abstract=no" \
      -- --table "${TABLE[$s]}" --inside 0 --outside 1 --idle-sleep 100 ${DP_OPTS[@]+"${DP_OPTS[@]}"}
    lcore=$(( (lcore + 1) % 2 ))
  done
  for s in "${SITES[@]}"; do
    # the dataplane attaches to the table the control daemon made
    wait_for 30 grep -q "^callseal-dataplane: inside port" "$T/dp-$s.log" ||
      bail "callseal-dataplane of $s did not start: $(tail -3 "$T/dp-$s.log")"
    o=${OTHER[$s]}
    nsx=(ip netns exec "${NS[$s]}")
    "${nsx[@]}" sysctl -qw "net.ipv6.conf.$IFACE.disable_ipv6=1"
    "${nsx[@]}" ip link set lo up
    "${nsx[@]}" ip link set "$IFACE" down
    "${nsx[@]}" ip link set "$IFACE" address "${MAC[$s]}"
    "${nsx[@]}" ip addr add "${IP[$s]}/24" dev "$IFACE"
    "${nsx[@]}" ip link set "$IFACE" up
    # the other site's network is behind the dataplane; nothing answers ARP there
    "${nsx[@]}" ip route add "${NET[$o]}" dev "$IFACE"
    "${nsx[@]}" ip neigh replace "${IP[$o]}" lladdr "${MAC[$o]}" dev "$IFACE" nud permanent
    say "   $s: callseal-control on 127.0.0.1:${LPORT[$s]} (table callseal.${TABLE[$s]}, media pool ${IP[$s]}:5004-5099);"
    say "        callseal-dataplane in netns ${NS[$s]}: inside net_tap $IFACE (${IP[$s]}, ${USER[$s]}'s phone), outside net_memif; $(head -1 "$T/dp-$s.log" | cut -c1-60)..."
  done
}

media_ok() {   # media_ok SENDER_REPORT RECEIVER_REPORT: phone.py's JSON reports
  python3 "$ROOT/scripts/lib/media_ok.py" "$1" "$2"
}
