#!/usr/bin/env bash
# calls_tenant.sh - calls within one tenant through real daemons (issue 13,
# docs/calls.md "Calls within a tenant"):
#  - two users of ONE daemon (alice and carol of contoso, site 1): the daemon
#    dials its own listener; both legs show the same call id, mode and
#    security code; each leg has its own pool address and two entries, keys
#    crosswise (the caller leg's out = the callee leg's in); call show prints
#    both legs, call list both rows, call rekey reaches both (OUT entries
#    replaced, IN entries with the peer leg's new key on auth), call end ends
#    both; standard when carol's setting is off, and `call keys` gives the
#    recorder the caller leg's keys, equal to the table's;
#  - two daemons of the SAME tenant (contoso at two sites, two state dirs):
#    alice@contoso (site 1) and dave@contoso (site 2), e2ee and standard, the
#    same code on both daemons, keys crosswise between the two tables, and
#    the same rekey invariant across them.
#
# usage: calls_tenant.sh CONTROL CALLSEALCTL KEYTABLE_DUMP RECORDER_OPEN
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DUMP=$3 RECOPEN=$4
require_cmd python3

TA="cta$$x$RANDOM" TB="ctb$$x$RANDOM"
SA="$TEST_TMP/a.sock" SB="$TEST_TMP/b.sock"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TA" "/dev/shm/callseal.$TA.resume" "/dev/shm/callseal.$TB" "/dev/shm/callseal.$TB.resume"' EXIT

# at TABLE ADDR DIR: the key digest of the entry at ADDR, direction DIR
at() {
  "$DUMP" "$1" | grep -v '^#' | sed -nE "s|^$2/$3 .*key_sha256=([0-9a-f]+).*|\1|p"
}
# entries TABLE: "DIR HASH" per entry, sorted
entries() {
  "$DUMP" "$1" | grep -v '^#' | sed -E 's|^[^ ]*/([a-z]+) .*key_sha256=([0-9a-f]+).*|\1 \2|' | sort
}
count() { "$DUMP" "$1" | grep -vc '^#'; }

# fld TABLE ADDR DIR FIELD: that field of the entry's dump line ("-": none)
fld() {
  "$DUMP" "$1" | grep -v '^#' | sed -nE "s|^$2/$3 .* $4=([^ ]+).*|\1|p"
}
# rekeyed LABEL GENS TX MX TY MY CMD...: leg X (table TX, media MX) rekeys the
# call with CMD; Y is the peer leg (the same table, or the other site's); GENS
# prints both legs' rekeys. The invariant of docs/calls.md "Rekey": both
# legs at rekey 1; each OUT entry replaced by a new key, nothing
# scheduled; each IN entry keeps its key for late packets and holds the peer
# leg's new OUT key pending on auth (no from-index), crosswise.
rekeyed() {
  local label=$1 gens=$2 tx=$3 mx=$4 ty=$5 my=$6 xo0 xi0 yo0 yi0
  shift 6
  xo0=$(at "$tx" "$mx" out) xi0=$(at "$tx" "$mx" in) yo0=$(at "$ty" "$my" out) yi0=$(at "$ty" "$my" in)
  tap_check "$label: call rekey" "$@"
  settled() {
    local xo yo
    xo=$(at "$tx" "$mx" out) yo=$(at "$ty" "$my" out)
    [ "$($gens)" = "1 1" ] && [ -n "$xo" ] && [ -n "$yo" ] && [ "$xo" != "$xo0" ] && [ "$yo" != "$yo0" ]
  }
  wait_until 5 settled
  tap_result $? "$label: both legs at rekey 1, both OUT entries hold new keys" ||
    { echo "rekeys: $($gens)"; "$DUMP" "$tx"; "$DUMP" "$ty"; } | sed 's/^/#   /'
  tap_is "$(fld "$tx" "$mx" out next_from) $(fld "$ty" "$my" out next_from) $(fld "$tx" "$mx" in next_from) $(fld "$ty" "$my" in next_from)" \
    "- - on_auth on_auth" "$label: OUT entries replaced (no next key), IN entries with a next key on auth" ||
    { "$DUMP" "$tx"; "$DUMP" "$ty"; } | sed 's/^/#   /'
  tap_is "$(at "$tx" "$mx" in) $(at "$ty" "$my" in)" "$xi0 $yi0" "$label: the IN entries keep the old keys for late packets"
  tap_is "$(fld "$tx" "$mx" in next_sha256) $(fld "$ty" "$my" in next_sha256)" \
    "$(at "$ty" "$my" out) $(at "$tx" "$mx" out)" \
    "$label: each IN entry's pending key == the peer leg's new OUT key (crosswise)"
}

. "$(dirname "$0")/tenant_sites.sh"
start_sites 127.0.0.1:23000-23099 127.0.0.1:24000-24099

a call dial --from alice --to alice@contoso >/dev/null 2>"$TEST_TMP/self.err"
tap_is "$? $(grep -c 'cannot call themselves' "$TEST_TMP/self.err")" "1 1" "alice cannot call herself"

# legs ID: "role mode code state local remote" per leg, from call show --json
legs() {
  a call show "$1" --json | jq_ '"\n".join("%s %s %s %s %s %s" % (l["role"], l["mode"], l["security_code"].replace(" ", "") or "-", l["state"], l["local_media"], l["remote_media"]) for l in d)'
}
# one_daemon LABEL MODE: a call alice -> carol@contoso on site 1, checked; ID out
one_daemon() {
  local label=$1 mode=$2 cm cc ci ri co ro code ci_
  a call dial --from alice --to carol@contoso >"$TEST_TMP/dial.$label" 2>&1
  tap_result $? "$label: call dial alice -> carol@contoso (same daemon)" ||
    sed 's/^/#   /' "$TEST_TMP/dial.$label"
  ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial.$label")
  CODE=$(sed -n 's/^security code: //p' "$TEST_TMP/dial.$label")
  code=${CODE// /}
  tap_is "$(grep -c "^mode: $mode" "$TEST_TMP/dial.$label")" 1 "$label: the call is $mode" ||
    sed 's/^/#   /' "$TEST_TMP/dial.$label"
  a call show "$ID" --json >"$TEST_TMP/legs.$label.json"
  legs "$ID" >"$TEST_TMP/legs.$label"
  cm=$(sed -n 's/^local media: //p' "$TEST_TMP/dial.$label")
  cc=$(awk '$1=="caller"{print $5}' "$TEST_TMP/legs.$label")
  ci=$(awk '$1=="callee"{print $5}' "$TEST_TMP/legs.$label")
  tap_is "$(awk '{print $1, $2, $3, $4}' "$TEST_TMP/legs.$label" | tr '\n' ';')" \
    "caller $mode ${code:--} active;callee $mode ${code:--} active;" \
    "$label: call show prints both legs, same mode and code, both active" ||
    sed 's/^/#   /' "$TEST_TMP/legs.$label"
  tap_is "$cc $(awk '$1=="caller"{print $6}' "$TEST_TMP/legs.$label") $([ "$cc" != "$ci" ] && echo distinct)" \
    "$cm $ci distinct" "$label: each leg its own pool address, remote media crosswise"
  tap_is "$(a call list --json | jq_ '" ".join(sorted("%s:%s" % (l["id"], l["role"]) for l in d))')" \
    "$ID:callee $ID:caller" "$label: call list shows the two legs of the one call"
  co=$(at "$TA" "$cc" out) ri=$(at "$TA" "$ci" in) ci_=$(at "$TA" "$cc" in) ro=$(at "$TA" "$ci" out)
  tap_is "$(count "$TA")" 4 "$label: four entries, two per leg"
  tap_is "$co" "$ri" "$label: caller leg out key == callee leg in key"
  tap_is "$ci_" "$ro" "$label: caller leg in key == callee leg out key"
  tap_is "$([ -n "$co" ] && [ "$co" != "$ci_" ] && echo distinct)" distinct "$label: the two directions differ"
  tap_is "$("$DUMP" "$TA" | grep -cE "mode=$mode gen=[0-9]+ call_id=$ID ")" 4 \
    "$label: all four entries $mode with the call id"
  CALLER_MEDIA=$cc CALLEE_MEDIA=$ci
}

# ---- one daemon, e2ee --------------------------------------------------------------
one_daemon "one daemon e2ee" e2ee
tap_is "$(echo "$CODE" | grep -cE '^[0-9]{5} [0-9]{5} [0-9]{5} [0-9]{5}$')" 1 \
  "one daemon e2ee: the security code is 20 digits"
a call record "$ID" >/dev/null 2>"$TEST_TMP/rec.err"
tap_is "$? $(grep -c 'not available while the call is end-to-end encrypted' "$TEST_TMP/rec.err")" \
  "1 1" "one daemon e2ee: call record is refused"
one_gens() { a call show "$ID" --json | jq_ '" ".join(str(l["rekeys"]) for l in d)'; }
rekeyed "one daemon e2ee" one_gens "$TA" "$CALLER_MEDIA" "$TA" "$CALLEE_MEDIA" a call rekey "$ID"
a call end "$ID" >"$TEST_TMP/end1" 2>&1
tap_result $? "one daemon e2ee: call end" || sed 's/^/#   /' "$TEST_TMP/end1"
tap_is "$(count "$TA") $(a call list --json | jq_ 'len(d)')" "0 0" \
  "one daemon e2ee: call end ends both legs: no entries, no calls"
tap_is "$(a call show "$ID" --json | jq_ '" ".join("%s/%s/%s" % (l["role"], l["state"], l["ended_by"]) for l in d)')" \
  "caller/ended/local callee/ended/local" "one daemon e2ee: call show of the ended call: both legs from the history, ended here"

# ---- one daemon, standard --------------------------------------------------------
tap_check "carol turns e2ee off" a user set carol --e2ee off
one_daemon "one daemon standard" standard
tap_is "$(grep -c '^mode: standard (.*carol.*)$' "$TEST_TMP/dial.one daemon standard")" 1 \
  "one daemon standard: the reason names carol"
tap_is "$(jq_ 'd[0]["reason"] == d[1]["reason"]' <"$TEST_TMP/legs.one daemon standard.json")" True \
  "one daemon standard: the same reason on both legs"
a call keys "$ID" >"$TEST_TMP/keys" 2>&1
tap_result $? "one daemon standard: call keys (recorder configured)" || sed 's/^/#   /' "$TEST_TMP/keys"
"$RECOPEN" "$TEST_TMP/recorder.sk" <"$TEST_TMP/keys" |
  sed -E 's/^call_id=[^ ]* ([a-z]+) .*key_sha256=([0-9a-f]+)$/\1 \2/' | sort >"$TEST_TMP/keys.open"
tap_is "$(cat "$TEST_TMP/keys.open" | tr '\n' ' ')" \
  "in $(at "$TA" "$CALLER_MEDIA" in) out $(at "$TA" "$CALLER_MEDIA" out) " \
  "one daemon standard: the recorder opens the caller leg's keys, equal to its entries"
tap_check "one daemon standard: call end" a call end "$ID"
tap_is "$(count "$TA") $(a call list --json | jq_ 'len(d)')" "0 0" "one daemon standard: both legs ended"

# ---- two daemons of one tenant ----------------------------------------------------
# two_sites LABEL MODE: alice@contoso (site 1) -> dave@contoso (site 2)
two_sites() {
  local label=$1 mode=$2 sa sb ea eb
  a call dial --from alice --to dave@contoso >"$TEST_TMP/dial.$label" 2>&1
  tap_result $? "$label: call dial alice -> dave@contoso (site 2)" || sed 's/^/#   /' "$TEST_TMP/dial.$label"
  ID=$(sed -n 's/^call id: //p' "$TEST_TMP/dial.$label")
  tap_is "$(grep -c "^mode: $mode" "$TEST_TMP/dial.$label")" 1 "$label: the call is $mode"
  wait_until 5 bash -c "'$CTL' --admin '$SB' call show '$ID' >/dev/null 2>&1"
  sa=$(a call show "$ID" --json | jq_ 'd["id"], d["mode"], d["security_code"], d["state"], d["reason"]' | tr '\n' ' ')
  sb=$(b call show "$ID" --json | jq_ 'd["id"], d["mode"], d["security_code"], d["state"], d["reason"]' | tr '\n' ' ')
  tap_is "$sb" "$sa" "$label: both sites show the same id, mode, code and reason"
  tap_is "$(b call show "$ID" --json | jq_ 'd["role"], d["peer"]' | tr '\n' ' ')" "callee alice@contoso " \
    "$label: site 2's leg is the callee's, peer alice@contoso"
  ea=$(entries "$TA") eb=$(entries "$TB")
  tap_is "$(count "$TA") $(count "$TB")" "2 2" "$label: two entries at each site"
  tap_is "$(echo "$ea" | awk '$1=="out"{print $2}')" "$(echo "$eb" | awk '$1=="in"{print $2}')" \
    "$label: site 1 out key == site 2 in key"
  tap_is "$(echo "$ea" | awk '$1=="in"{print $2}')" "$(echo "$eb" | awk '$1=="out"{print $2}')" \
    "$label: site 1 in key == site 2 out key"
  tap_is "$("$DUMP" "$TB" | grep -cE "mode=$mode gen=[0-9]+ call_id=$ID ")" 2 "$label: site 2's entries are $mode"
}
two_sites "two sites e2ee" e2ee
tap_is "$(a call show "$ID" --json | jq_ 'len(d["security_code"])')" 23 "two sites e2ee: a 20-digit code"
two_gens() { echo "$(a call show "$ID" --json | jq_ 'd["rekeys"]') $(b call show "$ID" --json | jq_ 'd["rekeys"]')"; }
rekeyed "two sites e2ee" two_gens "$TA" "$(a call show "$ID" --json | jq_ 'd["local_media"]')" \
  "$TB" "$(b call show "$ID" --json | jq_ 'd["local_media"]')" a call rekey "$ID"
tap_check "two sites e2ee: call end at site 1" a call end "$ID"
wait_until 5 bash -c "[ \"\$('$DUMP' '$TB' | grep -vc '^#')\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB")" "0 0" "two sites e2ee: entries removed at both sites"

tap_check "dave turns e2ee off" b user set dave --e2ee off
two_sites "two sites standard" standard
tap_is "$(a call show "$ID" --json | jq_ 'd["security_code"]')" "" "two sites standard: no security code"
tap_check "two sites standard: call end at site 2" b call end "$ID"
wait_until 5 bash -c "[ \"\$('$DUMP' '$TA' | grep -vc '^#')\" = 0 ]"
tap_is "$(count "$TA") $(count "$TB")" "0 0" "two sites standard: entries removed at both sites"

tap_is "$(cat "$TEST_TMP"/site*.log | grep -ciE 'key_sha256|inline')" 0 "no key material in the daemons' logs"
tap_done
