#!/usr/bin/env bash
# bench_quick.sh - scripts/bench --quick as a smoke check (issue 17).
#
# usage: bench_quick.sh BUILD_ROOT
#
# Runs every benchmark of this build briefly through scripts/bench --quick
# (CALLSEAL_BUILD: no build step) into a temp folder, then checks what the
# run produced, never how fast anything was:
#   - scripts/bench exits 0, with a "[i/n] NAME" progress line per benchmark;
#   - every benchmark built here wrote CSV rows, and every table the report's
#     plots and headline read has rows (for the benchmarks built here);
#   - every goal row has its ratio, goal and met columns, and appears in
#     report.md with "met" or "NOT met";
#   - report.md has its sections and its headline (calls per core), and each
#     plot is a PNG or is named as absent ("no plot");
#   - docs/benchmarks.md and docs/bench/ are left unchanged (only a full run,
#     or --write-docs, rewrites them).
. "$(dirname "$0")/../integration/lib.sh"

BUILD=${1:?usage: bench_quick.sh BUILD_ROOT}
SRC=${CALLSEAL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=$TEST_TMP/report
CSV=$OUT/results.csv

benches=()
for f in "$BUILD"/tests/bench/callseal-bench-*; do
  [ -x "$f" ] && [ -f "$f" ] && benches+=("${f##*/callseal-bench-}")
done
[ ${#benches[@]} -gt 0 ] || tap_skip_all "no benchmarks built in $BUILD"
has() { local b; for b in "${benches[@]}"; do [ "$b" = "$1" ] && return 0; done; return 1; }

docs_sum() { (cd "$SRC" && cat docs/benchmarks.md docs/bench/*.png 2>/dev/null | md5sum); }
before=$(docs_sum)

CALLSEAL_BUILD=$BUILD "$SRC/scripts/bench" --quick --out "$OUT" >"$TEST_TMP/bench.out" 2>&1
tap_result $? "scripts/bench --quick exits 0 (${#benches[@]} benchmarks: ${benches[*]})" ||
  tail -n 30 "$TEST_TMP/bench.out" | sed 's/^/#   /'

n=0
for b in "${benches[@]}"; do
  n=$((n + 1))
  if grep -q "^\[$n/${#benches[@]}\] $b " "$TEST_TMP/bench.out"; then
    tap_ok "progress line [$n/${#benches[@]}] $b"
  else
    tap_not_ok "progress line [$n/${#benches[@]}] $b"
  fi
done

# rows: BENCH,TABLE,... present (at least one)
rows_of() { [ -f "$CSV" ] && grep -c "^$1,$2," "$CSV" || echo 0; }
for b in "${benches[@]}"; do
  c=$(rows_of "$b" "[^,]*")
  if [ "$c" -gt 0 ]; then tap_ok "$b wrote $c CSV rows"; else tap_not_ok "$b wrote CSV rows"; fi
done
expect=(
  "srtp|cycles/packet" "srtp|ratios" "srtp|goals" "srtp|meta"
  "dataplane|1 worker 1 stream" "dataplane|cost vs streams" "dataplane|forged flood"
  "dataplane|goals" "dataplane|meta"
  "keytable|writer" "keytable|bulk look-ups" "keytable|goals"
  "calls|set-ups" "calls|goals"
)
for e in "${expect[@]}"; do
  b=${e%%|*} t=${e#*|}
  has "$b" || { tap_skip "$b: table $t has rows" "callseal-bench-$b not built here"; continue; }
  c=$(rows_of "$b" "$t")
  if [ "$c" -gt 0 ]; then tap_ok "$b: table $t has $c rows"; else tap_not_ok "$b: table $t has rows"; fi
done
# the bound and the AES-CM rows of issues 16 and 17: "BENCH,TABLE,ROW,COLUMN"
for r in "dataplane,1 worker 1 stream,AES-128-GCM 160 encrypt,bound" \
         "dataplane,1 worker 1 stream,AES-CM-SHA1-80 160 decrypt,pipeline" \
         "dataplane,1 worker 1 stream,AES-CM-SHA1-32 1200 encrypt,raw crypto" \
         "srtp,cycles/packet,AES_CM_128_HMAC_SHA1_80 160,raw-mb enc" \
         "srtp,cycles/packet,AES_CM_128_HMAC_SHA1_32 1200,raw-1job dec" \
         "srtp,cycles/packet,AES_CM_128_HMAC_SHA1_80 160,engine unprotect"; do
  if ! has "${r%%,*}"; then
    tap_skip "row $r" "callseal-bench-${r%%,*} not built here"
  else
    grep -q "^$r," "$CSV" 2>/dev/null
    tap_result $? "row $r"
  fi
done

# goals: complete, and in the report with their verdict
goals=$( [ -f "$CSV" ] && cut -d, -f1-3 "$CSV" | grep -E '^[^,]+,goals,' | cut -d, -f3 | sort -u)
ngoals=0
bad=()
while IFS= read -r g; do
  [ -n "$g" ] || continue
  ngoals=$((ngoals + 1))
  for col in ratio goal met; do
    grep -qF ",goals,$g,$col," "$CSV" || bad+=("$g: no $col")
  done
  # bench_csv wrote ", " as "  "; the report writes it back
  gr=${g//  /, }
  grep -F "| $gr |" "$OUT/report.md" 2>/dev/null | grep -qE '\| (met|\*\*NOT met\*\*) \|' ||
    bad+=("$gr: not in report.md with met/NOT met")
done <<<"$goals"
if [ "$ngoals" -gt 0 ] && [ ${#bad[@]} -eq 0 ]; then
  tap_ok "$ngoals goals, each with ratio, goal and met, each in report.md with its verdict"
else
  tap_not_ok "goals complete and in report.md ($ngoals goals)" "${bad[@]}"
fi

# the report and its plots
for s in "### Headline" "### Goals" "### Plots" "### Scaling over workers" \
         "### Every table of this run" "### How to rerun"; do
  if grep -qF "$s" "$OUT/report.md" 2>/dev/null; then
    tap_ok "report.md has $s"
  else
    tap_not_ok "report.md has $s"
  fi
done
# the headline: concurrent calls per core at 1 stream and at many
if has dataplane; then
  grep -qE '^- \*\*[0-9,]+ calls\*\* with 1 stream' "$OUT/report.md" 2>/dev/null &&
    grep -qE '^- \*\*[0-9,]+ calls\*\* at the per-packet cost measured with [0-9,]+ streams' \
      "$OUT/report.md"
  tap_result $? "report.md headline: calls per core at 1 stream and at many streams"
else
  tap_skip "report.md headline" "callseal-bench-dataplane not built here"
fi
for p in srtp_rate dataplane_rate streams_cost setups scaling; do
  if [ -s "$OUT/$p.png" ] && [ "$(head -c 8 "$OUT/$p.png" | od -An -tx1 | tr -d ' \n')" = \
       89504e470d0a1a0a ] && grep -qF "($p.png)" "$OUT/report.md"; then
    tap_ok "plot $p.png drawn and shown in report.md"
  elif [ ! -e "$OUT/$p.png" ] && grep -q "no plot" "$OUT/report.md" 2>/dev/null &&
       ! grep -qF "($p.png)" "$OUT/report.md"; then
    # absent data is allowed only where its benchmark is absent or one lcore
    case $p in
      srtp_rate) need=srtp ;; setups) need=calls ;; scaling) need=none ;; *) need=dataplane ;;
    esac
    if [ "$need" = none ] || ! has "$need"; then
      tap_ok "plot $p: no data here, report.md says so"
    else
      tap_not_ok "plot $p.png drawn" "$(grep -F "no plot" "$OUT/report.md" | head -3)"
    fi
  else
    tap_not_ok "plot $p.png drawn and shown in report.md (or named as absent)"
  fi
done

if [ "$(docs_sum)" = "$before" ]; then
  tap_ok "--quick leaves docs/benchmarks.md and docs/bench/ unchanged"
else
  tap_not_ok "--quick leaves docs/benchmarks.md and docs/bench/ unchanged"
fi
tap_done
