#!/usr/bin/env python3
"""Count test cases from meson testlog.json files and print the totals line.

Each meson test prints TAP lines ("ok N - name", "not ok N - name", "# SKIP ...");
cmocka does so with CMOCKA_MESSAGE_OUTPUT=TAP and the integration scripts do so
by hand. A test program that fails without reporting a failed case (a crash, a
timeout) counts as one failure. A missing log (build failed) counts as one failure.
"""
import json
import re
import sys

OK = re.compile(r'^ok\s+\d+')
NOT_OK = re.compile(r'^not ok\s+\d+')
SKIP = re.compile(r'#\s*skip', re.I)


def tally(path):
    passed = failed = skipped = 0
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"{path}: no test log (build failed?)")
        return 0, 1, 0
    for line in lines:
        t = json.loads(line)
        p = f = s = 0
        for out in (t.get('stdout') or '').splitlines():
            out = out.strip()
            if NOT_OK.match(out):
                f += 1
            elif OK.match(out):
                if SKIP.search(out):
                    s += 1
                else:
                    p += 1
        res = t.get('result')
        if res not in ('OK', 'SKIP', 'EXPECTEDFAIL') and f == 0:
            f += 1      # crashed, timed out, or failed outside a case
        if p + f + s == 0:
            if res == 'SKIP':
                s = 1
            elif res == 'OK':
                p = 1
        passed += p
        failed += f
        skipped += s
    return passed, failed, skipped


def main():
    tp = tf = ts = 0
    for path in sys.argv[1:]:
        p, f, s = tally(path)
        print(f"{path}: {p} passed, {f} failed, {s} skipped")
        tp, tf, ts = tp + p, tf + f, ts + s
    print(f"{tp} passed, {tf} failed, {ts} skipped")
    return 1 if tf else 0


if __name__ == '__main__':
    sys.exit(main())
