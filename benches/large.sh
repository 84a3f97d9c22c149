#!/usr/bin/env bash
# One collection of a million elements: `floe serve` against redis-server 7 (issue 12's
# memory and point-operation numbers). For each type, both servers (persistence off) get
# the same key filled with 1,000,000 elements of 16-byte members (hashes: 32-byte values)
# through `redis-cli --pipe`; the script prints, per element, each server's whole-process
# RSS growth (VmRSS from /proc, before and after the fill) and `MEMORY USAGE` of the key
# (Redis: `SAMPLES 0`, every element counted; floe: the header, its parts and their table
# slots), with floe/Redis ratios, then redis-benchmark point operations on that key
# (ops/s and the server's CPU µs per request).
#
# floe's RSS growth also counts the old versions of rewritten parts that it has not
# cleaned yet: before it takes memory it never used, floe cleans a segment at least
# `clean-dead-percent` (50) holes. `MEMORY USAGE` is what the data needs.
#
#   benches/large.sh                 # hash set list zset
#   FLOE_LARGE_TYPES="hash" benches/large.sh
#
# Environment: FLOE_LARGE_COUNT (elements, default 1000000), FLOE_LARGE_MAXMEMORY (floe's
# --maxmemory, default 2gb), FLOE_LARGE_SETTINGS (lines of floe's config file, e.g.
# "clean-dead-percent 0" to reclaim only when memory runs short). Installs Redis with apt-get if
# missing, builds floe with `cargo build --release`, starts both servers on free loopback
# ports and stops exactly the processes it started.
set -euo pipefail

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

root=$(cd "$(dirname "$0")/.." && pwd)
count=${FLOE_LARGE_COUNT:-1000000}
types=${FLOE_LARGE_TYPES:-hash set list zset}
ticks_per_second=$(getconf CLK_TCK)
# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

start_servers() {
    rm -rf "$work/redis" "$work/floe"
    mkdir -p "$work/redis" "$work/floe"
    free_port
    redis_port=$port
    free_port
    floe_port=$port
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$work/redis" --daemonize no >"$work/redis.log" 2>&1 &
    redis_pid=$!
    started+=("$redis_pid")
    printf '%s\n' "${FLOE_LARGE_SETTINGS:-}" >"$work/floe.conf"
    "$floe" serve --config "$work/floe.conf" --port "$floe_port" --persistence off --dir "$work/floe" \
        --maxmemory "${FLOE_LARGE_MAXMEMORY:-2gb}" --max-keys 1000000 --http-port off \
        >"$work/floe.log" 2>&1 &
    floe_pid=$!
    started+=("$floe_pid")
    wait_ready "$redis_port" "$redis_pid" redis
    wait_ready "$floe_port" "$floe_pid" floe
}

# The fill of one type as RESP commands of 1,000 elements each, on stdout.
fill_commands() { # type
    python3 - "$1" "$count" <<'EOF'
import sys
kind, count = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
def command(words):
    out.write(b"*%d\r\n" % len(words))
    for word in words:
        out.write(b"$%d\r\n%s\r\n" % (len(word), word))
verb = {"hash": b"HSET", "set": b"SADD", "list": b"RPUSH", "zset": b"ZADD"}[kind]
for start in range(0, count, 1000):
    words = [verb, b"big"]
    for i in range(start, min(start + 1000, count)):
        member = b"mem:%012d" % i
        if kind == "hash":
            words += [member, b"value-of-thirty-two-bytes-%06d" % (i % 1000000)]
        elif kind == "zset":
            words += [b"%d" % i, member]
        else:
            words.append(member)
    command(words)
EOF
}

point_bench() { # type name port pid -> "ops cpu"
    local type=$1 port=$3 pid=$4 requests=200000 command before after line ops
    case "$type" in
    hash) command=(HGET big "mem:__rand_int__") ;;
    set) command=(SISMEMBER big "mem:__rand_int__") ;;
    list) command=(LINDEX big $((count / 2))) ;;
    zset) command=(ZRANGE big $((count / 2)) $((count / 2 + 99))) ;;
    esac
    if [ "$type" = list ] || [ "$type" = zset ]; then requests=20000; fi
    before=$(cpu_ticks "$pid")
    line=$(redis-benchmark -p "$port" -c 50 -P 1 -n "$requests" -r "$count" --csv \
        "${command[@]}" 2>/dev/null | grep -v '^"test"' | tail -1)
    after=$(cpu_ticks "$pid")
    ops=$(echo "$line" | awk -F'"' '{ print $4 }')
    awk -v o="$ops" -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
        'BEGIN { printf "%.0f %.2f", o, t * 1e6 / hz / n }'
}

echo "floe $floe_commit vs redis-server $redis_version; $(nproc) cores; $(uptime)"
echo "one key of $count elements (16-byte members, 32-byte hash values), persistence off," \
    "floe --maxmemory ${FLOE_LARGE_MAXMEMORY:-2gb}"
printf "%-5s | %9s %9s %5s | %9s %9s %5s | %-14s %9s %9s %5s | %6s %6s %5s\n" type \
    "rss f B/e" "rss r B/e" ratio "use f B/e" "use r B/e" ratio "point op" "floe op/s" \
    "redis op/s" ratio "cpu f" "cpu r" ratio
for type in $types; do
    start_servers
    fill_commands "$type" >"$work/fill.resp"
    declare -A per_element=() usage=() ops=() cpu=()
    for server in floe redis; do
        if [ $server = floe ]; then p=$floe_port pid=$floe_pid; else p=$redis_port pid=$redis_pid; fi
        before=$(rss_kib "$pid")
        reply=$(redis-cli -p "$p" --pipe <"$work/fill.resp" 2>&1 | tail -1)
        case "$reply" in
        *"errors: 0"*) ;;
        *) echo "$server refused the $type fill: $reply" >&2 ;;
        esac
        after=$(rss_kib "$pid")
        per_element[$server]=$(awk -v b="$before" -v a="$after" -v n="$count" \
            'BEGIN { printf "%.1f", (a - b) * 1024 / n }')
        bytes=$(redis-cli -p "$p" MEMORY USAGE big SAMPLES 0)
        usage[$server]=$(awk -v u="$bytes" -v n="$count" 'BEGIN { printf "%.1f", u / n }')
        read -r ops[$server] cpu[$server] <<<"$(point_bench "$type" $server "$p" "$pid")"
    done
    case "$type" in
    hash) point="HGET" ;; set) point="SISMEMBER" ;; list) point="LINDEX mid" ;;
    zset) point="ZRANGE 100 mid" ;;
    esac
    awk -v t="$type" -v pf="${per_element[floe]}" -v pr="${per_element[redis]}" -v pt="$point" \
        -v uf="${usage[floe]}" -v ur="${usage[redis]}" \
        -v of="${ops[floe]}" -v or="${ops[redis]}" -v cf="${cpu[floe]}" -v cr="${cpu[redis]}" \
        'BEGIN { printf "%-5s | %9.1f %9.1f %5.2f | %9.1f %9.1f %5.2f | %-14s %9.0f %9.0f %5.2f | %6.2f %6.2f %5.2f\n",
            t, pf, pr, (pr > 0 ? pf / pr : 0), uf, ur, (ur > 0 ? uf / ur : 0), pt, of, or,
            (or > 0 ? of / or : 0), cf, cr, (cr > 0 ? cf / cr : 0) }'
    stop_started
done
