#!/usr/bin/env bash
# policy_cli.sh - callseal-control's user, group, policy and peer commands end
# to end (docs/policy.md): off by default, each assignment level and their
# precedence, "disabled wins" between groups, policy set, policy del of an
# assigned policy refused, bad input refused with nothing changed, everything
# kept across a restart, a tenant mismatch refused at start-up, --json that
# parses, and no private identity key in any output or the daemon's log (read
# from the store file itself with python3's sqlite3 once the daemon is down).
#
# usage: policy_cli.sh CONTROL CALLSEALCTL
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2
require_cmd python3
python3 -c 'import sqlite3' 2>/dev/null || tap_skip_all "python3 has no sqlite3 module"

TABLE="pol$$x$RANDOM"
SOCK="$TEST_TMP/admin.sock"
STATE="$TEST_TMP/state"
OUT="$TEST_TMP/outputs"     # every output of callsealctl, for the key search
mkdir -p "$OUT"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume"' EXIT

n_out=0
# ctl ARGS...: run callsealctl, keep a copy of stdout+stderr for the key search
ctl() {
  local st
  n_out=$((n_out + 1))
  "$CTL" --admin "$SOCK" "$@" >"$OUT/$n_out.out" 2>"$OUT/$n_out.err"
  st=$?
  cat "$OUT/$n_out.out"
  cat "$OUT/$n_out.err" >&2
  return $st
}
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
eff() { ctl user show "$1" --json | jq_ 'd["policy"]["e2ee"], d["policy"]["source"], d["policy"]["name"], d["policy"]["group"]' | tr '\n' ' ' | sed 's/ $//'; }

start_daemon() {   # start_daemon NAME [TENANT]: sets DPID
  spawn "$1" "$CONTROL" --table "$TABLE" --state "$STATE" --admin "$SOCK" \
    --capacity 100 --tenant "${2:-contoso}"
  DPID=$SPAWN_PID
  wait_until 10 "$CTL" --admin "$SOCK" status >/dev/null 2>&1
}

# refuse WANT DESC ARGS...: callsealctl must exit WANT with one line on
# stderr and nothing on stdout
refuse() {
  local want=$1 desc=$2 st
  shift 2
  ctl "$@" >"$TEST_TMP/r.out" 2>"$TEST_TMP/r.err"
  st=$?
  tap_is "$st $(wc -l <"$TEST_TMP/r.err") $(wc -c <"$TEST_TMP/r.out")" "$want 1 0" "$desc" ||
    sed 's/^/#   /' "$TEST_TMP/r.err"
}

start_daemon control1
tap_result $? "daemon starts with --tenant contoso and creates its store" ||
  tap_bail "callseal-control did not start: $(tail -3 "$TEST_TMP/control1.log")"
tap_is "$(stat -c %a "$STATE/callseal.db")" 600 "store file is 0600"

# ---- off by default -----------------------------------------------------------
tap_check "group add sales, support, Zulu" bash -c "'$CTL' --admin '$SOCK' group add sales &&
  '$CTL' --admin '$SOCK' group add support && '$CTL' --admin '$SOCK' group add Zulu"
tap_check "user add alice in sales and support" ctl user add alice --group sales --group support
tap_check "user add bob, carol" bash -c "'$CTL' --admin '$SOCK' user add bob &&
  '$CTL' --admin '$SOCK' user add carol --group Zulu"
tap_is "$(eff alice)" "disabled none None None" "a new user's effective policy is disabled, source none"
refuse 1 "user set --e2ee on is refused while the policy is disabled" user set alice --e2ee on
tap_is "$(grep -c 'does not allow end-to-end encryption' "$TEST_TMP/r.err")" 1 \
  "the refusal says the policy does not allow it"
tap_is "$(ctl user show alice --json | jq_ 'd["e2ee_setting"], d["allowed"], d["on"]' | tr '\n' ' ')" \
  "off False False " "alice's setting stayed off"
tap_check "user set --e2ee off always works" ctl user set alice --e2ee off

# ---- each level and precedence ------------------------------------------------------
tap_check "policy add open (users-can-turn-on), closed (disabled), legacy (DisabledUserOverride)" \
  bash -c "'$CTL' --admin '$SOCK' policy add open --e2ee users-can-turn-on &&
  '$CTL' --admin '$SOCK' policy add closed --e2ee disabled &&
  '$CTL' --admin '$SOCK' policy add legacy --e2ee DisabledUserOverride"
tap_is "$(ctl policy list --json | jq_ '[(p["name"], p["e2ee"]) for p in d]')" \
  "[('closed', 'disabled'), ('legacy', 'users-can-turn-on'), ('open', 'users-can-turn-on')]" \
  "policy list --json: canonical names"
tap_check "policy assign open --tenant" ctl policy assign open --tenant
tap_is "$(eff bob)" "users-can-turn-on tenant open None" "tenant level reaches bob"
tap_check "policy assign closed --group sales" ctl policy assign closed --group sales
tap_is "$(eff alice)" "disabled group closed sales" "group level beats the tenant"
tap_is "$(eff bob)" "users-can-turn-on tenant open None" "bob (no group) still has the tenant's"
tap_check "policy assign legacy --user alice" ctl policy assign legacy --user alice
tap_is "$(eff alice)" "users-can-turn-on user legacy None" "user level beats group and tenant"
tap_check "alice may now turn it on" ctl user set alice --e2ee on
tap_is "$(ctl user show alice --json | jq_ 'd["e2ee_setting"], d["allowed"], d["on"]' | tr '\n' ' ')" \
  "on True True " "alice is allowed and on"
ctl user show alice >"$TEST_TMP/show.txt"
tap_is "$(grep -c -E "^policy +users-can-turn-on \(policy 'legacy' assigned to the user\)" "$TEST_TMP/show.txt")" 1 \
  "user show names the assignment the policy came from"

# ---- compliance recording (docs/policy.md rule 7) ----------------------------------
tap_is "$(ctl user show alice --json | jq_ 'd["compliance_recording"]')" False \
  "user show --json: compliance_recording false by default"
ctl user set alice --compliance-recording on >"$TEST_TMP/comp.out" 2>&1
tap_is "$? $(cat "$TEST_TMP/comp.out")" "0 user alice: compliance recording turned on; \
end-to-end encryption is off for them while it applies (their own setting on is kept, without effect)" \
  "compliance recording on while alice's e2ee is on: allowed, says e2ee is off for her"
tap_is "$(ctl user show alice --json | jq_ '"|".join(str(d[k]) for k in ("compliance_recording", "e2ee_setting", "allowed", "on", "reason"))')" \
  "True|on|False|False|compliance recording applies to alice@contoso" \
  "user show --json: the flag, own setting kept, not allowed, the reason"
ctl user show alice >"$TEST_TMP/show.txt"
tap_is "$(grep -cE '^(compliance   recording on \(no end-to-end encryption\)|own setting  on \(no effect: compliance recording applies\)|e2ee         compliance recording applies to alice@contoso)$' "$TEST_TMP/show.txt")" 3 \
  "user show: the flag, the own setting without effect, the reason"
refuse 1 "user set --e2ee on is refused under compliance recording" user set alice --e2ee on
tap_is "$(cat "$TEST_TMP/r.err")" "callsealctl: compliance recording applies to alice@contoso: \
end-to-end encryption cannot be turned on while it does (user set alice --compliance-recording off first)" \
  "the refusal names compliance recording and the way out"
refuse 2 "--e2ee and --compliance-recording together are refused" \
  user set alice --e2ee on --compliance-recording off
refuse 2 "--compliance-recording takes on or off" user set alice --compliance-recording yes
tap_check "compliance recording off" ctl user set alice --compliance-recording off
tap_is "$(ctl user show alice --json | jq_ 'd["compliance_recording"], d["allowed"], d["on"]' | tr '\n' ' ')" \
  "False True True " "off: alice's policy and own setting decide again"

# ---- conflicting groups: disabled wins ---------------------------------------------
tap_check "policy assign open --group support" ctl policy assign open --group support
tap_check "policy unassign --user alice" ctl policy unassign --user alice
tap_is "$(eff alice) $(ctl user show alice --json | jq_ 'd["policy"]["group_conflict"]')" \
  "disabled group closed sales True" "groups disagree: disabled wins, conflict reported"
tap_is "$(ctl user show alice --json | jq_ 'd["e2ee_setting"], d["allowed"], d["on"]' | tr '\n' ' ')" \
  "on False False " "alice's own setting stays but has no effect"

# ---- policy set changes the effect ----------------------------------------------
tap_check "policy set closed --e2ee users-can-turn-on" ctl policy set closed --e2ee users-can-turn-on
tap_is "$(eff alice) $(ctl user show alice --json | jq_ 'd["on"]')" \
  "users-can-turn-on group closed sales True" "policy set: alice's groups now allow it, and she is on"
tap_check "policy set closed --e2ee disabled" ctl policy set closed --e2ee disabled
tap_is "$(eff alice)" "disabled group closed sales" "policy set back: disabled again"

# ---- policy del of an assigned policy, then unassigned ---------------------------------
refuse 1 "policy del of an assigned policy is refused" policy del closed
tap_is "$(grep -c "unassign it first" "$TEST_TMP/r.err")" 1 "the refusal says to unassign first"
tap_check "policy add spare; policy del spare" bash -c "'$CTL' --admin '$SOCK' policy add spare --e2ee disabled &&
  '$CTL' --admin '$SOCK' policy del spare"

# ---- peers -----------------------------------------------------------------------------
PEERKEY=$(head -c 32 /dev/urandom | base64 -w0)
tap_check "peer add with a pinned key" ctl peer add dave@fabrikam --key "$PEERKEY" --addr 192.0.2.7:7000
refuse 1 "peer add without --key on a daemon without --trust-on-first-use" \
  peer add erin@fabrikam --addr '[2001:db8::7]:7000'
tap_is "$(grep -c -- '--key is required: this daemon does not trust on first use' "$TEST_TMP/r.err")" 1 \
  "  ... saying why"
tap_is "$(ctl peer list --json | jq_ '[(p["id"], p["public_key"], p["pinned"], p["key_source"]) for p in d]')" \
  "[('dave@fabrikam', '$PEERKEY', True, 'given')]" "peer list --json: the given key, pinned"
tap_is "$(ctl peer list | awk 'NR==2 {print $1, $3}')" "dave@fabrikam given" "peer list: KEY column"

# ---- --json on changes, --help per command ---------------------------------------------
J=$(ctl group add json-g --json | jq_ '"|".join([d["command"], d["group"], d["message"]])')
tap_is "$J" "group add|json-g|added group json-g" "group add --json: an object naming the change"
J=$(ctl user add json-u --group json-g --json | jq_ '"|".join([d["command"], d["user"]])')
tap_is "$J" "user add|json-u" "user add --json"
J=$(ctl policy add json-p --e2ee users-can-turn-on --json | jq_ 'd["policy"]' &&
    ctl policy set json-p --e2ee disabled --json | jq_ 'd["command"]' &&
    ctl policy assign json-p --user json-u --json | jq_ 'd["command"]' &&
    ctl policy assign json-p --user json-u --json | jq_ 'd["message"]' &&
    ctl policy unassign --user json-u --json | jq_ 'd["policy"]' &&
    ctl policy del json-p --json | jq_ 'd["command"]' &&
    ctl user set json-u --e2ee off --json | jq_ 'd["command"]')
tap_is "$(echo "$J" | tr '\n' '|')" \
  "json-p|policy set|policy assign|policy json-p is already assigned to user 'json-u' (nothing changed)|json-p|policy del|user set|" \
  "policy add/set/assign/unassign/del and user set --json"
"$CTL" user add --help >"$TEST_TMP/h.out" 2>&1
tap_is "$? $(head -1 "$TEST_TMP/h.out" | grep -c '^usage: callsealctl --admin SOCKET user add USER') $(wc -l <"$TEST_TMP/h.out")" \
  "0 1 3" "user add --help: that command's usage only"

# ---- deleting and correcting: group del, user del, peer set, peer del ------------------
tap_check "group del json-g (its member stays)" ctl group del json-g
tap_is "$(ctl group list --json | jq_ '"json-g" in [g["name"] for g in d]') $(ctl user show json-u --json | jq_ 'd["groups"]')" \
  "False []" "  ... the group is gone, json-u is in no group"
tap_is "$(ctl user del json-u --json | jq_ 'd["command"]')" "user del" "user del json-u --json"
refuse 1 "user show of the deleted user" user show json-u
ctl peer add zed@fabrikam --key "$(head -c 32 /dev/urandom | base64 -w0)" --addr 192.0.2.9:7000 >/dev/null
NEWKEY=$(head -c 32 /dev/urandom | base64 -w0)
tap_check "peer set --addr corrects the address" ctl peer set zed@fabrikam --addr '[2001:db8::9]:7001'
tap_check "peer set --key pins another key" ctl peer set zed@fabrikam --key "$NEWKEY"
tap_is "$(ctl peer list --json | jq_ '[(p["address"], p["public_key"], p["key_source"]) for p in d if p["id"] == "zed@fabrikam"]')" \
  "[('[2001:db8::9]:7001', '$NEWKEY', 'given')]" "  ... both stick"
refuse 2 "peer set with neither --key nor --addr" peer set zed@fabrikam
refuse 1 "peer set of an unknown peer" peer set nobody@fabrikam --addr 192.0.2.9:7000
LONG=$(printf 'l%.0s' {1..64})
ctl user add "$LONG" >/dev/null
tap_is "$(ctl user list | awk 'NR == 1 {h = index($0, "POLICY-E2EE")} NR > 1 {print (index($0, " disabled ") + 1 == h || index($0, " users-can-turn-on ") + 1 == h)}' | sort -u)" \
  1 "user list: the columns line up with a 64-character name"
ctl user del "$LONG" >/dev/null
tap_check "peer del" ctl peer del zed@fabrikam
tap_is "$(ctl peer list --json | jq_ '[p["id"] for p in d]')" "['dave@fabrikam']" "  ... zed is gone"

# ---- bad input: refused, nothing changed ---------------------------------------------
snapshot() {
  for w in user group policy peer; do ctl "$w" list --json; done
  ctl user show alice --json
}
snapshot >"$TEST_TMP/before.json" 2>&1
refuse 2 "bad user name" user add 'al ice'
refuse 2 "bad user name (too long)" user add "$(printf 'a%.0s' {1..65})"
refuse 2 "bad group name in user add" user add frank --group 'sa/les'
refuse 1 "unknown group in user add (and no user made)" user add frank --group nosuch
refuse 1 "user add of an existing user" user add alice
refuse 2 "bad policy setting" policy add p2 --e2ee maybe
refuse 2 "policy add without --e2ee" policy add p2
refuse 2 "user set --e2ee yes" user set bob --e2ee yes
refuse 1 "user set of an unknown user" user set nobody --e2ee off
refuse 1 "policy set of an unknown policy" policy set nosuch --e2ee disabled
refuse 1 "policy assign of an unknown policy" policy assign nosuch --tenant
refuse 1 "policy assign to an unknown group" policy assign open --group nosuch
refuse 2 "policy assign with two targets" policy assign open --tenant --user bob
refuse 2 "policy assign with no target" policy assign open
refuse 1 "policy unassign where there is none" policy unassign --user bob
refuse 2 "peer without @" peer add dave --addr 192.0.2.7:7000
refuse 2 "peer with a bad address" peer add gina@fabrikam --addr 192.0.2.7
# issue 15: these were accepted, and a name failed only when dialled
refuse 2 "peer with digits that are no IPv4 address" peer add gina@fabrikam --key "$PEERKEY" --addr 300.1.1.1:7102
tap_is "$(cat "$TEST_TMP/r.err")" "callsealctl: peer add: --addr: not an IPv4 address (four numbers 0-255, e.g. 192.0.2.1:7443)" \
  "  ... says so"
refuse 2 "peer with a host name" peer add gina@fabrikam --key "$PEERKEY" --addr localhost:7102
tap_is "$(grep -c -- "--addr: a host name; numeric addresses only" "$TEST_TMP/r.err")" 1 \
  "  ... says numeric addresses only"
refuse 2 "peer set to a host name" peer set dave@fabrikam --addr ctl.fabrikam.example:7443
refuse 2 "peer with a short key" peer add gina@fabrikam --key AAAA --addr 192.0.2.7:7000
refuse 1 "peer added twice" peer add dave@fabrikam --key "$(head -c 32 /dev/urandom | base64 -w0)" --addr 192.0.2.7:7001
tap_is "$(grep -c "already exists" "$TEST_TMP/r.err")" 1 "  ... because it exists"
# issue 15: without --key (on a daemon without --trust-on-first-use) it said
# that --key is required
refuse 1 "peer add of an existing peer without --key" peer add dave@fabrikam --addr 192.0.2.7:7001
tap_is "$(cat "$TEST_TMP/r.err")" "callsealctl: peer 'dave@fabrikam' already exists (peer set \
changes its address or key; peer del removes it)" "  ... says it exists, and how to change it"
refuse 2 "unknown user command" user frob
refuse 2 "a name that looks like an option" user add -x
refuse 2 "a name that looks like a path" group add ..
refuse 2 "policy add without a name names the name first" policy add --e2ee disabled
tap_is "$(grep -c 'a policy name is required' "$TEST_TMP/r.err")" 1 "  ... (not --e2ee)"
refuse 2 "unknown option" user list --colour
# issue 15: the option as typed (it said "--?"), and the one meant
refuse 2 "a mistyped option" user set alice --e2e on
tap_is "$(cat "$TEST_TMP/r.err")" "callsealctl: user set: unknown option --e2e (did you mean --e2ee?)" \
  "  ... is named as typed, with the option meant"
refuse 2 "a command option before the command" --json user list
tap_is "$(grep -c -- "unknown option --json before the command: command options go after" "$TEST_TMP/r.err")" 1 \
  "  ... says where it goes"
# the daemon checks again: a raw request skips the CLI's checks
python3 - "$SOCK" >"$TEST_TMP/raw.out" 2>&1 <<'PY'
import socket, struct, sys
def req(*words):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    p = b"".join(w.encode() + b"\0" for w in words)
    s.sendall(struct.pack(">BBHI", 1, 1, 0, len(p)) + p)
    buf = b""
    while True:
        c = s.recv(65536)
        if not c: break
        buf += c
    st = None
    while buf:
        t, n = buf[1], struct.unpack(">I", buf[4:8])[0]
        if t == 3: st = struct.unpack(">I", buf[8:12])[0]
        buf = buf[8 + n:]
    return st
bad = [("user", "add", "a b"), ("policy", "add", "x", "--e2ee", "perhaps"),
       ("policy", "assign", "open", "--tenant", "--group", "sales"),
       ("peer", "add", "x@y", "--addr", "nope"), ("group", "add", "../etc"),
       ("peer", "add", "x@y", "--addr", "localhost:7102"),
       ("peer", "add", "x@y", "--addr", "300.1.1.1:7102")]
print(" ".join(str(req(*b)) for b in bad))
PY
tap_is "$(cat "$TEST_TMP/raw.out")" "22 22 22 22 22 22 22" "the daemon refuses bad raw requests (EINVAL)"
snapshot >"$TEST_TMP/after.json" 2>&1
tap_check "nothing changed after the refusals" cmp "$TEST_TMP/before.json" "$TEST_TMP/after.json"

# ---- --json parses everywhere -------------------------------------------------------------
st=0
for c in "group list" "user list" "user show alice" "policy list" "peer list"; do
  # shellcheck disable=SC2086
  ctl $c --json | python3 -c 'import json,sys; json.load(sys.stdin)' || st=1
done
tap_result $st "every --json output parses"

# ---- persistence across a restart ------------------------------------------------------
ctl user set bob --e2ee on >/dev/null
snapshot >"$TEST_TMP/pre.json" 2>&1
ctl user show bob --json >>"$TEST_TMP/pre.json" 2>&1
stop_proc "$DPID"
tap_is "$?" 0 "daemon stops on SIGTERM"
start_daemon control2
tap_result $? "daemon restarts on the same store"
snapshot >"$TEST_TMP/post.json" 2>&1
ctl user show bob --json >>"$TEST_TMP/post.json" 2>&1
tap_check "users, public keys, groups, policies, assignments, settings, peers survive" \
  cmp "$TEST_TMP/pre.json" "$TEST_TMP/post.json"
tap_is "$(eff carol)" "users-can-turn-on tenant open None" "the tenant assignment survives"
stop_proc "$DPID"

# ---- tenant mismatch -----------------------------------------------------------------------
timeout 10 "$CONTROL" --table "$TABLE" --state "$STATE" --admin "$SOCK" --tenant fabrikam \
  >"$TEST_TMP/mismatch.log" 2>&1
tap_is "$? $(grep -c "belongs to tenant 'contoso', not 'fabrikam'" "$TEST_TMP/mismatch.log")" \
  "1 1" "a store of another tenant is refused at start-up"

# ---- start-up refusals (issue 15) ------------------------------------------------------------
# a bad --table is a bad option: exit 2 before anything is created
timeout 10 "$CONTROL" --table bad/name --state "$TEST_TMP/bt/state" --admin "$TEST_TMP/bt.sock" \
  --tenant contoso >"$TEST_TMP/bt.log" 2>&1
tap_is "$? $(wc -l <"$TEST_TMP/bt.log") $(grep -c -- '^callseal-control: --table: table name may use only' "$TEST_TMP/bt.log")" \
  "2 1 1" "--table bad/name: exit 2, one line naming --table"
tap_is "$(test -e "$TEST_TMP/bt" && echo left || echo none)" none "  ... and nothing created"
timeout 10 "$CONTROL" --tabel "$TABLE" >"$TEST_TMP/bo.log" 2>&1
tap_is "$? $(cat "$TEST_TMP/bo.log")" \
  "2 callseal-control: unknown option --tabel (did you mean --table?) (see --help)" \
  "a mistyped daemon option is named, with the one meant"
start_daemon control3
# the store in use: one message with the holder's pid
timeout 10 "$CONTROL" --table "${TABLE}b" --state "$STATE" --admin "$TEST_TMP/b.sock" \
  --tenant contoso >"$TEST_TMP/busy.log" 2>&1
tap_is "$? $(wc -l <"$TEST_TMP/busy.log") $(cat "$TEST_TMP/busy.log")" \
  "1 1 callseal-control: store in $STATE: in use by pid $DPID: another callseal-control uses it (stop that one first)" \
  "a store in use: exit 1, one line naming the holder's pid"
tap_is "$(test -e "/dev/shm/callseal.${TABLE}b" && echo left || echo none)" none "  ... and no table left"
# a start that fails after creating its state directory removes it (only it)
timeout 10 "$CONTROL" --table "$TABLE" --state "$TEST_TMP/fresh/state" --admin "$TEST_TMP/f.sock" \
  --tenant contoso >"$TEST_TMP/fresh.log" 2>&1
tap_is "$? $(grep -c "held by writer pid $DPID" "$TEST_TMP/fresh.log")" "1 1" \
  "a second daemon on the table does not start (it created a state directory first)"
tap_is "$(test -e "$TEST_TMP/fresh" && echo left || echo none)" none \
  "  ... and removes the state directory it created (parents too)" || sed 's/^/#   /' "$TEST_TMP/fresh.log"
mkdir -m 700 "$TEST_TMP/pre"
timeout 10 "$CONTROL" --table "$TABLE" --state "$TEST_TMP/pre" --admin "$TEST_TMP/p.sock" \
  --tenant contoso >"$TEST_TMP/pre.log" 2>&1
tap_is "$? $(test -d "$TEST_TMP/pre" && echo kept) $(ls -A "$TEST_TMP/pre" | wc -l)" "1 kept 0" \
  "  ... in a directory that was there: the store it created goes, the directory stays"
stop_proc "$DPID"

# ---- no private key anywhere ---------------------------------------------------------------
python3 - "$STATE/callseal.db" "$OUT" "$TEST_TMP"/control*.log >"$TEST_TMP/keys.out" 2>&1 <<'PY'
import base64, glob, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
keys = [r[0] for r in db.execute("select private_key from user_keys")]
assert len(keys) == 3 and all(len(k) == 32 for k in keys), keys
files = glob.glob(sys.argv[2] + "/*") + sys.argv[3:]
forms = []
for k in keys:
    forms += [base64.b64encode(k), base64.b64encode(k).rstrip(b"="), k.hex().encode(), k]
found = [f for f in files for x in forms if x in open(f, "rb").read()]
assert not found, found
print("checked %d outputs for %d keys" % (len(files), len(keys)))
PY
tap_result $? "no private key (base64, hex or raw) in any output or the daemon's log" ||
  sed 's/^/#   /' "$TEST_TMP/keys.out"

tap_done
