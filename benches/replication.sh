#!/usr/bin/env bash
# Replication's numbers (issue 13): full sync of 1M keys (16-byte keys, 32-byte values),
# the primary's SET throughput with one replica attached against none (redis-benchmark,
# -c 50 -P 1), and replication lag under that load: a probe writes a key on the primary and
# times how long until the replica returns it (redis-py, from the tests' venv); the same lag
# on a quiet primary; and a partial sync after a 10 s disconnect.
#
#   benches/replication.sh                 # 1M keys, 200k SETs per throughput row
#   FLOE_BENCH_KEYS=200000 benches/replication.sh
#
# Starts a primary and a replica `floe serve` (appendfsync everysec) on free loopback
# ports and stops them by PID (server-common.sh). Prints one line per measurement.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/server-common.sh
source "$root/benches/server-common.sh"

keys=${FLOE_BENCH_KEYS:-1000000}
requests=${FLOE_BENCH_REQUESTS:-200000}
python="$root/tests/clients/python/venv/bin/python"
if [ ! -x "$python" ]; then
    echo "redis-py's venv is missing: run .ci/install-deps first" >&2
    exit 1
fi

serve() { # name port [flags...]
    local name=$1 port=$2
    shift 2
    "$floe" serve --port "$port" --http-port off --maxmemory 512mb --max-keys 2000000 \
        --appendfsync everysec --dir "$work/$name" "$@" >"$work/$name.log" 2>&1 &
    started+=("$!")
    wait_ready "$port" "$!" "$name"
}

free_port
primary=$port
free_port
replica=$port
serve primary "$primary"

echo "floe $floe_commit; $(nproc) cores; $(uptime)"
echo "loading $keys keys into the primary (redis-cli --pipe)"
"$python" - "$keys" >"$work/load.resp" <<'EOF'
import sys
out = sys.stdout.buffer
value = b"v" * 32
for index in range(int(sys.argv[1])):
    key = b"key:%012d" % index
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + key + b"\r\n$32\r\n" + value + b"\r\n")
EOF
redis-cli -p "$primary" --pipe <"$work/load.resp" >/dev/null

# Full sync: from the replica's start to its link up with every key.
begin=$(date +%s.%N)
serve replica "$replica" --replicaof "127.0.0.1 $primary"
until [ "$(redis-cli -p "$replica" DBSIZE)" = "$keys" ] &&
    redis-cli -p "$replica" INFO replication | grep -q 'master_link_status:up'; do
    sleep 0.02
done
end=$(date +%s.%N)
echo "full sync of $keys keys: $(echo "$end - $begin" | bc) s (replica start to link up with every key)"

# Throughput and lag: one row with the replica attached, one without, twice, alternating.
bench() { # label
    local label=$1 lag_file="$work/lag-$1"
    "$python" - "$primary" "$replica" "$label" >"$lag_file" <<'EOF' &
import sys, time, redis
primary = redis.Redis(port=int(sys.argv[1]))
replica = redis.Redis(port=int(sys.argv[2]))
if sys.argv[3].startswith("none"):
    sys.exit(0)
lags = []
deadline = time.time() + 600
for index in range(200):
    key = "probe:%s:%d" % (sys.argv[3], index)
    start = time.perf_counter()
    primary.set(key, "1")
    while replica.get(key) is None and time.time() < deadline:
        time.sleep(0.0002)
    lags.append((time.perf_counter() - start) * 1000)
    time.sleep(0.01)
lags.sort()
print("lag ms: p50 %.2f p99 %.2f max %.2f (200 probes)" % (
    lags[len(lags) // 2], lags[int(len(lags) * 0.99) - 1], lags[-1]))
EOF
    local prober=$!
    local rate
    rate=$(redis-benchmark -p "$primary" -t set -c 50 -P 1 -n "$requests" -r 100000 -d 32 \
        --csv 2>/dev/null | awk -F'"' 'NR == 2 { print $4 }')
    wait "$prober"
    echo "SET -c 50 -P 1, $label: $rate requests/s $(cat "$lag_file")"
}
bench attached-1
redis-cli -p "$replica" REPLICAOF NO ONE >/dev/null
bench none-1
redis-cli -p "$replica" REPLICAOF 127.0.0.1 "$primary" >/dev/null
until redis-cli -p "$replica" INFO replication | grep -q 'master_link_status:up'; do
    sleep 0.02
done
bench attached-2
redis-cli -p "$replica" REPLICAOF NO ONE >/dev/null
bench none-2

# Partial sync after a 10 s disconnect: the replica, attached again (a full sync: it was a
# primary), is stopped (SIGSTOP) and its link closed by the primary (CLIENT KILL TYPE
# normal: a replica's link is a normal client), while a client writes to the primary for
# 10 s; then it is let go (SIGCONT): it reconnects and resumes with a pull. Counted on the
# primary (INFO stats, INFO commandstats): the bytes it sent and the FLOESYNC requests it
# served from the SIGCONT to the replica caught up, against the full sync's snapshot size.
redis-cli -p "$replica" REPLICAOF 127.0.0.1 "$primary" >/dev/null
until redis-cli -p "$replica" INFO replication | grep -q 'master_link_status:up'; do
    sleep 0.02
done
replica_pid=${started[-1]}

# Lag on a quiet primary: 200 probes 5 to 95 ms apart (at random: fixed gaps can fall in
# step with a replica's pulls), no other load, so each is a write after a quiet spell.
"$python" - "$primary" "$replica" <<'EOF2'
import random, sys, time, redis
primary = redis.Redis(port=int(sys.argv[1]))
replica = redis.Redis(port=int(sys.argv[2]))
lags = []
for index in range(200):
    key = "quiet:%d" % index
    time.sleep(random.uniform(0.005, 0.095))
    start = time.perf_counter()
    primary.set(key, "1")
    while replica.get(key) is None:
        time.sleep(0.0002)
    lags.append((time.perf_counter() - start) * 1000)
lags.sort()
print("lag on a quiet primary, ms: p50 %.2f p99 %.2f max %.2f (200 probes 5-95 ms apart)" % (
    lags[len(lags) // 2], lags[int(len(lags) * 0.99) - 1], lags[-1]))
EOF2
info_field() { # port section field
    redis-cli -p "$1" INFO "$2" | tr -d '\r' | sed -n "s/^$3:\(.*\)/\1/p"
}
floesync_calls() { # port
    redis-cli -p "$1" INFO commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_floesync:calls=\([0-9]*\).*/\1/p'
}
full_syncs_before=$(grep -c 'full sync from' "$work/replica.log" || true)
snapshot_size=$(grep 'full sync from' "$work/replica.log" | tail -1 |
    sed -n 's/.*keys (\([0-9]*\) bytes.*/\1/p')
kill -STOP "$replica_pid"
redis-cli -p "$primary" CLIENT KILL TYPE normal >/dev/null
lsn_before=$(info_field "$primary" replication master_repl_offset)
"$python" - "$primary" >"$work/partial-writes" <<'EOF2'
import sys, time, redis
primary = redis.Redis(port=int(sys.argv[1]))
count = 0
end = time.time() + 10
while time.time() < end:
    pipe = primary.pipeline(transaction=False)
    for _ in range(20):
        pipe.set("key:%012d" % (count % 1000000), "w" * 32)
        count += 1
    pipe.execute()
    time.sleep(0.01)
print(count)
EOF2
lsn_after=$(info_field "$primary" replication master_repl_offset)
sent_before=$(info_field "$primary" stats total_net_output_bytes)
calls_before=$(floesync_calls "$primary")
begin=$(date +%s.%N)
kill -CONT "$replica_pid"
until [ "$(info_field "$replica" replication slave_repl_offset)" = "$lsn_after" ] &&
    [ "$(info_field "$replica" replication master_link_status)" = up ]; do
    sleep 0.01
done
end=$(date +%s.%N)
sent_after=$(info_field "$primary" stats total_net_output_bytes)
calls_after=$(floesync_calls "$primary")
full_syncs_after=$(grep -c 'full sync from' "$work/replica.log" || true)
echo "partial sync after a 10 s disconnect: $(cat "$work/partial-writes") SETs missed" \
    "($((lsn_after - lsn_before)) LSNs); caught up $(echo "$end - $begin" | bc) s after" \
    "SIGCONT; the primary sent $((sent_after - sent_before)) bytes in" \
    "$((calls_after - calls_before)) FLOESYNC requests (one INFO reply included);" \
    "full syncs: $((full_syncs_after - full_syncs_before)); a full sync's snapshot:" \
    "$snapshot_size bytes"
