#!/usr/bin/env bash
# TLS against plaintext RESP on the same `floe serve` (issue 11's Numbers: TLS RESP at least
# 0.7x plaintext ops/s at -P 1), with redis-server 7's own TLS beside it for reference. One
# server of each listens on a plaintext port and a TLS port; redis-benchmark (Debian's is
# built with TLS: --tls) runs SET and GET at -P 1, then at -P 16, against each port in
# alternation, printing ops/s, p50, p99, server CPU µs per request (utime + stime from
# /proc, before and after each run), the client's (redis-benchmark's, from /usr/bin/time:
# client and server share this machine's cores, so a client that pays more for TLS lowers
# the ops/s of both servers) and the TLS/plaintext ratios.
#
#   benches/server-tls.sh            # persistence off, -c 50, -P 1 and -P 16 (about 2 min)
#   benches/server-tls.sh --quick    # a fifth of the requests
#
# Certificates: a CA and a server certificate made with openssl in a temporary directory.
# Builds floe with `cargo build --release`; starts its servers on free loopback ports and
# stops exactly the processes it started. The raw rows are also written as CSV to
# target/bench-results/. Environment: FLOE_BENCH_SCALE multiplies every -n (default 1);
# FLOE_BENCH_ROUNDS runs each case that many times (default 2); FLOE_BENCH_FLOE_ARGS adds
# options to floe's command line (e.g. "--workers 1").
set -euo pipefail

quick=0
for argument in "$@"; do
    case "$argument" in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
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
rounds=${FLOE_BENCH_ROUNDS:-2}
if [ "$quick" = 1 ]; then
    scale=$(awk -v s="$scale" 'BEGIN { print s / 5 }')
fi
ticks_per_second=$(getconf CLK_TCK)
# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"

if ! redis-benchmark --help 2>&1 | grep -q -- '--tls'; then
    echo "this redis-benchmark is built without TLS (no --tls option)" >&2
    exit 1
fi

# --- Certificates --------------------------------------------------------------------------

pki="$work/pki"
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" \
    -days 2 -subj /CN=floe-bench-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$pki/server.key" -out "$pki/server.csr" \
    -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$pki/ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -out "$pki/server.pem" -days 2 -extfile "$pki/ext" 2>/dev/null

# --- Servers -------------------------------------------------------------------------------

free_port
floe_port=$port
free_port
floe_tls_port=$port
mkdir -p "$work/floe"
# shellcheck disable=SC2086 # FLOE_BENCH_FLOE_ARGS is meant to split
"$floe" serve --port "$floe_port" --tls-port "$floe_tls_port" --tls-cert "$pki/server.pem" \
    --tls-key "$pki/server.key" --persistence off --http-port off --maxmemory 1gb \
    --max-keys 2000000 ${FLOE_BENCH_FLOE_ARGS:-} >"$work/floe.log" 2>&1 &
floe_pid=$!
started+=("$floe_pid")
wait_ready "$floe_port" "$floe_pid" floe

free_port
redis_port=$port
free_port
redis_tls_port=$port
mkdir -p "$work/redis"
redis-server --port "$redis_port" --tls-port "$redis_tls_port" --bind 127.0.0.1 \
    --tls-cert-file "$pki/server.pem" --tls-key-file "$pki/server.key" \
    --tls-ca-cert-file "$pki/ca.pem" --tls-auth-clients no --save "" --appendonly no \
    --dir "$work/redis" --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
started+=("$redis_pid")
wait_ready "$redis_port" "$redis_pid" redis

# --- Runs ----------------------------------------------------------------------------------

csv_dir="$root/target/bench-results"
mkdir -p "$csv_dir"
csv="$csv_dir/server-tls-$(date -u +%Y%m%dT%H%M%SZ).csv"
echo "case,test,round,server,transport,requests,ops,p50_ms,p99_ms,cpu_us_per_request,load1,\
client_cpu_us_per_request" >"$csv"

# One redis-benchmark run; appends a CSV row.
bench_one() { # case test round server transport port pid requests args...
    local case_name=$1 test=$2 round=$3 server=$4 transport=$5 port=$6 pid=$7 requests=$8
    shift 8
    local before after line ops p50 p99 cpu load tls=()
    if [ "$transport" = tls ]; then tls=(--tls --cacert "$pki/ca.pem"); fi
    before=$(cpu_ticks "$pid")
    line=$(/usr/bin/time -f '%U %S' -o "$work/client-time" redis-benchmark -p "$port" \
        "${tls[@]}" -t "${test,,}" -r 1000000 -n "$requests" --csv "$@" |
        grep -i "^\"$test\"")
    after=$(cpu_ticks "$pid")
    client=$(awk -v n="$requests" '{ printf "%.2f", ($1 + $2) * 1e6 / n }' "$work/client-time")
    ops=$(echo "$line" | awk -F'"' '{ print $4 }')
    p50=$(echo "$line" | awk -F'"' '{ print $10 }')
    p99=$(echo "$line" | awk -F'"' '{ print $14 }')
    cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
        'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "$case_name,$test,$round,$server,$transport,$requests,$ops,$p50,$p99,$cpu,$load,$client" \
        >>"$csv"
}

cases=(
    "c50-P1|200000|-c 50 -P 1 -d 256"
    "c50-P16|1000000|-c 50 -P 16 -d 256"
)

print_case() { # case
    awk -F, -v case_name="$1" '
        $1 == case_name {
            key = $4 SUBSEP $2 SUBSEP $5
            count[key]++
            ops[key] += $7; p50[key] += $8; p99[key] += $9; cpu[key] += $10
            client[key] += $12; load = load " " $11
            seen[$4] = 1
        }
        END {
            printf "\n%s, persistence off (load1 during runs:%s)\n", case_name, load
            printf "%-6s %-4s %10s %10s %6s | %6s %6s | %7s %7s | %6s %6s %6s | %6s %6s\n",
                "server", "test", "plain op/s", "tls op/s", "ratio", "p50 p", "p50 t", "p99 p",
                "p99 t", "cpu p", "cpu t", "ratio", "cli p", "cli t"
            split("floe redis", servers, " ")
            split("SET GET", tests, " ")
            for (s = 1; s <= 2; s++) {
                if (!(servers[s] in seen)) continue
                for (i = 1; i <= 2; i++) {
                    p = servers[s] SUBSEP tests[i] SUBSEP "plain"
                    t = servers[s] SUBSEP tests[i] SUBSEP "tls"
                    if (!(p in count) || !(t in count)) continue
                    op = ops[p] / count[p]; ot = ops[t] / count[t]
                    cp = cpu[p] / count[p]; ct = cpu[t] / count[t]
                    printf "%-6s %-4s %10.0f %10.0f %6.2f | %6.3f %6.3f | %7.3f %7.3f | %6.2f %6.2f %6.2f | %6.2f %6.2f\n",
                        servers[s], tests[i], op, ot, ot / op, p50[p] / count[p],
                        p50[t] / count[t], p99[p] / count[p], p99[t] / count[t], cp, ct,
                        (cp > 0 ? ct / cp : 0), client[p] / count[p], client[t] / count[t]
                }
            }
        }' "$csv"
}

echo "floe $floe_commit, redis-server $redis_version; $(nproc) cores; $(uptime)"
echo "ops/s averaged over $rounds round(s); p50/p99 in ms; cpu = server CPU µs per request;"
echo "cli = the client's (redis-benchmark's) CPU µs per request; p = plaintext, t = TLS"
servers=("floe $floe_port $floe_tls_port $floe_pid" "redis $redis_port $redis_tls_port $redis_pid")
order=0
for entry in "${cases[@]}"; do
    IFS='|' read -r case_name requests arguments <<<"$entry"
    requests=$(awk -v n="$requests" -v s="$scale" 'BEGIN { printf "%d", n * s }')
    for round in $(seq "$rounds"); do
        for server in "${servers[@]}"; do
            read -r name plain_port tls_port pid <<<"$server"
            # Alternate which transport goes first, so neither always gets the warmer
            # cache or the quieter minute.
            if [ $((order % 2)) = 0 ]; then
                transports=("plain $plain_port" "tls $tls_port")
            else
                transports=("tls $tls_port" "plain $plain_port")
            fi
            order=$((order + 1))
            for transport in "${transports[@]}"; do
                read -r kind transport_port <<<"$transport"
                for test in set get; do
                    # shellcheck disable=SC2086 # the arguments are meant to split
                    bench_one "$case_name" "${test^^}" "$round" "$name" "$kind" \
                        "$transport_port" "$pid" "$requests" $arguments
                done
            done
        done
    done
    print_case "$case_name"
done
echo
echo "raw rows: $csv"
echo "done; $(uptime)"
