#!/usr/bin/env bash
# systemd_units.sh - the example systemd units (scripts/systemd/, issue 15).
#
# usage: systemd_units.sh UNIT_DIR CONTROL CALLSEALCTL DATAPLANE
#
# 1. callseal-control's readiness, as Type=notify needs it: started with
#    $NOTIFY_SOCKET (a path, then an abstract "@name"), it sends READY=1 only
#    once its key table exists and its admin socket answers, and STOPPING=1
#    at SIGTERM.
# 2. `systemd-analyze verify` on both units, with @bindir@ filled in with a
#    folder of links to this build's binaries (verify checks that ExecStart
#    names an executable): exit status 0 and nothing printed (it exits 0 on
#    an unknown key, and only prints a warning, so the output is checked
#    too). First a trivial unit shows that verify runs here at all (else
#    those checks are skipped with its words), and a copy of the control's
#    unit with a misspelt key shows that a warning is seen.
# 3. `systemd-analyze security --offline=true`: the units' exposure stays
#    within what their hardening gives today (control <= 4.0, dataplane
#    <= 6.0 on systemd 252), so dropping a protection fails here.
# 4. Every variable the units' command lines use has a default in the unit
#    and is set by the example environment file, which parses.
. "$(dirname "$0")/lib.sh"

UNITS=$1 CONTROL=$2 CTL=$3 DATAPLANE=$4
require_cmd python3

TABLE="sd$$x$RANDOM"
trap '_lib_cleanup; rm -f "/dev/shm/callseal.$TABLE"' EXIT

# ---- 1. READY=1 and STOPPING=1 ------------------------------------------------

# notify_run ADDR: run the daemon with NOTIFY_SOCKET=ADDR under a listener
# that, at READY=1, checks the table and the admin socket right then, then
# stops the daemon; prints what it saw, one fact a line.
notify_run() {
  python3 - "$1" "$CONTROL" "$CTL" "$TABLE" "$TEST_TMP" <<'PY'
import os, signal, socket, subprocess, sys, time
addr, control, ctl, table, tmp = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(10)
sock = os.path.join(tmp, "admin.sock")
env = dict(os.environ, NOTIFY_SOCKET=addr)
log = open(os.path.join(tmp, "control.log"), "ab")
p = subprocess.Popen([control, "--table", table, "--state", os.path.join(tmp, "state"),
                      "--admin", sock, "--capacity", "64"], env=env, stderr=log)
try:
    msg = s.recv(4096).decode()
    print("first message: " + msg.replace("\n", " "))
    print("table at READY: %s" % os.path.exists("/dev/shm/callseal." + table))
    r = subprocess.run([ctl, "--admin", sock, "status"], capture_output=True)
    print("admin socket at READY: %s" % ("answers" if r.returncode == 0 else
                                         "exit %d" % r.returncode))
    p.send_signal(signal.SIGTERM)
    print("at SIGTERM: " + s.recv(4096).decode().replace("\n", " "))
    print("exit status: %d" % p.wait(10))
except socket.timeout:
    print("no message within 10 s")
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
PY
}

for addr in "$TEST_TMP/notify.sock" "@callseal-notify-$$-$RANDOM"; do
  kind=path
  [ "${addr:0:1}" = @ ] && kind=abstract
  out=$(notify_run "$addr")
  got=$(printf '%s\n' "$out" | grep '^first message:')
  tap_is "$got" "first message: READY=1" "control sends READY=1 to \$NOTIFY_SOCKET ($kind)" ||
    tap_diag "$out"
  tap_is "$(printf '%s\n' "$out" | grep -E '^(table|admin socket) at READY' | tr '\n' ';')" \
    "table at READY: True;admin socket at READY: answers;" \
    "at READY=1 ($kind) the key table exists and the admin socket answers"
  tap_is "$(printf '%s\n' "$out" | grep -E '^(at SIGTERM|exit status)' | tr '\n' ';')" \
    "at SIGTERM: STOPPING=1;exit status: 0;" "SIGTERM: STOPPING=1, then exit 0 ($kind)"
  rm -f "/dev/shm/callseal.$TABLE" "$TEST_TMP/notify.sock"
done

# ---- 2. systemd-analyze verify ---------------------------------------------------

mkdir -p "$TEST_TMP/bin" "$TEST_TMP/units" "$TEST_TMP/probe"
ln -s "$(realpath "$CONTROL")" "$TEST_TMP/bin/callseal-control"
ln -s "$(realpath "$DATAPLANE")" "$TEST_TMP/bin/callseal-dataplane"
for u in callseal-control callseal-dataplane; do
  sed "s#@bindir@#$TEST_TMP/bin#g" "$UNITS/$u.service.in" >"$TEST_TMP/units/$u.service"
done
left=$(grep -c '@[A-Za-z_]*@' "$TEST_TMP"/units/*.service | awk -F: '{ n += $2 } END { print n }')
tap_is "$left" 0 "the units' only placeholder is @bindir@ (none left once filled in)"

why=""
if ! command -v systemd-analyze >/dev/null 2>&1; then
  why="systemd-analyze is not installed (Debian package systemd)"
else
  printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' \
    >"$TEST_TMP/probe/callseal-probe.service"
  if ! out=$(systemd-analyze verify "$TEST_TMP/probe/callseal-probe.service" 2>&1) ||
     [ -n "$out" ]; then
    why="systemd-analyze verify cannot run here: $(printf '%s' "$out" | head -n 1)"
  fi
fi

if [ -n "$why" ]; then
  for c in "a misspelt key is reported" "verify: both units" "security: control" \
           "security: dataplane"; do
    tap_skip "$c" "$why"
  done
else
  tap_diag "$(systemd-analyze --version | head -n 1)"
  sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$TEST_TMP/units/callseal-control.service" \
    >"$TEST_TMP/probe/callseal-control.service"
  out=$(systemd-analyze verify "$TEST_TMP/probe/callseal-control.service" 2>&1)
  case "$out" in
    *"Unknown key"*NoNewPrivilege*) tap_ok "a misspelt key is reported (so silence means something)" ;;
    *) tap_not_ok "a misspelt key is reported (so silence means something)" "output: $out" ;;
  esac

  out=$(systemd-analyze verify "$TEST_TMP/units/callseal-control.service" \
        "$TEST_TMP/units/callseal-dataplane.service" 2>&1)
  st=$?
  if [ $st -eq 0 ] && [ -z "$out" ]; then
    tap_ok "systemd-analyze verify: both units, exit 0, no warning or error"
  else
    tap_not_ok "systemd-analyze verify: both units, exit 0, no warning or error" \
      "exit status $st" "$out"
  fi

  for u in control:40 dataplane:60; do
    name=${u%%:*} max=${u##*:}
    out=$(systemd-analyze security --offline=true --threshold="$max" \
          "$TEST_TMP/units/callseal-$name.service" 2>&1)
    st=$?
    level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ $st -eq 0 ] && [ -n "$level" ]; then
      tap_ok "systemd-analyze security: callseal-$name exposure $level (at most $((max / 10)).$((max % 10)))"
    else
      tap_not_ok "systemd-analyze security: callseal-$name exposure at most $((max / 10)).$((max % 10))" \
        "exit status $st, level '${level:-?}'" "$(printf '%s\n' "$out" | grep '✗' | head -n 40)"
    fi
  done
fi

# ---- 4. the environment file -----------------------------------------------------

envfile="$UNITS/callseal.default"
if (set -a; . "$envfile") 2>"$TEST_TMP/env.err"; then
  tap_ok "the example environment file parses"
else
  tap_not_ok "the example environment file parses" "$(cat "$TEST_TMP/env.err")"
fi
missing=""
for u in callseal-control callseal-dataplane; do
  f="$UNITS/$u.service.in"
  for v in $(grep '^ExecStart=' "$f" | grep -o '\$[{]*[A-Z_]*' | tr -d '${' | sort -u); do
    grep -q "^Environment=$v=" "$f" || missing+=" $u:$v(no default)"
    grep -q "^$v=" "$envfile" || missing+=" $u:$v(not in callseal.default)"
  done
done
tap_is "${missing:-none}" none \
  "every variable of the units' command lines has a default there and is in callseal.default"

tap_done
