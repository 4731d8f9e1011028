#!/usr/bin/env bash
# calls_history.sh - the call history between two callseal-control daemons
# (docs/calls.md "Call history", issue 15): a call ended by each side shows in
# `call list --ended` and `call show` on both daemons with who ended it and
# why, a duration, the security code both sides saw, and no key bytes; a
# failed call shows its reason; `call list` marks a detached call; call show's
# generations are key list's; the history survives a restart, and a short
# --call-history prunes it (waited for with a deadline).
#
# usage: calls_history.sh CONTROL CALLSEALCTL KEYTABLE_DUMP
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DUMP=$3
require_cmd python3

TA="chA$$x$RANDOM" TB="chB$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
a() { "$CTL" --admin "$SA" "$@"; }
b() { "$CTL" --admin "$SB" "$@"; }
# ended ROLE-SIDE ID: that call's record in the side's history, as "field|..."
ended() {
  "$CTL" --admin "$1" call list --ended --json | python3 -c "
import json,sys
for c in json.load(sys.stdin):
    if c['id'] == '$2':
        print('%s|%s|%s|%s|%s' % (c['state'], c['ended_by'], c['end_reason'],
              c['security_code'], c['duration_ms'] is not None and c['duration_ms'] > 0))"
}

PA=""
start_a() {
  spawn_listen "$1" PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/sa" --admin "$SA" --capacity 64 \
    --tenant contoso --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:23000-23049 \
    --handshake-timeout 5000 --call-history "$2"
  PID_A=$SPAWN_PID
}
start_a ctl_a 3600
spawn_listen ctl_b PB 10 "$CONTROL" --table "$TB" --state "$TEST_TMP/sb" --admin "$SB" --capacity 64 \
  --tenant fabrikam --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:24000-24049 \
  --handshake-timeout 5000
wait_until 10 a status >/dev/null 2>&1 && wait_until 10 b status >/dev/null 2>&1
tap_result $? "both daemons start (alice's with --call-history 3600)" ||
  tap_bail "daemons did not start: $(tail -3 "$TEST_TMP/ctl_a.log") $(tail -3 "$TEST_TMP/ctl_b.log")"
tap_is "$(grep -c 'call history 3600 s' "$TEST_TMP/ctl_a.log") $(grep -c 'call history 604800 s' "$TEST_TMP/ctl_b.log")" \
  "1 1" "the start-up line says the retention (bob's: the default, 7 days)"
"$CONTROL" --table x --state "$TEST_TMP/sx" --admin "$TEST_TMP/x.sock" --call-history 5 >/dev/null 2>"$TEST_TMP/noh.err"
tap_is "$? $(grep -c 'needs --listen' "$TEST_TMP/noh.err")" "2 1" "--call-history without --listen: exit 2"

tap_check "users, pinned peers, E2EE allowed and on" bash -c \
  "'$CTL' --admin '$SA' user add alice && '$CTL' --admin '$SB' user add bob &&
   '$CTL' --admin '$SB' user add carol &&
   '$CTL' --admin '$SA' peer add bob@fabrikam --key \"\$('$CTL' --admin '$SB' user show bob --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"public_key\"])')\" --addr 127.0.0.1:$PB &&
   '$CTL' --admin '$SB' peer add alice@contoso --key \"\$('$CTL' --admin '$SA' user show alice --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"public_key\"])')\" --addr 127.0.0.1:$PA &&
   '$CTL' --admin '$SA' peer add carol@fabrikam --key \"\$('$CTL' --admin '$SA' user show alice --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"public_key\"])')\" --addr 127.0.0.1:$PB &&
   '$CTL' --admin '$SA' policy add open --e2ee users-can-turn-on && '$CTL' --admin '$SA' policy assign open --tenant &&
   '$CTL' --admin '$SB' policy add open --e2ee users-can-turn-on && '$CTL' --admin '$SB' policy assign open --tenant &&
   '$CTL' --admin '$SA' user set alice --e2ee on && '$CTL' --admin '$SB' user set bob --e2ee on"

# ---- a call alice ends ---------------------------------------------------------------
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial1" 2>&1
tap_result $? "call dial alice -> bob" || sed 's/^/#   /' "$TEST_TMP/dial1"
ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial1")
CODE=$(sed -n 's/^security code: //p' "$TEST_TMP/dial1")
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
tap_is "$(b call show "$ID" --json | jq_ 'd["security_code"]')" "$CODE" "bob sees the same code"
# one meaning of generation: call show's are the key table's, as key list shows them
tap_is "$(a call show "$ID" --json | jq_ '(d["generation"]["out"], d["generation"]["in"], d["rekeys"])')" \
  "$(a key list --json | jq_ '(sum(x["generation"] for x in d if x["direction"] == "out"), sum(x["generation"] for x in d if x["direction"] == "in"), 0)')" \
  "call show --json: generation out/in equal key list's, rekeys 0"
GO=$(a key list --json | jq_ 'sum(x["generation"] for x in d if x["direction"] == "out")')
GI=$(a key list --json | jq_ 'sum(x["generation"] for x in d if x["direction"] == "in")')
tap_is "$(a call show "$ID" | grep -E '^(generation|rekeys):' | tr '\n' '|')" \
  "generation: out $GO, in $GI (the key table's, as key list shows them)|rekeys: 0|" "call show text: generations and rekeys"
# every secret of the call (both tables), to be looked for in the history
"$DUMP" --show-keys "$TA" >"$TEST_TMP/secrets" 2>&1 && "$DUMP" --show-keys "$TB" >>"$TEST_TMP/secrets" 2>&1
tap_is "$(grep -c '^secret ' "$TEST_TMP/secrets")" 24 "the call's secrets from both tables"
awk '/^secret /{print $5}' "$TEST_TMP/secrets" | sort -u >"$TEST_TMP/hex"
python3 -c "
import base64,sys
for h in open(sys.argv[1]).read().split():
    print(h); print(h.upper()); print(base64.b64encode(bytes.fromhex(h)).decode())
" "$TEST_TMP/hex" >"$TEST_TMP/needles"
a call end "$ID" >/dev/null
tap_is "$(ended "$SA" "$ID")" "ended|local|ended locally|$CODE|True" \
  "alice's history: ended, by her (local), why, the code, a duration"
wait_until 5 bash -c "'$CTL' --admin '$SB' call list --ended --json | grep -q '$ID'"
tap_is "$(ended "$SB" "$ID")" "ended|peer|ended by the peer: hung up|$CODE|True" \
  "bob's history: ended by the peer, its reason, the same code, a duration"
tap_is "$(a call list --json | jq_ 'len(d)') $(a call list --ended | awk -v id="$ID" '$1==id{print $2, $3, $9}')" \
  "0 caller ended local" "call list: the call is gone from the live list, in --ended (text)"
a call show "$ID" >"$TEST_TMP/show1" 2>&1
tap_is "$(grep -cE '^(state: ended|ended by: local \(call end\)|end reason: ended locally|security code: '"$CODE"'|duration: [0-9]+\.[0-9]{3}s|start: [0-9]{4}-.*|end: [0-9]{4}-.*|media: no dataplane statistics when the call ended)$' "$TEST_TMP/show1")" 8 \
  "call show of the ended call: state, start, end, duration, who, why, code, no statistics" ||
  sed 's/^/#   /' "$TEST_TMP/show1"
{ a call list --ended --json; b call list --ended --json; a call list --ended; a call show "$ID" --json;
  b call show "$ID"; cat "$TEST_TMP/sa/callseal.db" "$TEST_TMP/sb/callseal.db"; } >"$TEST_TMP/history.out" 2>&1
tap_is "$(grep -c -F -f "$TEST_TMP/needles" "$TEST_TMP/history.out")" 0 \
  "no key byte (hex or base64) in the history's output or in either store file"

# ---- a call bob ends -----------------------------------------------------------------
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial2" 2>&1
ID2=$(sed -n 's/^call id: //p' "$TEST_TMP/dial2")
CODE2=$(sed -n 's/^security code: //p' "$TEST_TMP/dial2")
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID2' >/dev/null 2>&1"
b call end "$ID2" >/dev/null
wait_until 5 bash -c "'$CTL' --admin '$SA' call list --ended --json | grep -q '$ID2'"
tap_is "$(ended "$SA" "$ID2")|$(ended "$SB" "$ID2")" \
  "ended|peer|ended by the peer: hung up|$CODE2|True|ended|local|ended locally|$CODE2|True" \
  "a call bob ends: peer on alice's side, local on his"
tap_is "$(a call list --ended --json | jq_ '[c["id"] for c in d][:2]')" "['$ID2', '$ID']" \
  "call list --ended: the latest end first"

# ---- a failed call -----------------------------------------------------------------
a call dial --from alice --to carol@fabrikam >/dev/null 2>"$TEST_TMP/dial3.err"
ID3=$(sed -n 's/.*call \([0-9a-f]\{16\}\) failed.*/\1/p' "$TEST_TMP/dial3.err")
tap_is "$(a call show "$ID3" --json | jq_ '"%s|%s|%s|%s" % (d["state"], d["ended_by"], "pinned" in d["end_reason"], d["duration_ms"])')" \
  "failed|daemon|True|None" "a failed call: failed, by this daemon, its reason (the pinned key), no duration" ||
  sed 's/^/#   /' "$TEST_TMP/dial3.err"

# ---- a detached call is marked ------------------------------------------------------
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial4" 2>&1
ID4=$(sed -n 's/^call id: //p' "$TEST_TMP/dial4")
tap_is "$(a call list | awk -v id="$ID4" '$1==id{print $3}') $(a call list --json | jq_ 'd[0]["detached"]')" \
  "active False" "call list: a call with its control channel is active, not detached"
stop_proc "$PID_A"
wait_until 5 bash -c "'$CTL' --admin '$SB' call list | grep -q '^$ID4 .* active (detached) '"
tap_result $? "the caller's daemon stopped: bob's call list shows 'active (detached)'" || b call list | sed 's/^/#   /'
tap_is "$(b call list --json | jq_ '"%s %s" % (d[0]["detached"], d[0]["control_channel"])')" \
  "True lost (the peer closed the control connection)" "call list --json: detached true, the channel's reason"

# ---- restarted with --call-history 2: the history is kept, then pruned ---------------
start_a ctl_a2 2
wait_until 10 a status >/dev/null 2>&1
tap_result $? "alice's daemon restarts with --call-history 2" || tail -3 "$TEST_TMP/ctl_a2.log" | sed 's/^/#   /'
tap_is "$(a call list --json | jq_ '"%s %s" % (d[0]["id"], d[0]["detached"])')" "$ID4 True" \
  "the taken-over call is listed detached"
a call end "$ID4" >/dev/null && b call end "$ID4" >/dev/null
tap_is "$(ended "$SA" "$ID4" | cut -d'|' -f1-3)" "ended|local|ended locally (no control connection: the peer ends its side itself)" \
  "the detached call, ended here: in the history at once, its reason"
wait_until 15 bash -c "[ \"\$('$CTL' --admin '$SA' call list --ended --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = 0 ]"
tap_result $? "--call-history 2: alice's history is pruned within the deadline" || a call list --ended | sed 's/^/#   /'
tap_is "$(a call show "$ID" 2>&1 | grep -c 'no call')" 1 "a pruned call is unknown to call show"
tap_is "$(b call list --ended --json | jq_ "len([c for c in d if c['id'] in ('$ID', '$ID2', '$ID4')])")" 3 \
  "bob's daemon (7 days) keeps its history"
tap_done
