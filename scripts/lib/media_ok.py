#!/usr/bin/env python3
"""media_ok.py - did a stream arrive whole? Compares the sending phone's report
with the receiving phone's (scripts/lib/phone.py's JSON): everything sent was
received once, in order, payload verified, RTCP included.

usage: media_ok.py SENDER_REPORT RECEIVER_REPORT   (the JSON objects themselves)
Prints what failed ("; "-separated, empty if nothing); exit status 1 if anything
did. scripts/demo and scripts/soak use it; soak.py imports media_fails().
"""
import json
import sys


def media_fails(s, r):
    """The failures of the stream s (sender's report) -> r (receiver's), a list."""
    fails = []
    if s["sent_rtp"] == 0:
        fails.append("nothing sent")
    if r["rx_rtp"] != s["sent_rtp"]:
        fails.append("RTP: %d sent, %d received" % (s["sent_rtp"], r["rx_rtp"]))
    if r["rx_rtcp"] != s["sent_rtcp"]:
        fails.append("RTCP: %d sent, %d received" % (s["sent_rtcp"], r["rx_rtcp"]))
    for k in ("rx_bad", "rx_dup", "rx_missing", "rx_rtcp_bad", "rx_reordered"):
        if r[k]:
            fails.append("%s %d" % (k, r[k]))
    if r["rx_first_seq"] != s["first_seq"] or r["rx_last_seq"] != s["last_seq"]:
        fails.append("sequence %s-%s received, %s-%s sent" % (
            r["rx_first_seq"], r["rx_last_seq"], s["first_seq"], s["last_seq"]))
    return fails


if __name__ == "__main__":
    f = media_fails(json.loads(sys.argv[1]), json.loads(sys.argv[2]))
    print("; ".join(f))
    sys.exit(1 if f else 0)
