# keying.sh - sourced after lib.sh by the static-key suites (static_keying.sh,
# sdes_keying.sh): random keys, their SHA-256 as callseal-keytable-dump
# prints it, the table's lines, and the check that no key leaked into text.
# Needs CTL, SOCK, DUMP and TABLE set by the suite.

key() { head -c "$1" /dev/urandom | base64 -w0; }
sha() { printf '%s' "$1" | base64 -d | sha256sum | cut -d' ' -f1; }
hexof() { printf '%s' "$1" | base64 -d | od -An -tx1 -v | tr -d ' \n'; }
ctl() { "$CTL" --admin "$SOCK" "$@"; }
dump() { "$DUMP" "$TABLE" | grep -v '^#'; }
# entry SELECTOR: that entry's dump line; field SELECTOR NAME: one of its fields
entry() { dump | grep -F "$1 "; }
field() { entry "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# key_leaks FILE KEY...: the start of every key found in FILE as base64 (whole,
# unpadded or its first 16 characters) or hex (either case, or its first 24
# digits); nothing if none is
key_leaks() {
  local file=$1 k h needle leaks=""
  shift
  for k in "$@"; do
    h=$(hexof "$k")
    for needle in "$k" "${k%%=*}" "${k:0:16}" "$h" "${h^^}" "${h:0:24}"; do
      grep -qiF -- "$needle" "$file" && leaks="$leaks ${needle:0:8}..."
    done
  done
  printf '%s' "$leaks"
}
