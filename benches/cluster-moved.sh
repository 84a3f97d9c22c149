#!/usr/bin/env bash
# The MOVED-redirect rate during and after a slot migration (issue 13): three
# `floe serve --cluster-enabled` nodes (persistence off, one worker each), FLOE_BENCH_KEYS
# keys loaded through a cluster client, then `floe cluster move-slots` moves slots 0-999
# (about 6% of the keys) from the first node to the second while a cluster client keeps
# sending GETs and SETs of random keys; then moves them back. The client (redis-py
# connections, its own routing, as a smart client does: a slot map from CLUSTER SLOTS; on
# -ASK it sends ASKING and retries there, once; on -TRYAGAIN it retries after 1 ms) counts
# per second its requests and the MOVED, ASK and TRYAGAIN replies, from 3 s before the move
# to 10 s after it ends. On -MOVED it retries at the node named and, in the first move,
# points only that slot there (the least a client must do); in the move back, reads the
# whole map again (CLUSTER SLOTS), as Jedis and Lettuce do.
#
#   benches/cluster-moved.sh
#   FLOE_BENCH_KEYS=100000 benches/cluster-moved.sh
#
# Stops only the servers it started (server-common.sh). Prints one line per second.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/server-common.sh
source "$root/benches/server-common.sh"

keys=${FLOE_BENCH_KEYS:-30000}
python="$root/tests/clients/python/venv/bin/python"
if [ ! -x "$python" ]; then
    echo "redis-py's venv is missing: run .ci/install-deps first" >&2
    exit 1
fi

nodes=()
for name in a b c; do
    free_port
    "$floe" serve --port "$port" --http-port off --persistence off --workers 1 \
        --cluster-enabled --dir "$work/$name" >"$work/$name.log" 2>&1 &
    started+=("$!")
    wait_ready "$port" "$!" "$name"
    nodes+=("127.0.0.1:$port")
done
"$floe" cluster create "${nodes[@]}" >/dev/null
echo "floe $floe_commit; $(nproc) cores; $(uptime)"

cat >"$work/client.py" <<'PY'
import random, subprocess, sys, time
import redis
from redis.crc import key_slot

port, key_count, floe, source, target, on_moved, load = sys.argv[1:8]
key_count = int(key_count)
connections = {}

def node(address):
    if address not in connections:
        host, port = address.rsplit(":", 1)
        connections[address] = redis.Redis(host=host, port=int(port))
    return connections[address]

slots = [None] * 16384
def refresh():
    for start, end, owner, *_ in node("127.0.0.1:" + port).execute_command("CLUSTER SLOTS"):
        address = "%s:%d" % (owner[0].decode(), owner[1])
        for slot in range(start, end + 1):
            slots[slot] = address
refresh()

counts = {}
def bucket():
    second = int(time.perf_counter() - begin)
    return counts.setdefault(second, {"requests": 0, "MOVED": 0, "ASK": 0, "TRYAGAIN": 0})

def run(*args):
    slot = key_slot(args[1].encode())
    address, asking = slots[slot], False
    while True:
        bucket()["requests"] += 1
        try:
            if asking:
                pipe = node(address).pipeline(transaction=False)
                pipe.execute_command("ASKING")
                pipe.execute_command(*args)
                return pipe.execute()[1]
            return node(address).execute_command(*args)
        except redis.exceptions.MovedError as error:
            bucket()["MOVED"] += 1
            address = slots[slot] = "%s:%d" % (error.host, error.port)
            asking = False
            if on_moved == "map":
                refresh()
        except redis.exceptions.AskError as error:
            bucket()["ASK"] += 1
            address, asking = "%s:%d" % (error.host, error.port), True
        except redis.exceptions.TryAgainError:
            bucket()["TRYAGAIN"] += 1
            time.sleep(0.001)
            address, asking = slots[slot], False

begin = time.perf_counter()
for index in range(key_count if load == "load" else 0):
    run("SET", "key:%d" % index, "v" * 32)
counts.clear()

def phase(seconds, until=None):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and (until is None or until.poll() is None):
        key = "key:%d" % random.randrange(key_count)
        if random.random() < 0.5:
            run("GET", key)
        else:
            run("SET", key, "w" * 32)

begin = time.perf_counter()
phase(3)
move_start = time.perf_counter() - begin
mover = subprocess.Popen([floe, "cluster", "move-slots", source, target, "0-999"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
phase(600, until=mover)
move_end = time.perf_counter() - begin
result = mover.communicate()[0].strip()
phase(10)
print("move-slots %s -> %s 0-999, on MOVED the client updates the %s: %.2f s to %.2f s (%s)"
      % (source, target, "slot" if on_moved == "slot" else "whole map", move_start, move_end,
         result))
for second in sorted(counts):
    row = counts[second]
    during = second + 1 > move_start and second < move_end
    print("second %3d%s: %6d requests, MOVED %4d, ASK %4d, TRYAGAIN %3d" % (
        second, " (moving)" if during else "", row["requests"], row["MOVED"], row["ASK"],
        row["TRYAGAIN"]))
PY
"$python" "$work/client.py" "${nodes[0]#*:}" "$keys" "$floe" "${nodes[0]}" "${nodes[1]}" \
    slot load
"$python" "$work/client.py" "${nodes[0]#*:}" "$keys" "$floe" "${nodes[1]}" "${nodes[0]}" \
    map keep
