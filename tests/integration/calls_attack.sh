#!/usr/bin/env bash
# calls_attack.sh - active attacks on the callseal/1 TCP path between two
# callseal-control daemons (docs/handshake.md "Threat model", docs/calls.md
# "Limits and failures"), through the daemons and a Python relay on 127.0.0.1
# (tcpmitm.py) that alice's peer entry for bob@fabrikam points at.
#
# alice@contoso (daemon A) and bob@fabrikam (daemon B), e2ee on, each other's
# keys pinned, handshake timeout 1500 ms. Mallory runs two more daemons with
# keys of her own: MB (tenant fabrikam, a user bob) and MA (tenant contoso, a
# user alice), both with --trust-on-first-use. In the order run:
#
#  1. Man in the middle, pinned: the relay sends alice's connection to MB and,
#     when alice connects, has MA dial the real bob. Alice refuses MB's key and
#     bob refuses MA's ("does not match the pinned key"), each with that
#     reason; nothing is installed in any of the four tables.
#  2. Every octet of a clean handshake, both directions, all of it (176 + 144
#     octets, recorded from a clean call through the relay first), XORed with
#     0xff in turn, then again with 0x01 (a one-bit change keeps most HELLO
#     octets printable, so the failure has to come from the cryptographic
#     binding rather than a syntax check): every call dial exits non-zero with
#     a reason, no call is left on B (nor A), neither table has an entry. No
#     sampling: 640 dials; about 11 of them (an enlarged length field) wait for
#     the 1.5 s timeout, the rest fail in milliseconds. The reasons are
#     tallied as TAP comments, every failed check is printed. The dials and
#     the checks after each are made by admindrive.py, one process per sweep:
#     it speaks the admin protocol itself (every 16th dial goes through
#     callsealctl) and reads the tables itself (its reader is checked against
#     callseal-keytable-dump first, on a call that is up).
#     Then the last message (handshake.md): CONFIRM modified and alice's ABORT
#     dropped ends bob's side too (he never had alice's READY); the READY
#     modified ends the call on both sides. Then a clean call works.
#  3. Straight to B's listen port: a replayed caller stream (while the
#     original call is up, after it ended, with a fresh call id), random
#     garbage, a truncated HELLO, HELLO + NOISE1 then close, oversized and
#     zero length fields, two stalled connections (nothing sent; half a HELLO).
#     Each attempt ends (a stall at the handshake timeout, timed; the silent
#     one at the idle time, which is the handshake timeout here), B logs a
#     "failed:" line with the reason, no key and no call is left, and a normal
#     call made while both stalled connections are open succeeds.
#  4. Man in the middle, trust on first use: fresh daemons A2 and B2 (B2 on
#     B's port), peers without keys. Both calls succeed, e2ee, but alice's and
#     bob's security codes differ (each equals mallory's code on that leg),
#     each learnt mallory's key, and the table keys match mallory's, not the
#     other party's.
# All daemons must still run at the end and exit 0 on SIGTERM; their logs must
# hold no key material and no sanitizer report.
#
# CALLSEAL_ATTACK_NO_SWEEP=1 skips the 640-dial sweep of 2 (development only).
#
# usage: calls_attack.sh CONTROL CALLSEALCTL KEYTABLE_DUMP
. "$(dirname "$0")/lib.sh"

CONTROL=$1 CTL=$2 DUMP=$3
MITM="$(cd "$(dirname "$0")" && pwd)/tcpmitm.py"
DRIVE="$(dirname "$MITM")/admindrive.py"
require_cmd python3
HT=1500   # --handshake-timeout, ms

TABLES=()
cleanup_tables() { local t; for t in "${TABLES[@]}"; do rm -f "/dev/shm/callseal.$t" "/dev/shm/callseal.$t.resume"; done; }
trap '_lib_cleanup; cleanup_tables' EXIT

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ctl() { local n=$1; shift; "$CTL" --admin "$TEST_TMP/$n.sock" "$@"; }
count() { "$DUMP" "$1" | grep -vc '^#'; }
# entries TABLE: "DIR HASH" per entry, sorted (as calls_cli.sh)
entries() {
  "$DUMP" "$1" | grep -v '^#' | sed -E 's|^[^ ]*/([a-z]+) .*key_sha256=([0-9a-f]+).*|\1 \2|' | sort
}
ncalls() { ctl "$1" call list | tail -n +2 | grep -c .; }
logsize() { stat -c %s "$TEST_TMP/ctl_$1.log"; }
# newlog NAME OFFSET: the daemon's log from OFFSET on
newlog() { tail -c +"$(($2 + 1))" "$TEST_TMP/ctl_$1.log"; }

declare -A PORT TABLE PID
# daemon NAME TENANT POOL_BASE [OPTIONS...]: start a callseal-control
daemon() {
  local n=$1 tenant=$2 pool=$3 p
  shift 3
  p=${PORT[$n]:-}      # a fixed port (B2 takes B's), else a fresh one
  TABLE[$n]="cat${n}$$x$RANDOM"
  TABLES+=("${TABLE[$n]}")
  spawn_listen "ctl_$n" p 10 "$CONTROL" --table "${TABLE[$n]}" --state "$TEST_TMP/state_$n" \
    --admin "$TEST_TMP/$n.sock" --capacity 64 --tenant "$tenant" --listen "127.0.0.1:@PORT@" \
    --media-pool "127.0.0.1:$pool-$((pool + 99))" --handshake-timeout "$HT" "$@"
  PORT[$n]=$p
  PID[$n]=$SPAWN_PID
}
# setup NAME USER: an e2ee-allowing tenant policy, USER with e2ee on
setup() {
  ctl "$1" policy add open --e2ee users-can-turn-on && ctl "$1" policy assign open --tenant &&
    ctl "$1" user add "$2" && ctl "$1" user set "$2" --e2ee on
}
pubkey() { ctl "$1" user show "$2" --json | sed -n 's/^.*"public_key": "\([^"]*\)".*$/\1/p'; }
# plan JSON: what the relay does with the next connection
# (to $PLANF: the plan file of the relay in use, relay 1's unless set)
PLANF="$TEST_TMP/plan"
plan() { printf '%s\n' "$1" >"$PLANF.tmp" && mv "$PLANF.tmp" "$PLANF"; }
# quiet NAMES...: no call (not even an attempt) on these daemons, their tables empty
quiet() {
  local n
  for n in "$@"; do
    [ "$(ncalls "$n")" = 0 ] && [ "$(count "${TABLE[$n]}")" = 0 ] || return 1
  done
}

# ---- daemons, users, peers, the relay -------------------------------------------
daemon A contoso 23000
daemon B fabrikam 24000
daemon MA contoso 25000 --trust-on-first-use
daemon MB fabrikam 26000 --trust-on-first-use
# C (alice) and D (bob) and relay 2 are a second pair, like A and B and relay 1,
# so that the two octet sweeps of 2 run side by side
daemon C contoso 29000
daemon D fabrikam 30000
spawn mitm python3 "$MITM" proxy --port-file "$TEST_TMP/mitm.port" --plan "$TEST_TMP/plan" \
  --status "$TEST_TMP"
mkdir -p "$TEST_TMP/r2"
spawn mitm2 python3 "$MITM" proxy --port-file "$TEST_TMP/mitm2.port" --plan "$TEST_TMP/plan2" \
  --status "$TEST_TMP/r2"
ok=0
for n in A B MA MB C D; do wait_until 10 ctl "$n" status >/dev/null 2>&1 || ok=1; done
wait_for_file "$TEST_TMP/mitm.port" 10 || ok=1
wait_for_file "$TEST_TMP/mitm2.port" 10 || ok=1
tap_result $ok "six daemons (A, B, mallory's MA and MB, the second pair C and D) and two relays start" ||
  tap_bail "did not start: $(tail -q -n 3 "$TEST_TMP"/ctl_*.log "$TEST_TMP"/mitm*.log)"
PX=$(cat "$TEST_TMP/mitm.port") PX2=$(cat "$TEST_TMP/mitm2.port")

{ setup A alice && setup B bob && setup MA alice && setup MB bob && setup C alice &&
  setup D bob; } >"$TEST_TMP/setup.out" 2>&1
tap_result $? "users and policies: alice on A, MA and C, bob on B, MB and D, e2ee on" ||
  sed 's/^/#   /' "$TEST_TMP/setup.out"
KA=$(pubkey A alice) KB=$(pubkey B bob) KMA=$(pubkey MA alice) KMB=$(pubkey MB bob)
tap_is "$(printf '%s\n' "$KA" "$KB" "$KMA" "$KMB" | grep -c .)$(printf '%s\n' "$KA" "$KB" "$KMA" "$KMB" | sort -u | grep -c .)" \
  44 "four distinct identity keys"
{ ctl A peer add bob@fabrikam --key "$KB" --addr "127.0.0.1:$PX" &&
  ctl B peer add alice@contoso --key "$KA" --addr "127.0.0.1:${PORT[A]}" &&
  ctl MA peer add bob@fabrikam --addr "127.0.0.1:${PORT[B]}" &&
  ctl C peer add bob@fabrikam --key "$(pubkey D bob)" --addr "127.0.0.1:$PX2" &&
  ctl D peer add alice@contoso --key "$(pubkey C alice)" --addr "127.0.0.1:${PORT[C]}"; } >"$TEST_TMP/peers.out" 2>&1
tap_result $? "peers: A has bob pinned at the relay, B has alice pinned, MA knows bob's address; C and D likewise through relay 2" ||
  sed 's/^/#   /' "$TEST_TMP/peers.out"

RELAY="{\"tag\": \"relay\", \"target\": ${PORT[B]}}"
plan "$RELAY"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial0" 2>&1
tap_result $? "a clean e2ee call alice -> bob through the relay" || sed 's/^/#   /' "$TEST_TMP/dial0"
ID0=$(sed -n 's/^call id: //p' "$TEST_TMP/dial0")
ctl A call end "$ID0" >/dev/null 2>&1
wait_until 5 quiet A B
tap_result $? "it ends with nothing left on either side"

# ---- 1. man in the middle, pinned keys ------------------------------------------
LMB=$(logsize MB) LB=$(logsize B)
plan "{\"tag\": \"mitm1\", \"target\": ${PORT[MB]}, \"dial\": [\"$CTL\", \"--admin\", \"$TEST_TMP/MA.sock\", \"call\", \"dial\", \"--from\", \"alice\", \"--to\", \"bob@fabrikam\"]}"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/m1.out" 2>"$TEST_TMP/m1.err"
st=$?
wait_for_file "$TEST_TMP/mitm1.dial.rc" 10
tap_is "$st $(grep -c 'identity key of bob@fabrikam does not match the pinned key on record' "$TEST_TMP/m1.err")" \
  "1 1" "MITM, pinned: alice refuses mallory's bob (identity does not match)" ||
  sed 's/^/#   /' "$TEST_TMP/m1.err"
tap_diag "alice: $(cat "$TEST_TMP/m1.err")"
tap_is "$(cat "$TEST_TMP/mitm1.dial.rc" 2>/dev/null) $(grep -c 'failed' "$TEST_TMP/mitm1.dial.out")" \
  "1 1" "MITM, pinned: mallory's dial to the real bob fails" ||
  sed 's/^/#   /' "$TEST_TMP/mitm1.dial.out"
tap_diag "mallory-as-alice: $(cat "$TEST_TMP/mitm1.dial.out")"
wait_until 5 bash -c "tail -c +$((LB + 1)) '$TEST_TMP/ctl_B.log' | grep -q 'failed: identity key of alice@contoso does not match the pinned key'"
tap_result $? "MITM, pinned: bob refuses mallory's alice (identity does not match), in B's log" ||
  newlog B "$LB" | sed 's/^/#   /'
newlog B "$LB" | grep 'failed:' | sed 's/^/# B: /'
newlog MB "$LMB" | grep 'failed:' | sed 's/^/# MB: /'
wait_until 5 quiet A B MA MB
tap_result $? "MITM, pinned: no call and no entry in any of the four tables" ||
  for n in A B MA MB; do tap_diag "$n: $(ncalls $n) calls, $(count "${TABLE[$n]}") entries"; done

# ---- 2. every octet of the handshake flipped ------------------------------------
plan "{\"tag\": \"clean\", \"target\": ${PORT[B]}}"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial1" 2>&1
tap_result $? "a clean call through the relay to measure the handshake" ||
  sed 's/^/#   /' "$TEST_TMP/dial1"
ID1=$(sed -n 's/^call id: //p' "$TEST_TMP/dial1")
read -r C2S S2C HS_C2S FRAMES < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
hs = max(f[0] + f[1] + 2 for f in d["frames"]["c2s"] if f[2] in (1, 2, 4))
print(d["c2s"], d["s2c"], hs, " ".join("%s:%s" % (k, ",".join("%d" % f[2] for f in d["frames"][k])) for k in ("c2s", "s2c")))' \
  "$TEST_TMP/clean.json")
# the sweeps check the tables with admindrive.py's own reader: it must see
# what callseal-keytable-dump sees (2 entries on each side of this call)
two_each() { [ "$(count "${TABLE[A]}") $(count "${TABLE[B]}")" = "2 2" ]; }
wait_until 5 two_each
tap_is "dump: $(count "${TABLE[A]}") $(count "${TABLE[B]}"), reader: $(python3 "$DRIVE" tables "${TABLE[A]}" "${TABLE[B]}" | cut -d' ' -f2- | tr '\n' ' ')" \
  "dump: 2 2, reader: 2 2 2 2 " \
  "admindrive.py's table reader counts what callseal-keytable-dump lists (A and B: 2 entries each)"
ctl A call end "$ID1" >/dev/null 2>&1
tap_is "$FRAMES" "c2s:1,2,4,16 s2c:3,5" \
  "the handshake is HELLO, NOISE1, NOISE3 / NOISE2, CONFIRM, then the caller's READY (control)"
tap_diag "handshake: $HS_C2S octets caller -> callee (+ $((C2S - HS_C2S)) READY), $S2C octets callee -> caller:"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
names = {1: "HELLO", 2: "NOISE1", 3: "NOISE2", 4: "NOISE3", 5: "CONFIRM"}
for k in ("c2s", "s2c"):
    print("#   %s: %s" % (k, ", ".join("%d-%d %s" % (f[0], f[0] + f[1] + 1, names.get(f[2], f[2]))
                                    for f in d["frames"][k] if f[2] in names)))' "$TEST_TMP/clean.json"
wait_until 5 quiet A B

# sweep MASK X Y STATUS_DIR: flip every octet of both directions in turn with
# MASK, caller daemon X, callee daemon Y, through the relay whose plan file is
# $PLANF and whose status directory is STATUS_DIR. The reasons X's dials fail
# with go to $TEST_TMP/reasons.MASK, one a line. One admindrive.py process
# makes the dials over the admin socket and checks the call lists and tables
# after each (every 16th dial goes through callsealctl), as the checks say.
sweep() {
  local mask=$1 X=$2 Y=$3 SD=$4 t0 t1 runs bad_flip bad_dial bad_left via_ctl
  t0=$EPOCHREALTIME
  python3 "$DRIVE" sweep --x "$TEST_TMP/$X.sock" "$X" "${TABLE[$X]}" \
    --y "$TEST_TMP/$Y.sock" "$Y" "${TABLE[$Y]}" --plan "$PLANF" --status "$SD" \
    --target "${PORT[$Y]}" --mask "$mask" --dir "c2s:$HS_C2S" --dir "s2c:$S2C" \
    --reasons "$TEST_TMP/reasons.$mask" --ctl "$CTL" --ctl-every 16 >"$TEST_TMP/sweep$mask.out" 2>&1
  t1=$EPOCHREALTIME
  grep -v '^result ' "$TEST_TMP/sweep$mask.out"
  read -r runs bad_flip bad_dial bad_left via_ctl < <(sed -n 's/^result //p' "$TEST_TMP/sweep$mask.out")
  tap_is "${runs:-} ${bad_flip:-}" "$((HS_C2S + S2C)) 0" \
    "mask $mask: the relay flipped each of the ${runs:-?} octets ($HS_C2S + $S2C)"
  tap_is "${bad_dial:-}" 0 "mask $mask: every one of the ${runs:-?} calls fails, call dial exits non-zero with a reason"
  tap_is "${bad_left:-}" 0 "mask $mask: after each, no call on $Y (nor $X) and no entry in either table"
  tap_diag "mask $mask: ${runs:-?} dials in $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s ($X -> $Y), ${via_ctl:-?} of them through callsealctl"
}
# The two sweeps side by side: mask 255 on A -> relay 1 -> B, mask 1 on
# C -> relay 2 -> D; each in a subshell with its own TAP numbering, folded
# into ours in that order.
if [ -z "${CALLSEAL_ATTACK_NO_SWEEP:-}" ]; then
  ( _tap_n=0 _tap_fail=0 _tap_skip=0; sweep 255 A B "$TEST_TMP" ) >"$TEST_TMP/sweep255.tap" 2>&1 &
  SW1=$!
  ( _tap_n=0 _tap_fail=0 _tap_skip=0 PLANF="$TEST_TMP/plan2"; sweep 1 C D "$TEST_TMP/r2" ) \
    >"$TEST_TMP/sweep1.tap" 2>&1 &
  SW2=$!
  wait "$SW1" "$SW2"
  tap_include cat "$TEST_TMP/sweep255.tap"
  tap_include cat "$TEST_TMP/sweep1.tap"
  tap_diag "reasons the callers got (count: reason):"
  sort "$TEST_TMP/reasons.255" "$TEST_TMP/reasons.1" | uniq -c | sort -k1,1nr |
    while read -r c r; do printf '#   %4d: %s\n' "$c" "$r"; done
fi

# The last message (handshake.md): CONFIRM modified in transit AND alice's
# ABORT dropped (the relay cuts the connection right after CONFIRM). Alice
# fails; bob is already active but has not had alice's READY, so the closed
# connection ends his side too (calls.md): nothing is left on either side.
L0=$(logsize B)
plan "{\"tag\": \"cut\", \"target\": ${PORT[B]}, \"flip\": {\"dir\": \"s2c\", \"offset\": $((S2C - 1)), \"mask\": 1}, \"cut\": {\"dir\": \"s2c\", \"after\": $S2C}}"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/cut.out" 2>"$TEST_TMP/cut.err"
st=$?
tap_is "$st $(grep -c 'CONFIRM from bob@fabrikam failed authentication' "$TEST_TMP/cut.err")" "1 1" \
  "CONFIRM modified and the ABORT dropped: alice's call fails (CONFIRM failed authentication)" ||
  sed 's/^/#   /' "$TEST_TMP/cut.err"
wait_until 5 quiet A B
tap_result $? "  ... bob's side ends too (no READY from the caller): no call, no entry on either side" ||
  newlog B "$L0" | sed 's/^/#   /'
newlog B "$L0" | grep 'call ' | sed 's/^/# B: /'

# The caller's READY modified: bob refuses it and sends END, so the call alice
# was told is active ends on both sides at once.
python3 "$DRIVE" ready --x "$TEST_TMP/A.sock" A "${TABLE[A]}" --y "$TEST_TMP/B.sock" B "${TABLE[B]}" \
  --plan "$PLANF" --status "$TEST_TMP" --target "${PORT[B]}" --mask 1 --from "$HS_C2S" --to "$C2S" \
  >"$TEST_TMP/ready.out" 2>&1
grep -v '^result ' "$TEST_TMP/ready.out"
read -r n_ready n_ready_bad < <(sed -n 's/^result //p' "$TEST_TMP/ready.out")
tap_is "${n_ready:-} ${n_ready_bad:-}" "$((C2S - HS_C2S)) 0" \
  "each of the $((C2S - HS_C2S)) octets of READY modified: the call ends on both sides, nothing left"

kill -0 "${PID[A]}" 2>/dev/null && kill -0 "${PID[B]}" 2>/dev/null
tap_result $? "both daemons still run after the sweeps"
plan "$RELAY"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial2" 2>&1
tap_result $? "a clean call after the sweeps works" || sed 's/^/#   /' "$TEST_TMP/dial2"
ctl A call end "$(sed -n 's/^call id: //p' "$TEST_TMP/dial2")" >/dev/null 2>&1
wait_until 5 quiet A B

# ---- 3. straight to B's listen port ---------------------------------------------
# A real caller stream to replay, recorded through the relay; the call stays up.
plan "{\"tag\": \"rec\", \"target\": ${PORT[B]}, \"record\": \"$TEST_TMP/c2s.bin\"}"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial3" 2>&1
tap_result $? "a call through the relay, its caller -> callee octets recorded" ||
  sed 's/^/#   /' "$TEST_TMP/dial3"
ID3=$(sed -n 's/^call id: //p' "$TEST_TMP/dial3")
HELLO=$(head -c 47 "$TEST_TMP/c2s.bin" | od -An -tx1 | tr -d ' \n')
tap_is "$(stat -c %s "$TEST_TMP/c2s.bin") ${HELLO:0:6}" "$C2S 002d01" \
  "the recording is the whole caller stream, starting with HELLO"

# attack DESC LOG_REGEX MAX_S CLIENT_ARGS...: one connection to B with
# tcpmitm.py client; B must close it within MAX_S seconds of the last octet
# sent and log a "failed:" line matching LOG_REGEX; then no call (but KEEP
# calls, default 0) and no entry (but 2 * KEEP) may be left on either side.
KEEP=0
attack() {
  local desc=$1 re=$2 max=$3 l0 out eof line
  shift 3
  l0=$(logsize B)
  out=$(python3 "$MITM" client --port "${PORT[B]}" --wait "$((max + 2))" "$@")
  eof=$(json_get "$out" eof_after_s)
  wait_until 3 bash -c "tail -c +$((l0 + 1)) '$TEST_TMP/ctl_B.log' | grep -qE 'failed: ($re)'"
  line=$(newlog B "$l0" | grep 'failed:' | head -n 1 | sed 's/^.*failed: //')
  if [ -n "$eof" ] && awk "BEGIN {exit !($eof <= $max)}" && [ -n "$line" ] &&
     echo "$line" | grep -qE "$re"; then
    tap_ok "$desc: B ends it after ${eof} s, logs '$line'"
  else
    tap_not_ok "$desc: B ends it within $max s and logs /$re/" "client: $out" \
      "B's log: $(newlog B "$l0" | tr '\n' ' ')"
  fi
  LAST_RX=$(json_get "$out" received_hex)
  if wait_until 5 left_is "$KEEP"; then
    tap_ok "$desc: no call and no key left behind"
  else
    tap_not_ok "$desc: no call and no key left behind" \
      "A: $(ncalls A) calls, $(count "${TABLE[A]}") entries; B: $(ncalls B) calls, $(count "${TABLE[B]}") entries"
  fi
}
left_is() {
  [ "$(ncalls A) $(ncalls B) $(count "${TABLE[A]}") $(count "${TABLE[B]}")" = "$1 $1 $(($1 * 2)) $(($1 * 2))" ]
}

KEEP=1
attack "replay of the recorded caller stream while that call is up" \
  "call id $ID3 is already in use" 1 --file "$TEST_TMP/c2s.bin"
KEEP=0
ctl A call end "$ID3" >/dev/null 2>&1
wait_until 5 quiet A B
attack "replay of the recorded caller stream after the call ended" \
  "NOISE3 from alice@contoso failed authentication" 1 --file "$TEST_TMP/c2s.bin"
# the same octets with another call id (HELLO octets 4..19): B answers, NOISE3 fails
newid() {
  python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[4:20] = sys.argv[3].encode()
open(sys.argv[2], "wb").write(b)' "$TEST_TMP/c2s.bin" "$1" "$2"
}
newid "$TEST_TMP/c2s-newid.bin" 0123456789abcdef
newid "$TEST_TMP/c2s-newid2.bin" 00000000deadbeef
attack "replay with a fresh call id" "NOISE3 from alice@contoso failed authentication" 1 \
  --file "$TEST_TMP/c2s-newid.bin"
# NOISE2: type, e (32), s (32 + 16), payload + 16; payload: INTENT (5), PROFILES (3 +
# 2 x 4: the default offer, GCM then AES-CM), MEDIA v4 (10) = 26 -> 123 = 0x7b octets
tap_is "${LAST_RX:0:6} ${#LAST_RX}" "007b03 $(((2 + 123 + 4) * 2))" \
  "  ... B answered NOISE2 (a fresh one) and then ABORT, nothing more"
attack "512 random octets" "the peer sent an oversized frame" 1 --random 512 --seed 7
attack "a valid length (64) in front of random octets" "unknown message type" 1 \
  --hex "0040$(python3 -c 'import random; r = random.Random(3); print(bytes([0x42] + [r.randrange(256) for _ in range(63)]).hex())')"
attack "a truncated HELLO (20 of 47 octets, then the caller closes)" \
  "the peer closed the connection in the middle of the handshake \\(truncated message\\)" 1 \
  --hex "${HELLO:0:40}" --close
attack "HELLO and NOISE1, then the caller closes" \
  "the peer closed the connection in the middle of the handshake\$" 1 \
  --hex "$(head -c 82 "$TEST_TMP/c2s-newid2.bin" | od -An -tx1 | tr -d ' \n')" --close
# (the limit is on the whole frame, 2 + length octets: 1024, so length <= 1022)
attack "an oversized frame (length field 1023)" \
  "the peer sent an oversized frame \\(1025 octets, limit 1024\\)" 1 --hex "03ff${HELLO:4:60}"
attack "an oversized frame (length field 65535)" \
  "the peer sent an oversized frame \\(65537 octets, limit 1024\\)" 1 --hex "ffff${HELLO:4:60}"
attack "a zero-length frame" "the peer sent a zero-length frame" 1 --hex "0000${HELLO}"
# HELLO: length(2) type(1) version(1) call id(16)...: an id starting with '-'
attack "a HELLO whose call id starts with -" "call id is not 16 characters .*not starting with -" 1 \
  --hex "${HELLO:0:8}2d${HELLO:10}"

# two stalled connections, then a normal call while they are open
L0=$(logsize B)
spawn stall0 python3 "$MITM" client --port "${PORT[B]}" --hex "" --wait 6 --marker "$TEST_TMP/stall0.m"
S0=$SPAWN_PID
spawn stall1 python3 "$MITM" client --port "${PORT[B]}" --hex "${HELLO:0:46}" --wait 6 \
  --marker "$TEST_TMP/stall1.m"
S1=$SPAWN_PID
wait_for_file "$TEST_TMP/stall0.m" 5 && wait_for_file "$TEST_TMP/stall1.m" 5
T0=$EPOCHREALTIME
plan "$RELAY"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial4" 2>&1
st=$?
T1=$EPOCHREALTIME
open_now=$( [ ! -s "$TEST_TMP/stall0.log" ] && [ ! -s "$TEST_TMP/stall1.log" ] && echo 2)
tap_is "$st ${open_now:-0}" "0 2" \
  "a normal call alice -> bob succeeds while both stalled connections are open ($(awk "BEGIN {printf \"%.2f\", $T1 - $T0}") s)" ||
  sed 's/^/#   /' "$TEST_TMP/dial4"
tap_is "$(ncalls B)" 3 "  ... B lists the call and the two stalled attempts"
ctl A call end "$(sed -n 's/^call id: //p' "$TEST_TMP/dial4")" >/dev/null 2>&1
wait_pid "$S0" 10
wait_pid "$S1" 10
for i in 0 1; do
  out=$(cat "$TEST_TMP/stall$i.log")
  eof=$(json_get "$out" eof_after_s)
  what=("nothing sent" "half a HELLO (23 octets) sent")
  rx=$(json_get "$out" received_hex)
  if [ -n "$eof" ] && [ "$rx" = 00027f09 ] &&
     awk "BEGIN {exit !($eof >= $HT / 1000 - 0.3 && $eof <= $HT / 1000 + 0.5)}"; then
    tap_ok "stalled connection, ${what[$i]}: B sends ABORT(9, timed out) and closes it after $eof s (handshake timeout $HT ms)"
  else
    tap_not_ok "stalled connection, ${what[$i]}: B closes it at the handshake timeout ($HT ms)" "$out"
  fi
done
tap_is "$(newlog B "$L0" | grep -c "<- -: failed: timed out after $HT ms (the peer sent nothing)") $(newlog B "$L0" | grep -c "<- -: failed: timed out after $HT ms (the peer did not complete the handshake)")" \
  "1 1" "B logs both: 'timed out after $HT ms (the peer sent nothing)' (idle: docs/calls.md, \"Bounds\") and '... (the peer did not complete the handshake)'" ||
  newlog B "$L0" | sed 's/^/#   /'
wait_until 5 quiet A B
tap_result $? "no call and no key left after the stalls"
plan "$RELAY"
ctl A call dial --from alice --to bob@fabrikam >"$TEST_TMP/dial5" 2>&1
tap_result $? "B still serves: a normal call after all of it" || sed 's/^/#   /' "$TEST_TMP/dial5"
ctl A call end "$(sed -n 's/^call id: //p' "$TEST_TMP/dial5")" >/dev/null 2>&1
wait_until 5 quiet A B

# ---- 4. man in the middle, trust on first use --------------------------------
# Fresh daemons A2 (alice) and B2 (bob, on B's port, where MA dials) with
# --trust-on-first-use; alice has bob as a peer without a key, bob has no peer.
STOP_AB=""
for n in A B; do
  stop_proc "${PID[$n]}"
  st=$?
  [ "$st" = 0 ] || STOP_AB+=" $n:exit-$st"
done
PORT[B2]=${PORT[B]}
daemon A2 contoso 27000 --trust-on-first-use
daemon B2 fabrikam 28000 --trust-on-first-use
ok=0
for n in A2 B2; do wait_until 10 ctl "$n" status >/dev/null 2>&1 || ok=1; done
{ [ $ok = 0 ] && setup A2 alice && setup B2 bob &&
  ctl A2 peer add bob@fabrikam --addr "127.0.0.1:$PX"; } >"$TEST_TMP/setup2.out" 2>&1
tap_result $? "fresh daemons A2 (alice, bob as a peer without key) and B2 (bob), trust on first use" ||
  { sed 's/^/#   /' "$TEST_TMP/setup2.out"; tail -n 3 "$TEST_TMP"/ctl_[AB]2.log | sed 's/^/#   /'; }
KA2=$(pubkey A2 alice) KB2=$(pubkey B2 bob)
plan "{\"tag\": \"mitm2\", \"target\": ${PORT[MB]}, \"dial\": [\"$CTL\", \"--admin\", \"$TEST_TMP/MA.sock\", \"call\", \"dial\", \"--from\", \"alice\", \"--to\", \"bob@fabrikam\"]}"
ctl A2 call dial --from alice --to bob@fabrikam >"$TEST_TMP/m2.out" 2>&1
tap_result $? "MITM, TOFU: alice's call succeeds" || sed 's/^/#   /' "$TEST_TMP/m2.out"
wait_for_file "$TEST_TMP/mitm2.dial.rc" 10
tap_is "$(cat "$TEST_TMP/mitm2.dial.rc" 2>/dev/null)" 0 "MITM, TOFU: mallory's call to the real bob succeeds" ||
  sed 's/^/#   /' "$TEST_TMP/mitm2.dial.out"
CA=$(sed -n 's/^security code: //p' "$TEST_TMP/m2.out")
CMA=$(sed -n 's/^security code: //p' "$TEST_TMP/mitm2.dial.out")
wait_until 5 bash -c "[ \"\$('$CTL' --admin '$TEST_TMP/B2.sock' call list | tail -n +2 | grep -c active)\" = 1 ]"
read -r MB2 CB < <(ctl B2 call list --json | jq_ 'd[0]["mode"] + " " + d[0]["security_code"].replace(" ", "_")')
read -r MMB CMB < <(ctl MB call list --json | jq_ 'd[0]["mode"] + " " + d[0]["security_code"].replace(" ", "_")')
CB=${CB//_/ } CMB=${CMB//_/ }
tap_is "$(grep -c '^mode: e2ee$' "$TEST_TMP/m2.out") $MB2 $MMB" "1 e2ee e2ee" \
  "MITM, TOFU: alice and bob each have an e2ee call (so has mallory's MB)"
tap_diag "security codes: alice '$CA', mallory-as-bob '$CMB' | mallory-as-alice '$CMA', bob '$CB'"
tap_is "$([ -n "$CA" ] && [ -n "$CB" ] && [ "$CA" != "$CB" ] && echo differ)" differ \
  "MITM, TOFU: alice's and bob's security codes differ"
tap_is "$CA|$CB" "$CMB|$CMA" "MITM, TOFU: each equals mallory's code on that leg"
read -r LB LBP < <(ctl A2 peer list --json | jq_ '[p for p in d if p["id"] == "bob@fabrikam"][0]["public_key"] + " " + [p for p in d if p["id"] == "bob@fabrikam"][0]["key_source"]')
read -r LA LAP < <(ctl B2 peer list --json | jq_ '[p for p in d if p["id"] == "alice@contoso"][0]["public_key"] + " " + [p for p in d if p["id"] == "alice@contoso"][0]["key_source"]')
tap_is "$LB $LBP | $LA $LAP" "$KMB first-use | $KMA first-use" \
  "MITM, TOFU: alice learnt mallory's bob key, bob learnt mallory's alice key (first use)"
tap_is "$([ "$LB" != "$KB2" ] && [ "$LA" != "$KA2" ] && echo wrong)" wrong "  ... not the real ones"
EA=$(entries "${TABLE[A2]}") EB=$(entries "${TABLE[B2]}")
EMA=$(entries "${TABLE[MA]}") EMB=$(entries "${TABLE[MB]}")
h() { echo "$1" | awk -v d="$2" '$1==d {print $2}'; }
tap_is "$(h "$EA" out)=$(h "$EMB" in) $(h "$EMA" out)=$(h "$EB" in)" \
  "$(h "$EMB" in)=$(h "$EA" out) $(h "$EB" in)=$(h "$EMA" out)" \
  "MITM, TOFU: each leg's keys are shared with mallory (alice out = MB in, MA out = bob in)"
tap_is "$([ -n "$(h "$EA" out)" ] && [ "$(h "$EA" out)" != "$(h "$EB" in)" ] &&
          [ "$(h "$EB" out)" != "$(h "$EA" in)" ] && echo unrelated)" unrelated \
  "MITM, TOFU: alice's and bob's keys are unrelated"
for n in A2 MA; do
  id=$(ctl "$n" call list --json | jq_ 'd[0]["id"] if d else ""')
  [ -n "$id" ] && ctl "$n" call end "$id" >/dev/null 2>&1
done
wait_until 5 quiet A2 B2 MA MB
tap_result $? "the MITM calls end with nothing left in any table"

tap_is "$(grep -ciE 'key_sha256|inline|private' "$TEST_TMP"/ctl_*.log | awk -F: '{s+=$2} END {print s}')" \
  0 "no key material in the daemons' logs"
# every daemon served to the end and stops cleanly (under ASan: no leak report)
bad=""
for n in A2 B2 MA MB C D; do
  kill -0 "${PID[$n]}" 2>/dev/null || bad+=" $n:gone"
done
# SIGTERM to all six at once (they stop side by side), then each one's status
for n in A2 B2 MA MB C D; do kill -TERM "${PID[$n]}" 2>/dev/null; done
for n in A2 B2 MA MB C D; do
  stop_proc "${PID[$n]}"
  st=$?
  [ "$st" = 0 ] || bad+=" $n:exit-$st"
done
tap_is "${STOP_AB}${bad}" "" "all eight daemons ran to the end and exited 0 on SIGTERM"
tap_is "$(grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TEST_TMP"/ctl_*.log | tr '\n' ' ')" "" \
  "no sanitizer report in the daemons' logs"

tap_done
