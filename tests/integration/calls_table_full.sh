#!/usr/bin/env bash
# calls_table_full.sh - call churn at a full key table (issue 14, "Faults"):
# bob's table holds 3 calls (6 entries, --capacity 6), alice's more. A call
# that finds a full table, at the callee (bob, a 4th call from alice) or at
# the caller (bob dialling alice), fails with a clear reason and leaves no key
# on either side; calls in progress are untouched; ending one makes room for
# the next; churn at the limit (end the oldest, dial one, dial one too many)
# never leaves a key without its call; at the end both tables are empty.
#
# usage: calls_table_full.sh CONTROL CALLSEALCTL KEYTABLE_DUMP
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DUMP=$3
require_cmd python3

TA="cfa$$x$RANDOM" TB="cfb$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT
. "$(dirname "$0")/e2ee_call.sh"

count() { "$DUMP" "$1" | grep -vc '^#'; }
active() { "$CTL" --admin "$1" call list --json | jq_ 'sum(1 for c in d if c["state"] == "active")'; }
# ids SOCKET: the active calls' ids, sorted
ids() { "$CTL" --admin "$1" call list --json | jq_ '" ".join(sorted(c["id"] for c in d if c["state"] == "active"))'; }
# tables_match: every entry of each table belongs to an active call there
# (2 entries per active call), on both sides
tables_match() {
  [ "$(count "$TA")" -eq $(( 2 * $(active "$SA") )) ] &&
  [ "$(count "$TB")" -eq $(( 2 * $(active "$SB") )) ] &&
  [ "$(ids "$SA")" = "$(ids "$SB")" ]
}
dial() {   # dial PORT: alice -> bob from 10.200.0.1:PORT; prints the call id
  a call dial --from alice --to bob@fabrikam --local-media "10.200.0.1:$1" 2>&1
}

CTL_CAPACITY=16 CTL_CAPACITY_B=6 B_MEDIA_POOL=10.200.0.2:40000-40009
e2ee_call "call 1 (alice -> bob)"
IDS=("$ID")
for p in 6002 6004; do
  out=$(dial $p); IDS+=("$(sed -n 's/^call id: //p' <<<"$out")")
done
wait_until 5 tables_match
tap_is "$(active "$SA") $(active "$SB") $(count "$TA") $(count "$TB")" "3 3 6 6" \
  "three calls up: bob's table is full (6 of 6 entries)"

# ---- the callee's table is full --------------------------------------------------------------
out=$(dial 6006); rc=$?
echo "$out" | sed 's/^/#   /'
[ $rc -ne 0 ] && grep -qi "full\|capacity\|no room" <<<"$out"
tap_result $? "a 4th call fails at the callee's full table, and says so"
wait_until 5 tables_match
tap_result $? "it leaves no key on either side (every entry belongs to an active call)" ||
  { "$DUMP" "$TA"; "$DUMP" "$TB"; a call list; b call list; } 2>&1 | sed 's/^/#   /'
tap_is "$(active "$SA") $(active "$SB") $(count "$TA") $(count "$TB")" "3 3 6 6" \
  "the three calls are untouched"

# ---- the caller's table is full --------------------------------------------------------------
out=$(b call dial --from bob --to alice@contoso --local-media 10.200.0.2:40009 2>&1); rc=$?
echo "$out" | sed 's/^/#   /'
[ $rc -ne 0 ] && grep -qi "full\|capacity\|no room" <<<"$out"
tap_result $? "bob dialling with his table full fails, and says so"
wait_until 5 tables_match
tap_result $? "it leaves no key on either side" ||
  { "$DUMP" "$TA"; "$DUMP" "$TB"; } 2>&1 | sed 's/^/#   /'

# ---- churn at the limit ----------------------------------------------------------------------
ok_churn=0 bad=""
for round in $(seq 1 8); do
  a call end "${IDS[0]}" >/dev/null 2>&1; IDS=("${IDS[@]:1}")
  wait_until 5 bash -c "[ \"\$('$DUMP' '$TB' | grep -vc '^#')\" -eq 4 ]" || bad="$bad end$round"
  out=$(dial $((6100 + 2 * round))); id=$(sed -n 's/^call id: //p' <<<"$out")
  [ -n "$id" ] && IDS+=("$id") || bad="$bad dial$round"
  dial $((6200 + 2 * round)) >/dev/null 2>&1 && bad="$bad extra$round"
  wait_until 5 tables_match || bad="$bad match$round"
  [ "$(count "$TB")" -le 6 ] || bad="$bad over$round"
done
tap_is "${bad:-none}" "none" \
  "8 rounds at the limit: end the oldest, dial one (it fits), dial one too many (refused); tables and calls agree after each"

for id in "${IDS[@]}"; do a call end "$id" >/dev/null 2>&1; done
wait_until 5 bash -c "[ \"\$('$DUMP' '$TA' | grep -vc '^#')\" -eq 0 ] && [ \"\$('$DUMP' '$TB' | grep -vc '^#')\" -eq 0 ]"
tap_result $? "every call ended: both tables empty"
tap_done
