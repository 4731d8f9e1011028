#!/usr/bin/env python3
"""soak.py - the churn of scripts/soak: calls set up, media on them, rekeys,
calls ended, in a loop, on the two sites scripts/soak started
(scripts/lib/sites.sh); a sample line every --interval seconds; at the end a
summary and the checks, printed as "ok N - ..." / "not ok N - ...".

usage: soak.py CONFIG.json   (written by scripts/soak; not for direct use)

CONFIG: {"ctl", "dump", "phone", "tmp", "seconds", "interval", "warmup",
"calls", "rate", "seed", "samples", "n0", "result", "sites": {SITE: {"ns",
"admin", "table", "ip", "control_pid", "dp_pid"}}}. "n0" is the number of the
last check printed before (the numbering goes on); "result" gets "N FAILED"
and then the summary as JSON.

Each of --calls slots runs one call after the other until the time is up:
  - e2ee: alice@contoso -> bob@fabrikam; standard: alice@contoso ->
    dave@fabrikam (dave has not turned e2ee on); tenant: alice@contoso ->
    carol@contoso, both legs in contoso's daemon (no media: both phones would
    sit behind the one tap, and the kernel would deliver their packets without
    the dataplane);
  - dial from contoso, wait until every leg is active with the expected mode;
  - e2ee and standard calls: a phone on each side (scripts/lib/phone.py, random
    SSRCs, seeds and sequence starts) sends RATE RTP packets/s + 1 RTCP/s each
    way for 5-15 s; 1-2 `call rekey` at random moments from a random side;
  - then the rekey counts must agree on every leg (the rekeys), the call is
    ended from a random side (`call end`), and gone from every leg;
  - the phones' reports are checked as scripts/demo does (media_ok.py).
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from media_ok import media_fails  # noqa: E402

MIB = 1024.0 * 1024.0
# the check's bound: the end at most this much above the value after the
# warm-up (the soak's dataplane tables are at most ~2 MiB: see scripts/soak)
RSS_SLACK_BYTES = 4 * 1024 * 1024
CRYPTO_DROPS = ("auth", "replay", "index_reuse", "key_exhausted")
DROP_WHY = {
    "no_stream": "media to a port with no key: a packet after its call's keys were deleted",
    "tx_full": "a transmit queue (tap or memif) did not take the frame: the machine starved a process",
    "malformed": "a bad frame or header",
    "other": "non-media traffic with --other drop",
    "table_full": "the worker's flow or stream table was full",
    "no_room": "no tailroom for the tag",
    "fragment": "an IP fragment",
    "chained": "a multi-segment mbuf",
}
KINDS = {   # kind: (callee, callee's site, media, mode, weight)
    "e2ee": ("bob@fabrikam", "fabrikam", True, "e2ee", 60),
    "standard": ("dave@fabrikam", "fabrikam", True, "standard", 25),
    "tenant": ("carol@contoso", "contoso", False, "e2ee", 15),
}

cfg = json.load(open(sys.argv[1]))
SITES = list(cfg["sites"])
lock = threading.Lock()
out_lock = threading.Lock()
phones = set()          # live phone processes


def say(line):
    with out_lock:
        print(line, flush=True)


class Stats:
    def __init__(self):
        self.up = self.ended = self.active = 0
        self.kinds = {k: 0 for k in KINDS}
        self.rekeys = {s: 0 for s in SITES}
        self.rekey_busy = 0
        self.errors = []          # (call id or "-", what)
        self.media_calls = 0
        self.media_bad = []       # (call id, direction, failures)
        self.streams = 0
        self.sent = {s: [0, 0] for s in SITES}     # RTP, RTCP sent by the site's phones
        self.late_ms = 0.0
        self.ports = {s: set() for s in SITES}     # media ports used with media
        self.media_calls_at = {s: 0 for s in SITES}


st = Stats()


def error(cid, what):
    with lock:
        st.errors.append((cid, what))
    say("   ! call %s: %s" % (cid, what))


def ctl(site, *args, timeout=60):
    """callsealctl against SITE's daemon: (rc, stdout, stderr)."""
    try:
        p = subprocess.run([cfg["ctl"], "--admin", cfg["sites"][site]["admin"]] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr.strip()
    except subprocess.TimeoutExpired:
        return 124, "", "callsealctl %s timed out after %d s" % (" ".join(args), timeout)


def legs(site, cid):
    """The call's legs at SITE (call show --json: an object, or two for a
    call within the tenant), [] if the daemon does not know it."""
    rc, out, _ = ctl(site, "call", "show", cid, "--json", timeout=20)
    if rc != 0:
        return []
    try:
        v = json.loads(out)
    except ValueError:
        return []
    return v if isinstance(v, list) else [v]


def wait_until(pred, seconds, step=0.1):
    end = time.time() + seconds
    while True:
        v = pred()
        if v or time.time() > end:
            return v
        time.sleep(step)


def sleep_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


def call_legs(cid, kind):
    """Every leg of the call, on both sites where the call is between them."""
    sites = ["contoso"] if kind == "tenant" else SITES
    return [leg for s in sites for leg in legs(s, cid)]


def phone(site, name, peer_name, bind, peer, ssrc, peer_ssrc, seed, peer_seed, start,
          duration, report, ready, peer_ready):
    ns = cfg["sites"][site]["ns"]
    log = open(report + ".log", "w")
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns, "python3", cfg["phone"], "--name", name,
         "--peer-name", peer_name, "--bind", bind, "--peer", peer,
         "--ssrc", str(ssrc), "--peer-ssrc", str(peer_ssrc), "--seed", str(seed),
         "--peer-seed", str(peer_seed), "--start-at", "%.3f" % start,
         "--duration", "%.2f" % duration, "--rate", str(cfg["rate"]), "--linger", "2.0",
         "--report", report, "--ready", ready, "--wait-for", peer_ready],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    with lock:
        phones.add(p)
    return p


def rekey(cid, site):
    rc, out, err = ctl(site, "call", "rekey", cid)
    if rc == 0 and "rekeyed (rekey" in out:
        with lock:
            st.rekeys[site] += 1
        return 1
    if "try again" in err:
        with lock:
            st.rekey_busy += 1
        return 0
    error(cid, "call rekey from %s failed: %s" % (site, err or out.strip()))
    return 0


def media(cid, kind, d, rng, n):
    """Phones on both sides, rekeys meanwhile; the number of rekeys done."""
    callee = KINDS[kind][0]
    a_media, b_media = d["local_media"], d["remote_media"]
    dur = rng.uniform(5.0, 15.0)
    # each phone waits until the other is listening (--ready, --wait-for)
    start = time.time() + 1.0
    ssrc = [rng.getrandbits(32), rng.getrandbits(32)]
    seed = [rng.getrandbits(31), rng.getrandbits(31)]
    rep = ["%s/call%d-%s.json" % (cfg["tmp"], n, s) for s in SITES]
    rdy = [r + ".ready" for r in rep]
    pa = phone("contoso", "alice@contoso", callee, a_media, b_media, ssrc[0], ssrc[1],
               seed[0], seed[1], start, dur, rep[0], rdy[0], rdy[1])
    pb = phone("fabrikam", callee, "alice@contoso", b_media, a_media, ssrc[1], ssrc[0],
               seed[1], seed[0], start, dur, rep[1], rdy[1], rdy[0])
    with lock:
        st.ports["contoso"].add(a_media)
        st.ports["fabrikam"].add(b_media)
    # 1 or 2 rekeys at random moments while media flows, at least 1.5 s apart
    # (a third generation within 1 s is refused: docs/calls.md "Rekey")
    k = rng.choice((1, 1, 2))
    times = sorted(rng.uniform(start + 0.3, start + dur - 0.3) for _ in range(k))
    if k == 2 and times[1] - times[0] < 1.5:
        times = times[:1]
    done = 0
    for t in times:
        sleep_until(t)
        done += rekey(cid, rng.choice(SITES))
    reports = []
    for p, r in ((pa, rep[0]), (pb, rep[1])):
        try:
            p.wait(timeout=max(1.0, start + dur - time.time()) + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        with lock:
            phones.discard(p)
        try:
            reports.append(json.load(open(r)))
        except (OSError, ValueError):
            reports.append(None)
    if None in reports:
        error(cid, "a phone gave no report (exit %s, %s)" % (pa.returncode, pb.returncode))
        with lock:
            st.media_bad.append((cid, "both", ["no report"]))
        return done
    bad = [(dirn, f) for dirn, f in (("alice -> " + callee, media_fails(reports[0], reports[1])),
                                      (callee + " -> alice", media_fails(reports[1], reports[0])))
           if f]
    with lock:
        st.media_calls += 1
        for i, site in enumerate(SITES):
            st.sent[site][0] += reports[i]["sent_rtp"]
            st.sent[site][1] += reports[i]["sent_rtcp"]
            st.late_ms = max(st.late_ms, reports[i]["send_late_ms"])
            st.media_calls_at[site] += 1
        st.streams += 2
        st.media_bad += [(cid, dirn, f) for dirn, f in bad]
    for dirn, f in bad:
        say("   ! call %s %s: %s" % (cid, dirn, "; ".join(f)))
    for r in rep:
        for f in (r, r + ".log", r + ".ready"):
            try:
                os.unlink(f)
            except OSError:
                pass
    return done


def one_call(rng, n):
    kind = rng.choices(list(KINDS), [KINDS[k][4] for k in KINDS])[0]
    callee, _, has_media, mode, _ = KINDS[kind]
    rc, out, err = ctl("contoso", "call", "dial", "--from", "alice", "--to", callee, "--json")
    if rc != 0:
        error("-", "call dial --to %s failed: %s" % (callee, err or out.strip()))
        time.sleep(1.0)
        return
    d = json.loads(out)
    cid = d["call_id"]
    with lock:
        st.up += 1
        st.active += 1
        st.kinds[kind] += 1
    rekeys = 0
    try:
        def all_active():
            ls = call_legs(cid, kind)      # two legs: one per site, or both in contoso
            return len(ls) == 2 and all(x.get("state") == "active" for x in ls)
        if not wait_until(all_active, 15):
            error(cid, "%s call: not active on every leg within 15 s: %s" % (
                kind, [(x.get("role"), x.get("state")) for x in call_legs(cid, kind)]))
            return
        got = sorted(x.get("mode") for x in call_legs(cid, kind))
        if got != [mode, mode]:
            error(cid, "%s call: modes %s, want %s on both legs" % (kind, got, mode))
        if has_media:
            rekeys = media(cid, kind, d, rng, n)
        else:
            hold = rng.uniform(1.0, 4.0)
            t0 = time.time()
            sleep_until(t0 + hold / 2)
            rekeys = rekey(cid, "contoso")
            sleep_until(t0 + hold)
        want = rekeys

        def gens():
            return sorted({x.get("rekeys") for x in call_legs(cid, kind)})
        if not wait_until(lambda: gens() == [want], 5):
            error(cid, "%s call: rekey counts %s on the legs after %d rekeys, want %d" % (
                kind, gens(), rekeys, want))
    finally:
        side = "contoso" if kind == "tenant" else rng.choice(SITES)
        rc, out, err = ctl(side, "call", "end", cid)
        if rc != 0:
            error(cid, "call end from %s failed: %s" % (side, err or out.strip()))
        gone = wait_until(lambda: not any(x.get("state") == "active" for x in call_legs(cid, kind)), 10)
        if not gone:
            error(cid, "still active somewhere 10 s after call end")
        with lock:
            st.ended += 1
            st.active -= 1


stop_at = None     # set by main()


def slot(i):
    rng = random.Random("%s/%d" % (cfg["seed"], i))
    time.sleep(i * 0.5)             # stagger the slots
    n = 0
    while time.time() < stop_at:
        n += 1
        try:
            one_call(rng, i * 100000 + n)
        except Exception as e:      # a bug here must not stop the other slots silently
            error("-", "slot %d: %r" % (i, e))
            time.sleep(1.0)


# ---- samples ---------------------------------------------------------------
def vmrss(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def dpstats(site):
    try:
        p = subprocess.run([cfg["dump"], cfg["sites"][site]["table"], "--json"],
                           capture_output=True, text=True, timeout=20)
        return json.loads(p.stdout)["total"] if p.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        return None


def keys(site):
    rc, out, _ = ctl(site, "key", "list", "--json", timeout=20)
    try:
        return len(json.loads(out)) if rc == 0 else None
    except ValueError:
        return None


PROCS = ([("control", s, "control_pid") for s in SITES] +
         [("dataplane", s, "dp_pid") for s in SITES])


def sample(t0):
    with lock:
        s = dict(elapsed=round(time.time() - t0, 1), up=st.up, ended=st.ended, active=st.active)
    s["keys"] = {x: keys(x) for x in SITES}
    s["dp"] = {x: dpstats(x) for x in SITES}
    s["rss"] = {"%s-%s" % (what, site): vmrss(cfg["sites"][site][pid])
                for what, site, pid in PROCS}
    return s


def fmt_mib(v):
    return "-" if v is None else "%.1f" % (v / MIB)


def sample_line(s, label=None):
    e = int(s["elapsed"])
    head = label or "%3dm%02ds" % (e // 60, e % 60)
    parts = ["[%s] calls %d set up, %d ended, %d active" % (head, s["up"], s["ended"], s["active"]),
             "keys " + " ".join("%s %s" % (x, "?" if s["keys"][x] is None else s["keys"][x])
                                for x in SITES)]
    for x in SITES:
        t = s["dp"][x]
        if t is None:
            parts.append("%s: no statistics" % x)
            continue
        dr = t["dropped"]
        others = ", ".join("%s %d" % (k, v) for k, v in dr.items()
                           if v and k not in ("auth", "replay")) or "none"
        parts.append("%s: enc %d dec %d drops auth %d replay %d other %s, flows %d streams %d"
                     % (x, t["encrypted"], t["decrypted"], dr.get("auth", 0), dr.get("replay", 0),
                        others, t["flows"], t["streams"]))
    parts.append("RSS MiB " + " ".join("%s %s" % (k.replace("control", "ctl").replace("dataplane", "dp"),
                                                    fmt_mib(v)) for k, v in s["rss"].items()))
    return " | ".join(parts)


def main():
    global stop_at
    t0 = time.time()
    stop_at = t0 + cfg["seconds"]
    samples_f = open(cfg["samples"], "a") if cfg["samples"] else None
    threads = [threading.Thread(target=slot, args=(i,), daemon=True) for i in range(cfg["calls"])]
    for t in threads:
        t.start()
    samples = []
    warm = None
    next_t = t0 + cfg["interval"]
    while any(t.is_alive() for t in threads):
        sleep_until(min(next_t, time.time() + 1.0))
        if time.time() < next_t:
            continue
        next_t += cfg["interval"]
        s = sample(t0)
        samples.append(s)
        if warm is None and s["elapsed"] >= cfg["warmup"]:
            warm = s
        say("   " + sample_line(s) + ("   <- warm-up ends: RSS baseline" if warm is s else ""))
        if samples_f:
            samples_f.write(json.dumps(s) + "\n")
            samples_f.flush()
    for t in threads:
        t.join()
    time.sleep(1.0)             # the last deletions reach the dataplanes' next burst
    end = sample(t0)
    samples.append(end)
    if warm is None:            # a run shorter than the warm-up: the first sample
        warm = samples[0]
    say("   " + sample_line(end, "end"))
    if samples_f:
        samples_f.write(json.dumps(end) + "\n")
        samples_f.close()
    return checks(t0, samples, warm, end)


# ---- checks ------------------------------------------------------------------
n_check = cfg["n0"]
n_failed = 0


def check(good, what, *detail):
    global n_check, n_failed
    n_check += 1
    if good:
        say("ok %d - %s" % (n_check, what))
    else:
        n_failed += 1
        say("not ok %d - %s" % (n_check, what))
        for d in detail:
            say("#   %s" % d)


def checks(t0, samples, warm, end):
    minutes = (time.time() - t0) / 60
    say("")
    say("== summary: %.1f minutes" % minutes)
    rk = sum(st.rekeys.values())
    say("   calls      %d set up, %d ended: e2ee %d, standard %d, within contoso %d; "
        "%d with media, %d streams" % (st.up, st.ended, st.kinds["e2ee"], st.kinds["standard"],
                                        st.kinds["tenant"], st.media_calls, st.streams))
    say("   rekeys     %d (from contoso %d, from fabrikam %d); refused as two in flight: %d"
        % (rk, st.rekeys["contoso"], st.rekeys["fabrikam"], st.rekey_busy))
    sent = {s: sum(st.sent[s]) for s in SITES}
    say("   media      %d RTP + %d RTCP packets sent by the phones, %d packets/s per direction "
        "per call; worst send lateness %.0f ms" % (
            sum(v[0] for v in st.sent.values()), sum(v[1] for v in st.sent.values()),
            cfg["rate"], st.late_ms))
    maxkeys = {s: max((x["keys"][s] or 0) for x in samples) for s in SITES}
    for s in SITES:
        t = end["dp"][s] or {}
        dr = t.get("dropped", {})
        say("   %-9s  encrypted %d, decrypted %d, passed %d; drops: %s; flows %s/%s, streams %s/%s; "
            "keys at most %d (sampled)" % (
                s, t.get("encrypted", 0), t.get("decrypted", 0), t.get("passed", 0),
                ", ".join("%s %d" % kv for kv in dr.items() if kv[1]) or "none",
                t.get("flows"), t.get("max_flows"), t.get("streams"), t.get("max_streams"),
                maxkeys[s]))
    say("   RSS        warm-up at %ds -> end (MiB): %s" % (warm["elapsed"], ", ".join(
        "%s %s -> %s" % (k, fmt_mib(warm["rss"][k]), fmt_mib(end["rss"][k])) for k in end["rss"])))
    say("")

    errs = ["call %s: %s" % e for e in st.errors[:10]]
    if len(st.errors) > 10:
        errs.append("... %d more" % (len(st.errors) - 10))
    check(not st.errors and st.up == st.ended and st.up > 0 and rk > 0,
          "calls: %d set up and %d ended, each active on every leg with the expected mode, "
          "%d rekeys from either side with every leg at the same rekey count after them"
          % (st.up, st.ended, rk), *errs)

    bad = ["call %s %s: %s" % (c, d, "; ".join(f)) for c, d, f in st.media_bad[:10]]
    check(st.media_calls > 0 and not st.media_bad,
          "media: the phones verified all %d streams of %d calls whole: every RTP and RTCP "
          "packet received once, in order, payload checked, zero loss" % (st.streams, st.media_calls),
          *bad)

    got = {s: ((end["dp"][s] or {}).get("encrypted"), (end["dp"][s] or {}).get("decrypted"))
           for s in SITES}
    want = {s: (sent[s], sent[SITES[1 - i]]) for i, s in enumerate(SITES)}
    check(got == want, "each dataplane encrypted what its phones sent and decrypted what the "
          "other site's sent (%s)" % ", ".join("%s %d/%d" % (s, want[s][0], want[s][1]) for s in SITES),
          "got (encrypted, decrypted): %s" % got, "want: %s" % want)

    crypto = {s: {k: (end["dp"][s] or {}).get("dropped", {}).get(k) for k in CRYPTO_DROPS}
              for s in SITES}
    check(all(v == 0 for c in crypto.values() for v in c.values()),
          "no packet lost to crypto errors: drops %s all 0 on both dataplanes" % "/".join(CRYPTO_DROPS),
          "got: %s" % crypto)
    others = {}
    for s in SITES:
        for k, v in (end["dp"][s] or {}).get("dropped", {}).items():
            if v and k not in CRYPTO_DROPS:
                others.setdefault(k, []).append("%s %d" % (s, v))
    for k, v in others.items():
        say("#  other drops: %s (%s): %s" % (k, ", ".join(v), DROP_WHY.get(k, "see docs/dpstats.md")))
    if not others:
        say("#  other drops (tx_full, no_stream, ...): none")

    lists = {s: ctl(s, "call", "list", "--json", timeout=20) for s in SITES}
    live = {s: (len(json.loads(o)) if rc == 0 else None) for s, (rc, o, _) in lists.items()}
    bound = 4 * cfg["calls"]
    check(all(end["keys"][s] == 0 and live[s] == 0 for s in SITES) and
          all(maxkeys[s] <= bound for s in SITES),
          "key table flat: 0 entries and 0 calls left on both sites after the last call ended "
          "(at most %s during the run; bound 4 x %d calls at once)"
          % ("/".join(str(maxkeys[s]) for s in SITES), cfg["calls"]),
          "entries at the end: %s, calls listed: %s" % (end["keys"], live))

    fb = []
    for s in SITES:
        t = end["dp"][s] or {}
        nports = len(st.ports[s])
        if t.get("flows") is None or t["flows"] > 2 * nports or t["flows"] > t["max_flows"]:
            fb.append("%s: flows %s, bound 2 x %d media ports used" % (s, t.get("flows"), nports))
        if t.get("streams") is None or t["streams"] > 2 * st.media_calls_at[s] or \
                t["streams"] > t["max_streams"]:
            fb.append("%s: streams %s, bound 2 x %d calls with media" % (s, t.get("streams"),
                                                                        st.media_calls_at[s]))
    check(not fb, "flows and streams bounded: flows <= 2 x media ports used (%s), streams <= 2 x "
          "calls with media (%d); a deleted key's flow and its streams are reclaimed lazily"
          % ("/".join(str(len(st.ports[s])) for s in SITES), st.media_calls), *fb)

    for k in end["rss"]:
        a, b = warm["rss"][k], end["rss"][k]
        lim = None if a is None else a + RSS_SLACK_BYTES
        check(a is not None and b is not None and b <= lim,
              "memory flat: %s RSS %s MiB after warm-up (%d s), %s MiB at the end (bound: "
              "+4 MiB, %s MiB)" % (k, fmt_mib(a), warm["elapsed"], fmt_mib(b), fmt_mib(lim)))

    summary = dict(minutes=round(minutes, 1), calls=st.up, ended=st.ended, kinds=st.kinds,
                   rekeys=rk, media_calls=st.media_calls,
                   packets=sum(sum(v) for v in st.sent.values()),
                   rss_warm={k: warm["rss"][k] for k in warm["rss"]},
                   rss_end={k: end["rss"][k] for k in end["rss"]},
                   drops={s: (end["dp"][s] or {}).get("dropped") for s in SITES},
                   failed=n_failed)
    with open(cfg["result"], "w") as f:
        f.write("%d %d\n%s\n" % (n_check, n_failed, json.dumps(summary)))
    return 1 if n_failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        with lock:
            for p in phones:
                try:
                    p.kill()
                except OSError:
                    pass
