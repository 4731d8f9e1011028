#!/usr/bin/env python3
"""memscan.py - look for key bytes in processes' memory and in files
(tests/integration/key_hygiene.sh).

usage: memscan.py SECRETS [--only NAME,...] [--exclude PATH] TARGET...

SECRETS: the "secret LOCAL/DIR cur|next NAME HEX" lines of
callseal-keytable-dump --show-keys (other lines are ignored). --only keeps
the secrets of those NAMEs (master_key, master_salt, srtp_key, ...).

TARGET: pid:N reads every readable mapping of process N that has pages in
memory or swap (/proc/N/smaps; over 1 TiB: a sanitizer's shadow, skipped)
through /proc/N/mem (as root this works on a non-dumpable process too: no gdb, no
core file, the process is not stopped); a file is read whole; a directory
is walked (--exclude PATH skips that path and what is below it).

Prints one line per hit, "hit TARGET REGION NAME LOCAL/DIR OFFSET" (at most
one per secret and region), then one JSON line:
{"targets": T, "regions": R, "bytes": B, "hits": H, "found": F} (F: how
many distinct secrets were found at least once). Exit 0; 2 on bad
arguments. The key bytes themselves are never printed.
"""
import json
import os
import sys

CHUNK = 16 << 20
BLOCK = 64 << 10
ZERO = bytes(BLOCK)


def load_secrets(path, only):
    out = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) != 5 or w[0] != "secret":
                continue
            if only and w[3] not in only:
                continue
            b = bytes.fromhex(w[4])
            if len(b) >= 8:
                out.setdefault(b, "%s %s" % (w[3], w[1]))
    return out


def scan_buffer(data, base, secrets, seen, hits, target, region, keep):
    """Search the runs of data that are not all zero (most of a DPDK
    process's memory is untouched), each widened by keep bytes."""
    runs, lo = [], None
    for off in range(0, len(data), BLOCK):
        zero = data[off:off + BLOCK] == ZERO[:min(BLOCK, len(data) - off)]
        if not zero and lo is None:
            lo = off
        elif zero and lo is not None:
            runs.append((lo, off))
            lo = None
    if lo is not None:
        runs.append((lo, len(data)))
    for a, b in runs:
        part = data[max(0, a - keep):b + keep]
        for s, name in secrets.items():
            if (region, s) in seen:
                continue
            i = part.find(s)
            if i >= 0:
                seen.add((region, s))
                hits.append("hit %s %s %s %#x" % (target, region, name,
                                                  base + max(0, a - keep) + i))


def scan_stream(read, size, secrets, hits, target, region):
    """read(off, n) -> bytes or None; scan [0, size) in chunks that overlap
    by the longest secret less one byte."""
    keep = max(len(s) for s in secrets) - 1
    seen = set()
    off, tail, total = 0, b"", 0
    while off < size:
        n = min(CHUNK, size - off)
        data = read(off, n)
        if data is None:
            tail = b""
            off += n
            continue
        total += len(data)
        buf = tail + data
        scan_buffer(buf, off - len(tail), secrets, seen, hits, target, region, keep)
        tail = buf[-keep:] if keep > 0 else b""
        off += n
    return total


HUGE = 1 << 40     # a readable mapping this large is a reservation (a
                   # sanitizer's shadow memory), not data: passed over


def regions_of(pid):
    """(lo, hi, perms, name, resident_or_swapped) from /proc/PID/smaps."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            w = line.split()
            if "-" in w[0] and not w[0].endswith(":"):
                lo, hi = (int(x, 16) for x in w[0].split("-"))
                cur = [lo, hi, w[1], " ".join(w[5:]) or "[anon]", False]
                out.append(cur)
            elif cur is not None and w[0] in ("Rss:", "Swap:") and int(w[1]) > 0:
                cur[4] = True
    return out


def scan_pid(pid, secrets, hits):
    """Every readable mapping with pages in memory or in swap (one with none
    holds only zeros)."""
    regions, total = 0, 0
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        for lo, hi, perms, name, used in regions_of(pid):
            if ("r" not in perms or not used or hi - lo >= HUGE or
                    name in ("[vsyscall]", "[vvar]", "[vvar_vclock]")):
                continue
            regions += 1

            def read(off, n, lo=lo):
                try:
                    return os.pread(fd, n, lo + off)
                except OSError:
                    return None
            total += scan_stream(read, hi - lo, secrets, hits, "pid:%d" % pid,
                                 "%s@%x" % (name.replace(" ", "_"), lo))
    finally:
        os.close(fd)
    return regions, total


def scan_file(path, secrets, hits):
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size

        def read(off, n):
            f.seek(off)
            return f.read(n)
        return scan_stream(read, size, secrets, hits, path, "file")


def main(argv):
    only, exclude, targets = set(), [], []
    i = 2
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    while i < len(argv):
        if argv[i] == "--only" and i + 1 < len(argv):
            only |= set(argv[i + 1].split(","))
            i += 2
        elif argv[i] == "--exclude" and i + 1 < len(argv):
            exclude.append(os.path.realpath(argv[i + 1]))
            i += 2
        else:
            targets.append(argv[i])
            i += 1
    secrets = load_secrets(argv[1], only)
    if not secrets:
        print("memscan: no secrets in %s" % argv[1], file=sys.stderr)
        return 2
    hits, regions, total, ntargets = [], 0, 0, 0
    for t in targets:
        if t.startswith("pid:"):
            r, b = scan_pid(int(t[4:]), secrets, hits)
            regions, total, ntargets = regions + r, total + b, ntargets + 1
            continue
        paths = [t]
        if os.path.isdir(t):
            paths = []
            for d, dirs, files in os.walk(t):
                dirs[:] = [x for x in dirs
                           if os.path.realpath(os.path.join(d, x)) not in exclude]
                paths += [os.path.join(d, x) for x in files]
        for p in paths:
            if os.path.realpath(p) in exclude or not os.path.isfile(p):
                continue
            total += scan_file(p, secrets, hits)
            regions, ntargets = regions + 1, ntargets + 1
    for h in hits:
        print(h)
    found = len(set(h.split()[3:5][0] + " " + h.split()[4] for h in hits))
    print(json.dumps({"targets": ntargets, "regions": regions, "bytes": total,
                      "hits": len(hits), "found": found}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
