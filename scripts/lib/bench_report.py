#!/usr/bin/env python3
"""bench_report.py: scripts/bench's report from the benchmarks' CSV rows.

Every benchmark appends rows "bench,table,row,column,value,unit" to the file
named by CALLSEAL_BENCH_CSV (tests/bench/bench_util.h: bench_csv, bench_goal,
bench_goal_why, bench_meta). This script reads them all, whatever benchmarks
and tables wrote them, and writes:

  OUT/report.md     the report: machine, headline, every goal, plots, every
                    table, how to rerun
  OUT/*.png         the plots whose data is present (python3-matplotlib)

With --doc FILE --doc-plots DIR it also replaces the part of FILE between
"<!-- bench-report:begin -->" and "<!-- bench-report:end -->" with the report
(plots copied to DIR, linked relative to FILE); the rest of FILE is left as
it is.

Conventions the plots read (any benchmark may write such rows):
  table "goals"            row = the goal's name; columns ratio, goal, met
                           (1/0) and why (the reason, in the unit field)
  (bench_csv writes commas as spaces; ", " is read back from "  ")
  table "meta"             row "tsc": TSC GHz; "cores online"; "streams many"
  table "cost vs streams"  rows "N streams REST", column "pipeline" (cyc/pkt):
                           cost per packet against the number of streams
  table "scaling"          rows "N workers REST", column "Mpps"
  a table named "... set-ups ..."  rows with unit "/s": set-ups per second
  srtp "cycles/packet"     rows "PROFILE PAYLOAD", columns engine protect,
                           raw-* enc, libsrtp2 protect
  dataplane "1 worker 1 stream"  rows "PROFILE PAYLOAD DIR", columns
                           pipeline, bound, I/O only
A plot whose rows are absent is not drawn; the report says so.
"""
import argparse
import collections
import datetime
import os
import re
import shutil
import sys

BEGIN = "<!-- bench-report:begin -->"
END = "<!-- bench-report:end -->"
PACKETS_PER_CALL = 100      # 50 packets/s each way, both directions on the core
VOICE_PAYLOAD = 160         # G.711, 20 ms: 160 octets per packet
WORKER_COUNTS = (1, 2, 4, 8)

# the dataplane's profile names -> the SRTP engine benchmark's
DP_TO_SRTP = {
    "AES-128-GCM": "AEAD_AES_128_GCM",
    "AES-256-GCM": "AEAD_AES_256_GCM",
    "AES-CM-SHA1-80": "AES_CM_128_HMAC_SHA1_80",
    "AES-CM-SHA1-32": "AES_CM_128_HMAC_SHA1_32",
}


class Results:
    """The CSV rows: tables[(bench, table)][row][column] = (value, unit)."""

    def __init__(self, path):
        self.tables = collections.OrderedDict()
        self.bad = 0
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(",")
                if len(parts) != 6:
                    self.bad += 1
                    continue
                bench, table, row, col, value, unit = parts
                try:
                    v = float(value)
                except ValueError:
                    self.bad += 1
                    continue
                # bench_csv writes a comma as a space: ", " came back as "  "
                table, row, col, unit = (x.replace("  ", ", ") for x in (table, row, col, unit))
                t = self.tables.setdefault((bench, table), collections.OrderedDict())
                t.setdefault(row, collections.OrderedDict())[col] = (v, unit)

    def table(self, bench, name):
        return self.tables.get((bench, name), {})

    def named(self, name):
        """Every (bench, rows) of tables called name, in any benchmark."""
        return [(b, t) for (b, n), t in self.tables.items() if n == name]

    def meta(self, what, bench=None):
        for (b, n), t in self.tables.items():
            if n == "meta" and what in t and (bench is None or b == bench):
                return t[what]["value"][0]
        return None

    def goals(self):
        out = []
        for (b, n), t in self.tables.items():
            if n != "goals":
                continue
            for name, cols in t.items():
                out.append((b, name, cols))
        return out


def fmt(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "{:,.1f}".format(v)
    if a >= 1:
        return "{:.2f}".format(v)
    return "{:.3g}".format(v)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


# ---- plots -------------------------------------------------------------------

def pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def mpps(ghz, cyc):
    return ghz * 1e3 / cyc if cyc > 0 else 0


def rows_by_payload(table, prefix_re):
    """{profile: {payload: cols}} from rows "PROFILE PAYLOAD[ REST]"."""
    out = collections.OrderedDict()
    for row, cols in table.items():
        m = re.match(prefix_re, row)
        if m:
            out.setdefault(m.group(1), {})[int(m.group(2))] = cols
    return out


def save(fig, plt, path):
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def rate_panels(plt, path, panels, ylabel):
    """One panel per profile: {label: [(payload, Mpps)]}, log rate axis."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels):
        for label, pts in series.items():
            pts = [(x, y) for x, y in pts if y > 0]
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("payload (bytes)")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][0].legend(fontsize=7)
    save(fig, plt, path)


def line_plot(plt, path, series, xlabel, ylabel, xlog=False, xticks=None):
    """series: {label: {x: y}}, one line each."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, pts in series.items():
        xs = sorted(pts)
        ax.plot(xs, [pts[x] for x in xs], marker="o", label=name)
    if xlog:
        ax.set_xscale("log")
    if xticks:
        ax.set_xticks(list(xticks))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, plt, path)


def col(cols, name):
    return cols.get(name, (0,))[0]


def plot_srtp(res, plt, path):
    t = res.table("srtp", "cycles/packet")
    ghz = res.meta("tsc", "srtp")
    if not t or not ghz:
        return "no rows from `srtp` (table cycles/packet)"
    panels = []
    for prof, by in rows_by_payload(t, r"^(\S+) (\d+)$").items():
        series = collections.OrderedDict()
        for x in sorted(by):
            cols = by[x]
            raw = [v for c, (v, _) in cols.items() if c.startswith("raw") and c.endswith("enc")]
            for name, v in (("callseal engine", col(cols, "engine protect")),
                            ("bound: raw intel-ipsec-mb", min(raw) if raw else 0),
                            ("libsrtp2", col(cols, "libsrtp2 protect"))):
                series.setdefault(name, []).append((x, mpps(ghz, v)))
        panels.append((prof, series))
    rate_panels(plt, path, panels, "Mpps, one core (protect)")
    return None


def plot_dataplane(res, plt, path):
    t = res.table("dataplane", "1 worker 1 stream")
    ghz = res.meta("tsc", "dataplane")
    if not t or not ghz:
        return "no rows from `dataplane` (table 1 worker 1 stream)"
    ref = rows_by_payload(res.table("srtp", "cycles/packet"), r"^(\S+) (\d+)$")
    srtp_ghz = res.meta("tsc", "srtp") or ghz
    panels = []
    for prof, by in rows_by_payload(t, r"^(\S+) (\d+) encrypt$").items():
        xs = sorted(by)
        series = collections.OrderedDict(
            (label, [(x, mpps(ghz, col(by[x], c))) for x in xs])
            for c, label in (("pipeline", "callseal pipeline"),
                             ("bound", "bound: raw PMD + raw crypto"),
                             ("I/O only", "pipeline without crypto")))
        lib = ref.get(DP_TO_SRTP.get(prof, ""), {})
        series["libsrtp2 (crypto only)"] = [
            (x, mpps(srtp_ghz, col(lib[x], "libsrtp2 protect"))) for x in xs if x in lib]
        panels.append((prof + ", encrypt", series))
    rate_panels(plt, path, panels, "Mpps, one worker core")
    return None


def numbered(res, table, noun, column, least=2):
    """{bench REST: {N: value}} from rows "N NOUN REST" of every table so named,
    the lines with `least` points or more."""
    series = collections.OrderedDict()
    for bench, t in res.named(table):
        for row, cols in t.items():
            m = re.match(r"^(\d+) {} (.+)$".format(noun), row)
            if m and column in cols:
                series.setdefault("{} {}".format(bench, m.group(2)), {})[int(m.group(1))] = \
                    cols[column][0]
    return collections.OrderedDict((k, v) for k, v in series.items() if len(v) >= least)


def plot_streams(res, plt, path):
    series = numbered(res, "cost vs streams", "streams", "pipeline")
    if not series:
        return "no rows of a `cost vs streams` table with two stream counts or more"
    line_plot(plt, path, series, "streams (random arrival order)",
              "cycles per packet, one worker", xlog=True)
    return None


def plot_setups(res, plt, path):
    bars = []
    for (bench, name), t in res.tables.items():
        if "set-ups" not in name:
            continue
        for row, cols in t.items():
            for _, (v, unit) in cols.items():
                if unit == "/s":
                    bars.append(("{}: {}".format(bench, row), v))
    if not bars:
        return "no set-ups per second rows (a table named `... set-ups ...`, unit /s)"
    fig, ax = plt.subplots(figsize=(6.5, 0.5 + 0.45 * len(bars)))
    ax.barh([b[0] for b in bars], [b[1] for b in bars])
    for i, (_, v) in enumerate(bars):
        ax.text(v, i, " {:,.0f}".format(v), va="center", fontsize=7)
    ax.set_xlabel("call set-ups per second")
    ax.tick_params(axis="y", labelsize=7)
    ax.invert_yaxis()
    save(fig, plt, path)
    return None


def plot_scaling(res, plt, path):
    series = numbered(res, "scaling", "workers", "Mpps")
    if not series:
        return "no `scaling` rows for two worker counts or more (one lcore available?)"
    line_plot(plt, path, series, "workers (one lcore each)", "Mpps, all workers",
              xticks=WORKER_COUNTS)
    return None


PLOTS = [
    ("srtp_rate", "SRTP engine: packet rate against payload size, with its bound "
                  "(raw intel-ipsec-mb) and libsrtp2", plot_srtp),
    ("dataplane_rate", "Dataplane, 1 worker, 1 stream: packet rate against payload size, "
                       "with its bound (raw PMD rx+tx + raw crypto) and libsrtp2's crypto "
                       "alone", plot_dataplane),
    ("streams_cost", "Dataplane: cost per packet against the number of streams",
     plot_streams),
    ("setups", "Call set-ups per second", plot_setups),
    ("scaling", "Dataplane: packet rate against the number of workers", plot_scaling),
]


# ---- the report --------------------------------------------------------------

def headline(res):
    """Lines: concurrent voice calls one core carries, at 1 and many streams."""
    ghz = res.meta("tsc", "dataplane")
    t1 = res.table("dataplane", "1 worker 1 stream")
    out = []
    if not ghz or not t1:
        return ["No dataplane rows in this run: no headline (run `scripts/bench dataplane`)."]

    def calls(cyc):
        return ghz * 1e9 / cyc / PACKETS_PER_CALL

    def both(table, prefix):
        e = table.get(prefix + " encrypt", {}).get("pipeline")
        d = table.get(prefix + " decrypt", {}).get("pipeline")
        if e and d:
            return (e[0] + d[0]) / 2
        return None

    one = both(t1, "AES-128-GCM {}".format(VOICE_PAYLOAD))
    many_n, many = 0, None
    for bench, t in res.named("cost vs streams"):
        for row in t:
            m = re.match(r"^(\d+) streams {} encrypt$".format(VOICE_PAYLOAD), row)
            if m and int(m.group(1)) > many_n:
                c = both(t, "{} streams {}".format(m.group(1), VOICE_PAYLOAD))
                if c:
                    many_n, many = int(m.group(1)), c
    out.append("**Concurrent voice calls one core carries** (AES-128-GCM, {}-byte payloads "
               "= G.711 at 20 ms):".format(VOICE_PAYLOAD))
    out.append("")
    if one:
        out.append("- **{:,.0f} calls** with 1 stream ({:.1f} cycles/packet, mean of "
                   "encrypt and decrypt)".format(calls(one), one))
    if many:
        out.append("- **{:,.0f} calls** at the per-packet cost measured with {:,} streams in "
                   "random order ({:.1f} cycles/packet)".format(calls(many), many_n, many))
    else:
        out.append("- with many streams: no `cost vs streams` rows in this run")
    out.append("")
    out.append("Assumption: a call is {} packets/s through the core (50 packets/s each way, "
               "both directions on the same core); calls = packets per second / {}, from "
               "the dataplane pipeline's cost (rx burst, classify, look-up, SRTP, header "
               "fix-up, tx burst) at this machine's TSC ({:.2f} GHz). RTCP, the control "
               "plane and the NIC's own limits are not counted.".format(
                   PACKETS_PER_CALL, PACKETS_PER_CALL, ghz))
    return out


def goals_table(res):
    goals = res.goals()
    if not goals:
        return ["No goal rows in this run."]
    out = ["| benchmark | goal | measured | limit | result | why (when not met) |",
           "|---|---|---|---|---|---|"]
    met_n = 0
    for bench, name, cols in goals:
        ratio = cols.get("ratio", (None, ""))[0]
        goal, gunit = cols.get("goal", (None, ""))
        met = cols.get("met", (0, ""))[0] >= 1
        met_n += met
        why = cols.get("why", (0, ""))[1] if not met else ""
        side = ">=" if gunit == "x min" else "<="
        # enough digits that a ratio next to its limit shows which side it is on
        digits = 3 if ratio is not None and goal is not None and abs(ratio - goal) < 0.01 else 2
        out.append("| {} | {} | {} | {} {} | {} | {} |".format(
            bench, name, "{:.{}f}x".format(ratio, digits) if ratio is not None else "?",
            side, "{:.2f}x".format(goal) if goal is not None else "?",
            "met" if met else "**NOT met**", why))
    out.insert(0, "{} of {} goals met in this run.".format(met_n, len(goals)))
    out.insert(1, "")
    return out


def scaling_lines(res, ncores):
    pts = numbered(res, "scaling", "workers", "Mpps", least=1)
    measured = sorted({w for s in pts.values() for w in s})
    if not measured:
        return ["No `scaling` rows in this run (`scripts/bench dataplane` writes them "
                "where it has two lcores); this machine has {} cores.".format(ncores)]
    out = []
    for w in WORKER_COUNTS:
        if w in measured:
            vals = ", ".join("{} {:.2f} Mpps".format(k.split(" ", 1)[1], s[w])
                             for k, s in pts.items() if w in s)
            out.append("- {} worker{}: {}".format(w, "s" if w > 1 else "", vals))
        elif ncores < w:
            out.append("- {} workers: unmeasured: this machine has {} cores".format(w, ncores))
        else:
            out.append("- {} workers: unmeasured: callseal-bench-dataplane runs at most "
                       "{} workers".format(w, max(measured)))
    return out


def all_tables(res):
    out = []
    for (bench, name), t in res.tables.items():
        if name in ("goals", "meta"):
            continue
        cols = []
        units = {}
        for row, cs in t.items():
            for c, (_, u) in cs.items():
                if c not in cols:
                    cols.append(c)
                units.setdefault(c, set()).add(u)
        head = ["{} ({})".format(c, next(iter(units[c]))) if len(units[c]) == 1 and
                next(iter(units[c])) else c for c in cols]
        out.append("**{}: {}**".format(bench, name))
        out.append("")
        out.append("| row | " + " | ".join(head) + " |")
        out.append("|---" * (len(cols) + 1) + "|")
        for row, cs in t.items():
            out.append("| {} | ".format(row) +
                       " | ".join(fmt(cs[c][0]) if c in cs else "" for c in cols) + " |")
        out.append("")
    return out


def report(res, args, plot_notes, plot_prefix):
    now = datetime.datetime.now(datetime.timezone.utc)
    ncores = os.cpu_count() or 1
    ghz = next((res.meta("tsc", b) for b in ("dataplane", "srtp", "keytable", "calls")
                if res.meta("tsc", b)), None)
    load = os.getloadavg()
    L = ["## Report of the last run ({})".format(
             {"full": "`scripts/bench`", "quick": "`scripts/bench --quick`"}.get(
                 args.mode, "`scripts/bench` with some benchmarks")),
         "",
         "_Generated by scripts/bench (scripts/lib/bench_report.py) from the benchmarks' "
         "CSV rows; do not edit by hand: the next run replaces everything between the "
         "markers._",
         "",
         "- date: {} UTC; mode: {}".format(now.strftime("%Y-%m-%d %H:%M"), args.mode),
         "- CPU: {}, {} cores online{}".format(
             cpu_name(), ncores, ", TSC {:.2f} GHz".format(ghz) if ghz else ""),
         "- load average at the start / end: {} / {:.2f} (the machine is shared: compare "
         "ratios within this run, not figures across runs)".format(
             args.load_start or "?", load[0]),
         ]
    if args.ran:
        parts = []
        for r in args.ran:
            name, rc, secs = (r.split(":") + ["", ""])[:3]
            parts.append("{} ({} s{})".format(name, secs, "" if rc == "0" else
                                              ", **failed: exit {}**".format(rc)))
        L.append("- benchmarks run: " + ", ".join(parts))
    if res.bad:
        L.append("- {} malformed CSV lines skipped".format(res.bad))
    L += ["", "### Headline", ""] + headline(res)
    L += ["", "### Goals", ""]
    try:
        busy = float(args.load_start) > ncores
    except (TypeError, ValueError):
        busy = False
    if busy:
        L += ["The load average at the start ({}) exceeded this machine's {} cores: other "
              "work shared the cores during the run, so its figures are noisier than on an "
              "idle machine, and a goal missed without a reason may be that noise "
              "(rerun to compare).".format(args.load_start, ncores), ""]
    L += goals_table(res)
    L += ["", "### Plots", ""]
    for name, title, _ in PLOTS:
        note = plot_notes.get(name)
        if note is None:
            L += ["{}:".format(title), "", "![{}]({}{}.png)".format(title, plot_prefix, name), ""]
        else:
            L += ["- {}: no plot ({}).".format(title, note)]
    L += ["", "### Scaling over workers", ""] + scaling_lines(res, ncores)
    L += ["", "### Every table of this run", "",
          "Cycles are TSC cycles per packet (per key, per set-up) unless the column says "
          "otherwise; x = ratio.", ""] + all_tables(res)
    L += ["### How to rerun", "",
          "- `scripts/bench`: every benchmark, then this report (rewrites this section "
          "of docs/benchmarks.md and docs/bench/*.png)",
          "- `scripts/bench --quick`: every benchmark briefly (under a minute); report "
          "and plots in build/bench-report/ only",
          "- `scripts/bench NAME... [-- ARGS]`: some benchmarks, report in "
          "build/bench-report/; `--write-docs` makes any run rewrite this section",
          "- the rows: build/bench-report/results.csv (`bench,table,row,column,value,unit`)",
          ""]
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--out", required=True, help="folder for report.md and the plots")
    ap.add_argument("--mode", default="full", choices=("full", "quick", "some"))
    ap.add_argument("--doc", help="markdown file whose marked section is replaced")
    ap.add_argument("--doc-plots", help="folder the plots are copied to for --doc")
    ap.add_argument("--load-start", help="load average when the run began")
    ap.add_argument("--ran", action="append", default=[],
                    help="NAME:EXIT:SECONDS of each benchmark run")
    args = ap.parse_args()

    if not os.path.isfile(args.csv):
        print("bench_report: no CSV at {} (no benchmark wrote rows)".format(args.csv),
              file=sys.stderr)
        return 1
    res = Results(args.csv)
    os.makedirs(args.out, exist_ok=True)
    plt = pyplot()
    notes = {}
    for name, _, fn in PLOTS:
        path = os.path.join(args.out, name + ".png")
        if os.path.exists(path):
            os.unlink(path)
        if plt is None:
            notes[name] = "python3-matplotlib is not installed (scripts/deps installs it)"
            continue
        notes[name] = fn(res, plt, path)
    for name, note in notes.items():
        if note is not None:
            print("bench_report: no plot {}: {}".format(name, note))
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report(res, args, notes, "") + "\n")
    print("bench_report: {}".format(os.path.join(args.out, "report.md")))

    if args.doc:
        with open(args.doc) as f:
            doc = f.read()
        b, e = doc.find(BEGIN), doc.find(END)
        if b < 0 or e < b:
            print("bench_report: {} has no {} ... {} section".format(args.doc, BEGIN, END),
                  file=sys.stderr)
            return 1
        plots_dir = args.doc_plots or os.path.join(os.path.dirname(args.doc), "bench")
        os.makedirs(plots_dir, exist_ok=True)
        for name, _, _ in PLOTS:
            dst = os.path.join(plots_dir, name + ".png")
            if notes.get(name) is None:
                shutil.copyfile(os.path.join(args.out, name + ".png"), dst)
            elif os.path.exists(dst):
                os.unlink(dst)      # no stale plot beside a report that has none
        prefix = os.path.relpath(plots_dir, os.path.dirname(os.path.abspath(args.doc))) + "/"
        body = report(res, args, notes, prefix)
        doc = doc[:b + len(BEGIN)] + "\n" + body + "\n" + doc[e:]
        with open(args.doc, "w") as f:
            f.write(doc)
        print("bench_report: {} (section between the markers), plots in {}".format(
            args.doc, plots_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
