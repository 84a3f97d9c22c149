#!/usr/bin/env bash
# Hashes, lists, sets and sorted sets: `floe serve` against redis-server 7 (issue 12's
# numbers). The same redis-benchmark runs go to each server in alternation, persistence off
# and everysec, printing ops/s, p50, p99 and the server's own CPU time per request (utime +
# stime from /proc) with floe/Redis ratios; then MEMORY USAGE of one key of each type.
#
#   benches/types.sh            # both settings, every case (about 8 minutes here)
#   benches/types.sh --quick    # persistence off only, a fifth of the requests
#
# Two shapes of workload:
#   many   10,000 keys of each type, chosen at random per request (`-r 10000`), each
#          growing to a few dozen elements: sessions, per-user queues, small leaderboards.
#   hot    redis-benchmark's built-in tests on one key (`mylist`, `myset`, ...), which grows
#          to thousands of elements (the large form), at `-P 1` and at `-P 32` (issue 12's
#          list: lpush, rpush, lpop, rpop, sadd, hset, spop, zadd, zpopmin, lrange_100).
# Installs redis-server/redis-tools with apt-get if missing, builds floe with
# `cargo build --release`, starts both servers on free loopback ports, stops exactly the
# processes it started. Raw rows go to target/bench-results/types-*.csv.
# Environment: FLOE_BENCH_SCALE multiplies every -n (default 1); FLOE_TYPES_SHAPES picks
# the shapes (default "many hot").
set -euo pipefail

quick=0
for argument in "$@"; do
    case "$argument" in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $argument (try --help)" >&2
        exit 2
        ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
scale=${FLOE_BENCH_SCALE:-1}
ticks_per_second=$(getconf CLK_TCK)
# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"

start_servers() { # setting: off | everysec
    local setting=$1
    rm -rf "$work/redis" "$work/floe"
    mkdir -p "$work/redis" "$work/floe"
    free_port
    redis_port=$port
    free_port
    floe_port=$port
    local appendonly=yes persistence=on
    if [ "$setting" = off ]; then
        appendonly=no persistence=off
    fi
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly "$appendonly" \
        --appendfsync everysec --dir "$work/redis" --daemonize no >"$work/redis.log" 2>&1 &
    redis_pid=$!
    started+=("$redis_pid")
    "$floe" serve --port "$floe_port" --persistence "$persistence" --appendfsync everysec \
        --dir "$work/floe" --maxmemory 2gb --max-keys 1000000 --http-port off \
        >"$work/floe.log" 2>&1 &
    floe_pid=$!
    started+=("$floe_pid")
    wait_ready "$redis_port" "$redis_pid" redis
    wait_ready "$floe_port" "$floe_pid" floe
}

csv_dir="$root/target/bench-results"
mkdir -p "$csv_dir"
csv="$csv_dir/types-$(date -u +%Y%m%dT%H%M%SZ).csv"
echo "setting,shape,test,server,requests,ops,p50_ms,p99_ms,cpu_us_per_request,errors" >"$csv"

# One redis-benchmark run against one server; appends a CSV row. `command...` is either a
# custom command or `-t test`.
bench_one() { # setting shape name server port pid requests pipeline command...
    local setting=$1 shape=$2 name=$3 server=$4 port=$5 pid=$6 requests=$7 pipeline=$8
    shift 8
    local before after output line ops p50 p99 cpu errors
    # Each error reply is one line on stderr; count them rather than trust the rate alone.
    before=$(cpu_ticks "$pid")
    output=$(redis-benchmark -p "$port" -c 50 -P "$pipeline" -n "$requests" -r 10000 --csv "$@" \
        2>"$work/bench-errors.log")
    after=$(cpu_ticks "$pid")
    errors=$(grep -c "Error" "$work/bench-errors.log" || true)
    line=$(echo "$output" | grep -v '^"test"' | tail -1)
    ops=$(echo "$line" | awk -F'"' '{ print $4 }')
    p50=$(echo "$line" | awk -F'"' '{ print $10 }')
    p99=$(echo "$line" | awk -F'"' '{ print $14 }')
    cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
        'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
    echo "$setting,$shape,$name,$server,$requests,$ops,$p50,$p99,$cpu,$errors" >>"$csv"
}

# name|requests at scale 1|redis-benchmark arguments (the first word of a custom command
# is the name printed).
many=(
    "HSET|400000|HSET h:__rand_int__ f:__rand_int__ value-of-sixteen"
    "HGET|400000|HGET h:__rand_int__ f:__rand_int__"
    "LPUSH|400000|LPUSH l:__rand_int__ value-of-sixteen"
    "LRANGE_10|200000|LRANGE l:__rand_int__ 0 9"
    "RPOP|400000|RPOP l:__rand_int__"
    "SADD|400000|SADD s:__rand_int__ m:__rand_int__"
    "SISMEMBER|400000|SISMEMBER s:__rand_int__ m:__rand_int__"
    "ZADD|400000|ZADD z:__rand_int__ __rand_int__ m:__rand_int__"
    "ZSCORE|400000|ZSCORE z:__rand_int__ m:__rand_int__"
    "ZRANGE_10|200000|ZRANGE z:__rand_int__ 0 9 WITHSCORES"
)
hot=(
    "LPUSH|100000|-t lpush"
    "RPUSH|100000|-t rpush"
    "LPOP|50000|-t lpop"
    "RPOP|50000|-t rpop"
    "SADD|100000|-t sadd"
    "HSET|100000|-t hset"
    "SPOP|50000|-t spop"
    "ZADD|100000|-t zadd"
    "ZPOPMIN|50000|-t zpopmin"
    "LRANGE_100|20000|-t lrange_100"
)
settings=(off everysec)
if [ "$quick" = 1 ]; then
    settings=(off)
    scale=$(awk -v s="$scale" 'BEGIN { print s / 5 }')
fi

print_shape() { # setting shape
    awk -F, -v setting="$1" -v shape="$2" '
        $1 == setting && $2 == shape {
            if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 }
            ops[$3, $4] = $6; p50[$3, $4] = $7; p99[$3, $4] = $8; cpu[$3, $4] = $9
            errors[$3, $4] = $10
        }
        END {
            printf "\n%s keys, persistence %s\n", shape, setting
            printf "%-10s %10s %10s %6s | %6s %6s | %7s %7s | %6s %6s %6s | %s\n", "test",
                "floe op/s", "redis op/s", "ratio", "p50 f", "p50 r", "p99 f", "p99 r",
                "cpu f", "cpu r", "ratio", "errors f/r"
            for (i = 1; i <= n; i++) {
                t = order[i]; f = t SUBSEP "floe"; r = t SUBSEP "redis"
                printf "%-10s %10.0f %10.0f %6.2f | %6.3f %6.3f | %7.3f %7.3f | %6.2f %6.2f %6.2f | %d/%d\n",
                    t, ops[f], ops[r], (ops[r] > 0 ? ops[f] / ops[r] : 0), p50[f], p50[r],
                    p99[f], p99[r], cpu[f], cpu[r], (cpu[r] > 0 ? cpu[f] / cpu[r] : 0),
                    errors[f], errors[r]
            }
        }' "$csv"
}

echo "floe $floe_commit vs redis-server $redis_version; $(nproc) cores; $(uptime)"
echo "redis-benchmark -c 50 (-P 16 for many keys; -P 1 and -P 32 for hot keys); p50/p99 in ms;" \
    "cpu = server CPU µs per request"
order=0
for setting in "${settings[@]}"; do
    for shape in ${FLOE_TYPES_SHAPES:-many hot}; do
        if [ "$shape" = many ]; then pipelines=(16); else pipelines=(1 32); fi
        for pipeline in "${pipelines[@]}"; do
            # A fresh pair per shape and pipeline: the hot keys must start empty.
            start_servers "$setting"
            if [ "$shape" = many ]; then entries=("${many[@]}"); else entries=("${hot[@]}"); fi
            for entry in "${entries[@]}"; do
                IFS='|' read -r name requests arguments <<<"$entry"
                requests=$(awk -v n="$requests" -v s="$scale" 'BEGIN { printf "%d", n * s }')
                if [ $((order % 2)) = 0 ]; then
                    servers=("floe $floe_port $floe_pid" "redis $redis_port $redis_pid")
                else
                    servers=("redis $redis_port $redis_pid" "floe $floe_port $floe_pid")
                fi
                order=$((order + 1))
                for server in "${servers[@]}"; do
                    read -r server_name port pid <<<"$server"
                    # shellcheck disable=SC2086 # the arguments are meant to split
                    bench_one "$setting" "$shape-P$pipeline" "$name" "$server_name" "$port" \
                        "$pid" "$requests" "$pipeline" $arguments
                done
            done
            print_shape "$setting" "$shape-P$pipeline"
            stop_started
        done
    done
done

# MEMORY USAGE of one key per type, 10 elements of 16 bytes (member, field and value), on
# fresh servers with persistence off. Both count the key's own bytes and overhead; Redis's
# figure comes from its allocator's size classes, floe's is its item and table slot.
start_servers off
echo
echo "MEMORY USAGE of one key holding 10 elements of 16 bytes (bytes)"
printf "%-6s %6s %6s %6s\n" type floe redis ratio
for type in hash list set zset; do
    case $type in
    hash) fill=(HSET k) ;;
    list) fill=(RPUSH k) ;;
    set) fill=(SADD k) ;;
    zset) fill=(ZADD k) ;;
    esac
    for i in $(seq 10); do
        element=$(printf "element-%08d" "$i")
        case $type in
        hash) fill+=("$element" "value-of-sixteen") ;;
        zset) fill+=("$i" "$element") ;;
        *) fill+=("$element") ;;
        esac
    done
    for p in "$floe_port" "$redis_port"; do
        redis-cli -p "$p" DEL k >/dev/null
        redis-cli -p "$p" "${fill[@]}" >/dev/null
    done
    f=$(redis-cli -p "$floe_port" MEMORY USAGE k)
    r=$(redis-cli -p "$redis_port" MEMORY USAGE k)
    printf "%-6s %6d %6d %6.2f\n" "$type" "$f" "$r" "$(awk -v f="$f" -v r="$r" 'BEGIN { print f / r }')"
done
stop_started
echo
echo "raw rows: $csv"
echo "done; $(uptime)"
