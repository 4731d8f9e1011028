#!/usr/bin/env bash
# version.sh - every program's --version (issue 15).
#
# usage: version.sh PROJECT_VERSION PROGRAM...
#
# Each PROGRAM (the build's binaries: callseal-dataplane, callseal-control,
# callsealctl and the test tools) answers --version alone with exit status 0,
# one line on stdout and nothing on stderr:
#     NAME PROJECT_VERSION (git DESCRIBE)[, EXTRA]
# NAME the program's file name, PROJECT_VERSION meson.build's project()
# version (given by meson), DESCRIBE the same for all of them (one generated
# header, lib/common/version.h.in) and, in a git checkout, what
# `git describe --always --dirty --tags` says now. callseal-dataplane answers
# before EAL: among EAL options, after "--", and with no DPDK runtime folder
# made; callseal-control and callsealctl without their required options.
. "$(dirname "$0")/lib.sh"

WANT_VERSION=$1
shift
[ $# -gt 0 ] || tap_bail "no program given"

describe_of() { # LINE NAME: the DESCRIBE of a well-formed line, else nothing
  local line=$1 name=$2 re
  re="^${name//./\\.} ${WANT_VERSION//./\\.} \\(git ([^()[:space:]]+)\\)(, [^[:cntrl:]]+)?\$"
  [[ $line =~ $re ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

# check_version DESC NAME CMD...: CMD's --version answer is well formed;
# remembers its DESCRIBE in $last_describe.
check_version() {
  local desc=$1 name=$2 st lines
  shift 2
  "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  st=$?
  lines=$(wc -l <"$TEST_TMP/out")
  last_describe=$(describe_of "$(head -n 1 "$TEST_TMP/out")" "$name")
  if [ "$st" -eq 0 ] && [ "$lines" -eq 1 ] && [ ! -s "$TEST_TMP/err" ] &&
     [ -n "$last_describe" ]; then
    tap_ok "$desc: $(cat "$TEST_TMP/out")"
    return 0
  fi
  tap_not_ok "$desc" "exit status $st, $lines line(s) on stdout, wanted 1 line:" \
    "$name $WANT_VERSION (git DESCRIBE)[, ...]" \
    "stdout: $(head -c 400 "$TEST_TMP/out")" "stderr: $(head -c 400 "$TEST_TMP/err")"
  return 1
}

describes=()
dataplane=""
for prog in "$@"; do
  name=$(basename "$prog")
  check_version "$name --version" "$name" "$prog" --version
  describes+=("${last_describe:-?}")
  [ "$name" = callseal-dataplane ] && dataplane=$prog
done

# one source: every program says the same
uniq_describes=$(printf '%s\n' "${describes[@]}" | sort -u)
tap_is "$(printf '%s\n' "$uniq_describes" | wc -l)" 1 \
  "all $# programs give the same git description ($(echo $uniq_describes))"

# ... and it is the tree's (when the source is a git checkout)
if now=$(git -C "${CALLSEAL_SRCDIR:-.}" describe --always --dirty --tags 2>/dev/null); then
  tap_is "${describes[0]}" "$now" "the description is the tree's git describe"
else
  tap_is "${describes[0]}" "$WANT_VERSION" \
    "not a git checkout: the description falls back to the project version"
fi

if [ -n "$dataplane" ]; then
  prefix=$(dpdk_prefix ver)
  check_version "callseal-dataplane: --version among EAL options, before EAL starts" \
    callseal-dataplane "$dataplane" --no-huge --no-pci -m 64 -l 0 --file-prefix="$prefix" \
    --version
  if [ -e "$(dpdk_runtime_dir "$prefix")" ]; then
    tap_not_ok "callseal-dataplane --version made no DPDK runtime folder" \
      "$(dpdk_runtime_dir "$prefix") exists: EAL was initialised"
  else
    tap_ok "callseal-dataplane --version made no DPDK runtime folder (EAL not started)"
  fi
  check_version "callseal-dataplane -- --version (after the EAL separator)" \
    callseal-dataplane "$dataplane" -- --version
else
  tap_skip "callseal-dataplane before EAL" "callseal-dataplane is not built here"
fi

tap_done
