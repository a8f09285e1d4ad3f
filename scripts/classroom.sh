#!/usr/bin/env bash
# A lecture hall on one machine: N BERT Playground replicas (one Streamlit process each, on loopback ports)
# behind nginx with sticky sessions. Everything runs as the current user; Ctrl-C stops it all.
#
#   scripts/classroom.sh [--replicas 4] [--port 8080] [--address 0.0.0.0] [--first-port 8601]
#                        [--upstream HOST:PORT]... [--replicas-only --replica-address ADDR] [--run DIR]
#
#   --replicas N         local replicas (default 4; 0 when all replicas run on other machines)
#   --port, --address    where nginx listens (default 0.0.0.0:8080; the students open http://THIS-HOST:8080)
#   --first-port P       local replicas listen on 127.0.0.1:P, P+1, ... (default 8601)
#   --upstream HOST:PORT a replica on another machine, started there with --replicas-only (repeatable)
#   --replicas-only      start the replicas without nginx (a worker machine); with
#   --replica-address A  the address they listen on (default 127.0.0.1; a worker needs its LAN address)
#   --run DIR            run folder: nginx.conf, upstreams.conf, logs/, tmp/, replica logs (default runs/classroom)
#
# Each replica is started exactly like the README's "Deploying for a class" command, plus BERT_PLAYGROUND_HALL=1
# (after a fail-over the page reruns at once on its new replica, see playground_ui/hall.py). Environment variables
# BERT_PLAYGROUND_ALLOWED_MODELS (default: embedded), BERT_PLAYGROUND_MODEL, BERT_PLAYGROUND_THREADS (default 1)
# pass through. NGINX (default: nginx on the PATH, else /usr/sbin/nginx) chooses the nginx binary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

replicas=4 port=8080 address=0.0.0.0 first_port=8601 run_dir=runs/classroom replicas_only=0
replica_address=127.0.0.1 upstreams=()
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --address) address=$2; shift 2 ;;
    --first-port) first_port=$2; shift 2 ;;
    --upstream) upstreams+=("$2"); shift 2 ;;
    --replicas-only) replicas_only=1; shift ;;
    --replica-address) replica_address=$2; shift 2 ;;
    --run) run_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "classroom: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$replicas" =~ ^[0-9]+$ ]] || { echo "classroom: --replicas takes a number, not '$replicas'" >&2; exit 2; }
for p in "$port" "$first_port"; do
  if ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -lt 1024 ] || [ "$p" -gt 65535 ]; then
    echo "classroom: ports must be numbers from 1024 to 65535 (no root needed), not '$p'" >&2; exit 2
  fi
done
if [ "$replicas" -eq 0 ] && [ ${#upstreams[@]} -eq 0 ]; then
  echo "classroom: no replicas: give --replicas N or --upstream HOST:PORT" >&2; exit 2
fi
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || { echo "classroom: no $PY: run scripts/setup.sh (or make app) first" >&2; exit 2; }
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [ "$replicas_only" = 0 ] && [ ! -x "$NGINX" ]; then
  echo "classroom: nginx is not installed: apt-get install nginx (Debian/Ubuntu), or set NGINX=/path/to/nginx" >&2
  exit 2
fi

mkdir -p "$run_dir"
RUN=$(cd "$run_dir" && pwd)
mkdir -p "$RUN/logs" "$RUN/tmp"
pids=()
running() {  # the process exists and has not exited (a child that exited stays a zombie until waited for)
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$st" ] && [ "$st" != Z ]
}
stop() {
  trap - INT TERM EXIT
  echo "classroom: stopping…" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # A replica gets STOP_GRACE seconds to shut down cleanly; one still there then (a shutdown stuck behind a busy
  # thread) is killed, so Ctrl-C always stops the whole hall.
  local waited=0
  while [ "$waited" -lt "${STOP_GRACE:-15}" ]; do
    local alive=0
    for pid in "${pids[@]}"; do running "$pid" && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 1
    waited=$((waited + 1))
  done
  for pid in "${pids[@]}"; do
    if running "$pid"; then
      echo "classroom: process $pid did not stop in ${STOP_GRACE:-15} s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "classroom: stopped" >&2
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Children run in their own sessions (setsid), so a Ctrl-C in the terminal reaches this script only, which stops
# them (replicas and nginx would otherwise each take the SIGINT on their own, in no order).
SETSID=$(command -v setsid || true)

# The replicas: the README's "Deploying for a class" command, one loopback port each.
replica_ports=()
for ((i = 0; i < replicas; i++)); do
  p=$((first_port + i))
  replica_ports+=("$p")
  $SETSID env BERT_PLAYGROUND_HALL=1 BERT_PLAYGROUND_ALLOWED_MODELS="${BERT_PLAYGROUND_ALLOWED_MODELS-embedded}" HF_HUB_OFFLINE=1 \
      BERT_PLAYGROUND_THREADS="${BERT_PLAYGROUND_THREADS:-1}" MALLOC_MMAP_THRESHOLD_=131072 \
      "$PY" -m streamlit run app.py --server.address "$replica_address" --server.port "$p" \
      >"$RUN/logs/replica-$p.log" 2>&1 &
  pids+=($!)
  echo "$!" >"$RUN/replica-$p.pid"
done

# Wait until every replica answers /_stcore/health (a replica that exits is reported at once).
health() { "$PY" -c 'import sys, urllib.request as u; sys.exit(u.urlopen(sys.argv[1], timeout=2).status != 200)' "$1" 2>/dev/null; }
host=$replica_address; [ "$host" = 0.0.0.0 ] && host=127.0.0.1
deadline=$((SECONDS + ${CLASSROOM_START_TIMEOUT:-300}))
for ((i = 0; i < replicas; i++)); do
  p=${replica_ports[$i]}
  until health "http://$host:$p/_stcore/health"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "classroom: replica on port $p exited; see $RUN/logs/replica-$p.log" >&2; exit 1
    fi
    [ $SECONDS -lt $deadline ] || { echo "classroom: replica on port $p did not answer in time" >&2; exit 1; }
    sleep 0.5
  done
  echo "classroom: replica $((i + 1))/$replicas ready on $host:$p (pid ${pids[$i]})"
done

for u in "${upstreams[@]}"; do  # replicas on other machines must answer too before students are let in
  until health "http://$u/_stcore/health"; do
    [ $SECONDS -lt $deadline ] || { echo "classroom: the replica at $u does not answer /_stcore/health" >&2; exit 1; }
    sleep 1
  done
  echo "classroom: replica at $u ready"
done

if [ "$replicas_only" = 1 ]; then
  echo "classroom: $replicas replicas up; list them on the balancer with --upstream THIS-HOST:PORT. Ctrl-C stops."
else
  # nginx: the template rendered into the run folder (all its paths there; `user` only when run as root).
  fail_timeout=${CLASSROOM_FAIL_TIMEOUT:-10s}
  : >"$RUN/upstreams.conf"
  for p in "${replica_ports[@]}"; do echo "server $host:$p max_fails=3 fail_timeout=$fail_timeout;" >>"$RUN/upstreams.conf"; done
  for u in "${upstreams[@]}"; do echo "server $u max_fails=3 fail_timeout=$fail_timeout;" >>"$RUN/upstreams.conf"; done
  max_mb=$(sed -n 's/^maxUploadSize *= *\([0-9]*\).*/\1/p' .streamlit/config.toml); max_mb=${max_mb:-200}
  user_line="# user: the current user ($(id -un))"
  [ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);  # started as root: workers stay this user"
  sed -e "s|@RUN@|$RUN|g" -e "s|@LISTEN@|$address:$port|g" -e "s|@MAX_UPLOAD_MB@|$max_mb|g" \
      -e "s|@BODY_MB@|$((max_mb + 1))|g" -e "s|@FAIL_TIMEOUT@|$fail_timeout|g" \
      -e "s|@CONNECT_TIMEOUT@|${CLASSROOM_CONNECT_TIMEOUT:-3s}|g" -e "s|@USER_LINE@|$user_line|g" \
      deploy/nginx-classroom.conf.template >"$RUN/nginx.conf"
  "$NGINX" -t -q -e "$RUN/logs/error.log" -p "$RUN" -c "$RUN/nginx.conf"
  $SETSID "$NGINX" -e "$RUN/logs/error.log" -p "$RUN" -c "$RUN/nginx.conf" &
  pids+=($!)
  nginx_pid=$!
  url_host=$address; [ "$address" = 0.0.0.0 ] && url_host=$(hostname)
  until health "http://127.0.0.1:$port/_stcore/health" || health "http://$address:$port/_stcore/health"; do
    kill -0 "$nginx_pid" 2>/dev/null || { echo "classroom: nginx exited; see $RUN/logs/error.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "classroom: nginx did not answer in time" >&2; exit 1; }
    sleep 0.2
  done
  echo "classroom: $((replicas + ${#upstreams[@]})) replicas behind nginx: http://$url_host:$port  (Ctrl-C stops)"
fi
echo "classroom: ready"

# Watch: a replica that dies is reported (its students reconnect to the others); nginx dying ends the hall.
declare -A reported=()
while true; do
  sleep 2 & wait $! || true  # `wait` returns at once on Ctrl-C, so the trap runs without delay
  for ((i = 0; i < replicas; i++)); do
    if [ -z "${reported[$i]:-}" ] && ! kill -0 "${pids[$i]}" 2>/dev/null; then
      reported[$i]=1
      echo "classroom: replica on port ${replica_ports[$i]} died (its students reconnect to the others)" >&2
    fi
  done
  if [ "$replicas_only" = 0 ] && ! kill -0 "$nginx_pid" 2>/dev/null; then
    echo "classroom: nginx exited; see $RUN/logs/error.log" >&2; exit 1
  fi
done
