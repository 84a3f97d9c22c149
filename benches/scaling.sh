#!/usr/bin/env bash
# Multi-core scaling of floe serve against redis-server, on a machine with many cores (the
# 16-core device machine: binaries are carried in, nothing is installed). For each worker
# count, starts floe on loopback with persistence off, drives it with redis-benchmark
# (--threads, so the client is not the limit), and prints ops/s and the server's CPU time
# per request; then the same against redis-server (single-threaded by design).
#
# Usage: benches/scaling.sh BIN_DIR [WORKERS...]   (BIN_DIR holds floe, redis-server,
#        redis-benchmark and lib/; default workers: 1 2 4 8)
set -euo pipefail
bin=$(cd "$1" && pwd); shift
workers=("${@:-1 2 4 8}"); read -r -a workers <<< "${workers[*]}"
export LD_LIBRARY_PATH="$bin/lib"
tick=$(getconf CLK_TCK)
requests=${FLOE_SCALING_REQUESTS:-2000000}
client_threads=${FLOE_SCALING_CLIENT_THREADS:-8}
tmp=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME PORT PID: one redis-benchmark run per case, one line each.
run() {
  local name=$1 port=$2 pid=$3
  for pipeline in 1 16; do
    local before after ops
    before=$(cpu_ticks "$pid")
    ops=$("$bin/redis-benchmark" -p "$port" --threads "$client_threads" -c 200 -P "$pipeline" \
      -t set,get -r 1000000 -d 64 -n "$requests" --csv 2>/dev/null |
      awk -F'"' '/"SET"|"GET"/ {sum += $4; count++} END {printf "%.0f", sum / count}')
    after=$(cpu_ticks "$pid")
    local cpu_us
    cpu_us=$(awk -v ticks=$((after - before)) -v hz="$tick" -v n=$((requests * 2)) \
      'BEGIN {printf "%.2f", ticks / hz * 1e6 / n}')
    printf '%-14s P=%-3s %12s ops/s  %8s us CPU/request\n' "$name" "$pipeline" "$ops" "$cpu_us"
  done
}

nproc
port=17000
for count in "${workers[@]}"; do
  port=$((port + 1))
  "$bin/floe" serve --port "$port" --persistence off --maxmemory 2gb --max-keys 2000000 \
    --workers "$count" >"$tmp/floe-$count.log" 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 100); do "$bin/redis-benchmark" -p "$port" -n 1 -t ping -q >/dev/null 2>&1 && break; sleep 0.1; done
  run "floe w=$count" "$port" "$pid"
  kill -TERM "$pid"; wait "$pid" || true
done
port=$((port + 1))
"$bin/redis-server" --port "$port" --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pid=$!; pids+=("$pid")
for _ in $(seq 100); do "$bin/redis-benchmark" -p "$port" -n 1 -t ping -q >/dev/null 2>&1 && break; sleep 0.1; done
run "redis" "$port" "$pid"
