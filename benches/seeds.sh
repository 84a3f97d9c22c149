#!/usr/bin/env bash
# The seeds' own workloads (issue 14), floe against redis-server 7 in the same run:
#
#   (a) Poro's CLI workload: SET, GET and DEL read from stdin, 100,000 keys of 8-16 bytes with
#       values of 8-16 B, 32-128 B and 1 KiB (the three sizes Poro's README reports keys/s
#       for). One stream of 100k SETs (keys/s, what Poro reports) and one of 100k SETs, 100k
#       GETs and 100k DELs (commands/s), each into an empty store, through:
#         floe-cli        `floe --persistence on --fsync everysec < stream`: floe's stdin CLI,
#                         in-process, printing every reply (counted by wc -l)
#         floe-cli-off    the same with --persistence off
#         redis-cli       `redis-cli < stream` against redis-server: Redis's own stdin path,
#                         one round trip per line, every reply printed (SET stream only: it
#                         runs at round-trip speed)
#         pipe-redis      the stream as RESP, written to redis-server as fast as it takes
#                         it while the replies are read and counted (as redis-cli --pipe
#                         does; pipe_client below says why not redis-cli itself)
#         pipe-floe       the same bytes, the same client, against `floe serve`
#       Servers: appendonly/persistence on with everysec, no RDB saves. Each stream runs 3
#       rounds (1 with --quick) through every path; the report keeps each path's best.
#   (b) PizzaKV's benchmark table: the redis-benchmark runs its README lists (heavy workload
#       with -P 32, no-pipeline P=1), each against floe serve and redis-server, AOF/log on
#       with everysec as PizzaKV ran Redis, which server goes first alternating; ops/s, p50,
#       p99 and the server's CPU time per request (utime+stime from /proc, before and after).
#
#   benches/seeds.sh                 # about 3 minutes here
#   benches/seeds.sh --quick         # about 40 s: (a) one round, without redis-cli's line
#                                    # mode; (b) with -n / 10
#   benches/seeds.sh --out DIR       # write seeds-cli.csv, seeds-pizzakv.csv, seeds.md to DIR
#
# Every row records the 1-minute load average. Uses benches/server-common.sh (installs Redis
# if missing, builds floe with cargo build --release, free loopback ports, stops by PID).
set -euo pipefail

quick=0
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --out)
        out=${2:?--out needs a directory}
        shift
        ;;
    -h | --help)
        sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $1 (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
ticks_per_second=$(getconf CLK_TCK)
# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"
if [ -z "$out" ]; then out="$root/target/bench-results/seeds-$(date -u +%Y%m%dT%H%M%SZ)"; fi
mkdir -p "$out"
load1() { cut -d' ' -f1 /proc/loadavg; }
now() { date +%s.%N; }

start_servers() {
    free_port
    redis_port=$port
    free_port
    floe_port=$port
    mkdir -p "$work/redis" "$work/floe"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes \
        --appendfsync everysec --dir "$work/redis" --daemonize no >"$work/redis.log" 2>&1 &
    redis_pid=$!
    started+=("$redis_pid")
    # Room for (b)'s largest keyspaces (1M keys of 256 B; 10k of 10 KiB) and the holes
    # overwrites leave: floe reserves it at start.
    "$floe" serve --port "$floe_port" --http-port off --persistence on --appendfsync everysec \
        --dir "$work/floe" --maxmemory 2gb --max-keys 2000000 >"$work/floe.log" 2>&1 &
    floe_pid=$!
    started+=("$floe_pid")
    wait_ready "$redis_port" "$redis_pid" redis
    wait_ready "$floe_port" "$floe_pid" floe
}

echo "floe $floe_commit vs redis-server $redis_version; $(nproc) cores; quick=$quick;" \
    "$(date -u '+%F %T') UTC; $(uptime)" | tee "$out/seeds-machine.txt"
start_servers

# --- (a) Poro's CLI workload ----------------------------------------------------------------

key_count=100000
# Writes the streams of one value class: $work/<class>-set.txt (SET lines), -all.txt (SET,
# GET, DEL lines) and the same as RESP (.resp). Keys: k + digits, 8-16 bytes; values of
# 8-16 B ("small"), 32-128 B ("medium") or 1024 B ("large"), all 'v' (no command quoting).
make_streams() { # class
    awk -v n="$key_count" -v class="$1" -v prefix="$work/$1" 'BEGIN {
        pad = sprintf("%1024s", ""); gsub(/ /, "v", pad)
        for (i = 0; i < n; i++) {
            length_key = 8 + i % 9
            key[i] = sprintf("k%0*d", length_key - 1, i)
            if (class == "small") size = 8 + i % 9
            else if (class == "medium") size = 32 + i % 97
            else size = 1024
            value = substr(pad, 1, size)
            set_text = "SET " key[i] " " value "\n"
            set_resp = sprintf("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length_key,
                key[i], size, value)
            printf "%s", set_text > (prefix "-set.txt")
            printf "%s", set_text > (prefix "-all.txt")
            printf "%s", set_resp > (prefix "-set.resp")
            printf "%s", set_resp > (prefix "-all.resp")
        }
        for (verb = 1; verb <= 2; verb++) {
            name = (verb == 1 ? "GET" : "DEL")
            for (i = 0; i < n; i++) {
                printf "%s %s\n", name, key[i] > (prefix "-all.txt")
                printf "*2\r\n$3\r\n%s\r\n$%d\r\n%s\r\n", name, length(key[i]), key[i] \
                    > (prefix "-all.resp")
            }
        }
    }'
}

cli_csv="$out/seeds-cli.csv"
echo "class,stream,path,commands,seconds,commands_per_second,load1" >"$cli_csv"
cli_row() { # class stream path commands begin end
    awk -v c="$1" -v s="$2" -v p="$3" -v n="$4" -v b="$5" -v e="$6" -v l="$(load1)" \
        'BEGIN { printf "%s,%s,%s,%d,%.3f,%.0f,%s\n", c, s, p, n, e - b, n / (e - b), l }' |
        tee -a "$cli_csv"
}

# Runs a stdin-reading command on a stream, times it, and checks one reply line per command.
timed_lines() { # class stream path file commands command...
    local class=$1 stream=$2 path=$3 file=$4 commands=$5 begin end lines
    shift 5
    begin=$(now)
    lines=$("$@" <"$file" | wc -l)
    end=$(now)
    if [ "$lines" != "$commands" ]; then
        echo "$path on $class-$stream: $lines reply lines for $commands commands" >&2
        exit 1
    fi
    cli_row "$class" "$stream" "$path" "$commands" "$begin" "$end"
}

# Sends a RESP stream from stdin to 127.0.0.1:port as fast as the socket takes it, while
# reading the replies until `replies` have come; prints the count of error replies. What
# `redis-cli --pipe` does, but redis-cli's reply reader slows down as its buffer grows: it
# ran the 1 KiB stream's 100k GETs at 1-2k commands/s against either server, so it measured
# itself. The replies are counted by their CRLFs (the values hold none): a SET, DEL or
# error reply has one, a bulk string two.
pipe_client() { # port replies
    python3 -c '
import socket, sys, threading
port, replies = int(sys.argv[1]), int(sys.argv[2])
connection = socket.create_connection(("127.0.0.1", port), timeout=300)
def send():
    while chunk := sys.stdin.buffer.read(1 << 20):
        connection.sendall(chunk)
threading.Thread(target=send, daemon=True).start()
crlf_expected = replies
crlf_seen = errors = 0
tail = b""
while crlf_seen < crlf_expected:
    data = connection.recv(1 << 20)
    if not data:
        sys.exit("the server closed the connection")
    window = tail + data
    crlf_seen += data.count(b"\r\n") + (tail.endswith(b"\r") and data.startswith(b"\n"))
    errors += window.count(b"\n-") + window.startswith(b"-")
    # Bulk replies ($) carry a second CRLF; count them as they arrive.
    crlf_expected += data.count(b"\n$") + (tail.endswith(b"\n") and data.startswith(b"$"))
    tail = data[-1:]
print(errors)
' "$1" "$2"
}

# pipe_client on a RESP stream into an emptied server; checks no reply was an error.
timed_pipe() { # class stream path port file commands
    local begin end errors
    redis-cli -p "$4" FLUSHALL >/dev/null
    begin=$(now)
    errors=$(pipe_client "$4" "$6" <"$5")
    end=$(now)
    if [ "$errors" != 0 ]; then
        echo "$3 on $1-$2: $errors error replies" >&2
        exit 1
    fi
    cli_row "$1" "$2" "$3" "$6" "$begin" "$end"
}

# Each stream runs `rounds` times through every path, the paths one after the other; the
# report keeps each path's best round (the least disturbed on a shared machine).
rounds=3
if [ "$quick" = 1 ]; then rounds=1; fi
# One round of one stream through every path; the two servers' order alternates by round.
cli_round() { # class stream round
    local class=$1 stream=$2 round=$3 commands=$key_count
    if [ "$stream" = all ]; then commands=$((3 * key_count)); fi
    rm -rf "$work/cli"
    timed_lines "$class" "$stream" floe-cli "$work/$class-$stream.txt" "$commands" \
        "$floe" --dir "$work/cli" --persistence on --fsync everysec --maxmemory 512mb \
        --max-keys 200000
    rm -rf "$work/cli"
    timed_lines "$class" "$stream" floe-cli-off "$work/$class-$stream.txt" "$commands" \
        "$floe" --dir "$work/cli" --persistence off --maxmemory 512mb --max-keys 200000
    if [ "$quick" = 0 ] && [ "$stream" = set ] && [ "$round" = 1 ]; then
        redis-cli -p "$redis_port" FLUSHALL >/dev/null
        timed_lines "$class" "$stream" redis-cli "$work/$class-$stream.txt" "$commands" \
            redis-cli -p "$redis_port"
    fi
    local paths=("pipe-redis $redis_port" "pipe-floe $floe_port") path port
    if [ $((round % 2)) = 0 ]; then paths=("pipe-floe $floe_port" "pipe-redis $redis_port"); fi
    for path in "${paths[@]}"; do
        read -r path port <<<"$path"
        timed_pipe "$class" "$stream" "$path" "$port" "$work/$class-$stream.resp" "$commands"
    done
}

for class in small medium large; do
    make_streams "$class"
    for round in $(seq "$rounds"); do
        for stream in set all; do cli_round "$class" "$stream" "$round"; done
    done
    rm -f "$work/$class"-*
done
redis-cli -p "$redis_port" FLUSHALL >/dev/null
redis-cli -p "$floe_port" FLUSHALL >/dev/null

# --- (b) PizzaKV's benchmark table ------------------------------------------------------------

# PizzaKV's README lists its workloads, not its flags: these are its rows as redis-benchmark
# arguments (default -c 50 where it names no client count; -r so keys differ, at most 10k
# keys of 10 KiB so each server holds ~100 MB of them). name|requests|tests|arguments
pizzakv_cases=(
    "heavy-write-1Mx256B-P32|1000000|set|-d 256 -P 32 -r 1000000"
    "heavy-read-1M-P32|1000000|get|-d 256 -P 32 -r 1000000"
    "heavy-large-100kx10KB-P32|100000|set|-d 10240 -P 32 -r 10000"
    "heavy-200-clients-P32|1000000|set,get|-c 200 -d 256 -P 32 -r 1000000"
    "p1-small-256B|100000|set,get|-d 256 -r 100000"
    "p1-medium-1KB|100000|set,get|-d 1024 -r 100000"
    "p1-large-10KB|100000|set,get|-d 10240 -r 10000"
    "p1-100-clients|100000|set,get|-c 100 -d 256 -r 100000"
)
pizzakv_csv="$out/seeds-pizzakv.csv"
echo "case,test,server,requests,ops,p50_ms,p99_ms,cpu_us_per_request,forks,load1" \
    >"$pizzakv_csv"

# Redis's count of forks (an AOF rewrite runs in a forked child, whose CPU cpu_ticks counts
# once reaped); floe does not fork: "-".
forks() { # server port
    if [ "$1" = redis ]; then
        redis-cli -p "$2" INFO stats | tr -d '\r' | awk -F: '$1 == "total_forks" { print $2 }'
    else
        echo -
    fi
}

pizzakv_one() { # case test server port pid requests arguments...
    local case_name=$1 test=$2 server=$3 port=$4 pid=$5 requests=$6 before after line
    local forks_before forks_after forks_during=-
    shift 6
    forks_before=$(forks "$server" "$port")
    before=$(cpu_ticks "$pid")
    line=$(redis-benchmark -p "$port" -t "$test" -n "$requests" --csv "$@" |
        grep -i "^\"$test\"")
    after=$(cpu_ticks "$pid")
    forks_after=$(forks "$server" "$port")
    if [ "$forks_before" != - ]; then forks_during=$((forks_after - forks_before)); fi
    echo "$line" | awk -F'"' -v c="$case_name" -v t="${test^^}" -v s="$server" \
        -v n="$requests" -v ticks=$((after - before)) -v hz="$ticks_per_second" \
        -v f="$forks_during" -v l="$(load1)" \
        '{ printf "%s,%s,%s,%d,%s,%s,%s,%.2f,%s,%s\n", c, t, s, n, $4, $10, $14,
            ticks * 1e6 / hz / n, f, l }' | tee -a "$pizzakv_csv"
}

order=0
for entry in "${pizzakv_cases[@]}"; do
    IFS='|' read -r case_name requests tests arguments <<<"$entry"
    if [ "$quick" = 1 ]; then requests=$((requests / 10)); fi
    servers_in_turn "$order"
    order=$((order + 1))
    for server in "${servers[@]}"; do
        read -r name port pid <<<"$server"
        for test in ${tests//,/ }; do
            # shellcheck disable=SC2086 # the arguments are meant to split
            pizzakv_one "$case_name" "$test" "$name" "$port" "$pid" "$requests" $arguments
        done
    done
done
stop_started

# --- Report --------------------------------------------------------------------------------

{
    echo "### (a) Poro's CLI workload: commands/s, best of $rounds round(s) (100k keys; set ="
    echo "100k SETs, all = 100k SETs + 100k GETs + 100k DELs)"
    echo
    awk -F, 'NR > 1 {
            row = $1 " " $2; if (!(row in seen)) { seen[row] = 1; rows[++count] = row }
            if ($6 > rate[row, $3]) rate[row, $3] = $6
            if (!(row in low) || $7 < low[row]) low[row] = $7
            if ($7 > high[row]) high[row] = $7
        }
        END {
            print "| values | stream | floe-cli | floe-cli-off | redis-cli | pipe-floe | pipe-redis | pipe floe/redis | floe-cli / pipe-redis | load1 range |"
            print "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
            for (i = 1; i <= count; i++) {
                r = rows[i]; split(r, part, " ")
                line = rate[r, "redis-cli"] == "" ? "-" : rate[r, "redis-cli"]
                printf "| %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f |%s |\n", part[1],
                    part[2], rate[r, "floe-cli"], rate[r, "floe-cli-off"], line,
                    rate[r, "pipe-floe"], rate[r, "pipe-redis"],
                    rate[r, "pipe-floe"] / rate[r, "pipe-redis"],
                    rate[r, "floe-cli"] / rate[r, "pipe-redis"], " " low[r] "-" high[r]
            }
        }' "$cli_csv"
    echo
    echo "### (b) PizzaKV's table: redis-benchmark against each server, AOF/log everysec;"
    echo "(fork): Redis forked during the run (an AOF rewrite), its child's CPU is counted"
    echo
    awk -F, 'NR > 1 {
            row = $1 " " $2; if (!(row in seen)) { seen[row] = 1; rows[++count] = row }
            ops[row, $3] = $5; p50[row, $3] = $6; p99[row, $3] = $7; cpu[row, $3] = $8
            if ($9 != "-" && $9 > 0) forked[row] = " (fork)"
            load[row] = load[row] " " $10
        }
        END {
            print "| case | test | floe ops/s | redis ops/s | floe/redis | p50 ms f / r | p99 ms f / r | CPU µs/req f / r | CPU f/r | load1 |"
            print "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
            for (i = 1; i <= count; i++) {
                r = rows[i]; split(r, part, " ")
                printf "| %s | %s | %.0f | %.0f | %.2f | %s / %s | %s / %s | %s / %s%s | %.2f |%s |\n",
                    part[1], part[2], ops[r, "floe"], ops[r, "redis"],
                    ops[r, "floe"] / ops[r, "redis"], p50[r, "floe"], p50[r, "redis"],
                    p99[r, "floe"], p99[r, "redis"], cpu[r, "floe"], cpu[r, "redis"], forked[r],
                    (cpu[r, "redis"] > 0 ? cpu[r, "floe"] / cpu[r, "redis"] : 0), load[r]
            }
        }' "$pizzakv_csv"
} | tee "$out/seeds.md"
echo "finished $(date -u '+%F %T') UTC; $(uptime)" | tee -a "$out/seeds-machine.txt"
echo "results: $out"
