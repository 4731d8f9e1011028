#!/usr/bin/env bash
# rtpengine.sh - rtpengine (sipwise, Debian's rtpengine-daemon) as a live SRTP
# peer of callseal-dataplane, both ways, per SDES suite (issue 16).
#
# usage: rtpengine.sh DATAPLANE CONTROL CALLSEALCTL RTPGEN
#
# rtpengine runs in userspace only (--table=-1: no kernel module), in the
# foreground, with its whole configuration on the command line
# (--config-file=none), on 127.0.0.1 with its own ng port and media port range.
# rtpengine_ng.py drives it over its ng control protocol (bencode over UDP).
#
# Per suite (AES_CM_128_HMAC_SHA1_80 and _32, AEAD_AES_128_GCM and _256_GCM),
# one call: callseal's side (CS, 127.0.0.1:PC) offers RTP/SAVP with an SDES
# a=crypto line (its sending key), rtpengine offers plain RTP/AVP to the plain
# side (PL, 127.0.0.1:PA), PL answers, and rtpengine answers CS with RTP/SAVP
# and its own a=crypto line (the key rtpengine sends with). Both lines go into
# callseal's key table (callseal_key_sdes: the only place keys are installed).
#
# The dataplane runs over net_pcap (inside port: the application, outside:
# the network); its pcaps are carried live to and from rtpengine over UDP:
#   1. PL sends plain RTP/RTCP to rtpengine, which encrypts it; what arrives
#      at PC is written to a pcap, addressed to PC (rtpengine_ng.py relay);
#   2. the dataplane encrypts plain RTP/RTCP from the inside port (to
#      rtpengine's port) and decrypts the SRTP/SRTCP of step 1 from the
#      outside port;
#   3. the dataplane's SRTP/SRTCP goes from PC to rtpengine, which decrypts it
#      and forwards it to PA; a few packets are sent unencrypted before it,
#      and rtpengine must drop them (it checks, so the rest proves the keys).
# RTCP shares the RTP port (a=rtcp-mux, RFC 5761) on both legs. Checks: byte
# for byte equal RTP/RTCP both ways (callseal -> rtpengine -> PL, and PL ->
# rtpengine -> callseal), the dataplane's counters and rtpengine's.
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 RTPGEN=$4
NGPY="$(dirname "$0")/rtpengine_ng.py"
require_cmd rtpengine python3

# The SDES suites checked: NAME:SUITE:KEYLEN, KEYLEN the bytes of master key
# || salt in its inline key (RFC 4568 section 6.2, RFC 7714 section 12)
SUITES=(cm80:AES_CM_128_HMAC_SHA1_80:30 cm32:AES_CM_128_HMAC_SHA1_32:30
        gcm128:AEAD_AES_128_GCM:28 gcm256:AEAD_AES_256_GCM:44)
PACKETS=200      # RTP packets each way per suite, and RTCP (SR/RR + SDES):
RTCP_EVERY=10    # one compound after every 10 RTP packets, on the RTP port (RFC 5761)
PLAIN_FIRST=5    # unencrypted packets sent to rtpengine's SRTP port first
TABLE="t$$"
SOCK="$TEST_TMP/admin.sock"
LO=127.0.0.1

cleanup_table() { rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume"; }
trap '_lib_cleanup; cleanup_table' EXIT

ng() { python3 "$NGPY" "$@"; }
ctl() { "$CTL" --admin "$SOCK" "$@"; }

spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK"
CONTROL_PID=$SPAWN_PID
wait_for_socket "$SOCK" 10 "$CONTROL_PID" || tap_bail "callseal-control did not start: $(tail -3 "$TEST_TMP/control.log")"

# ---- rtpengine ---------------------------------------------------------------
# Ports below the kernel's ephemeral range, 200 of them chosen by this
# script's pid: 160 for rtpengine's media (a call takes a few RTP/RTCP pairs
# per side, freed when it is deleted), the ng port and the test's own media
# sockets above them.
BASE=$((20000 + ($$ % 60) * 200))
read -r NG_PORT <<<"$(ng freeports 1 --from $((BASE + 160)))" || tap_bail "no free UDP port from $((BASE + 160))"
spawn rtpengine rtpengine --config-file=none --foreground --log-stderr --log-level=6 \
  --table=-1 --interface="$LO" --listen-ng="$LO:$NG_PORT" \
  --port-min="$BASE" --port-max=$((BASE + 159)) --num-threads=1 --delete-delay=0
RTPE_PID=$SPAWN_PID
if ! ng ping --ng "$LO:$NG_PORT" --deadline 20 >"$TEST_TMP/ping.out" 2>&1; then
  tap_diag "rtpengine log:" && tail -n 15 "$TEST_TMP/rtpengine.log" | sed 's/^/#   /'
  tap_bail "rtpengine (pid $RTPE_PID) did not answer ng ping on $LO:$NG_PORT"
fi
tap_ok "rtpengine $(rtpengine --version 2>&1 | awk '{print $2}') runs in userspace (--table=-1) and answers ng ping"

# callseal_key_sdes LOCAL DIRECTION CRYPTO: install one direction's key from
# an SDES crypto attribute value "TAG SUITE inline:KEY[|LIFETIME][|MKI:LEN]
# [PARAMS]" (RFC 4568 section 9.1) as rtpengine gives or gets it, the one
# place keys go into callseal here: callsealctl key add --sdes takes the whole
# a=crypto line (suite, key, lifetime and MKI; it refuses what it cannot
# honour).
callseal_key_sdes() {
  ctl key add --local "$1" --direction "$2" --sdes "a=crypto:$3"
}

# head_pcap FILE N: the pcap of FILE's first N frames, on stdout
head_pcap() {
  python3 - "$1" "$2" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 24
for _ in range(int(sys.argv[2])):
    off += 16 + struct.unpack("<I", d[off + 8:off + 12])[0]
sys.stdout.buffer.write(d[:off])
EOF
}

# ---- one call per suite --------------------------------------------------------
# suite NAME SUITE KEYLEN SEED
suite() {
  local name=$1 s=$2 keylen=$3 seed=$4 pc pa call key out
  read -r pc pa <<<"$(ng freeports 2 --from $((BASE + 160 + seed * 8)))" ||
    { tap_not_ok "$name: two free UDP ports for the call's ends"; return; }
  key=$(head -c "$keylen" /dev/urandom | base64 -w0)   # callseal's sending key
  tap_check "$name: rtpengine takes an RTP/SAVP offer with SDES $s and answers the same suite" \
    ng call --ng "$LO:$NG_PORT" --call-id "$name-$$" --suite "$s" --inline "$key" \
    --savp "$LO:$pc" --plain "$LO:$pa" ||
    { tap_diag "rtpengine refused $s, so it is not checked against callseal"; return; }
  call=$(last_json "$TEST_TMP/last.out")
  local savp_port plain_port rtpe_crypto
  savp_port=$(json_get "$call" savp_port)
  plain_port=$(json_get "$call" plain_port)
  rtpe_crypto=$(json_get "$call" crypto)
  tap_diag "$name: callseal $LO:$pc <-> rtpengine $savp_port (SRTP) | rtpengine $plain_port (RTP) <-> $LO:$pa"

  tap_check "$name: callseal takes its offered key for what it sends" \
    callseal_key_sdes "$LO:$pc" out "1 $s inline:$key" || return
  tap_check "$name: callseal takes rtpengine's answered key for what it receives" \
    callseal_key_sdes "$LO:$pc" in "$rtpe_crypto" || return

  # plain RTP (CSRCs, header extensions, padding) with a sequence number
  # rollover (both ends must agree on the ROC) and RTCP compounds
  "$RTPGEN" --out "$TEST_TMP/$name.cs.rtp.pcap" --local "$LO:$pc" --remote "$LO:$savp_port" \
    --direction out --ssrcs 1 --packets "$PACKETS" --seq-start 65480 --payload 20-600 \
    --csrcs --ext --padding --rtcp-every "$RTCP_EVERY" --seed $((seed * 2)) >"$TEST_TMP/$name.cs.json"
  "$RTPGEN" --out "$TEST_TMP/$name.pl.rtp.pcap" --local "$LO:$pa" --remote "$LO:$plain_port" \
    --direction out --ssrcs 1 --packets "$PACKETS" --seq-start 65500 --payload 20-600 \
    --csrcs --ext --padding --rtcp-every "$RTCP_EVERY" --seed $((seed * 2 + 1)) >"$TEST_TMP/$name.pl.json"
  local g n_cs n_pl
  g=$(cat "$TEST_TMP/$name.cs.json")
  n_cs=$(( $(json_get "$g" rtp) + $(json_get "$g" rtcp) ))
  g=$(cat "$TEST_TMP/$name.pl.json")
  n_pl=$(( $(json_get "$g" rtp) + $(json_get "$g" rtcp) ))

  # 1. plain side -> rtpengine (encrypts) -> callseal's address, captured
  tap_check "$name: rtpengine turns $n_pl plain RTP/RTCP packets into SRTP/SRTCP towards callseal" \
    ng relay --pcap "$TEST_TMP/$name.pl.rtp.pcap" --send-from "$LO:$pa" \
    --send-to "$LO:$plain_port" --recv "$LO:$pc" --out "$TEST_TMP/$name.rtpe.srtp.pcap" \
    --deadline 10
  out=$(ng compare --expect "$TEST_TMP/$name.pl.rtp.pcap" --got "$TEST_TMP/$name.rtpe.srtp.pcap" 2>/dev/null)
  tap_is "$(json_get "$out" equal)" 0 "$name: none of rtpengine's output is the plain packet (encrypted)"

  # 2. the dataplane: encrypts the inside RTP/RTCP, decrypts rtpengine's SRTP/SRTCP
  dp_pcap_run "$name" "$TABLE" "$TEST_TMP/$name.cs.rtp.pcap" "$TEST_TMP/$name.rtpe.srtp.pcap"
  tap_is "$?" 0 "$name: dataplane ran and exited cleanly"
  tap_check "$name: callseal decrypts rtpengine's SRTP/SRTCP to the plain side's RTP/RTCP, byte for byte" \
    ng compare --expect "$TEST_TMP/$name.pl.rtp.pcap" --got "$TEST_TMP/$name.to_app.pcap"
  tap_is "$(dp_stat "$name" decrypted encrypted dropped.auth)" "$n_pl $n_cs 0" \
    "$name: the dataplane's counters: decrypted, encrypted, dropped as auth"

  # 3. callseal's SRTP/SRTCP -> rtpengine (decrypts) -> plain side; plain RTP
  # first, which rtpengine must refuse on its SRTP port
  head_pcap "$TEST_TMP/$name.cs.rtp.pcap" "$PLAIN_FIRST" >"$TEST_TMP/$name.unenc.pcap"
  tap_check "$name: rtpengine forwards the SRTP/SRTCP callseal made (and nothing more) to the plain side" \
    ng relay --pcap "$TEST_TMP/$name.unenc.pcap" --pcap "$TEST_TMP/$name.to_net.pcap" \
    --send-from "$LO:$pc" --send-to "$LO:$savp_port" --recv "$LO:$pa" \
    --out "$TEST_TMP/$name.at_plain.pcap" --expect "$n_cs" --deadline 10
  tap_check "$name: rtpengine decrypts callseal's SRTP/SRTCP to the original RTP/RTCP, byte for byte" \
    ng compare --expect "$TEST_TMP/$name.cs.rtp.pcap" --got "$TEST_TMP/$name.at_plain.pcap"

  # rtpengine's own count in its final statistics when the call is deleted
  # (rtpengine 10.5's log line: "Port LOCAL <> PEER, SSRC X, N p, N b, N e, N ts")
  tap_check "$name: rtpengine deletes the call" ng delete --ng "$LO:$NG_PORT" --call-id "$name-$$"
  tap_check "$name: rtpengine's statistics: $n_cs packets from callseal, $PLAIN_FIRST errors (the unencrypted)" \
    wait_for 5 grep -qE "\[$name-$$\]: .*Port +$LO:$savp_port <> +$LO:$pc, SSRC [0-9a-f]+, $n_cs p, [0-9]+ b, $PLAIN_FIRST e," \
    "$TEST_TMP/rtpengine.log"
}

seed=1
for e in "${SUITES[@]}"; do
  IFS=: read -r name s keylen <<<"$e"
  suite "$name" "$s" "$keylen" "$seed"
  seed=$((seed + 1))
done

stop_proc "$RTPE_PID" 5
tap_is "$(grep -c -E 'CRIT|ALERT|EMERG' "$TEST_TMP/rtpengine.log")" 0 "rtpengine logged nothing critical"
tap_done
