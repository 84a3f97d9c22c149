#!/usr/bin/env bash
# HTTP door throughput (issue 11's Numbers): `GET /kv/{key}` over keep-alive connections,
# driven by wrk (a load generator floe did not write; installed with apt-get if missing),
# reported beside the RESP figure for the same server: redis-benchmark GET at -c 50 -P 1
# against the RESP door. Both with server CPU µs per request (utime+stime from /proc).
#
#   benches/server-http.sh            # 10 s per row
#   FLOE_BENCH_SECONDS=30 benches/server-http.sh
#
# Starts one `floe serve` (persistence off, default workers) on free loopback ports, writes
# the key, runs each row, and stops what it started by PID (server-common.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/server-common.sh
source "$root/benches/server-common.sh"

if ! command -v wrk >/dev/null; then
    echo "installing wrk with apt-get" >&2
    apt_prefix=()
    if [ "$(id -u)" != 0 ]; then apt_prefix=(sudo); fi
    DEBIAN_FRONTEND=noninteractive "${apt_prefix[@]}" apt-get install -y -qq wrk >/dev/null
fi
seconds=${FLOE_BENCH_SECONDS:-10}

free_port
resp_port=$port
free_port
http_port=$port
"$floe" serve --port "$resp_port" --http-port "$http_port" --persistence off \
    --dir "$work/data" >"$work/floe.log" 2>&1 &
pid=$!
started+=("$pid")
wait_ready "$resp_port" "$pid" floe
redis-cli -p "$resp_port" SET bench:key "$(head -c 256 /dev/zero | tr '\0' v)" >/dev/null

echo "floe $floe_commit; $(nproc) cores; $(uptime)"
printf '%-34s %12s %10s %10s %12s\n' row requests/s p50 p99 "cpu µs/req"

# One row: the command (its output in $work/out), then requests/s, latencies and CPU.
row() { # name command...
    local name=$1
    shift
    local before after
    before=$(cpu_ticks "$pid")
    "$@" >"$work/out" 2>&1
    after=$(cpu_ticks "$pid")
    local ticks=$((after - before)) hz
    hz=$(getconf CLK_TCK)
    local rate p50 p99 count
    case "$name" in
    http*)
        rate=$(awk '/^Requests\/sec/ { print $2 }' "$work/out")
        p50=$(awk '$1 == "50%" { print $2 }' "$work/out")
        p99=$(awk '$1 == "99%" { print $2 }' "$work/out")
        count=$(awk '/requests in/ { print $1 }' "$work/out")
        ;;
    *)
        rate=$(awk -F'"' 'NR == 2 { print $4 }' "$work/out")
        p50=$(awk -F'"' 'NR == 2 { print $10 }' "$work/out")
        p99=$(awk -F'"' 'NR == 2 { print $14 }' "$work/out")
        count=$requests
        ;;
    esac
    local cpu
    cpu=$(awk -v t="$ticks" -v hz="$hz" -v n="$count" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    printf '%-34s %12s %10s %10s %12s\n' "$name" "$rate" "$p50" "$p99" "$cpu"
}

requests=$((seconds * 100000))
row "http GET /kv/{key} c50 (wrk -t1)" wrk -t1 -c50 -d"${seconds}s" --latency \
    "http://127.0.0.1:$http_port/kv/bench:key"
row "resp GET c50 P1 (redis-benchmark)" redis-benchmark -p "$resp_port" -c 50 -P 1 -t get \
    -n "$requests" --csv
