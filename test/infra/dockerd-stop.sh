#!/usr/bin/env bash
# Stop the dockerd that test/infra/fixtures.sh started — only that one, found by its PID file
# ($MOLTHUB_FIXTURES_DIR/dockerd.pid). A dockerd started any other way (systemd, by hand) is left alone.
# dockerd stops its containers on the way down (up to ~15 s), then its managed containerd.
set -euo pipefail

dir=${MOLTHUB_FIXTURES_DIR:-/var/cache/molthub-fixtures}
pidfile="$dir/dockerd.pid"

if [ ! -s "$pidfile" ]; then
  echo "dockerd-stop: no $pidfile: no dockerd started by fixtures.sh"
  exit 0
fi
pid=$(tr -dc '0-9' <"$pidfile")
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
  echo "dockerd-stop: pid '${pid}' from $pidfile is not running; removing the stale PID file"
  rm -f "$pidfile"
  exit 0
fi
# PIDs get reused: make sure it is still a dockerd before signalling it.
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
  echo "dockerd-stop: pid $pid is '$(cat "/proc/$pid/comm" 2>/dev/null)', not dockerd; removing the stale PID file"
  rm -f "$pidfile"
  exit 0
fi

kill -TERM "$pid"
for ((i = 0; i < 300; i++)); do # 30 s: dockerd gives running containers 15 s
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pidfile"
    echo "dockerd-stop: dockerd (pid $pid) stopped"
    exit 0
  fi
  sleep 0.1
done
echo "dockerd-stop: dockerd (pid $pid) still running 30 s after SIGTERM; sending SIGKILL" >&2
kill -KILL "$pid" 2>/dev/null || true
rm -f "$pidfile"
exit 1
