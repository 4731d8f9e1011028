#!/usr/bin/env python3
"""Count test cases from meson testlog.json files and print the totals line.

Each meson test prints TAP lines ("ok N - name", "not ok N - name", "# SKIP ...");
cmocka does so with CMOCKA_MESSAGE_OUTPUT=TAP and the integration scripts do so
by hand. A test program that fails without reporting a failed case (a crash, a
timeout) counts as one failure. A missing log (build failed) counts as one failure.

Every skipped case is listed with its reason ("skipped: LOG: TEST: ...") above
the totals line, which stays the last line: a suite that could not be built
(tests/meson.build registers it as a one-case skip naming the missing package)
or a script that cannot run here (tap_skip_all) is never silent.
"""
import json
import re
import sys

OK = re.compile(r'^ok\s+\d+')
NOT_OK = re.compile(r'^not ok\s+\d+')
SKIP = re.compile(r'#\s*skip', re.I)
PLAN_SKIP = re.compile(r'^1\.\.0\s*#\s*skip\s*(.*)$', re.I)


def tally(path, reasons):
    passed = failed = skipped = 0
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"{path}: no test log (build failed?)")
        return 0, 1, 0
    for line in lines:
        t = json.loads(line)
        p = f = s = 0
        name = t.get('name', '?')
        why_all = None
        for out in (t.get('stdout') or '').splitlines():
            out = out.strip()
            if NOT_OK.match(out):
                f += 1
            elif OK.match(out):
                if SKIP.search(out):
                    s += 1
                    desc = re.sub(r'^ok\s+\d+\s*-?\s*', '', out)
                    reasons.append(f"{path}: {name}: {desc}")
                else:
                    p += 1
            elif PLAN_SKIP.match(out):
                why_all = PLAN_SKIP.match(out).group(1) or 'no reason given'

        res = t.get('result')
        if res not in ('OK', 'SKIP', 'EXPECTEDFAIL') and f == 0:
            f += 1      # crashed, timed out, or failed outside a case
        if p + f + s == 0:
            if res == 'SKIP':
                s = 1
                reasons.append(f"{path}: {name}: whole suite # SKIP {why_all or 'no reason given'}")
            elif res == 'OK':
                p = 1
        passed += p
        failed += f
        skipped += s
    return passed, failed, skipped


def main():
    tp = tf = ts = 0
    reasons = []
    for path in sys.argv[1:]:
        p, f, s = tally(path, reasons)
        print(f"{path}: {p} passed, {f} failed, {s} skipped")
        tp, tf, ts = tp + p, tf + f, ts + s
    for r in reasons:
        print(f"skipped: {r}")
    print(f"{tp} passed, {tf} failed, {ts} skipped")
    return 1 if tf else 0


if __name__ == '__main__':
    sys.exit(main())
