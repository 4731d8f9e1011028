# tenant_sites.sh - sourced by calls_tenant.sh and calls_tenant_media.sh (after
# lib.sh): two callseal-control daemons of ONE tenant, contoso at two sites
# (two state dirs, two key tables), with alice and carol at site 1 and dave at
# site 2, each site's user a pinned peer of the other, policy open at both and
# E2EE on for everyone. Needs CONTROL, CTL, TA, TB, SA, SB, RECOPEN set.
#
# start_sites POOL1 POOL2: site 1 (media pool POOL1, compliance recorder key in
# $TEST_TMP/recorder.sk) and site 2 (POOL2); sets PA, PB (listen ports).
# start_site2 NAME POOL2 [ARGS...]: (re)starts site 2 (on PB once it is set),
# more daemon options in ARGS; sets SITE2_PID.

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
a() { "$CTL" --admin "$SA" "$@"; }
b() { "$CTL" --admin "$SB" "$@"; }

start_site2() {
  local name=$1 pool=$2
  shift 2
  spawn_listen "$name" PB 10 "$CONTROL" --table "$TB" --state "$TEST_TMP/s2" --admin "$SB" \
    --capacity 64 --tenant contoso --listen "127.0.0.1:@PORT@" \
    --media-pool "$pool" --handshake-timeout 5000 "$@"
  SITE2_PID=$SPAWN_PID
}

start_sites() {
  local recpk
  recpk=$("$RECOPEN" --keygen "$TEST_TMP/recorder.sk")
  spawn_listen site1 PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/s1" --admin "$SA" \
    --capacity 64 --tenant contoso --listen "127.0.0.1:@PORT@" \
    --media-pool "$1" --handshake-timeout 5000 --recorder-key "$recpk"
  start_site2 site2 "$2"
  wait_until 10 a status >/dev/null 2>&1 && wait_until 10 b status >/dev/null 2>&1
  tap_result $? "two daemons of tenant contoso start (two state dirs)" ||
    tap_bail "daemons did not start: $(tail -3 "$TEST_TMP/site1.log") $(tail -3 "$TEST_TMP/site2.log")"

  tap_check "users alice and carol at site 1, dave at site 2" bash -c \
    "'$CTL' --admin '$SA' user add alice && '$CTL' --admin '$SA' user add carol &&
     '$CTL' --admin '$SB' user add dave"
  KA=$(a user show alice --json | jq_ 'd["public_key"]')
  KD=$(b user show dave --json | jq_ 'd["public_key"]')
  tap_check "each site has the other's user as a pinned peer of the same tenant" bash -c \
    "'$CTL' --admin '$SA' peer add dave@contoso --key '$KD' --addr 127.0.0.1:$PB &&
     '$CTL' --admin '$SB' peer add alice@contoso --key '$KA' --addr 127.0.0.1:$PA"
  tap_check "policy open at both sites, everyone turns E2EE on" bash -c \
    "'$CTL' --admin '$SA' policy add open --e2ee users-can-turn-on &&
     '$CTL' --admin '$SA' policy assign open --tenant &&
     '$CTL' --admin '$SB' policy add open --e2ee users-can-turn-on &&
     '$CTL' --admin '$SB' policy assign open --tenant &&
     '$CTL' --admin '$SA' user set alice --e2ee on && '$CTL' --admin '$SA' user set carol --e2ee on &&
     '$CTL' --admin '$SB' user set dave --e2ee on"
}
