#!/usr/bin/env bash
# calls_policy_matrix.sh - the E2EE policy matrix (docs/policy.md) through two
# callseal-control daemons (docs/calls.md): every combination of assignment
# level (none, tenant, group, user), policy value (disabled, users-can-turn-on)
# and user setting (on, off), for both parties, gives the expected mode.
#
# Per party that is 14 configurations: none/on, none/off, and
# {tenant, group, user} x {disabled, users-can-turn-on} x {on, off}; the caller
# is a user of contoso (daemon A), the callee one of fabrikam (daemon B), so
# 14 x 14 = 196 calls, each pair dialled exactly once.
#
# Users per daemon: eight "fixed" ones whose policy comes from a group
# (grp-*) or their own assignment (usr-*), which the tenant assignment never
# reaches, and two "floating" ones (flt-on, flt-off) with no group or user
# assignment, whose configuration is whatever the tenant level is. The tenant
# level is daemon-wide, so the matrix runs in nine phases, one per pair of
# tenant levels (none, disabled, users-can-turn-on) on A and B:
#   fixed x fixed        in the first phase (both none)      8 x 8     = 64
#   fixed x floating     in the 3 phases where A is none     3 x 8 x 2 = 48
#   floating x fixed     in the 3 phases where B is none     3 x 2 x 8 = 48
#   floating x floating  in all 9 phases                     9 x 2 x 2 = 36
# "on" under a disabled policy cannot be set directly (user set --e2ee on is
# refused), so the setting is turned on under a temporary user-level
# users-can-turn-on assignment that is then replaced or removed.
#
# For each call: `call dial`'s mode line is exactly "mode: e2ee" (with a
# 20-digit security code) or "mode: standard (REASON)" with the reason naming
# each party that lacks E2EE, caller first (control/proto/callproto.c); `call show
# --json` on the callee and on the caller give the same id, mode, reason and
# code; the call is ended (alternately from the caller and the callee). After
# each phase no call is live and both key tables are empty.
#
# TAP: set-up lines, one line per phase (tenant levels and every user's
# effective policy as expected), one line per caller configuration covering
# its 14 calls (every mismatch is listed as a comment), and summary lines.
#
# usage: calls_policy_matrix.sh CONTROL CALLSEALCTL KEYTABLE_DUMP
# shellcheck disable=SC2317  # functions run through tap_check look unreachable
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DUMP=$3
require_cmd python3

TA="cpma$$x$RANDOM" TB="cpmb$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT

a() { "$CTL" --admin "$SA" "$@"; }
b() { "$CTL" --admin "$SB" "$@"; }
count() { "$DUMP" "$1" | grep -vc '^#'; }

spawn_listen ctl_a PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/sa" --admin "$SA" --capacity 64 \
  --tenant contoso --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:23000-23099 \
  --handshake-timeout 5000
PID_A=$SPAWN_PID
spawn_listen ctl_b PB 10 "$CONTROL" --table "$TB" --state "$TEST_TMP/sb" --admin "$SB" --capacity 64 \
  --tenant fabrikam --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:24000-24099 \
  --handshake-timeout 5000
PID_B=$SPAWN_PID
wait_until 10 a status >/dev/null 2>&1 && wait_until 10 b status >/dev/null 2>&1
tap_result $? "both daemons start (contoso and fabrikam, --listen)" ||
  tap_bail "daemons did not start: $(tail -3 "$TEST_TMP/ctl_a.log") $(tail -3 "$TEST_TMP/ctl_b.log")"

# ---- configurations -----------------------------------------------------------
# A configuration is LEVEL/VALUE/SETTING, VALUE "-" for level none:
#   none/-/on  tenant/disabled/off  group/users-can-turn-on/on  user/disabled/on ...
VALUES=(disabled users-can-turn-on)
CONFIGS=(none/-/on none/-/off)
for lv in tenant group user; do
  for v in "${VALUES[@]}"; do
    for s in on off; do CONFIGS+=("$lv/$v/$s"); done
  done
done
short() { case $1 in disabled) echo dis ;; users-can-turn-on) echo utco ;; esac; }
FIXED=()          # the users whose configuration never changes: grp-dis-on ...
declare -A FIXED_CONF
for lv in group user; do
  for v in "${VALUES[@]}"; do
    for s in on off; do
      u="$([ "$lv" = group ] && echo grp || echo usr)-$(short "$v")-$s"
      FIXED+=("$u"); FIXED_CONF[$u]="$lv/$v/$s"
    done
  done
done
FLOATING=(flt-on flt-off)
# the configuration of a user when its daemon's tenant level is TL
# (none, disabled, users-can-turn-on)
conf_of() {   # conf_of USER TL
  case $1 in
    flt-*) if [ "$2" = none ]; then echo "none/-/${1#flt-}"; else echo "tenant/$2/${1#flt-}"; fi ;;
    *) echo "${FIXED_CONF[$1]}" ;;
  esac
}

# ---- set-up: the same users, groups and policies on both daemons ----------------
setup_side() {   # setup_side CTL-FUNCTION
  local c=$1 u lv v s
  $c policy add open --e2ee users-can-turn-on && $c policy add closed --e2ee disabled &&
    $c group add gdis && $c group add gutco &&
    $c policy assign closed --group gdis && $c policy assign open --group gutco || return 1
  for u in "${FIXED[@]}" "${FLOATING[@]}"; do
    IFS=/ read -r lv v s <<<"$(conf_of "$u" none)"
    case $lv in
      group) $c user add "$u" --group "g$(short "$v")" || return 1 ;;
      *) $c user add "$u" || return 1 ;;
    esac
    if [ "$s" = on ]; then
      # turned on while a user-level users-can-turn-on policy allows it ...
      $c policy assign open --user "$u" && $c user set "$u" --e2ee on || return 1
      # ... then the user-level assignment is put back as the configuration says
      if [ "$lv" = user ]; then
        $c policy assign "$([ "$v" = disabled ] && echo closed || echo open)" --user "$u"
      else
        $c policy unassign --user "$u"
      fi || return 1
    elif [ "$lv" = user ]; then
      $c policy assign "$([ "$v" = disabled ] && echo closed || echo open)" --user "$u" || return 1
    fi
  done
}
tap_check "daemon A: policies, groups, 10 users with their assignments and settings" setup_side a
tap_check "daemon B: policies, groups, 10 users with their assignments and settings" setup_side b
# `user set --e2ee on` is refused under a disabled policy: the reason for the detour
b user set grp-dis-off --e2ee on >"$TEST_TMP/refuse.out" 2>&1
tap_is "$? $(grep -c 'does not allow end-to-end encryption' "$TEST_TMP/refuse.out")" "1 1" \
  "user set --e2ee on is refused under a disabled group policy" ||
  sed 's/^/#   /' "$TEST_TMP/refuse.out"

# peers: every user of the other tenant, with its pinned key
peers_of() {   # peers_of CTL-FUNCTION TENANT PORT: "peer add" lines for CTL's users
  $1 user list --json | python3 -c '
import json, sys
for u in json.load(sys.stdin):
    print("%s@%s %s 127.0.0.1:%s" % (u["name"], sys.argv[1], u["public_key"], sys.argv[2]))' "$2" "$3"
}
add_peers() {   # add_peers CTL-FUNCTION FROM-CTL-FUNCTION TENANT PORT
  local id key addr n=0
  while read -r id key addr; do
    $1 peer add "$id" --key "$key" --addr "$addr" >/dev/null || return 1
    n=$((n + 1))
  done < <(peers_of "$2" "$3" "$4")
  [ "$n" = 10 ]
}
add_peers_both() { add_peers a b fabrikam "$PB" && add_peers b a contoso "$PA"; }
tap_check "each daemon has the other's 10 users as pinned peers" add_peers_both

# ---- expectations -------------------------------------------------------------------
# part USER@TENANT CONF: this party's share of a standard call's reason, or
# nothing when it has E2EE (allowed and on)
part() {
  local lv v s
  IFS=/ read -r lv v s <<<"$2"
  if [ "$lv" = none ]; then
    echo "$1's policy does not allow end-to-end encryption (no policy assigned)"
  elif [ "$v" = disabled ]; then
    echo "$1's policy does not allow end-to-end encryption"
  elif [ "$s" = off ]; then
    echo "$1 has not turned on end-to-end encryption"
  fi
}
# the effective policy user list --json should show: "e2ee source setting"
eff_want() {
  local lv v s
  IFS=/ read -r lv v s <<<"$1"
  [ "$lv" = none ] && v=disabled
  echo "$v $lv $s"
}

# ---- the calls ------------------------------------------------------------------------
declare -A ROW_N ROW_NBAD ROW_BAD PAIR_N   # per caller configuration; per pair
N_CALLS=0 N_E2EE=0 N_STD=0
JSON_RE='^\{"id": "([^"]*)", "role": "([a-z]*)", "state": "([a-z]*)", "local_user": "([^"]*)", "peer": "([^"]*)", "mode": "([a-z0-9]*)", "reason": "([^"]*)", .*"security_code": "([^"]*)"'

# show_json CTL-FUNCTION ID: "role local_user peer mode|reason|code" of a live
# call, waiting (SHOW_TRIES x 20 ms) for it to be active
SHOW_TRIES=100   # 2 s; after a first failure 10 (0.2 s): a broken run stays short
show_json() {
  local i out
  for ((i = 0; i < SHOW_TRIES; i++)); do
    out=$($1 call show "$2" --json 2>&1)
    if [[ $out =~ $JSON_RE ]] && [ "${BASH_REMATCH[1]}" = "$2" ] &&
       [ "${BASH_REMATCH[3]}" = active ]; then
      echo "${BASH_REMATCH[2]} ${BASH_REMATCH[4]} ${BASH_REMATCH[5]} ${BASH_REMATCH[6]}|${BASH_REMATCH[7]}|${BASH_REMATCH[8]}"
      return 0
    fi
    sleep 0.02
  done
  echo "not active: $out"
  return 1
}

# one_call CALLER CALLEE TL_A TL_B: dial caller@contoso -> callee@fabrikam,
# check everything, end the call; a mismatch is appended to its caller row
one_call() {
  local cu=$1 eu=$2 cc ec want_mode want_reason pc pe out id code line bad=() ga gb want
  cc=$(conf_of "$cu" "$3") ec=$(conf_of "$eu" "$4")
  N_CALLS=$((N_CALLS + 1))
  PAIR_N[$cc|$ec]=$((${PAIR_N[$cc|$ec]:-0} + 1))
  ROW_N[$cc]=$((${ROW_N[$cc]:-0} + 1))
  pc=$(part "$cu@contoso" "$cc") pe=$(part "$eu@fabrikam" "$ec")
  if [ -z "$pc" ] && [ -z "$pe" ]; then
    want_mode="mode: e2ee" want_reason="end-to-end encrypted"
  else
    want_reason="$pc${pc:+${pe:+; }}$pe"
    want_mode="mode: standard ($want_reason)"
  fi

  if ! out=$(a call dial --from "$cu" --to "$eu@fabrikam" 2>&1); then
    bad+=("dial failed: ${out//$'\n'/ | }")
  else
    id=$(sed -n 's/^call id: //p' <<<"$out")
    code=$(sed -n 's/^security code: //p' <<<"$out")
    line=$(grep '^mode: ' <<<"$out")
    [[ $id =~ ^[0-9a-f]{16}$ ]] || bad+=("call id '$id'")
    [ "$line" = "$want_mode" ] || bad+=("dial says '$line', want '$want_mode'")
    if [ "$want_mode" = "mode: e2ee" ]; then
      N_E2EE=$((N_E2EE + 1))
      [[ $code =~ ^[0-9]{5}\ [0-9]{5}\ [0-9]{5}\ [0-9]{5}$ ]] || bad+=("security code '$code'")
    else
      N_STD=$((N_STD + 1))
      [ -z "$code" ] || bad+=("a security code in a standard call")
    fi
    # call show --json on both sides: same mode and reason; the dial's security
    # code for e2ee, none for a standard call
    gb=$(show_json b "$id") ga=$(show_json a "$id")
    case "$gb$ga" in *"not active: "*) SHOW_TRIES=10 ;; esac
    want="$([ "$want_mode" = "mode: e2ee" ] && echo e2ee || echo standard)|$want_reason|$code"
    [ "$gb" = "callee $eu $cu@contoso $want" ] ||
      bad+=("callee's call show: '$gb', want 'callee $eu $cu@contoso $want'")
    [ "$ga" = "caller $cu $eu@fabrikam $want" ] ||
      bad+=("caller's call show: '$ga', want 'caller $cu $eu@fabrikam $want'")
    # end it, alternately from either side
    if [ $((N_CALLS % 2)) = 0 ]; then
      out=$(a call end "$id" 2>&1) || bad+=("call end on the caller: $out")
    else
      out=$(b call end "$id" 2>&1) || bad+=("call end on the callee: $out")
    fi
  fi
  if [ ${#bad[@]} -gt 0 ]; then
    ROW_NBAD[$cc]=$((${ROW_NBAD[$cc]:-0} + 1))
    ROW_BAD[$cc]+="$(printf '%s -> %s (%s -> %s): ' "$cc" "$ec" "$cu" "$eu")$(IFS=';'; echo "${bad[*]//$'\n'/ | }")"$'\n'
  fi
}

# check_users CTL-FUNCTION TL: every user's effective policy under tenant level TL
check_users() {
  local u got want=""
  got=$($1 user list --json | python3 -c '
import json, sys
for u in json.load(sys.stdin):
    print(u["name"], u["policy"]["e2ee"], u["policy"]["source"], u["e2ee_setting"])') || return 1
  for u in "${FIXED[@]}" "${FLOATING[@]}"; do
    want+="$u $(eff_want "$(conf_of "$u" "$2")")"$'\n'
  done
  want=$(printf '%s' "$want" | sort)
  got=$(sort <<<"$got")
  [ "$got" = "$want" ] && return 0
  diff <(echo "$want") <(echo "$got") | sed 's/^/#   /'
  return 1
}
declare -A TENANT_NOW=([a]=none [b]=none)
set_tenant() {   # set_tenant CTL-FUNCTION TL
  [ "${TENANT_NOW[$1]}" = "$2" ] && return 0
  case $2 in
    none) $1 policy unassign --tenant ;;
    disabled) $1 policy assign closed --tenant ;;
    *) $1 policy assign open --tenant ;;
  esac >/dev/null || return 1
  TENANT_NOW[$1]=$2
}
tables_empty() {
  [ "$(count "$TA") $(count "$TB")" = "0 0" ] &&
    [ "$(a call list --json | tr -d ' \n')" = "[]" ] &&
    [ "$(b call list --json | tr -d ' \n')" = "[]" ]
}

T0=$SECONDS
TLS=(none disabled users-can-turn-on)
for ia in 0 1 2; do
  for ib in 0 1 2; do
    tla=${TLS[$ia]} tlb=${TLS[$ib]}
    desc="phase A tenant $tla, B tenant $tlb: assignments and every user's effective policy"
    if set_tenant a "$tla" && set_tenant b "$tlb" && check_users a "$tla" >"$TEST_TMP/cu" 2>&1 &&
       check_users b "$tlb" >>"$TEST_TMP/cu" 2>&1; then
      tap_ok "$desc"
    else
      tap_not_ok "$desc"; cat "$TEST_TMP/cu"
    fi
    # fixed callers only while A's tenant level is none (once per B level),
    # fixed callees only while B's is none (once per A level): fixed x fixed
    # once, in the first phase
    callers=("${FLOATING[@]}") callees=("${FLOATING[@]}")
    [ "$ia" = 0 ] && callers+=("${FIXED[@]}")
    [ "$ib" = 0 ] && callees+=("${FIXED[@]}")
    for cu in "${callers[@]}"; do
      for eu in "${callees[@]}"; do
        one_call "$cu" "$eu" "$tla" "$tlb"
      done
    done
    wait_until 5 tables_empty || tap_diag "phase $tla/$tlb: calls or entries left: $(count "$TA") $(count "$TB")"
  done
done
tap_diag "$N_CALLS calls ($N_E2EE e2ee, $N_STD standard) in $((SECONDS - T0)) s"

# ---- the rows: one line per caller configuration ----------------------------------
for cc in "${CONFIGS[@]}"; do
  n=${ROW_N[$cc]:-0}
  if [ "$n" = 14 ] && [ -z "${ROW_BAD[$cc]:-}" ]; then
    tap_ok "caller $cc: 14 calls, one per callee configuration, each as expected"
  else
    tap_not_ok "caller $cc: $n calls (want 14), ${ROW_NBAD[$cc]:-0} not as expected"
    [ -n "${ROW_BAD[$cc]:-}" ] && printf '%s' "${ROW_BAD[$cc]}" | sed 's/^/#   /'
  fi
done
# each of the 196 pairs exactly once
miss=()
for cc in "${CONFIGS[@]}"; do
  for ec in "${CONFIGS[@]}"; do
    [ "${PAIR_N[$cc|$ec]:-0}" = 1 ] || miss+=("$cc -> $ec: ${PAIR_N[$cc|$ec]:-0}")
  done
done
tap_is "$N_CALLS ${#PAIR_N[@]} ${#miss[@]}" "196 196 0" \
  "196 calls, each of the 14 x 14 configuration pairs dialled exactly once" ||
  tap_diag "${miss[@]}"
# e2ee exactly when both are users-can-turn-on and on: 4 x 4 of 196
tap_is "$N_E2EE $N_STD" "9 187" "9 calls e2ee (3 x 3: both parties users-can-turn-on and on), 187 standard"

wait_until 5 tables_empty
tap_is "$(count "$TA") $(count "$TB")" "0 0" "both key tables are empty at the end"
tap_is "$(a call list --json | tr -d ' \n') $(b call list --json | tr -d ' \n')" "[] []" \
  "no calls left on either daemon"
tap_is "$(grep -ciE 'key_sha256|inline' "$TEST_TMP/ctl_a.log" "$TEST_TMP/ctl_b.log" | awk -F: '{s+=$2} END {print s}')" \
  0 "no key material in the daemons' logs"
stop_proc "$PID_A"
tap_is "$?" 0 "daemon A stops on SIGTERM"
stop_proc "$PID_B"
tap_is "$?" 0 "daemon B stops on SIGTERM"
tap_is "$(cat "$TEST_TMP/ctl_a.log" "$TEST_TMP/ctl_b.log" | grep -cE 'runtime error|Sanitizer')" 0 \
  "no sanitizer report in the daemons' logs" ||
  grep -hE -A5 'runtime error|Sanitizer' "$TEST_TMP/ctl_a.log" "$TEST_TMP/ctl_b.log" | head -40 | sed 's/^/#   /'
tap_done
