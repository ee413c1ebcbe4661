#!/usr/bin/env bash
# A local Ray head node on loopback for development: `scripts/ray.sh start|stop|status`.
# Then `shoplens index ... --executor ray --ray-address 127.0.0.1:$SHOPLENS_RAY_PORT` and
# `shoplens serve --store DIR --ray --ray-address 127.0.0.1:$SHOPLENS_RAY_PORT` join it instead of
# starting a private Ray each. Settings: SHOPLENS_RAY_PORT (6379), SHOPLENS_RAY_CPUS (all cores),
# SHOPLENS_RAY_OBJECT_STORE_MB (256: encoding blocks are small; raise it on a real cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
RAY=.venv/bin/ray
PORT=${SHOPLENS_RAY_PORT:-6379}
CPUS=${SHOPLENS_RAY_CPUS:-$(nproc)}
OBJ_MB=${SHOPLENS_RAY_OBJECT_STORE_MB:-256}
[ -x "$RAY" ] || { echo "ray.sh: $RAY missing; run scripts/setup.sh first" >&2; exit 1; }
export RAY_USAGE_STATS_ENABLED=0
# Ray 2.60 heads require a token (written to ~/.ray/auth_token); clients read it only in token mode:
# `export RAY_AUTH_MODE=token` before `shoplens ... --ray-address`.
export RAY_AUTH_MODE=token
PIDFILE=${SHOPLENS_RAY_PIDFILE:-/tmp/shoplens-ray-$PORT.pid}
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "${1:-}" in
  start)
    if running; then echo "ray head already running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; exit 0; fi
    # --block keeps this head's processes under one pid, so `stop` ends them and no other Ray on the machine
    nohup "$RAY" start --head --block --node-ip-address=127.0.0.1 --port="$PORT" --num-cpus="$CPUS" \
      --object-store-memory=$((OBJ_MB * 1024 * 1024)) --include-dashboard=false --disable-usage-stats \
      >"${PIDFILE%.pid}.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 120); do
      if "$RAY" status --address "127.0.0.1:$PORT" >/dev/null 2>&1; then
        echo "ray head on 127.0.0.1:$PORT ($CPUS CPUs, object store ${OBJ_MB} MB); use RAY_AUTH_MODE=token and --ray-address 127.0.0.1:$PORT"
        exit 0
      fi
      running || break
      sleep 1
    done
    echo "ray.sh: the head did not come up; see ${PIDFILE%.pid}.log" >&2
    exit 1
    ;;
  stop)
    if ! running; then echo "no ray head started by ray.sh on port $PORT"; rm -f "$PIDFILE"; exit 0; fi
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    rm -f "$PIDFILE"
    # `ray start` leaves this pointer behind; a later ray.init() would try to join the dead head
    if grep -q ":$PORT\$" /tmp/ray/ray_current_cluster 2>/dev/null; then rm -f /tmp/ray/ray_current_cluster; fi
    echo "ray head on 127.0.0.1:$PORT stopped"
    ;;
  status)
    if running; then "$RAY" status --address "127.0.0.1:$PORT"; else echo "no ray head on port $PORT"; exit 3; fi
    ;;
  *)
    echo "usage: scripts/ray.sh start|stop|status" >&2
    exit 2
    ;;
esac
