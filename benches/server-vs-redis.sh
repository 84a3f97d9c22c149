#!/usr/bin/env bash
# Side-by-side benchmark of `floe serve` and redis-server 7 (issue 10's Benchmark section):
# the same redis-benchmark runs against each server in alternation, for persistence off,
# everysec and always, printing ops/s, p50, p99 and server CPU time per request (utime +
# stime of the server process from /proc, before and after each run) with floe/Redis ratios.
#
#   benches/server-vs-redis.sh           # full: 3 settings x 4 cases x SET,GET (7 min here)
#   benches/server-vs-redis.sh --quick   # off and always, -P 1 and -P 32 only, smaller -n
#
# Installs redis-server/redis-tools with apt-get if missing (and stops the service apt
# starts), builds floe with `cargo build --release`, starts both servers on free loopback
# ports with data in a temporary directory, and stops exactly the processes it started.
# The raw rows are also written as CSV to target/bench-results/ for BENCHMARKS.md.
# Environment: FLOE_BENCH_SCALE multiplies every -n (default 1); FLOE_BENCH_ROUNDS runs each
# case that many times, alternating which server goes first (default 1); FLOE_BENCH_FLOE_ARGS
# adds options to floe's command line (e.g. "--workers 1").
set -euo pipefail

quick=0
for argument in "$@"; do
    case "$argument" in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
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
rounds=${FLOE_BENCH_ROUNDS:-1}
ticks_per_second=$(getconf CLK_TCK)
# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"

start_servers() { # setting: off | everysec | always
    local setting=$1
    rm -rf "$work/redis" "$work/floe"
    mkdir -p "$work/redis" "$work/floe"
    free_port
    redis_port=$port
    free_port
    floe_port=$port
    local appendonly=yes persistence=on appendfsync=$setting
    if [ "$setting" = off ]; then
        appendonly=no persistence=off appendfsync=everysec
    fi
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly "$appendonly" \
        --appendfsync "$appendfsync" --dir "$work/redis" --daemonize no \
        >"$work/redis.log" 2>&1 &
    redis_pid=$!
    started+=("$redis_pid")
    # Memory for -r 1000000 keys of 256 bytes, or ~60k of 10 KiB, with room for the holes
    # overwrites leave: floe reserves it at start, Redis allocates as it goes.
    "$floe" serve --port "$floe_port" --persistence "$persistence" \
        --appendfsync "$appendfsync" --dir "$work/floe" --maxmemory 4gb \
        --max-keys 2000000 ${FLOE_BENCH_FLOE_ARGS:-} >"$work/floe.log" 2>&1 &
    floe_pid=$!
    started+=("$floe_pid")
    wait_ready "$redis_port" "$redis_pid" redis
    wait_ready "$floe_port" "$floe_pid" floe
}

# --- Runs --------------------------------------------------------------------------------

csv_dir="$root/target/bench-results"
mkdir -p "$csv_dir"
csv="$csv_dir/server-vs-redis-$(date -u +%Y%m%dT%H%M%SZ).csv"
echo "setting,case,test,round,server,requests,ops,p50_ms,p99_ms,cpu_us_per_request,load1" >"$csv"

# One redis-benchmark run of one test against one server; appends a CSV row.
bench_one() { # setting case test round server port pid requests args...
    local setting=$1 case_name=$2 test=$3 round=$4 server=$5 port=$6 pid=$7 requests=$8
    shift 8
    local before after line ops p50 p99 cpu load
    before=$(cpu_ticks "$pid")
    line=$(redis-benchmark -p "$port" -t "${test,,}" -r 1000000 -n "$requests" --csv "$@" |
        grep -i "^\"$test\"")
    after=$(cpu_ticks "$pid")
    ops=$(echo "$line" | awk -F'"' '{ print $4 }')
    p50=$(echo "$line" | awk -F'"' '{ print $10 }')
    p99=$(echo "$line" | awk -F'"' '{ print $14 }')
    cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
        'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "$setting,$case_name,$test,$round,$server,$requests,$ops,$p50,$p99,$cpu,$load" >>"$csv"
}

# Each case: name, requests per test at scale 1, redis-benchmark arguments. Sized so one
# test takes a few seconds here (a 2-core machine shared with the client and, often, with
# other builds: a full run took about 10 minutes at load 6).
cases=(
    "c50-P1|300000|-c 50 -P 1 -d 256"
    "c50-P32|2000000|-c 50 -P 32 -d 256"
    "c200-P1|300000|-c 200 -P 1 -d 256"
    "c50-P1-d10240|60000|-c 50 -P 1 -d 10240"
)
settings=(off everysec always)
if [ "$quick" = 1 ]; then
    cases=("${cases[0]}" "${cases[1]}")
    settings=(off always)
    scale=$(awk -v s="$scale" 'BEGIN { print s / 5 }')
fi

print_case() { # setting case
    awk -F, -v setting="$1" -v case_name="$2" '
        $1 == setting && $2 == case_name {
            key = $3 SUBSEP $5
            count[key]++
            ops[key] += $7; p50[key] += $8; p99[key] += $9; cpu[key] += $10
            load = load " " $11
        }
        END {
            printf "\n%s, persistence %s (load1 during runs:%s)\n", case_name, setting, load
            printf "%-4s %10s %10s %6s | %6s %6s | %7s %7s | %7s %7s %6s\n", "test",
                "floe op/s", "redis op/s", "ratio", "p50 f", "p50 r", "p99 f", "p99 r",
                "cpu f", "cpu r", "ratio"
            split("SET GET", tests, " ")
            for (i = 1; i <= 2; i++) {
                t = tests[i]; f = t SUBSEP "floe"; r = t SUBSEP "redis"
                if (!(f in count)) continue
                of = ops[f] / count[f]; or = ops[r] / count[r]
                cf = cpu[f] / count[f]; cr = cpu[r] / count[r]
                printf "%-4s %10.0f %10.0f %6.2f | %6.3f %6.3f | %7.3f %7.3f | %7.2f %7.2f %6.2f\n",
                    t, of, or, of / or, p50[f] / count[f], p50[r] / count[r],
                    p99[f] / count[f], p99[r] / count[r], cf, cr, (cr > 0 ? cf / cr : 0)
            }
        }' "$csv"
}

echo "floe $floe_commit vs redis-server $redis_version; $(nproc) cores; $(uptime)"
echo "ops/s averaged over $rounds round(s); p50/p99 in ms; cpu = server CPU µs per request"
order=0
for setting in "${settings[@]}"; do
    start_servers "$setting"
    for entry in "${cases[@]}"; do
        IFS='|' read -r case_name requests arguments <<<"$entry"
        requests=$(awk -v n="$requests" -v s="$scale" 'BEGIN { printf "%d", n * s }')
        for round in $(seq "$rounds"); do
            # Alternate which server goes first, so neither always gets the warmer cache or
            # the quieter minute.
            if [ $((order % 2)) = 0 ]; then
                servers=("floe $floe_port $floe_pid" "redis $redis_port $redis_pid")
            else
                servers=("redis $redis_port $redis_pid" "floe $floe_port $floe_pid")
            fi
            order=$((order + 1))
            for server in "${servers[@]}"; do
                read -r name port pid <<<"$server"
                for test in set get; do
                    # An fdatasync per write makes SETs under always several times slower.
                    count=$requests
                    if [ "$setting" = always ] && [ "$test" = set ]; then
                        count=$((requests / 4))
                    fi
                    # shellcheck disable=SC2086 # the arguments are meant to split
                    bench_one "$setting" "$case_name" "${test^^}" "$round" "$name" "$port" \
                        "$pid" "$count" $arguments
                done
            done
        done
        print_case "$setting" "$case_name"
    done
    stop_started
done
echo
echo "raw rows: $csv"
echo "done; $(uptime)"
