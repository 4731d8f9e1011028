#!/usr/bin/env bash
# control_kill.sh - issue 14, "Faults": kill -9 the control daemon during call
# churn. Two sites (e2ee_call.sh: alice@contoso, bob@fabrikam), each with a
# callseal-dataplane whose inside port is a net_tap into a network namespace
# with a phone (scripts/lib/phone.py), the two dataplanes joined by net_memif.
# One established e2ee call carries media both ways, RTP and RTCP, for the
# whole test. Meanwhile, in each of ROUNDS rounds, a churn loop on alice's side
# dials bob and ends calls as fast as it can (other local media ports, up to
# WINDOW calls up at once, the oldest ended first), and at a random moment
# alice's callseal-control gets SIGKILL; it is restarted on the same --table,
# --state, admin socket and port. Checked:
#
#  1. the established call's media went through both dataplanes the whole time:
#     each phone received every packet the other sent, once, in order, byte for
#     byte; the call's four flow rows (dpstats, both dataplanes) count every
#     packet and no auth or replay drop; no drop of any reason in either
#     dataplane's exit statistics;
#  2. each restarted daemon attached as the table's writer after the killed
#     one (its log names the killed pid, and any journal recovery), took the
#     previous run's calls over as detached (`call list`: the established call
#     and the churn's calls that were up, each with both entries); `call end`
#     of each orphan removes its entries and the established call's stay;
#  3. every key-table entry of alice's table belongs to a call in `call list`
#     (nothing a half set-up call left behind);
#  4. bob's side (docs/calls.md "Restarts and detached calls"): every entry of
#     bob's table belongs to a call in bob's `call list`, and each of bob's
#     calls that alice no longer has shows `control channel: lost`. Nothing
#     ends those by itself (no control-channel timeout): they keep their keys
#     until bob's operator ends them, which the test does at the end, as
#     operations.md says, and then only the established call's entries remain,
#     until it is ended on both sides: both tables empty.
#
# usage: control_kill.sh DATAPLANE CONTROL CALLSEALCTL KEYTABLE_DUMP DPSTATS_DUMP
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 KTDUMP=$4 DPDUMP=$5
HERE=$(cd "$(dirname "$0")" && pwd)
PHONE=$HERE/../../scripts/lib/phone.py
ROUNDS=3
WINDOW=3                  # churn calls up at once before the oldest is ended
RATE=100                  # RTP packets per second, each way
MAX_MEDIA=90              # seconds of media at most (the phones stop once the rounds are done)
B_MEDIA_POOL=10.200.0.2:40000-40063 CTL_CAPACITY=128
. "$HERE/e2ee_call.sh"
tap_sites ck

# ---- the established call, two sites ----------------------------------------------------
e2ee_call "call dial alice -> bob@fabrikam, media 10.200.0.1:5004 <-> 10.200.0.2:40000"
APID=$A_PID
tap_site b "$NSB" "$IFB" "$TB" "role=server,socket=$MEMIF" 1
DPB=$SPAWN_PID
wait_for_socket "$MEMIF" 20 "$DPB"
tap_site a "$NSA" "$IFA" "$TA" "role=client,socket=$MEMIF" 0
DPA=$SPAWN_PID
tap_site_up a && tap_site_up b
tap_result $? "both dataplanes started: tap inside, joined by memif" ||
  tap_bail "$(tail -3 "$TEST_TMP/dp_a.log") $(tail -3 "$TEST_TMP/dp_b.log")"
phone_nets

# ---- media both ways for the whole test -----------------------------------------------------
# The phones send until the rounds are done (STOP appears: --stop-file), at
# most MAX_MEDIA seconds: the rounds take as long as the machine's load makes
# them.
SSRC_A=0x$(printf '%08x' $(( (RANDOM << 16 | RANDOM) | 1 )))
SSRC_B=0x$(printf '%08x' $(( (RANDOM << 16 | RANDOM) | 2 )))
STOP="$TEST_TMP/media.stop"
media=(--duration "$MAX_MEDIA" --rate "$RATE" --linger 2.0 --stop-file "$STOP")
tap_phone a "$NSA" 10.200.0.1:5004 10.200.0.2:40000 "$SSRC_A" "$SSRC_B" 31 42 alice@contoso bob@fabrikam "${media[@]}"
PHA=$SPAWN_PID
tap_phone b "$NSB" 10.200.0.2:40000 10.200.0.1:5004 "$SSRC_B" "$SSRC_A" 42 31 bob@fabrikam alice@contoso "${media[@]}"
PHB=$SPAWN_PID
phones_go
START=$(python3 -c "print(int($START * 1000))")    # ms, wall clock
echo "# media: $RATE RTP packets/s each way (SSRC $SSRC_A alice -> bob, $SSRC_B bob -> alice) until the rounds are done"
ms() { echo $(( $(_lib_now_us) / 1000 - START )); }   # since the media started

# ---- helpers --------------------------------------------------------------------------------
# The churn: dial bob from alice's ports 10.200.0.1:6000 + 2k (ROUND offsets
# them), keep WINDOW calls up, end the oldest; one line per command in LOG.
cat >"$TEST_TMP/churn.sh" <<'CHURN'
CTL=$1 SA=$2 ROUND=$3 WINDOW=$4 LOG=$5
i=0 win=()
while :; do
  port=$((6000 + 2 * ((ROUND * 16 + i) % 48))); i=$((i + 1))
  out=$("$CTL" --admin "$SA" call dial --from alice --to bob@fabrikam \
    --local-media "10.200.0.1:$port" 2>&1); rc=$?
  id=${out#*call id: }; id=${id%%$'\n'*}
  [ "$id" = "$out" ] && id=-
  echo "dial $port rc=$rc id=$id" >>"$LOG"
  [ "$rc" = 0 ] && [ "$id" != - ] && win+=("$id")
  if [ "${#win[@]}" -gt "$WINDOW" ]; then
    "$CTL" --admin "$SA" call end "${win[0]}" >/dev/null 2>&1
    echo "end ${win[0]} rc=$?" >>"$LOG"
    win=("${win[@]:1}")
  fi
  [ "$rc" = 0 ] || sleep 0.05
done
CHURN
# calls_check SOCKET TABLE OUT: `call list --json` against the table dump
# (one python: this machine may be loaded). Prints shell assignments, each a
# sorted list: K_CALLS (ids), K_LOST (ids whose control channel is lost),
# K_UP (up), K_STRAY (entries whose call id is not listed), K_MISSING (listed
# active calls without both entries), K_ENTRIES (how many entries).
calls_check() {
  "$CTL" --admin "$1" call list --json >"$3.list" 2>&1 &&
    "$KTDUMP" "$2" >"$3.dump" 2>&1 &&
    python3 - "$3.list" "$3.dump" <<'PY'
import json, re, sys
calls = json.load(open(sys.argv[1]))
ents = []
for line in open(sys.argv[2]):
    m = re.match(r'(\S+)/(in|out) .*call_id=(\S+)', line)
    if m:
        ents.append((m.group(1), m.group(2), m.group(3)))
ids = [c["id"] for c in calls]
have = set(ents)
out = {
    "CALLS": ids,
    "LOST": [c["id"] for c in calls if c["control_channel"].startswith("lost")],
    "UP": [c["id"] for c in calls if c["control_channel"] == "up"],
    "STRAY": ["%s/%s=%s" % e for e in ents if e[2] not in ids],
    "MISSING": [c["id"] for c in calls if c["state"] == "active" and not
                ((c["local_media"], "out", c["id"]) in have and
                 (c["local_media"], "in", c["id"]) in have)],
    "ENTRIES": [str(len(ents))]}
for k, v in out.items():
    print("K_%s='%s'" % (k, " ".join(sorted(v))))
PY
}
# flow TABLE ADDR PORT DIR: "packets auth replay" of the call's flow row
flow() {
  local l p=0 a=0 r=0
  l=$("$DPDUMP" "$1" --flow "$2" "$3" "$4" 2>/dev/null | grep '^flow ')
  [[ $l =~ \ packets=([0-9]+) ]] && p=${BASH_REMATCH[1]}
  [[ $l =~ \ auth=([0-9]+) ]] && a=${BASH_REMATCH[1]}
  [[ $l =~ \ replay=([0-9]+) ]] && r=${BASH_REMATCH[1]}
  echo "$p $a $r"
}
flows4() {
  echo "$(flow "$TA" 10.200.0.1 5004 out) $(flow "$TA" 10.200.0.1 5004 in)" \
    "$(flow "$TB" 10.200.0.2 40000 out) $(flow "$TB" 10.200.0.2 40000 in)"
}
# flows_grew BEFORE AFTER: the four rows' packets all grew, no auth or replay drop
flows_grew() {
  local a b i
  read -ra a <<<"$1"
  read -ra b <<<"$2"
  for i in 0 3 6 9; do
    [ "${b[i]}" -gt "${a[i]}" ] && [ "${b[i + 1]}" = 0 ] && [ "${b[i + 2]}" = 0 ] || return 1
  done
}
churned() { [ "$(grep -c 'rc=0 id=' "$1")" -gt "$WINDOW" ]; }

# ---- rounds: churn, kill -9, restart, reattach ----------------------------------------------
while [ "$(ms)" -lt 1000 ]; do sleep 0.1; done   # 1 s of media first
ORPHANS_B=() ALOG="$TEST_TMP/ctl_a.log"
for ((r = 1; r <= ROUNDS; r++)); do
  F1=$(flows4)
  : >"$TEST_TMP/churn$r.log"
  spawn "churn$r" bash "$TEST_TMP/churn.sh" "$CTL" "$SA" "$r" "$WINDOW" "$TEST_TMP/churn$r.log"
  CH=$SPAWN_PID
  # a random moment: 0.5 to 1.5 s into the churn, once more than WINDOW dials
  # have been answered (so that calls are up to be orphaned); in round 2, the
  # first moment after that when the daemon's last log line is a dial (a call
  # in its set-up, most likely)
  sleep "$((RANDOM % 2)).$((RANDOM % 500 + 500 * (RANDOM % 2)))"
  wait_for 20 churned "$TEST_TMP/churn$r.log"
  if [ "$r" = 2 ]; then
    end=$(_lib_now_plus 3)
    until [[ $(tail -n 1 "$ALOG") == *": dial from "* ]] || ! _lib_before "$end"; do :; done
  fi
  kill -KILL "$APID"
  tk=$(ms)
  stop_proc "$CH" 1
  wait "$APID" 2>/dev/null
  ws=$?
  dials=$(grep -c 'rc=0 id=' "$TEST_TMP/churn$r.log")
  ends=$(grep -c '^end .* rc=0' "$TEST_TMP/churn$r.log")
  echo "# round $r: kill -9 of alice's callseal-control pid $APID at $tk ms; churn before it: $dials calls dialled, $ends ended"
  tap_is "$ws $([ "$dials" -gt "$WINDOW" ] && echo churned)" "137 churned" \
    "round $r: alice's daemon killed by SIGKILL after more than $WINDOW churn calls"
  OLD=$APID
  ctl_a_start "ctl_a$r" && wait_until 10 a status >/dev/null 2>&1
  tap_result $? "round $r: alice's daemon restarted on the same table, state and port" ||
    tap_bail "$(tail -5 "$TEST_TMP/ctl_a$r.log")"
  APID=$A_PID
  L="$TEST_TMP/ctl_a$r.log" ALOG="$TEST_TMP/ctl_a$r.log"
  grep -E 'recovered table|attached to table|calls of the previous run' "$L" | sed 's/^/#   /'
  grep -q "attached to table callseal.$TA as its writer: .*(previous writer pid $OLD)" "$L"
  tap_result $? "round $r: the restarted daemon attached as the table's writer after the killed pid $OLD"
  eval "$(calls_check "$SA" "$TA" "$TEST_TMP/a$r")"
  echo "# alice after the restart: calls $K_CALLS; stray entries: ${K_STRAY:-none}; $K_ENTRIES entries"
  read -ra calls <<<"$K_CALLS"
  taken=$(sed -n 's/.*calls of the previous run: \([0-9]*\) active taken over.*/\1/p' "$L")
  tap_is "$K_LOST|$K_MISSING|$([[ " $K_CALLS " == *" $ID "* ]] && echo "$ID")|${taken:-0}" \
    "$K_CALLS||$ID|${#calls[@]}" \
    "round $r: call list: the established call and the churn's calls that were up, all detached, each with both entries, as the start-up line counts"
  [ "${#calls[@]}" -gt "$WINDOW" ]
  tap_result $? "round $r: ${#calls[@]} calls taken over: the established one and $WINDOW or more orphans of the churn"
  tap_is "$K_STRAY" "" \
    "round $r: every key-table entry of alice belongs to a call in call list (no key of a half set-up call left)"
  # end the orphans; each end takes its two entries
  ended=() bad=()
  for oid in "${calls[@]}"; do
    [ "$oid" = "$ID" ] && continue
    a call end "$oid" >>"$TEST_TMP/end$r.log" 2>&1 || bad+=("end:$oid")
    ended+=("$oid")
  done
  eval "$(calls_check "$SA" "$TA" "$TEST_TMP/a${r}e")"
  for oid in "${ended[@]}"; do
    grep -q "call_id=$oid" "$TEST_TMP/a${r}e.dump" && bad+=("left:$oid")
  done
  tap_is "${bad[*]}|$K_CALLS|$K_MISSING|$K_ENTRIES" "|$ID||2" \
    "round $r: call end of each of the ${#ended[@]} orphaned calls removed its entries; the established call and its two entries stay"
  # bob: sees every call alice lost as lost; no entry without a call
  lost_all() {
    eval "$(calls_check "$SB" "$TB" "$TEST_TMP/b$r")"
    [ -n "$K_CALLS" ] && [ "$K_CALLS" = "$K_LOST" ] && [ -z "$K_STRAY$K_MISSING" ]
  }
  wait_for 5 lost_all
  tap_result $? "round $r: bob's daemon shows each of its calls as control channel lost, each with both entries, no other entry" ||
    tap_diag "bob: calls $K_CALLS; lost $K_LOST; stray $K_STRAY; missing $K_MISSING"
  for oid in $K_CALLS; do
    [ "$oid" = "$ID" ] && continue
    [[ " ${ORPHANS_B[*]} " == *" $oid "* ]] || ORPHANS_B+=("$oid")
  done
  F2=$(flows4)
  flows_grew "$F1" "$F2"
  tap_result $? "round $r: the call's media went on through both dataplanes across the kill (flow rows, packets auth replay of alice out, in, bob out, in: $F1 -> $F2)"
done
echo "# rounds done at $(ms) ms: the phones stop"
: >"$STOP"

# ---- media: every packet, both ways ---------------------------------------------------------
wait_pid "$PHA" 30; pa=$?
wait_pid "$PHB" 30; pb=$?
tap_is "$pa $pb" "0 0" "both phones ran to the end"
media_ok() {   # media_ok SENDER_REPORT RECEIVER_REPORT: last line, what the sender sent
  python3 - "$1" "$2" <<'PY'
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("# %s -> %s: RTP %d sent, %d received once (bad %d, dup %d, reordered %d, missing %d), "
      "RTCP %d sent, %d received (bad %d); sent %.0f packets a second, at worst %.0f ms late" % (
      s["name"], r["name"], s["sent_rtp"], r["rx_rtp"], r["rx_bad"], r["rx_dup"],
      r["rx_reordered"], r["rx_missing"], s["sent_rtcp"], r["rx_rtcp"], r["rx_rtcp_bad"],
      s["rate_pps"], s["send_late_ms"]))
ok = (s["sent_rtp"] > 0 and r["rx_rtp"] == s["sent_rtp"] and r["rx_rtcp"] == s["sent_rtcp"] and
      not any(r[k] for k in ("rx_bad", "rx_dup", "rx_missing", "rx_rtcp_bad", "rx_reordered")) and
      r["rx_first_seq"] == s["first_seq"] and r["rx_last_seq"] == s["last_seq"])
print(s["sent_rtp"] + s["sent_rtcp"])
sys.exit(0 if ok else 1)
PY
}
media_ok "$TEST_TMP/phone_a.json" "$TEST_TMP/phone_b.json" >"$TEST_TMP/ab" 2>&1
tap_result $? "alice -> bob: every RTP packet and RTCP compound received once, in order, byte for byte"
grep '^#' "$TEST_TMP/ab"
media_ok "$TEST_TMP/phone_b.json" "$TEST_TMP/phone_a.json" >"$TEST_TMP/ba" 2>&1
tap_result $? "bob -> alice: every RTP packet and RTCP compound received once, in order, byte for byte"
grep '^#' "$TEST_TMP/ba"
NA=$(tail -1 "$TEST_TMP/ab") NB=$(tail -1 "$TEST_TMP/ba")
F3=$(flows4)
tap_is "$F3" "$NA 0 0 $NB 0 0 $NB 0 0 $NA 0 0" \
  "the call's flow rows: alice out and bob in count all $NA packets alice sent, bob out and alice in all $NB of bob's; no auth or replay drop"

# ---- bob's side: the calls alice no longer has ------------------------------------------------
# Nothing ends them (docs/calls.md: no control-channel timeout, no reattach):
# they stay detached with their keys until bob's operator ends them.
eval "$(calls_check "$SB" "$TB" "$TEST_TMP/bend")"
tap_is "$K_CALLS|$K_UP|$K_MISSING" "$(printf '%s\n' "$ID" "${ORPHANS_B[@]}" | sort | tr '\n' ' ' | sed 's/ $//')||" \
  "bob still holds the ${#ORPHANS_B[@]} calls alice's kills orphaned, detached, with their keys (nothing ends them by itself)"
bad=()
for oid in "${ORPHANS_B[@]}"; do
  b call end "$oid" >>"$TEST_TMP/bend.log" 2>&1 || bad+=("end:$oid")
done
"$KTDUMP" "$TB" >"$TEST_TMP/b.after" 2>&1
for oid in "${ORPHANS_B[@]}"; do
  grep -q "call_id=$oid" "$TEST_TMP/b.after" && bad+=("left:$oid")
done
count() { "$KTDUMP" "$1" | sed -n 's/^# count=\([0-9]*\).*/\1/p'; }
tap_is "${bad[*]}|$(grep -c "call_id=$ID" "$TEST_TMP/b.after")|$(count "$TB")" "|2|2" \
  "bob's operator ends them (call end): their entries go, only the established call's two remain"
a call end "$ID" >/dev/null 2>&1 && b call end "$ID" >/dev/null 2>&1
tap_is "$? $(count "$TA") $(count "$TB")" "0 0 0" \
  "the established call ended on both sides (each its own side: detached): both tables empty"

# ---- the dataplanes' exit statistics ------------------------------------------------------
for t in "$TA" "$TB"; do
  echo "# before the stop, $t: $("$DPDUMP" "$t" | grep '^total' | grep -o ' drop_[a-z_]*=[1-9][0-9]*' | tr -d '\n')"
done
stop_proc "$DPA" 5; sa=$?
stop_proc "$DPB" 5; sb=$?
tap_is "$sa $sb" "0 0" "both dataplanes stop cleanly"
python3 - "$TEST_TMP/dp_a.json" "$TEST_TMP/dp_b.json" >"$TEST_TMP/dpst" <<'PY'
import json, sys
t = [json.load(open(f))["total"] for f in sys.argv[1:]]
for s, x in zip("ab", t):
    print("# dataplane %s: encrypted %d, decrypted %d, dropped %s" % (
        s, x["encrypted"], x["decrypted"], json.dumps(x["dropped"])))
# what keys decide (tx_full, a frame the transmit queue did not take, is not
# one: a few are seen while the memif link comes up; the phones and the flow
# rows above show that every packet of the call got through)
keyed = ("auth", "replay", "unverified", "no_stream", "key_exhausted", "index_reuse", "malformed")
print(sum(t[0]["dropped"][k] for k in keyed), sum(t[1]["dropped"][k] for k in keyed),
      t[0]["encrypted"], t[0]["decrypted"], t[1]["encrypted"], t[1]["decrypted"])
PY
grep '^#' "$TEST_TMP/dpst"
read -r da db ea xa eb xb < <(tail -1 "$TEST_TMP/dpst")
tap_is "$da $db" "0 0" \
  "neither dataplane dropped a packet for its key (auth, replay, unverified, no_stream, key_exhausted, index_reuse, malformed: all 0)"
tap_is "$ea $xa $eb $xb" "$NA $NB $NB $NA" \
  "each dataplane encrypted what its phone sent and decrypted what the other phone sent"

tap_done
