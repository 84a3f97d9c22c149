#!/usr/bin/env bash
# Whole-process memory of redis-server 7 and `floe serve` each holding 1M keys (issue 10's
# RSS target): 16-byte keys, 32-byte values, loaded with `redis-cli --pipe`, persistence
# off for both; prints VmRSS from /proc/<pid>/status and the floe/Redis ratio.
#
#   benches/server-rss.sh
#
# floe reserves its memory at start (--maxmemory) and refuses writes when full
# (noeviction), so its RSS depends on the setting: this script finds the smallest
# --maxmemory (to 1 MiB) that holds all 1M keys, and also measures a few usual settings.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"

key_count=1000000

# The load: SET key:000000000000 .. key:000000999999 (16 bytes) to a 32-byte value, as RESP.
awk -v n="$key_count" 'BEGIN {
    value = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
    for (i = 0; i < n; i++)
        printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$32\r\n%s\r\n", i, value
}' >"$work/load.resp"

# Loads the keys into the server on `port`; prints how many keys it then holds.
load_keys() { # port
    redis-cli -p "$1" --pipe <"$work/load.resp" >"$work/pipe.log" 2>&1 || true
    redis-cli -p "$1" DBSIZE
}

# Starts redis-server with persistence off, loads, and sets redis_rss_kib.
measure_redis() {
    free_port
    mkdir -p "$work/redis"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$work/redis" --daemonize no >"$work/redis.log" 2>&1 &
    local pid=$!
    started+=("$pid")
    wait_ready "$port" "$pid" redis
    redis_empty_kib=$(rss_kib "$pid")
    local keys
    keys=$(load_keys "$port")
    if [ "$keys" != "$key_count" ]; then
        echo "redis holds $keys keys after the load, not $key_count" >&2
        exit 1
    fi
    sleep 1
    redis_rss_kib=$(rss_kib "$pid")
    redis_used=$(redis-cli -p "$port" INFO memory | tr -d '\r' |
        awk -F: '$1 == "used_memory" { print $2 }')
    stop_started
}

# Starts floe with --maxmemory $1 (persistence off, noeviction), loads, and sets
# floe_keys, floe_empty_kib and floe_rss_kib.
measure_floe() { # maxmemory
    free_port
    "$floe" serve --port "$port" --persistence off --maxmemory "$1" \
        --max-keys "$key_count" --maxmemory-policy noeviction --dir "$work/floe" \
        >"$work/floe.log" 2>&1 &
    local pid=$!
    started+=("$pid")
    wait_ready "$port" "$pid" floe
    floe_empty_kib=$(rss_kib "$pid")
    floe_keys=$(load_keys "$port")
    sleep 1
    floe_rss_kib=$(rss_kib "$pid")
    stop_started
}

echo "floe $floe_commit vs redis-server $redis_version; $(nproc) cores; $(uptime)"
measure_redis
printf "redis-server: %d keys, VmRSS %.1f MiB (empty %.1f MiB, used_memory %.1f MiB)\n" \
    "$key_count" "$(echo "$redis_rss_kib / 1024" | bc -l)" \
    "$(echo "$redis_empty_kib / 1024" | bc -l)" "$(echo "$redis_used / 1048576" | bc -l)"

# Bisect the smallest --maxmemory in MiB that holds every key: lo fails, hi holds.
lo=8
hi=512
measure_floe "${hi}mb"
if [ "$floe_keys" != "$key_count" ]; then
    echo "floe with --maxmemory ${hi}mb holds only $floe_keys keys" >&2
    exit 1
fi
while [ $((hi - lo)) -gt 1 ]; do
    middle=$(((lo + hi) / 2))
    measure_floe "${middle}mb"
    echo "  --maxmemory ${middle}mb: $floe_keys keys" >&2
    if [ "$floe_keys" = "$key_count" ]; then hi=$middle; else lo=$middle; fi
done
smallest_mib=$hi

echo
echo "| floe --maxmemory | keys held | floe VmRSS empty | floe VmRSS loaded | Redis VmRSS loaded | floe/Redis |"
echo "|---|---:|---:|---:|---:|---:|"
for setting in "${smallest_mib}mb" 64mb 128mb 256mb 1gb; do
    measure_floe "$setting"
    label=$setting
    if [ "$setting" = "${smallest_mib}mb" ]; then label="$setting (smallest)"; fi
    if [ "$setting" = 64mb ]; then label="$setting (default)"; fi
    printf "| %s | %s | %.1f MiB | %.1f MiB | %.1f MiB | %.2f |\n" "$label" "$floe_keys" \
        "$(echo "$floe_empty_kib / 1024" | bc -l)" "$(echo "$floe_rss_kib / 1024" | bc -l)" \
        "$(echo "$redis_rss_kib / 1024" | bc -l)" "$(echo "$floe_rss_kib / $redis_rss_kib" | bc -l)"
done
echo "done; $(uptime)"
