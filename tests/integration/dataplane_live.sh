#!/usr/bin/env bash
# dataplane_live.sh - callseal-dataplane with an ordinary application in front:
# a kernel UDP socket sends RTP into a net_tap interface (the inside port); what
# leaves the outside port (net_pcap) must be SRTP that libsrtp2 decrypts back to
# what was sent. Then, with media flowing, the stream's key is deleted: from
# 10 ms after the delete returns, none of that stream's packets may leave, and
# none ever leaves in plaintext.
#
# usage: dataplane_live.sh DATAPLANE CONTROL CALLSEALCTL SRTPCHECK
#
# Everything runs in a network namespace made for this test, so the test's
# addresses (10.200.0.0/24) exist nowhere else.
. "$(dirname "$0")/lib.sh"

DATAPLANE=$1 CONTROL=$2 CTL=$3 SRTPCHECK=$4
HERE=$(cd "$(dirname "$0")" && pwd)
require_cmd ip python3
[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun: net_tap cannot run here"

NS="cs$$"
IFACE="cst$$"
TABLE="l$$"
SOCK="$TEST_TMP/admin.sock"
KEY=$(python3 -c 'import base64;print(base64.b64encode(bytes(range(7,35))).decode())')
ip netns add "$NS" 2>/dev/null || tap_skip_all "cannot create a network namespace (not root?)"
trap '_lib_cleanup; ip netns del "$NS" 2>/dev/null; rm -f "/dev/shm/callseal.$TABLE" "/dev/shm/callseal.$TABLE.resume"' EXIT
nsx() { ip netns exec "$NS" "$@"; }

spawn control "$CONTROL" --table "$TABLE" --state "$TEST_TMP/state" --admin "$SOCK"
CONTROL_PID=$SPAWN_PID
wait_for_socket "$SOCK" 10 "$CONTROL_PID" || tap_bail "callseal-control did not start"
tap_check "key add for the application's address" "$CTL" --admin "$SOCK" key add \
  --local 10.200.0.1:5004 --direction out --profile AEAD_AES_128_GCM --inline "$KEY"

python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$TEST_TMP/empty.pcap"
read -ra eal <<<"$(eal_args live)"
spawn dp ip netns exec "$NS" "$DATAPLANE" "${eal[@]}" -l 0 \
  --vdev "net_tap0,iface=$IFACE" \
  --vdev "net_pcap0,rx_pcap=$TEST_TMP/empty.pcap,tx_pcap=$TEST_TMP/to_net.pcap" \
  -- --table "$TABLE" --inside 0 --outside 1 --stats-json "$TEST_TMP/stats.json"
DP_PID=$SPAWN_PID
wait_until 20 grep -q "^callseal-dataplane: inside port" "$TEST_TMP/dp.log"
tap_result $? "dataplane started with a tap inside port" || tap_bail "$(tail -5 "$TEST_TMP/dp.log")"

# the application's side of the tap (lib.sh)
ns_tap_up "$NS" "$IFACE"
tap_check "tap interface configured in the namespace" nsx ip addr show dev "$IFACE"

# ---- 1. RTP from a kernel socket comes out as SRTP libsrtp2 decrypts --------
tap_check "an application sends 400 RTP packets from a UDP socket" nsx python3 "$HERE/rtpsend.py" \
  --src 10.200.0.1:5004 --dst 10.200.0.2:40000 --count 400 --interval-ms 0.5 \
  --ssrc 0x1111 --expect "$TEST_TMP/expect1.pcap"

# live counters over DPDK telemetry while it runs
PREFIX=$(printf '%s\n' "${eal[@]}" | sed -n 's/^--file-prefix=//p')
TELSOCK="$(dpdk_runtime_dir "$PREFIX")/dpdk_telemetry.v2"
# tel KEY: one member of /callseal/stats, read live (JSON)
tel() {
  python3 - "$TELSOCK" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.recv(4096)                                   # the greeting
s.send(b"/callseal/stats")
print(json.dumps(json.loads(s.recv(65536))["/callseal/stats"][sys.argv[2]]))
EOF
}
# tel_atleast KEY N: that counter has reached N
tel_atleast() { local v; v=$(tel "$1" 2>/dev/null) && [ "${v:-0}" -ge "$2" ]; }
wait_for 10 tel_atleast encrypted 400
TEL=$(tel encrypted)
tap_is "$TEL" 400 "telemetry /callseal/stats reports the 400 encrypted packets live"
# one naming: telemetry's "dropped" object has the exit JSON's reasons (checked
# against the exit JSON below)
TEL_DROPPED=$(tel dropped | python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)))')

# ---- 2. delete the key while media flows ------------------------------------
spawn sender ip netns exec "$NS" python3 "$HERE/rtpsend.py" --src 10.200.0.1:5004 --dst 10.200.0.2:40000 \
  --count 2000 --interval-ms 1 --ssrc 0x2222 --seq-start 30000 --times "$TEST_TMP/times2.txt"
SENDER=$SPAWN_PID
# media flows: 200 packets of the second stream through the dataplane first
wait_for 20 tel_atleast rx_inside 600
"$CTL" --admin "$SOCK" key del --local 10.200.0.1:5004 --direction out >"$TEST_TMP/del.out" 2>&1
DEL_RC=$?
T_DEL=$(date +%s.%N)
tap_is "$DEL_RC" 0 "key del while media flows"
wait_pid "$SENDER" 30
# every packet sent (400 + 2000) has been through the dataplane
wait_for 10 tel_atleast rx_inside 2400
stop_proc "$DP_PID" 5
tap_is "$?" 0 "dataplane stops cleanly on SIGTERM"

# split the output: the first stream's frames go to to_net_1.pcap for srtpcheck
# The pcap's own timestamps are not on the wall clock, so each packet's time is
# taken from the sender's log (seq -> when it was sent); the dataplane handles
# a packet microseconds after the kernel sends it.
python3 - "$TEST_TMP/to_net.pcap" "$T_DEL" "$TEST_TMP/stats.json" "$TEST_TMP/to_net_1.pcap" \
  "$TEST_TMP/times2.txt" >"$TEST_TMP/analysis.txt" <<'EOF'
import json, struct, sys
path, t_del, stats, first, times = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sent = {}
for line in open(times):
    seq, t = line.split()
    sent[int(seq)] = float(t)
late_sent = sum(1 for t in sent.values() if t > t_del + 0.010)
data = open(path, 'rb').read()
out1 = open(first, 'wb')
out1.write(data[:24])
off = 24
last_seq2 = -1
count = {0x1111: 0, 0x2222: 0}
plain = 0
while off + 16 <= len(data):
    ts, tus, incl, orig = struct.unpack('<IIII', data[off:off + 16])
    rec = data[off:off + 16 + incl]
    f = rec[16:]
    off += 16 + incl
    if len(f) < 42 or f[12:14] != b'\x08\x00' or f[23] != 17:
        continue
    ihl = (f[14] & 15) * 4
    udp = f[14 + ihl:]
    if int.from_bytes(udp[2:4], 'big') != 40000:
        continue
    rtp = udp[8:]
    ssrc = int.from_bytes(rtp[8:12], 'big')
    if ssrc not in count:
        continue
    count[ssrc] += 1
    if ssrc == 0x1111:
        out1.write(rec)
    if ssrc == 0x2222:
        last_seq2 = max(last_seq2, int.from_bytes(rtp[2:4], 'big'))
    if len(rtp) != 12 + 160 + 16:
        plain += 1
st = json.load(open(stats))['total']
print(f"sent_before={count[0x1111]} stream2={count[0x2222]} plain={plain} "
      f"last2_after_delete_ms={(sent.get(last_seq2, 0.0) - t_del) * 1000:.3f} "
      f"late_sent={late_sent} no_stream={st['dropped']['no_stream']}")
EOF
read -r A <"$TEST_TMP/analysis.txt"
tap_include "$SRTPCHECK" --tap --media-only --mode decrypt --profile AEAD_AES_128_GCM \
  --inline "$KEY" --expect "$TEST_TMP/expect1.pcap" --got "$TEST_TMP/to_net_1.pcap"
tap_diag "$A"
eval "$(echo "$A" | tr ' ' '\n' | sed 's/^/an_/')"
tap_is "$an_sent_before" 400 "all 400 packets of the first stream left, as SRTP"
tap_is "$an_plain" 0 "no media packet ever left in plaintext"
[ "${an_stream2:-0}" -gt 0 ] && tap_ok "the second stream flowed before the delete" ||
  tap_not_ok "the second stream flowed before the delete"
python3 -c "import sys; sys.exit(0 if float('$an_last2_after_delete_ms') <= 10.0 else 1)"
tap_result $? "no packet of the deleted stream left later than 10 ms after the delete ($an_last2_after_delete_ms ms)"
[ "${an_late_sent:-0}" -gt 0 ] && [ "${an_no_stream:-0}" -ge "${an_late_sent:-0}" ] &&
  tap_ok "every packet sent 10 ms after the delete or later was dropped as no_stream ($an_no_stream >= $an_late_sent)" ||
  tap_not_ok "packets after the delete dropped as no_stream" "no_stream=$an_no_stream late_sent=$an_late_sent"
tap_is "$TEL_DROPPED" \
  "$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["total"]["dropped"]))' "$TEST_TMP/stats.json")" \
  "telemetry's dropped object names the reasons as the exit JSON does" || tap_diag "telemetry: $TEL_DROPPED"

stop_proc "$CONTROL_PID" 5
tap_done
