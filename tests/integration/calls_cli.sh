#!/usr/bin/env bash
# calls_cli.sh - calls between two callseal-control daemons end to end
# (docs/calls.md): tenants contoso and fabrikam, each with its own key table,
# state directory and admin socket, listening for calls on 127.0.0.1.
# alice@contoso calls bob@fabrikam: e2ee with a 20-digit security code that
# both sides show, the caller's out key equals the callee's in key and vice
# versa (callseal-keytable-dump), features refused in e2ee, call end removes
# the entries on both sides; with bob's setting off the call is standard with
# the reason naming bob; a wrong pinned key refuses the call with nothing
# installed.
#
# With --recorder-key on the caller's daemon, `call keys` of a standard call
# gives keys only the recorder opens (callseal-recorder-open), equal to the
# table's. Control restarts (SIGTERM and kill -9): the active call goes on,
# the restarted daemon takes it over detached, and it can be ended after.
#
# usage: calls_cli.sh CONTROL CALLSEALCTL KEYTABLE_DUMP RECORDER_OPEN DPSTATS_WRITER
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DUMP=$3 RECOPEN=$4 DPW=$5
require_cmd python3

TA="cca$$x$RANDOM" TB="ccb$$x$RANDOM" TT="cct$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume" "/dev/shm/callseal.$TT" "/dev/shm/callseal.$TT.resume" "/dev/shm/callseal.$TA.stats"' EXIT

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
a() { "$CTL" --admin "$SA" "$@"; }
b() { "$CTL" --admin "$SB" "$@"; }
# entries TABLE: "DIR HASH" per entry with a call id, sorted
entries() {
  "$DUMP" "$1" | grep -v '^#' | sed -E 's|^[^ ]*/([a-z]+) .*key_sha256=([0-9a-f]+).*|\1 \2|' | sort
}
count() { "$DUMP" "$1" | grep -vc '^#'; }

RECPK=$("$RECOPEN" --keygen "$TEST_TMP/recorder.sk")
PA=""
# start_a NAME: daemon A, on a fresh port the first time, on the same one after
start_a() {
  spawn_listen "$1" PA 10 "$CONTROL" --table "$TA" --state "$TEST_TMP/sa" --admin "$SA" --capacity 256 \
    --tenant contoso --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:21000-21099 \
    --handshake-timeout 5000 --recorder-key "$RECPK"
  PID_A=$SPAWN_PID
}
start_a ctl_a
spawn_listen ctl_b PB 10 "$CONTROL" --table "$TB" --state "$TEST_TMP/sb" --admin "$SB" --capacity 256 \
  --tenant fabrikam --listen "127.0.0.1:@PORT@" --media-pool 127.0.0.1:22000-22099 \
  --handshake-timeout 5000
wait_until 10 a status >/dev/null 2>&1 && wait_until 10 b status >/dev/null 2>&1
tap_result $? "both daemons start with --listen" ||
  tap_bail "daemons did not start: $(tail -3 "$TEST_TMP/ctl_a.log") $(tail -3 "$TEST_TMP/ctl_b.log")"

tap_check "users alice@contoso, bob@fabrikam and carol@fabrikam" bash -c \
  "'$CTL' --admin '$SA' user add alice && '$CTL' --admin '$SB' user add bob &&
   '$CTL' --admin '$SB' user add carol"
KA=$(a user show alice --json | jq_ 'd["public_key"]')
KB=$(b user show bob --json | jq_ 'd["public_key"]')
tap_check "peers added with each other's pinned keys and addresses" bash -c \
  "'$CTL' --admin '$SA' peer add bob@fabrikam --key '$KB' --addr 127.0.0.1:$PB &&
   '$CTL' --admin '$SB' peer add alice@contoso --key '$KA' --addr 127.0.0.1:$PA &&
   '$CTL' --admin '$SA' peer add carol@fabrikam --key '$KA' --addr 127.0.0.1:$PB"
tap_check "policies allowing E2EE, both users turn it on" bash -c \
  "'$CTL' --admin '$SA' policy add open --e2ee users-can-turn-on &&
   '$CTL' --admin '$SA' policy assign open --tenant &&
   '$CTL' --admin '$SB' policy add open --e2ee users-can-turn-on &&
   '$CTL' --admin '$SB' policy assign open --tenant &&
   '$CTL' --admin '$SA' user set alice --e2ee on && '$CTL' --admin '$SB' user set bob --e2ee on"

# ---- an e2ee call -------------------------------------------------------------------
a call dial --from alice --to bob@fabrikam --local-media 127.0.0.1:21500 >"$TEST_TMP/dial1" 2>&1
tap_result $? "call dial alice -> bob@fabrikam" || sed 's/^/#   /' "$TEST_TMP/dial1"
ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial1")
CODE=$(sed -n 's/^security code: //p' "$TEST_TMP/dial1")
tap_is "$(grep -c '^mode: e2ee$' "$TEST_TMP/dial1")" 1 "the call is e2ee"
tap_is "$(echo "$CODE" | grep -cE '^[0-9]{5} [0-9]{5} [0-9]{5} [0-9]{5}$')" 1 \
  "the security code is 20 digits in groups of five"
tap_is "$(echo "$ID" | grep -cE '^[0-9a-f]{16}$')" 1 "the call id is 16 hex digits"
SHA=$(a call show "$ID" --json | jq_ 'd["id"], d["mode"], d["security_code"], d["state"]' | tr '\n' ' ')
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
SHB=$(b call show "$ID" --json | jq_ 'd["id"], d["mode"], d["security_code"], d["state"]' | tr '\n' ' ')
tap_is "$SHA" "$ID e2ee $CODE active " "call show on the caller: id, mode, code"
tap_is "$SHB" "$SHA" "call show on the callee shows the same id, mode and code"
tap_is "$(b call list --json | jq_ 'len(d), d[0]["peer"], d[0]["role"]' | tr '\n' ' ')" \
  "1 alice@contoso callee " "call list on the callee"

EA=$(entries "$TA") EB=$(entries "$TB")
AO=$(echo "$EA" | awk '$1=="out"{print $2}') AI=$(echo "$EA" | awk '$1=="in"{print $2}')
BO=$(echo "$EB" | awk '$1=="out"{print $2}') BI=$(echo "$EB" | awk '$1=="in"{print $2}')
tap_is "$(count "$TA") $(count "$TB")" "2 2" "two entries in each table"
tap_is "$AO" "$BI" "caller out key == callee in key"
tap_is "$AI" "$BO" "caller in key == callee out key"
tap_is "$([ -n "$AO" ] && [ "$AO" != "$AI" ] && echo distinct)" distinct "the two directions differ"
tap_is "$("$DUMP" "$TA" | grep -cE "mode=e2ee gen=[0-9]+ call_id=$ID ")" 2 "the caller's entries are e2ee with the call id"

a call record "$ID" >"$TEST_TMP/rec.out" 2>"$TEST_TMP/rec.err"
tap_is "$? $(grep -c 'not available while the call is end-to-end encrypted' "$TEST_TMP/rec.err")" \
  "1 1" "call record is refused in e2ee"
b call keys "$ID" >"$TEST_TMP/keys.out" 2>"$TEST_TMP/keys.err"
tap_is "$? $(grep -c 'not available while the call is end-to-end encrypted' "$TEST_TMP/keys.err")" \
  "1 1" "call keys is refused in e2ee (callee side)"
# the product's full list (docs/policy.md "Features"): each refused on either side
FEATURES="record transcribe captions transfer consult-transfer transfer-device park merge
  add-participant voicemail simulring keys"
for F in $FEATURES; do
  a call "$F" "$ID" >/dev/null 2>"$TEST_TMP/f.err"; RA=$?
  b call "$F" "$ID" --json >/dev/null 2>"$TEST_TMP/f.errb"; RB=$?
  tap_is "$RA $RB $(grep -c '^callsealctl: not available while the call is end-to-end encrypted$' \
    "$TEST_TMP/f.err" "$TEST_TMP/f.errb" | cut -d: -f2 | tr '\n' ' ')" "1 1 1 1 " \
    "call $F is refused in e2ee on both sides, with the one message" ||
    sed 's/^/#   /' "$TEST_TMP/f.err"
done
# the dataplane's counters in call show (docs/operations.md): none without
# its statistics area; then callseal-dpstats-writer plays the dataplane
a call show "$ID" >"$TEST_TMP/show0" 2>&1
tap_is "$(grep -c "^media: no dataplane statistics (is callseal-dataplane running on table $TA?)\$" "$TEST_TMP/show0") $(grep -c '^auto rekeys: 0 ' "$TEST_TMP/show0")" \
  "1 1" "call show without a dataplane: no statistics, 0 automatic rekeys" || sed 's/^/#   /' "$TEST_TMP/show0"
tap_is "$(a call show "$ID" --json | jq_ '"%s|%s|%s" % (d["media"], d["media_note"], d["auto_rekeys"])')" \
  "None|no dataplane statistics (is callseal-dataplane running on table $TA?)|0" "call show --json without a dataplane"
"$DPW" "$TA" 127.0.0.1:21500 4 >"$TEST_TMP/dpw" 2>&1 &
DPW_PID=$!
wait_until 5 grep -q '^ready$' "$TEST_TMP/dpw"
a call show "$ID" >"$TEST_TMP/show1" 2>&1
tap_is "$(grep -cE '^media out: 100 packets, 17200 bytes, last packet [0-9]+ ms ago; dropped: index_reuse 0, key_exhausted 0, other 0$' "$TEST_TMP/show1") $(grep -cE '^media in: 90 packets, 15480 bytes, last packet [0-9]+ ms ago; dropped: auth 0, replay 2, key_exhausted 0, other 0$' "$TEST_TMP/show1")" \
  "1 1" "call show: the leg's counters out and in" || sed 's/^/#   /' "$TEST_TMP/show1" "$TEST_TMP/dpw"
tap_is "$(a call show "$ID" --json | jq_ '(d["media"]["out"]["packets"], d["media"]["out"]["bytes"], d["media"]["out"]["index_reuse"], d["media"]["in"]["packets"], d["media"]["in"]["replay"], d["media"]["in"]["auth"], d["media"]["out"]["last_packet_age_ms"] >= 0, d["auto_rekeys"])')" \
  "(100, 17200, 0, 90, 2, 0, True, 0)" "call show --json: the counters, last packet age, automatic rekeys"
tap_is "$(b call show "$ID" | grep -c '^media: no dataplane statistics')" 1 "the callee's table has no dataplane: its own line"
wait "$DPW_PID"
a call rekey "$ID" >"$TEST_TMP/rekey" 2>&1
tap_result $? "call rekey" || sed 's/^/#   /' "$TEST_TMP/rekey"
tap_is "$(cat "$TEST_TMP/rekey")" \
  "call $ID: rekeyed (rekey 1 of the call): new keys from each sender's next packet once the peer holds them, the old keys kept for late packets" \
  "call rekey says when the new keys apply (no from-index)"
wait_until 5 bash -c "[ \"\$('$CTL' --admin '$SB' call show '$ID' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"rekeys\"])')\" = 1 ]"
tap_result $? "the rekey reaches bob (rekeys 1)"
tap_is "$(a call show "$ID" --json | jq_ 'd["rekeys"], d["next_from_index"], d["next_on_auth"]' | tr '\n' ' ')" \
  "1 None True " "call show --json: rekeys 1, next_from_index null, next_on_auth true"
# a's IN entry holds bob's new key pending on auth; its OUT entry was replaced
a key list >"$TEST_TMP/klist" 2>&1
tap_is "$(awk '$2=="in"{print $6} $2=="out"{print $6}' "$TEST_TMP/klist" | sort | tr '\n' ' ') $(head -1 "$TEST_TMP/klist" | awk '{print $6}')" \
  "- on-auth  NEXT-FROM" "key list: NEXT-FROM on-auth on the IN entry, - on the OUT entry (replaced, never scheduled)" ||
  sed 's/^/#   /' "$TEST_TMP/klist"
tap_is "$(a key list --json | jq_ '[(x["direction"], x["next"] and (x["next"]["from_index"], x["next"]["on_auth"])) for x in sorted(d, key=lambda x: x["direction"])]')" \
  "[('in', (None, True)), ('out', None)]" "key list --json: the IN entry's next key from_index null, on_auth true"
tap_check "call end" a call end "$ID"
wait_until 5 bash -c "[ \"\$('$DUMP' '$TB' | grep -vc '^#')\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB")" "0 0" "call end removes the entries from both tables"
tap_is "$(a call list --json | jq_ 'len(d)') $(b call list --json | jq_ 'len(d)')" "0 0" \
  "no calls left on either side"

# ---- standard: bob's setting off ---------------------------------------------------
tap_check "bob turns e2ee off" b user set bob --e2ee off
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial2" 2>&1
tap_result $? "call dial with bob's setting off" || sed 's/^/#   /' "$TEST_TMP/dial2"
ID2=$(sed -n 's/^call id: //p' "$TEST_TMP/dial2")
tap_is "$(grep -c '^mode: standard (.*bob.*)$' "$TEST_TMP/dial2")" 1 \
  "the call is standard with a reason naming bob" || sed 's/^/#   /' "$TEST_TMP/dial2"
tap_is "$(grep -c '^security code' "$TEST_TMP/dial2")" 0 "no security code for a standard call"
# standard: each feature says it is allowed and what callseal does (none is done here)
for F in $FEATURES; do
  [ "$F" = keys ] && continue
  OUT=$(a call "$F" "$ID2" 2>&1); R=$?
  tap_is "$R $(echo "$OUT" | grep -c "^call $ID2: $F: allowed on a standard call; callseal [a-z].*")" \
    "0 1" "call $F on a standard call is allowed and says what callseal does" ||
    echo "# $OUT"
done
# issue 15: `callsealctl call --help` is the call commands (it printed the whole help)
"$CTL" call --help >"$TEST_TMP/callhelp.out" 2>&1; R=$?
"$CTL" --help | grep '^  call ' >"$TEST_TMP/callrows.want"
tap_is "$R $(grep '^  [a-z]' "$TEST_TMP/callhelp.out" | grep -vc '^  call ') \
$(grep '^  call ' "$TEST_TMP/callhelp.out" | cmp - "$TEST_TMP/callrows.want" && echo same)" \
  "0 0 same" "call --help: every call command's synopsis (as --help has them) and no other command" ||
  sed 's/^/#   /' "$TEST_TMP/callhelp.out"
tap_is "$(grep -c 'performed here' "$TEST_TMP/callhelp.out")" 1 "  ... with their help text"
"$CTL" frob --help >"$TEST_TMP/frobhelp.out" 2>&1
tap_is "$? $(cat "$TEST_TMP/frobhelp.out")" \
  "2 callsealctl: unknown command 'frob' (commands: key, group, user, policy, peer, call, status, stats, help)" \
  "frob --help: an unknown command, nothing else"
tap_is "$(a call record "$ID2")" "call $ID2: record: allowed on a standard call; callseal records \
nothing itself: the compliance recorder gets the call's keys with \`call keys\`" \
  "call record on a standard call: nothing records here; the recorder gets the keys"
tap_is "$(b call transfer "$ID2" --json | jq_ '"%s|%s" % (d["command"], d["message"])')" \
  "call transfer|call $ID2: transfer: allowed on a standard call; callseal does not move calls: nothing was transferred" \
  "call transfer --json on the callee: the same honest answer"
a call keys "$ID2" >"$TEST_TMP/keys2" 2>&1
tap_result $? "call keys in a standard call (recorder configured)" || sed 's/^/#   /' "$TEST_TMP/keys2"
tap_is "$(wc -l <"$TEST_TMP/keys2") $(grep -cE '^[A-Za-z0-9+/]+=*$' "$TEST_TMP/keys2")" "1 1" \
  "call keys prints one base64 line and nothing else"
tap_is "$(a call keys "$ID2" --json | jq_ '"%s %s %d" % (d["command"], d["call_id"], len(d["sealed_keys"]))')" \
  "call keys $ID2 $(wc -c <"$TEST_TMP/keys2" | awk '{print $1 - 1}')" "call keys --json: the same sealed blob in an object"
"$RECOPEN" "$TEST_TMP/recorder.sk" <"$TEST_TMP/keys2" | sed -E 's/^call_id=[^ ]* ([a-z]+) .*key_sha256=([0-9a-f]+)$/\1 \2/' | sort >"$TEST_TMP/keys2.open"
tap_is "$(cat "$TEST_TMP/keys2.open")" "$(entries "$TA" | grep -v '^$')" \
  "the recorder opens the keys: they equal the caller's table entries"
"$RECOPEN" "$TEST_TMP/recorder.sk" <"$TEST_TMP/keys2" | grep -c "^call_id=$ID2 " >"$TEST_TMP/keys2.ids"
tap_is "$(cat "$TEST_TMP/keys2.ids")" 2 "the sealed keys name the call"
"$RECOPEN" --keygen "$TEST_TMP/other.sk" >/dev/null
"$RECOPEN" "$TEST_TMP/other.sk" <"$TEST_TMP/keys2" >/dev/null 2>&1
tap_is "$?" 1 "another key cannot open them"
b call keys "$ID2" >/dev/null 2>"$TEST_TMP/keys2b.err"
tap_is "$? $(grep -c 'no compliance recorder' "$TEST_TMP/keys2b.err")" "1 1" \
  "call keys is refused where no recorder is configured"
tap_is "$("$DUMP" "$TA" | grep -cE "mode=standard gen=[0-9]+ call_id=$ID2 ")" 2 "standard entries installed"
tap_check "call end (standard)" b call end "$ID2"
wait_until 5 bash -c "[ \"\$('$DUMP' '$TA' | grep -vc '^#')\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB")" "0 0" "entries removed on both sides"

# ---- compliance recording on bob: standard with the reason on both sides ----------
tap_check "bob's e2ee on again, then compliance recording on for bob" bash -c \
  "'$CTL' --admin '$SB' user set bob --e2ee on &&
   '$CTL' --admin '$SB' user set bob --compliance-recording on"
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial3" 2>&1
tap_result $? "call dial to bob under compliance recording" || sed 's/^/#   /' "$TEST_TMP/dial3"
ID3=$(sed -n 's/^call id: //p' "$TEST_TMP/dial3")
tap_is "$(grep -c '^mode: standard (compliance recording applies to bob@fabrikam)$' "$TEST_TMP/dial3")" 1 \
  "the caller's answer: standard, compliance recording applies to bob@fabrikam" ||
  sed 's/^/#   /' "$TEST_TMP/dial3"
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID3' >/dev/null 2>&1"
tap_is "$(b call show "$ID3" --json | jq_ '"%s|%s" % (d["mode"], d["reason"])')" \
  "standard|compliance recording applies to bob@fabrikam" "the callee shows the same mode and reason"
OUT=$(b call record "$ID3" 2>&1)
tap_is "$? $OUT" "0 call $ID3: record: allowed on a standard call; callseal records nothing itself: \
the compliance recorder gets the call's keys with \`call keys\`" "bob's call may be recorded: record answers how"
tap_check "call end (compliance)" a call end "$ID3"
tap_check "compliance recording off for bob" b user set bob --compliance-recording off

# ---- a wrong pinned key ----------------------------------------------------------
a call dial --from alice --to carol@fabrikam >"$TEST_TMP/dial3.out" 2>"$TEST_TMP/dial3.err"
tap_is "$? $(grep -c 'pinned' "$TEST_TMP/dial3.err")" "1 1" \
  "a call to a peer whose key differs from the pinned one is refused" ||
  sed 's/^/#   /' "$TEST_TMP/dial3.err"
wait_for 5 bash -c "[ \"\$('$CTL' --admin '$SB' call list | tail -n +2 | grep -c .)\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB")" "0 0" "nothing installed on either side"

# ---- control restarts: calls go on, and can be ended after -------------------------
tap_check "bob turns e2ee on again" b user set bob --e2ee on
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial4" 2>&1
tap_result $? "call dial before a restart" || sed 's/^/#   /' "$TEST_TMP/dial4"
ID4=$(sed -n 's/^call id: //p' "$TEST_TMP/dial4")
CODE4=$(sed -n 's/^security code: //p' "$TEST_TMP/dial4")
KEYS4A=$(entries "$TA") KEYS4B=$(entries "$TB")
KA_BEFORE=$(a user show alice --json | jq_ 'd["public_key"]')
stop_proc "$PID_A"
wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID4' | grep -q '^control channel: lost'"
tap_result $? "SIGTERM on the caller's daemon: the callee's call stays active, channel lost" ||
  b call show "$ID4" | sed 's/^/#   /'
tap_is "$(entries "$TA")|$(entries "$TB")" "$KEYS4A|$KEYS4B" \
  "both tables keep the call's keys while the caller's daemon is down"
start_a ctl_a2
wait_until 10 a status >/dev/null 2>&1
tap_result $? "the caller's daemon restarts" || tail -3 "$TEST_TMP/ctl_a2.log" | sed 's/^/#   /'
tap_is "$(a user show alice --json | jq_ 'd["public_key"]')" "$KA_BEFORE" \
  "alice's identity key persists across the restart"
tap_is "$(grep -c '1 active taken over' "$TEST_TMP/ctl_a2.log")" 1 "the restart log says the call was taken over"
tap_is "$(a call show "$ID4" --json | jq_ 'd["state"], d["mode"], d["security_code"], d["peer"], d["control_channel"]' | tr '\n' '|')" \
  "active e2ee $CODE4 bob@fabrikam lost (callseal-control restarted)|" \
  "after the restart call show has the same call, mode and code, channel lost"
tap_is "$(entries "$TA")" "$KEYS4A" "the caller's table entries survived the restart unchanged"
a call rekey "$ID4" >/dev/null 2>"$TEST_TMP/rekey4.err"
tap_is "$? $(grep -c 'no control connection' "$TEST_TMP/rekey4.err")" "1 1" \
  "rekey of a call without a control connection is refused with the reason"
a call end "$ID4" >"$TEST_TMP/end4" 2>&1
tap_is "$? $(grep -c "on this side only: its control channel was lost, so bob@fabrikam keeps its keys" "$TEST_TMP/end4")" \
  "0 1" "call end after the restart (caller) says it ends this side only" || sed 's/^/#   /' "$TEST_TMP/end4"
tap_is "$(count "$TA") $(a call list --json | jq_ 'len(d)')" "0 0" "the caller's entries are gone"
tap_check "call end on the callee" b call end "$ID4"
tap_is "$(count "$TB")" 0 "the callee's entries are gone"

# the same after kill -9, with a call in each direction
a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial5" 2>&1
ID5=$(sed -n 's/^call id: //p' "$TEST_TMP/dial5")
kill -KILL "$PID_A"; wait "$PID_A" 2>/dev/null
start_a ctl_a3
wait_until 10 a status >/dev/null 2>&1
tap_is "$(a call show "$ID5" --json 2>&1 | jq_ 'd["state"], d["control_channel"]' | tr '\n' '|')" \
  "active lost (callseal-control restarted)|" "after kill -9 and a restart the call is taken over"
tap_is "$(count "$TA") $(count "$TB")" "2 2" "both tables still hold the call's entries"
tap_check "a new call works after the restart" a call dial --from alice --to bob@fabrikam
tap_is "$(count "$TA")" 4 "the new call got its own media port and entries"
for id in $(a call list --json | jq_ '"\n".join(c["id"] for c in d)'); do
  a call end "$id" >/dev/null; b call end "$id" >/dev/null 2>&1
done
wait_until 5 bash -c "[ \"\$('$DUMP' '$TB' | grep -vc '^#')\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB")" "0 0" "every call ended on both sides"

# ---- a dial waiting for a silent callee does not hold up the daemon --------------
spawn_listen silent SILENT 10 python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
c, _ = s.accept(); time.sleep(8)' @PORT@
SILENT_PID=$SPAWN_PID
tap_check "peer dave@silent at a listener that never answers" \
  a peer add dave@silent --key "$KB" --addr "127.0.0.1:$SILENT"
T0=$(date +%s%N)
a call dial --from alice --to dave@silent >"$TEST_TMP/dial6.out" 2>"$TEST_TMP/dial6.err" &
DIAL_PID=$!
# the dial is under way: the silent listener has its connection
wait_for 5 bash -c "ss -Htn state established '( dport = :$SILENT )' | grep -q ."
a call list >/dev/null && a user list >/dev/null && a call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial7" 2>&1
RC=$?
T1=$(date +%s%N)
tap_is "$RC $(( (T1 - T0) / 1000000 < 3000 ))" "0 1" \
  "while one dial waits, other requests and another call are served at once" ||
  sed 's/^/#   /' "$TEST_TMP/dial7"
wait "$DIAL_PID"
RC=$?
tap_is "$RC $(grep -c 'timed out' "$TEST_TMP/dial6.err")" "1 1" \
  "the waiting dial fails with the handshake timeout" || sed 's/^/#   /' "$TEST_TMP/dial6.err"
stop_proc "$SILENT_PID" 1
ID7=$(sed -n 's/^call id: //p' "$TEST_TMP/dial7")
a call end "$ID7" >/dev/null
wait_until 5 bash -c "[ \"\$('$DUMP' '$TB' | grep -vc '^#')\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB")" "0 0" "nothing left of either call"

# ---- dial --json, and bad dial arguments stop at callsealctl ------------------------
a call dial --from alice --to bob@fabrikam --json >"$TEST_TMP/dialj" 2>&1
IDJ=$(jq_ 'd["call_id"]' <"$TEST_TMP/dialj")
tap_is "$(jq_ '"%s %d %s" % (d["mode"], len(d["security_code"]), d["remote_media"] != "")' <"$TEST_TMP/dialj")" \
  "e2ee 23 True" "call dial --json: id, mode, security code, media" || sed 's/^/#   /' "$TEST_TMP/dialj"
tap_is "$(a call show "$IDJ" --json | jq_ 'd["security_code"]')" "$(jq_ 'd["security_code"]' <"$TEST_TMP/dialj")" \
  "  ... the same code as call show"
a call dial --from alice --to bob@fabrikam --local-media "$(a call show "$IDJ" --json | jq_ 'd["local_media"]')" \
  >/dev/null 2>"$TEST_TMP/clash.err"
tap_is "$? $(grep -c "is in use by call $IDJ" "$TEST_TMP/clash.err")" "1 1" \
  "a --local-media already in use is refused, naming the call"
head -c 44 /dev/urandom | base64 -w0 | a key add --local 127.0.0.1:21777 --direction out \
  --profile AEAD_AES_256_GCM --inline - >/dev/null
a call dial --from alice --to bob@fabrikam --local-media 127.0.0.1:21777 >/dev/null 2>"$TEST_TMP/clash2.err"
tap_is "$? $(grep -c 'already has a stream in the key table' "$TEST_TMP/clash2.err")" "1 1" \
  "a --local-media a static key uses is refused before any handshake"
a key del --local 127.0.0.1:21777 --direction out >/dev/null
b user del bob >/dev/null 2>"$TEST_TMP/udel.err"
tap_is "$? $(grep -c 'has a call in set-up or active' "$TEST_TMP/udel.err")" "1 1" \
  "user del of a user in a call is refused"
tap_check "call end --json" bash -c "'$CTL' --admin '$SA' call end '$IDJ' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"call_id\"] == \"$IDJ\"'"
bad_dial() {   # bad_dial DESC PATTERN ARGS...: exit 2, nothing sent, the option named
  local desc=$1 pat=$2; shift 2
  "$CTL" --admin "$SA" call dial "$@" >/dev/null 2>"$TEST_TMP/bd.err"
  tap_is "$? $(grep -c -- "$pat" "$TEST_TMP/bd.err")" "2 1" "$desc" || sed 's/^/#   /' "$TEST_TMP/bd.err"
}
bad_dial "call dial --to without a tenant" "--to must be user@tenant" --from alice --to bob
bad_dial "call dial --local-media that is not IP:port" "--local-media: expected IP:port" \
  --from alice --to bob@fabrikam --local-media foo
bad_dial "call dial --local-media 0.0.0.0 is refused" "--local-media: 0.0.0.0 and :: are not" \
  --from alice --to bob@fabrikam --local-media 0.0.0.0:21600
bad_dial "call dial --remote-media [::]" "--remote-media: 0.0.0.0 and :: are not" \
  --from alice --to bob@fabrikam --remote-media '[::]:5004'
bad_dial "an unknown option is named" "unknown option --bogus" --from alice --to bob@fabrikam --bogus
"$CTL" --admin "$SA" call end 'zz;rm' >/dev/null 2>"$TEST_TMP/bid.err"
tap_is "$? $(grep -c 'zz' "$TEST_TMP/bid.err")" "2 0" "a malformed call id: exit 2, not echoed"
tap_is "$(cat "$TEST_TMP"/ctl_a*.log | grep -cE 'refused call dial from pid [0-9]+: ?$')" 0 \
  "successful dials are not logged as refusals with no reason"
tap_is "$(cat "$TEST_TMP"/ctl_a*.log | grep -c 'refused call dial from pid [0-9]*: --local-media .* is in use')" 1 \
  "  ... a refused one is, with its reason"
timeout 10 "$CONTROL" --table bad-listen-$$ --state "$TEST_TMP/sbad" --admin "$TEST_TMP/bad.sock" \
  --tenant contoso --listen foo >"$TEST_TMP/badlisten.log" 2>&1
tap_is "$? $(grep -c -- '--listen: expected IP:port' "$TEST_TMP/badlisten.log") $(ls /dev/shm | grep -c "bad-listen-$$")" \
  "2 1 0" "a bad --listen: exit 2 before any table or store is made"

# ---- many calls at once: the poll array grows past its first 64 ------------------
N=80
for i in $(seq $N); do a call dial --from alice --to bob@fabrikam >/dev/null 2>&1 || break; done
tap_is "$(a call list --json | jq_ 'len(d)') $(count "$TA") $(count "$TB")" "$N $((2 * N)) $((2 * N))" \
  "$N calls at once: every call active, two entries each on both sides"
for id in $(a call list --json | jq_ '"\n".join(c["id"] for c in d)'); do a call end "$id" >/dev/null; done
wait_until 10 bash -c "[ \"\$('$DUMP' '$TB' | grep -vc '^#')\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB") $(b call list --json | jq_ 'len(d)')" "0 0 0" \
  "  ... all ended from the caller: END reached the callee over every control channel"

# ---- out of descriptors: connections are shed, the daemon does not spin ------------
spawn_listen ctl_t PT 10 bash -c "ulimit -n 40 && exec '$CONTROL' --table '$TT' --state '$TEST_TMP/st' \
  --admin '$TEST_TMP/t.sock' --capacity 16 --tenant tiny --listen 127.0.0.1:@PORT@ --handshake-timeout 4000"
PID_T=$SPAWN_PID
wait_until 10 "$CTL" --admin "$TEST_TMP/t.sock" status >/dev/null 2>&1
ticks() { awk '{print $14 + $15}' "/proc/$PID_T/stat"; }
T0=$(ticks)
python3 - "$PT" >"$TEST_TMP/flood.out" 2>&1 <<'PY'
import socket, sys, time
held = []
for i in range(60):                     # more than the daemon has descriptors for
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    held.append(s)
time.sleep(2)
shed = 0
for s in held:                          # the shed ones were closed by the daemon
    s.setblocking(False)
    try:
        shed += s.recv(1) == b""
    except BlockingIOError:
        pass
print(shed)
PY
T1=$(ticks)
tap_is "$(( $(cat "$TEST_TMP/flood.out") > 0 )) $(( T1 - T0 < 50 ))" "1 1" \
  "out of descriptors: extra connections are closed, the daemon does not spin ($((T1 - T0)) ticks in 2 s)" ||
  sed 's/^/#   /' "$TEST_TMP/flood.out"
"$CTL" --admin "$TEST_TMP/t.sock" status >/dev/null 2>&1
tap_is "$?" 0 "  ... and it still serves its admin socket afterwards"
stop_proc "$PID_T"

# ---- refusals and no keys in the logs -------------------------------------------
"$CTL" --admin "$SA" call dial --from alice >/dev/null 2>&1
tap_is "$?" 2 "call dial without --to is refused by callsealctl"
a call show 0123456789abcdef >/dev/null 2>&1
tap_is "$?" 1 "call show of an unknown id is refused"
tap_is "$(cat "$TEST_TMP"/ctl_*.log | grep -ciE 'key_sha256|inline')" \
  0 "no key material in the daemons' logs"

stop_proc "$SPAWN_PID"
tap_done
