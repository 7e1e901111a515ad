#!/usr/bin/env bash
# stop-rgw.sh DIR [--purge] -- stop exactly the processes start-rgw.sh DIR started
# (PIDs from DIR/pids; a PID is only signalled if its command line still
# references DIR/ceph.conf, so a recycled PID is never hit). --purge removes DIR.
set -u
DIR=${1:?usage: stop-rgw.sh DIR [--purge]}
DIR=$(cd "$DIR" && pwd -P) || exit 1
[ -f "$DIR/pids" ] || { echo "no $DIR/pids" >&2; exit 1; }

ours() { # pid -> true if alive and started with DIR/ceph.conf
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$DIR/ceph.conf"
}

# stop in reverse start order: rgw, osd, mon
mapfile -t lines < <(tac "$DIR/pids")
for l in "${lines[@]}"; do
  name=${l% *}; pid=${l##* }
  if ours "$pid"; then
    kill -TERM "$pid" && echo "sent TERM to $name pid $pid"
    for _ in $(seq 1 200); do ours "$pid" || break; sleep 0.05; done
    if ours "$pid"; then kill -KILL "$pid" && echo "sent KILL to $name pid $pid"; fi
  else
    echo "$name pid $pid not running (or not ours)"
  fi
done
left=0
for l in "${lines[@]}"; do pid=${l##* }; ours "$pid" && { echo "still running: $l"; left=1; }; done
# give the parent (usually PID 1 after start-rgw.sh exited) a moment to reap the zombies
for _ in $(seq 1 5); do
  z=0; for l in "${lines[@]}"; do [ -e "/proc/${l##* }" ] && z=1; done
  [ "$z" = 0 ] && break; sleep 0.05
done
if [ "$left" = 0 ] && [ "${2:-}" = --purge ]; then rm -rf -- "$DIR" && echo "removed $DIR"; fi
exit $left
