#!/usr/bin/env bash
# The benchmark suite of issue 14, one command: floe against redis-server 7, memcached, moka
# and quick_cache, printed as Markdown tables and written with PNG plots to
# target/bench-results/run-all-<time>/.
#
#   benches/run-all.sh           # the full grid (hours on a 2-core machine)
#   benches/run-all.sh --quick   # a subset in about 5 minutes
#
# Sections (each writes a CSV beside the report):
#   (a) server.csv  ops/s, p50/p99/p99.9 and server CPU µs per request, floe vs Redis, with
#       persistence off, everysec and always, driven by floe-load (benches/src/bin/), which
#       is first checked against redis-benchmark on SET/GET -c 50 -P 1 (check.csv).
#       memcached is not driven here: floe-load speaks RESP only (see BENCHMARKS.md).
#   (b) memory.csv  whole-process RSS per key holding 1M keys (10M without --quick),
#       16/32 and 32/256-byte keys/values, with and without TTL: floe, Redis, memcached.
#   (c) recovery.csv  restart time and bytes on disk: floe's log and snapshot vs Redis's
#       AOF and RDB of the same 1M keys (and 10M without --quick).
#   (d) hit-ratio.csv  floe's eviction policies vs moka and quick_cache (in-process,
#       floe-hit-ratio) at 1%, 10% and 50% of the working set.
#   (e) server-hit-ratio.csv  the same idea through the servers: floe's policies vs Redis
#       allkeys-lru and allkeys-lfu, look-aside over Zipf 0.99 and a scan mix (10% only
#       with --quick).
#   (f) seeds-cli.csv, seeds-pizzakv.csv  the seeds' own workloads (benches/seeds.sh): Poro's
#       SET/GET/DEL from stdin through floe's CLI and pipelined into both servers, and
#       PizzaKV's redis-benchmark table against both servers (about 40 s with --quick).
# The report (report.md, throughput.png, hit-ratio.png) comes from benches/suite-report.py;
# seeds.sh writes its own tables (seeds.md), appended to report.md.
#
# Installs, when missing: redis-server and redis-tools, memcached (apt-get), matplotlib
# (pip, or apt's python3-matplotlib). Builds floe and the bench binaries with cargo. Every
# server listens on a free loopback port with its data in a temporary directory, and is
# stopped by PID (benches/server-common.sh). Each table records the load average.
set -euo pipefail

quick=0
for argument in "$@"; do
    case "$argument" in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $argument (try --help)" >&2
        exit 2
        ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
ticks_per_second=$(getconf CLK_TCK)
started_at=$(date +%s)

apt_install() { # packages...
    local apt_prefix=()
    if [ "$(id -u)" != 0 ]; then apt_prefix=(sudo); fi
    echo "installing $* with apt-get" >&2
    "${apt_prefix[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${apt_prefix[@]}" apt-get install -y -qq "$@" >/dev/null
}
if ! command -v memcached >/dev/null; then
    apt_install memcached
    # The package starts its own service; this suite runs only its own servers.
    service memcached stop >/dev/null 2>&1 || true
fi
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    python3 -m pip install --quiet matplotlib 2>/dev/null || apt_install python3-matplotlib
fi

# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"
echo "building the bench binaries (cargo build --release -p floe-benches --bins)" >&2
(cd "$root" && cargo build --release --quiet -p floe-benches --bins)
load_tool="$root/target/release/floe-load"
hit_tool="$root/target/release/floe-hit-ratio"
memcached_version=$(memcached -V | awk '{ print $2 }')

out="$root/target/bench-results/run-all-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
load1() { cut -d' ' -f1 /proc/loadavg; }
{
    echo "floe $floe_commit, redis-server $redis_version, memcached $memcached_version"
    echo "$(nproc) cores; quick=$quick; started $(date -u '+%F %T') UTC; $(uptime)"
} | tee "$out/machine.txt"

# Waits until `port` answers PING with PONG (Redis answers -LOADING while it loads), polling
# every 10 ms so restart times are not rounded to wait_ready's 100 ms.
wait_pong() { # port pid name
    for _ in $(seq 6000); do
        if ! kill -0 "$2" 2>/dev/null; then
            echo "$3 exited before answering; its log:" >&2
            cat "$work/$3.log" >&2
            exit 1
        fi
        if [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ]; then return; fi
        sleep 0.01
    done
    echo "$3 did not answer PING within 60 s" >&2
    exit 1
}

# Stops one process this script started, by PID, and waits for it (SIGTERM, then SIGKILL).
stop_pid() { # pid
    kill "$1" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -9 "$1" 2>/dev/null || true
}

# Starts redis-server; sets redis_port and redis_pid. Extra arguments go to redis-server.
start_redis() { # dir args...
    local dir=$1
    shift
    free_port
    redis_port=$port
    mkdir -p "$dir"
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --daemonize no "$@" \
        >"$work/redis.log" 2>&1 &
    redis_pid=$!
    started+=("$redis_pid")
}

# Starts floe serve; sets floe_port and floe_pid. Extra arguments go to floe serve.
start_floe() { # dir args...
    local dir=$1
    shift
    free_port
    floe_port=$port
    mkdir -p "$dir"
    "$floe" serve --port "$floe_port" --http-port off --dir "$dir" "$@" \
        >"$work/floe.log" 2>&1 &
    floe_pid=$!
    started+=("$floe_pid")
}

# Redis and floe arguments for a persistence setting (off, everysec, always).
persistence_arguments() { # setting
    case "$1" in
    off)
        redis_arguments=(--save "" --appendonly no)
        floe_arguments=(--persistence off)
        ;;
    *)
        redis_arguments=(--save "" --appendonly yes --appendfsync "$1")
        floe_arguments=(--persistence on --appendfsync "$1")
        ;;
    esac
}

# --- (a) Server throughput, latency and CPU per request -----------------------------------

server_csv="$out/server.csv"
echo "setting,server,$("$load_tool" --csv-header),cpu_us_per_request,load1" >"$server_csv"

# One timed floe-load run against one server; appends a row with its server CPU per request.
load_one() { # setting server port pid case floe-load-arguments...
    local setting=$1 server=$2 port=$3 pid=$4 case_name=$5
    shift 5
    local before after row requests cpu
    before=$(cpu_ticks "$pid")
    row=$("$load_tool" --port "$port" --csv --label "$case_name" "$@")
    after=$(cpu_ticks "$pid")
    requests=$(echo "$row" | cut -d, -f8)
    cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
        'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0) }')
    echo "$setting,$server,$row,$cpu,$(load1)" | tee -a "$server_csv"
}

# Cases: name|floe-load arguments. The key count keeps the data under ~1 GB per server.
if [ "$quick" = 1 ]; then
    seconds=3
    declare -A cases_by_setting=(
        [off]="c1-P1-90/10-zipf-256|--clients 1 --pipeline 1 --get-percent 90 --zipf 0.99 --value-size 256 --keys 100000
c50-P1-90/10-zipf-256|--clients 50 --pipeline 1 --get-percent 90 --zipf 0.99 --value-size 256 --keys 100000
c50-P1-50/50-uniform-256|--clients 50 --pipeline 1 --get-percent 50 --uniform --value-size 256 --keys 100000
c50-P32-90/10-zipf-256|--clients 50 --pipeline 32 --get-percent 90 --zipf 0.99 --value-size 256 --keys 100000
c200-P1-50/50-zipf-32|--clients 200 --pipeline 1 --get-percent 50 --zipf 0.99 --value-size 32 --keys 100000
c50-P1-90/10-zipf-100KiB|--clients 50 --pipeline 1 --get-percent 90 --zipf 0.99 --value-size 102400 --keys 2000"
        [everysec]="c50-P1-50/50-zipf-256|--clients 50 --pipeline 1 --get-percent 50 --zipf 0.99 --value-size 256 --keys 100000"
        [always]="c200-P1-50/50-zipf-256|--clients 200 --pipeline 1 --get-percent 50 --zipf 0.99 --value-size 256 --keys 100000"
    )
else
    seconds=5
    declare -A cases_by_setting=()
    for setting in off everysec always; do
        grid=""
        for clients in 1 50 200; do
            for pipeline in 1 16 64; do
                for value_size in 32 256 16384 102400; do
                    # At most ~1 GB of values per server.
                    keys=$((1000000000 / value_size))
                    if [ "$keys" -gt 1000000 ]; then keys=1000000; fi
                    for mix in 90 50; do
                        for distribution in zipf uniform; do
                            spec="--zipf 0.99"
                            if [ "$distribution" = uniform ]; then spec=--uniform; fi
                            grid+="c$clients-P$pipeline-$mix/$((100 - mix))-$distribution-$value_size|"
                            grid+="--clients $clients --pipeline $pipeline --get-percent $mix $spec "
                            grid+="--value-size $value_size --keys $keys"$'\n'
                        done
                    done
                done
            done
        done
        cases_by_setting[$setting]=${grid%$'\n'}
    done
fi

# floe-load against redis-benchmark on one case, both servers: SET then GET, -c 50 -P 1.
check_csv="$out/check.csv"
echo "server,test,tool,requests,ops,p50_ms,p99_ms,load1" >"$check_csv"
check_against_redis_benchmark() { # server port
    local server=$1 port=$2 line ops p50 p99 row test percent
    for test in SET GET; do
        line=$(redis-benchmark -p "$port" -t "${test,,}" -c 50 -P 1 -d 256 -r 100000 \
            -n 200000 --csv | grep "^\"$test\"")
        ops=$(echo "$line" | awk -F'"' '{ print $4 }')
        p50=$(echo "$line" | awk -F'"' '{ print $10 }')
        p99=$(echo "$line" | awk -F'"' '{ print $14 }')
        echo "$server,$test,redis-benchmark,200000,$ops,$p50,$p99,$(load1)" | tee -a "$check_csv"
        percent=0
        if [ "$test" = GET ]; then percent=100; fi
        row=$("$load_tool" --port "$port" --csv --clients 50 --pipeline 1 --uniform \
            --keys 100000 --value-size 256 --get-percent "$percent" --requests 200000)
        echo "$server,$test,floe-load,$(echo "$row" | cut -d, -f8),$(echo "$row" |
            cut -d, -f11-13),$(load1)" | tee -a "$check_csv"
    done
}

for setting in off everysec always; do
    persistence_arguments "$setting"
    start_redis "$work/a-$setting-redis" "${redis_arguments[@]}"
    start_floe "$work/a-$setting-floe" "${floe_arguments[@]}" --maxmemory 3gb \
        --max-keys 2000000
    wait_pong "$redis_port" "$redis_pid" redis
    wait_pong "$floe_port" "$floe_pid" floe
    if [ "$setting" = off ]; then
        echo "floe-load vs redis-benchmark (SET, GET; -c 50 -P 1 -d 256)" >&2
        check_against_redis_benchmark redis "$redis_port"
        check_against_redis_benchmark floe "$floe_port"
    fi
    declare -A preloaded=()
    order=0
    while IFS='|' read -r case_name arguments; do
        # shellcheck disable=SC2086 # the arguments are meant to split
        read -r -a argument_list <<<"$arguments"
        shape="${arguments##*--value-size }"
        if [ -z "${preloaded[$shape]:-}" ]; then
            # Every key once, so GETs hit; not timed.
            "$load_tool" --port "$redis_port" --preload --requests 1 "${argument_list[@]}" \
                >/dev/null
            "$load_tool" --port "$floe_port" --preload --requests 1 "${argument_list[@]}" \
                >/dev/null
            preloaded[$shape]=1
        fi
        servers_in_turn "$order"
        order=$((order + 1))
        for server in "${servers[@]}"; do
            read -r name port pid <<<"$server"
            load_one "$setting" "$name" "$port" "$pid" "$case_name" \
                --seconds "$seconds" "${argument_list[@]}"
        done
    done <<<"${cases_by_setting[$setting]}"
    unset preloaded
    stop_started
done

# --- (b) Memory per key -----------------------------------------------------------------

memory_csv="$out/memory.csv"
echo "keys,key_size,value_size,ttl,server,keys_held,rss_empty_kib,rss_kib,bytes_per_key,load1" \
    >"$memory_csv"

# SET commands as RESP for `count` keys of `key_size` bytes, values of `value_size` bytes,
# with EX 86400 when `ttl` is 1.
resp_load() { # count key_size value_size ttl
    awk -v n="$1" -v k="$2" -v v="$3" -v ttl="$4" 'BEGIN {
        value = sprintf("%*s", v, ""); gsub(/ /, "v", value)
        digits = k - 4
        for (i = 0; i < n; i++) {
            if (ttl) printf "*5\r\n$3\r\nSET\r\n$%d\r\nkey:%0*d\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$5\r\n86400\r\n", k, digits, i, v, value
            else printf "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%0*d\r\n$%d\r\n%s\r\n", k, digits, i, v, value
        }
    }'
}

# The same keys through memcached's text protocol (noreply), then the item count.
memcached_load() { # port count key_size value_size ttl
    python3 - "$@" <<'EOF'
import socket, sys
port, count, key_size, value_size, ttl = (int(a) for a in sys.argv[1:])
value = b"v" * value_size
expiry = 86400 if ttl else 0
connection = socket.create_connection(("127.0.0.1", port))
batch = []
for index in range(count):
    key = b"key:%0*d" % (key_size - 4, index)
    batch.append(b"set %s 0 %d %d noreply\r\n%s\r\n" % (key, expiry, value_size, value))
    if len(batch) == 10000 or index == count - 1:
        connection.sendall(b"".join(batch))
        batch.clear()
connection.sendall(b"stats\r\n")
reply = b""
while not reply.endswith(b"END\r\n"):
    reply += connection.recv(65536)
for line in reply.decode().splitlines():
    if line.startswith("STAT curr_items "):
        print(line.split()[2])
EOF
}

memory_row() { # keys key_size value_size ttl server held empty_kib rss_kib
    local per_key
    per_key=$(awk -v r="$8" -v n="$1" 'BEGIN { printf "%.1f", r * 1024 / n }')
    echo "$1,$2,$3,$4,$5,$6,$7,$8,$per_key,$(load1)" | tee -a "$memory_csv"
}

memory_counts=(1000000)
if [ "$quick" = 0 ]; then memory_counts+=(10000000); fi
for count in "${memory_counts[@]}"; do
    for shape in "16 32" "32 256"; do
        read -r key_size value_size <<<"$shape"
        for ttl in 0 1; do
            resp_load "$count" "$key_size" "$value_size" "$ttl" >"$work/load.resp"
            # Redis.
            start_redis "$work/b-redis" --save "" --appendonly no
            wait_pong "$redis_port" "$redis_pid" redis
            empty=$(rss_kib "$redis_pid")
            redis-cli -p "$redis_port" --pipe <"$work/load.resp" >/dev/null
            sleep 1
            memory_row "$count" "$key_size" "$value_size" "$ttl" redis \
                "$(redis-cli -p "$redis_port" DBSIZE)" "$empty" "$(rss_kib "$redis_pid")"
            stop_started
            # floe reserves --maxmemory at start: give it the items' bytes plus 4%, and
            # 10% more each time the keys do not all fit.
            # --max-keys gets 5% headroom: the limit is split over the shards, which fill
            # unevenly.
            memory_mib=$(((count * (key_size + value_size + 12) * 104 / 100) / 1048576 + 2))
            for try in 1 2 3 4 5; do
                start_floe "$work/b-floe" --persistence off --maxmemory "${memory_mib}mb" \
                    --max-keys "$((count * 105 / 100))" --maxmemory-policy noeviction
                wait_pong "$floe_port" "$floe_pid" floe
                empty=$(rss_kib "$floe_pid")
                redis-cli -p "$floe_port" --pipe <"$work/load.resp" >/dev/null 2>&1 || true
                held=$(redis-cli -p "$floe_port" DBSIZE)
                if [ "$held" = "$count" ] || [ "$try" = 5 ]; then break; fi
                stop_started
                memory_mib=$((memory_mib * 11 / 10))
            done
            sleep 1
            memory_row "$count" "$key_size" "$value_size" "$ttl" "floe-${memory_mib}mb" \
                "$held" "$empty" "$(rss_kib "$floe_pid")"
            stop_started
            # memcached: -m large enough that it never evicts; its slabs grow as it fills.
            free_port
            memcached -l 127.0.0.1 -p "$port" -U 0 -m 65536 -t 2 -u root \
                >"$work/memcached.log" 2>&1 &
            memcached_pid=$!
            started+=("$memcached_pid")
            sleep 0.3
            empty=$(rss_kib "$memcached_pid")
            held=$(memcached_load "$port" "$count" "$key_size" "$value_size" "$ttl")
            sleep 1
            memory_row "$count" "$key_size" "$value_size" "$ttl" memcached "$held" "$empty" \
                "$(rss_kib "$memcached_pid")"
            stop_started
        done
    done
done

# --- (c) Recovery ------------------------------------------------------------------------

recovery_csv="$out/recovery.csv"
echo "keys,server,source,restart_s,disk_bytes,keys_after,load1" >"$recovery_csv"

# Starts a server with `start_*`, times the wait until PONG; sets restart_s.
timed_restart() { # redis|floe dir args...
    local kind=$1 begin end
    shift
    begin=$(date +%s.%N)
    "start_$kind" "$@"
    if [ "$kind" = redis ]; then
        wait_pong "$redis_port" "$redis_pid" redis
    else
        wait_pong "$floe_port" "$floe_pid" floe
    fi
    end=$(date +%s.%N)
    restart_s=$(awk -v b="$begin" -v e="$end" 'BEGIN { printf "%.3f", e - b }')
}

recovery_row() { # keys server source port dir
    local bytes keys_after
    bytes=$(du -sb "$5" | cut -f1)
    keys_after=$(redis-cli -p "$4" DBSIZE)
    echo "$1,$2,$3,$restart_s,$bytes,$keys_after,$(load1)" | tee -a "$recovery_csv"
}

recovery_counts=(1000000)
if [ "$quick" = 0 ]; then recovery_counts+=(10000000); fi
for count in "${recovery_counts[@]}"; do
    resp_load "$count" 16 32 0 >"$work/load.resp"
    memory_mib=$(((count * 64) / 1048576 + 16))
    floe_recovery_arguments=(--persistence on --appendfsync no --maxmemory "${memory_mib}mb"
        --max-keys "$((count * 105 / 100))")
    # floe: the log alone, then a snapshot (SAVE) and its (empty) log tail.
    rm -rf "$work/c-floe"
    start_floe "$work/c-floe" "${floe_recovery_arguments[@]}"
    wait_pong "$floe_port" "$floe_pid" floe
    redis-cli -p "$floe_port" --pipe <"$work/load.resp" >"$work/pipe.log" 2>&1 || true
    stop_started
    timed_restart floe "$work/c-floe" "${floe_recovery_arguments[@]}"
    recovery_row "$count" floe log "$floe_port" "$work/c-floe"
    redis-cli -p "$floe_port" SAVE >/dev/null
    stop_started
    timed_restart floe "$work/c-floe" "${floe_recovery_arguments[@]}"
    recovery_row "$count" floe snapshot "$floe_port" "$work/c-floe"
    stop_started
    # Redis: a pure AOF (no RDB preamble), then an RDB.
    redis_aof_arguments=(--save "" --appendonly yes --appendfsync no
        --aof-use-rdb-preamble no --auto-aof-rewrite-percentage 0)
    rm -rf "$work/c-redis-aof"
    start_redis "$work/c-redis-aof" "${redis_aof_arguments[@]}"
    wait_pong "$redis_port" "$redis_pid" redis
    redis-cli -p "$redis_port" --pipe <"$work/load.resp" >/dev/null
    stop_started
    timed_restart redis "$work/c-redis-aof" "${redis_aof_arguments[@]}"
    recovery_row "$count" redis aof "$redis_port" "$work/c-redis-aof"
    stop_started
    rm -rf "$work/c-redis-rdb"
    start_redis "$work/c-redis-rdb" --save "" --appendonly no
    wait_pong "$redis_port" "$redis_pid" redis
    redis-cli -p "$redis_port" --pipe <"$work/load.resp" >/dev/null
    redis-cli -p "$redis_port" SAVE >/dev/null
    stop_started
    timed_restart redis "$work/c-redis-rdb" --save "" --appendonly no
    recovery_row "$count" redis rdb "$redis_port" "$work/c-redis-rdb"
    stop_started
done

# --- (d) Hit ratio (in-process) -----------------------------------------------------------

if [ "$quick" = 1 ]; then
    "$hit_tool" --keys 100000 --requests 1000000 >"$out/hit-ratio.csv"
else
    "$hit_tool" --keys 1000000 --requests 10000000 >"$out/hit-ratio.csv"
fi

# --- (e) Hit ratio of the servers: floe vs Redis allkeys-lru/lfu -----------------------------

# A look-aside cache over 100k keys (16-byte keys, 16-byte values) through floe-load: GET, and
# SET on a miss. Each server is sized to hold a share of the keys: Redis by maxmemory (its
# used_memory empty plus that share of what all the keys take), floe by --max-keys.
server_hit_csv="$out/server-hit-ratio.csv"
echo "workload,cache_percent,server,policy,hit_ratio,keys_held,load1" >"$server_hit_csv"
hit_keys=100000
hit_percents=(10)
hit_warm=50000
hit_requests=150000
if [ "$quick" = 0 ]; then
    hit_percents=(1 10 50)
    hit_warm=200000
    hit_requests=1000000
fi
hit_run() { # port workload -> prints the measured run's hit ratio
    local scan=0
    if [ "$2" = scan ]; then scan=30; fi
    "$load_tool" --port "$1" --look-aside --keys "$hit_keys" --value-size 16 --clients 20 \
        --zipf 0.99 --scan-percent "$scan" --requests "$hit_warm" >/dev/null
    "$load_tool" --port "$1" --look-aside --keys "$hit_keys" --value-size 16 --clients 20 \
        --zipf 0.99 --scan-percent "$scan" --requests "$hit_requests" --csv | cut -d, -f16
}
start_redis "$work/e-redis" --save "" --appendonly no
wait_pong "$redis_port" "$redis_pid" redis
used_memory() {
    redis-cli -p "$redis_port" INFO memory | tr -d '\r' |
        awk -F: '$1 == "used_memory" { print $2 }'
}
redis_empty=$(used_memory)
"$load_tool" --port "$redis_port" --preload --keys "$hit_keys" --value-size 16 --requests 1 \
    >/dev/null
redis_full=$(used_memory)
for percent in "${hit_percents[@]}"; do
    for workload in zipf0.99 scan; do
        for policy in allkeys-lru allkeys-lfu; do
            redis-cli -p "$redis_port" FLUSHALL >/dev/null
            redis-cli -p "$redis_port" CONFIG SET maxmemory-policy "$policy" >/dev/null
            redis-cli -p "$redis_port" CONFIG SET maxmemory \
                "$((redis_empty + (redis_full - redis_empty) * percent / 100))" >/dev/null
            ratio=$(hit_run "$redis_port" "$workload")
            echo "$workload,$percent,redis,$policy,$ratio,$(redis-cli -p "$redis_port" DBSIZE),$(load1)" |
                tee -a "$server_hit_csv"
            redis-cli -p "$redis_port" CONFIG SET maxmemory 0 >/dev/null
        done
        for policy in allkeys-lru allkeys-lfu sieve; do
            start_floe "$work/e-floe" --persistence off --maxmemory 64mb \
                --max-keys "$((hit_keys * percent / 100))" --maxmemory-policy "$policy"
            wait_pong "$floe_port" "$floe_pid" floe
            ratio=$(hit_run "$floe_port" "$workload")
            echo "$workload,$percent,floe,$policy,$ratio,$(redis-cli -p "$floe_port" DBSIZE),$(load1)" |
                tee -a "$server_hit_csv"
            stop_pid "$floe_pid"
        done
    done
done
stop_started

# --- (f) The seeds' own workloads: Poro's CLI workload, PizzaKV's table --------------------

seeds_arguments=(--out "$out")
if [ "$quick" = 1 ]; then seeds_arguments+=(--quick); fi
"$root/benches/seeds.sh" "${seeds_arguments[@]}"

# --- Report -------------------------------------------------------------------------------

echo "finished $(date -u '+%F %T') UTC after $(($(date +%s) - started_at)) s; $(uptime)" |
    tee -a "$out/machine.txt"
python3 "$root/benches/suite-report.py" "$out" | tee "$out/report.md"
cat "$out/seeds.md" >>"$out/report.md"
echo "results: $out"
