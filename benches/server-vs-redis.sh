#!/usr/bin/env bash
# Side-by-side benchmark of `floe serve` and redis-server 7 (issue 10's Benchmark section):
# the same redis-benchmark runs against each server in alternation, for persistence off,
# everysec and always, printing ops/s, p50, p99 and server CPU time per request (utime +
# stime of the server process from /proc, before and after each run) with floe/Redis ratios.
#
#   benches/server-vs-redis.sh           # full: 3 settings x 4 cases x SET,GET (~8 minutes)
#   benches/server-vs-redis.sh --quick   # off and always, -P 1 and -P 32 only, smaller -n
#
# Installs redis-server/redis-tools with apt-get if missing (and stops the service apt
# starts), builds floe with `cargo build --release`, starts both servers on free loopback
# ports with data in a temporary directory, and stops exactly the processes it started.
# The raw rows are also written as CSV to target/bench-results/ for BENCHMARKS.md.
# Environment: FLOE_BENCH_SCALE multiplies every -n (default 1); FLOE_BENCH_ROUNDS runs each
# case that many times, alternating which server goes first (default 1).
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

# --- Tools -------------------------------------------------------------------------------

ensure_redis() {
    if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null &&
        command -v redis-cli >/dev/null; then
        return
    fi
    echo "installing redis-server and redis-tools with apt-get" >&2
    local apt_prefix=()
    if [ "$(id -u)" != 0 ]; then apt_prefix=(sudo); fi
    "${apt_prefix[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${apt_prefix[@]}" apt-get install -y -qq \
        redis-server redis-tools >/dev/null
    # The package starts a system service on 6379; this benchmark wants only its own.
    "${apt_prefix[@]}" service redis-server stop >/dev/null 2>&1 || true
    if command -v systemctl >/dev/null; then
        "${apt_prefix[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
    fi
    "${apt_prefix[@]}" update-rc.d redis-server disable >/dev/null 2>&1 || true
}

ensure_redis
redis_version=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
case "$redis_version" in
7.*) ;;
*) echo "warning: redis-server $redis_version, the issue asks for 7.x" >&2 ;;
esac

echo "building floe (cargo build --release)" >&2
(cd "$root" && cargo build --release --quiet)
floe="$root/target/release/floe"
floe_commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)

# --- Processes ---------------------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/floe-vs-redis.XXXXXX")
started=()

stop_started() {
    local pid
    for pid in "${started[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    started=()
}
trap 'stop_started; [ -n "${FLOE_BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# Sets `port` to a loopback port nothing listens on that this run has not handed out yet
# (a variable, not output: a $(...) subshell would lose the counter).
next_port=$((20000 + RANDOM % 20000))
free_port() {
    while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do
        next_port=$((next_port + 1))
    done
    port=$next_port
    next_port=$((next_port + 1))
}

wait_ready() { # port pid name
    local port=$1 pid=$2 name=$3
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited before answering; its log:" >&2
            cat "$work/$name.log" >&2
            exit 1
        fi
        if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; then return; fi
        sleep 0.1
    done
    echo "$name did not answer PING on port $port within 10 s" >&2
    exit 1
}

# utime + stime of a process (every thread), in clock ticks. The command name in field 2
# may hold spaces, so count fields after its closing parenthesis: utime and stime are
# fields 14 and 15, the 12th and 13th after ")".
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

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
        --max-keys 2000000 >"$work/floe.log" 2>&1 &
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
# test takes a few seconds here (a 2-core machine shared with the client).
cases=(
    "c50-P1|300000|-c 50 -P 1 -d 256"
    "c50-P32|3000000|-c 50 -P 32 -d 256"
    "c200-P1|300000|-c 200 -P 1 -d 256"
    "c50-P1-d10240|100000|-c 50 -P 1 -d 10240"
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
                    # shellcheck disable=SC2086 # the arguments are meant to split
                    bench_one "$setting" "$case_name" "${test^^}" "$round" "$name" "$port" \
                        "$pid" "$requests" $arguments
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
