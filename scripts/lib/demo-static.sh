#!/usr/bin/env bash
# scripts/lib/demo-static.sh: `scripts/demo --static`, the static-key pcap demo
# (the first scripts/demo), on DPDK virtual devices (no NIC, no hugepages):
#
#   1. callseal-control creates a key table and, through callsealctl, installs
#      static SRTP keys (AEAD_AES_256_GCM) for one call's two directions, a
#      different key for each direction;
#   2. a plaintext RTP/RTCP pcap from the local application (3 SSRCs, a
#      sequence rollover, STUN/DTLS/other traffic mixed in) goes in at the inside
#      port of callseal-dataplane (net_pcap), and an SRTP/SRTCP pcap from the far
#      end (protected by libsrtp2, with some tampered and replayed packets) at
#      the outside port;
#   3. libsrtp2 decrypts what left the outside port and compares it with the
#      input; what left the inside port is compared with the far end's
#      plaintext; the dataplane's counters and a few decoded packets are shown.
# Called by scripts/demo, which has built everything; B = the build directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${CALLSEAL_BUILD:-build}
DP=$B/dataplane/callseal-dataplane
CONTROL=$B/control/callseal-control
CTL=$B/control/callsealctl
GEN=$B/tests/tools/pcap/callseal-rtpgen
CHECK=$B/tests/tools/pcap/callseal-srtpcheck
for x in "$DP" "$CONTROL" "$CTL" "$GEN" "$CHECK"; do
  [ -x "$x" ] || { echo "scripts/demo: $x was not built (see build/meson-logs)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/callseal-demo.XXXXXX)
TABLE="demo$$"
cleanup() {
  [ -n "${CPID:-}" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
  rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume"
  rm -rf "$T" "/var/run/dpdk/demo$$"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# one key per direction: what the application sends (out) and what the far end
# sends (in)
KEY_OUT=$(python3 -c 'import os,base64;print(base64.b64encode(os.urandom(44)).decode())')
KEY_IN=$(python3 -c 'import os,base64;print(base64.b64encode(os.urandom(44)).decode())')
LOCAL=192.0.2.1:5004 REMOTE=198.51.100.7:40000

echo "== 1. callseal-control: key table '$TABLE', static keys for $LOCAL <-> $REMOTE (one per direction)"
"$CONTROL" --table "$TABLE" --state "$T/state" --admin "$T/admin.sock" 2>"$T/control.log" &
CPID=$!
for _ in $(seq 50); do [ -S "$T/admin.sock" ] && break; sleep 0.1; done
"$CTL" --admin "$T/admin.sock" key add --local "$LOCAL" --direction out \
  --profile AEAD_AES_256_GCM --inline "$KEY_OUT" --call-id demo-call
"$CTL" --admin "$T/admin.sock" key add --local "$LOCAL" --direction in \
  --profile AEAD_AES_256_GCM --inline "$KEY_IN" --call-id demo-call
"$CTL" --admin "$T/admin.sock" key list

echo
echo "== 2. traffic: plaintext from the application, SRTP from the far end"
"$GEN" --out "$T/app.pcap" --local "$LOCAL" --remote "$REMOTE" --direction out \
  --ssrcs 3 --packets 2000 --seq-start 64536 --rtcp-every 50 --csrcs --ext --mix \
  --payload 160-1200 | sed 's/^/   from the application: /'
"$GEN" --out "$T/net.pcap" --plain-out "$T/net-plain.pcap" --local "$LOCAL" --remote "$REMOTE" \
  --direction in --profile AEAD_AES_256_GCM --inline "$KEY_IN" --ssrcs 2 --packets 2000 \
  --rtcp-every 50 --mix --payload 160-1200 --tamper-every 97 --replay-every 89 \
  | sed 's/^/   from the far end:    /'

echo
echo "== 3. callseal-dataplane on net_pcap (inside = port 0, outside = port 1)"
"$DP" --no-huge --no-pci -m 256 --log-level=error --file-prefix "demo$$" -l 0 \
  --vdev "net_pcap0,rx_pcap=$T/app.pcap,tx_pcap=$T/to-app.pcap" \
  --vdev "net_pcap1,rx_pcap=$T/net.pcap,tx_pcap=$T/to-net.pcap" \
  -- --table "$TABLE" --idle-exit 300 --stats-json "$T/stats.json" >"$T/dp.log" 2>&1 ||
  { cat "$T/dp.log" >&2; exit 1; }
head -1 "$T/dp.log"
python3 - "$T/stats.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
drops = ", ".join(f"{k} {v}" for k, v in t["dropped"].items() if v)
print(f"   rx inside {t['rx_inside']}, rx outside {t['rx_outside']}; encrypted {t['encrypted']}, "
      f"decrypted {t['decrypted']}, passed unchanged {t['passed']}; dropped: {drops or 'none'}")
PY

echo
echo "== 4. checks"
printf '   outside port, decrypted by libsrtp2 vs the application'"'"'s packets: '
"$CHECK" --mode decrypt --profile AEAD_AES_256_GCM --inline "$KEY_OUT" \
  --expect "$T/app.pcap" --got "$T/to-net.pcap" -q
printf '   inside port vs the far end'"'"'s plaintext:                        '
"$CHECK" --mode plain --expect "$T/net-plain.pcap" --got "$T/to-app.pcap" -q
echo "   a few packets as they left the outside port (tshark):"
tshark -r "$T/to-net.pcap" -c 6 --disable-protocol rtcp -d udp.port==40000,rtp 2>/dev/null | sed 's/^/     /'
echo
echo "demo done: every RTP/RTCP packet left encrypted and came back byte for byte;"
echo "tampered and replayed SRTP were dropped and counted (auth, replay)."
