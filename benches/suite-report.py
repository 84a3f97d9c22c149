#!/usr/bin/env python3
"""The report of benches/run-all.sh: reads the CSVs of one run's directory, prints Markdown
tables (floe against each competitor, with ratios) and writes throughput.png and
hit-ratio.png beside them with matplotlib.

    python3 benches/suite-report.py target/bench-results/run-all-<time>

Ratios are floe/competitor: above 1 is better for ops/s and hit ratio, below 1 is better for
latency, CPU per request, bytes per key, restart time and bytes on disk.
"""

import csv
import os
import sys
from collections import defaultdict


def rows(directory, name):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def ratio(numerator, denominator):
    numerator, denominator = float(numerator), float(denominator)
    return f"{numerator / denominator:.2f}" if denominator else "-"


def table(header, body):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if index < 2 else "---:" for index in range(len(header))) + "|")
    for line in body:
        print("| " + " | ".join(str(cell) for cell in line) + " |")
    print()


def check(directory):
    data = rows(directory, "check.csv")
    if not data:
        return
    print("### floe-load checked against redis-benchmark (-c 50 -P 1 -d 256, uniform keys)\n")
    by_key = {(row["server"], row["test"], row["tool"]): row for row in data}
    body = []
    for server in ("redis", "floe"):
        for test in ("SET", "GET"):
            bench = by_key.get((server, test, "redis-benchmark"))
            load = by_key.get((server, test, "floe-load"))
            if not bench or not load:
                continue
            body.append([server, test, f"{float(bench['ops']):.0f}", f"{float(load['ops']):.0f}",
                         ratio(load["ops"], bench["ops"]),
                         f"{bench['p50_ms']} / {load['p50_ms']}",
                         f"{bench['p99_ms']} / {load['p99_ms']}", load["load1"]])
    table(["server", "test", "redis-benchmark ops/s", "floe-load ops/s", "floe-load / rb",
           "p50 ms rb / fl", "p99 ms rb / fl", "load1"], body)


def server(directory):
    data = rows(directory, "server.csv")
    if not data:
        return []
    print("### (a) Server: floe vs Redis (floe-load; ops/s, latency in ms, server CPU µs/request)\n")
    pairs = defaultdict(dict)
    order = []
    for row in data:
        key = (row["setting"], row["label"])
        if key not in pairs:
            order.append(key)
        pairs[key][row["server"]] = row
    body = []
    for key in order:
        floe, redis = pairs[key].get("floe"), pairs[key].get("redis")
        if not floe or not redis:
            continue
        body.append([key[0], key[1], f"{float(floe['ops']):.0f}", f"{float(redis['ops']):.0f}",
                     "**" + ratio(floe["ops"], redis["ops"]) + "**",
                     f"{floe['p50_ms']} / {redis['p50_ms']}",
                     f"{floe['p99_ms']} / {redis['p99_ms']}",
                     f"{floe['p999_ms']} / {redis['p999_ms']}",
                     f"{floe['cpu_us_per_request']} / {redis['cpu_us_per_request']}",
                     ratio(floe["cpu_us_per_request"], redis["cpu_us_per_request"]),
                     f"{int(floe['errors']) + int(redis['errors'])}",
                     f"{floe['load1']}/{redis['load1']}"])
    table(["persistence", "case", "floe ops/s", "Redis ops/s", "ratio", "p50 f / r",
           "p99 f / r", "p99.9 f / r", "CPU µs/req f / r", "CPU ratio", "errors", "load1"], body)
    return [(key, pairs[key]) for key in order if len(pairs[key]) == 2]


def memory(directory):
    data = rows(directory, "memory.csv")
    if not data:
        return
    print("### (b) Memory: whole-process RSS per key (bytes)\n")
    groups = defaultdict(dict)
    order = []
    for row in data:
        key = (row["keys"], row["key_size"], row["value_size"], row["ttl"])
        if key not in groups:
            order.append(key)
        name = "floe" if row["server"].startswith("floe") else row["server"]
        groups[key][name] = row
    body = []
    for key in order:
        group = groups[key]
        floe, redis, memcached = group.get("floe"), group.get("redis"), group.get("memcached")
        if not floe or not redis or not memcached:
            continue
        body.append([f"{int(key[0]):,}", f"{key[1]}/{key[2]}{' +TTL' if key[3] == '1' else ''}",
                     f"{floe['bytes_per_key']} ({floe['server'][5:]}, {floe['keys_held']} held)",
                     redis["bytes_per_key"], f"{memcached['bytes_per_key']} ({memcached['keys_held']} held)",
                     "**" + ratio(floe["bytes_per_key"], redis["bytes_per_key"]) + "**",
                     "**" + ratio(floe["bytes_per_key"], memcached["bytes_per_key"]) + "**",
                     floe["load1"]])
    table(["keys", "key/value bytes", "floe", "Redis", "memcached", "floe/Redis",
           "floe/memcached", "load1"], body)


def recovery(directory):
    data = rows(directory, "recovery.csv")
    if not data:
        return
    print("### (c) Recovery: restart until PONG, and bytes on disk (16 B keys, 32 B values)\n")
    body = []
    by_count = defaultdict(dict)
    for row in data:
        by_count[row["keys"]][(row["server"], row["source"])] = row
        records = float(row["keys"]) / float(row["restart_s"]) / 1e6
        body.append([f"{int(row['keys']):,}", f"{row['server']} {row['source']}",
                     row["restart_s"], f"{records:.2f}", f"{int(row['disk_bytes']) / 1e6:.1f}",
                     row["keys_after"], row["load1"]])
    table(["keys", "server, from", "restart s", "M keys/s", "MB on disk", "keys after",
           "load1"], body)
    for count, group in by_count.items():
        log, snap = group.get(("floe", "log")), group.get(("floe", "snapshot"))
        aof, rdb = group.get(("redis", "aof")), group.get(("redis", "rdb"))
        if log and snap and aof and rdb:
            print(f"{int(count):,} keys: Redis AOF / floe log restart = "
                  f"**{ratio(aof['restart_s'], log['restart_s'])}x**, Redis RDB / floe snapshot = "
                  f"**{ratio(rdb['restart_s'], snap['restart_s'])}x**; floe log / AOF bytes = "
                  f"{ratio(log['disk_bytes'], aof['disk_bytes'])}, floe snapshot dir / RDB bytes = "
                  f"{ratio(snap['disk_bytes'], rdb['disk_bytes'])}.\n")


def hit_ratio(directory):
    data = rows(directory, "hit-ratio.csv")
    if not data:
        return {}
    print("### (d) Hit ratio (in-process; a miss inserts the key)\n")
    caches = []
    grid = defaultdict(dict)
    held = {}
    for row in data:
        if row["cache"] not in caches:
            caches.append(row["cache"])
        grid[(row["workload"], row["cache_percent"])][row["cache"]] = float(row["hit_ratio"])
        held[(row["workload"], row["cache_percent"], row["cache"])] = row["keys_held"]
    body = []
    for (workload, percent), values in grid.items():
        floe_best = max((v for c, v in values.items() if c.startswith("floe")), default=0)
        body.append([workload, f"{percent}%"] + [f"{values.get(c, 0):.3f}" for c in caches]
                    + [ratio(floe_best, values.get("moka", 0))])
    table(["workload", "cache size"] + [c.replace("floe-", "floe ") for c in caches]
          + ["best floe / moka"], body)
    capacity = {row["cache_percent"]: row["capacity_keys"] for row in data}
    print("Capacity in keys: " + ", ".join(f"{p}% = {c}" for p, c in capacity.items())
          + ". Keys floe held at the end (it evicts whole segments): "
          + ", ".join(f"{w} {p}% lru {held.get((w, p, 'floe-allkeys-lru'), '-')}"
                      for (w, p) in grid if w == "zipf0.99") + ".\n")
    return grid


def server_hit_ratio(directory):
    data = rows(directory, "server-hit-ratio.csv")
    if not data:
        return
    print("### (e) Hit ratio through the servers (look-aside GET, SET on a miss; 100k keys)\n")
    columns = []
    grid = defaultdict(dict)
    for row in data:
        column = f"{row['server']} {row['policy']}"
        if column not in columns:
            columns.append(column)
        grid[(row["workload"], row["cache_percent"])][column] = row
    body = []
    for (workload, percent), values in grid.items():
        cells = [f"{float(values[c]['hit_ratio']):.3f} ({values[c]['keys_held']})"
                 if c in values else "-" for c in columns]
        body.append([workload, f"{percent}%"] + cells)
    table(["workload", "cache size"] + [c + " (keys held)" for c in columns], body)


def plots(directory, server_pairs, grid):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plots)")
        return
    if server_pairs:
        labels = [f"{key[0]}\n{key[1]}".replace("-", "\n", 2) for key, _ in server_pairs]
        floe = [float(pair["floe"]["ops"]) / 1000 for _, pair in server_pairs]
        redis = [float(pair["redis"]["ops"]) / 1000 for _, pair in server_pairs]
        figure, axes = plt.subplots(figsize=(max(8, len(labels) * 1.1), 5))
        positions = range(len(labels))
        axes.bar([p - 0.2 for p in positions], floe, 0.4, label="floe")
        axes.bar([p + 0.2 for p in positions], redis, 0.4, label="Redis")
        axes.set_xticks(list(positions), labels, fontsize=7)
        axes.set_ylabel("k ops/s")
        axes.set_title("floe vs Redis throughput (floe-load)")
        axes.legend()
        figure.tight_layout()
        figure.savefig(os.path.join(directory, "throughput.png"), dpi=110)
        plt.close(figure)
    if grid:
        workloads = sorted({workload for workload, _ in grid})
        figure, all_axes = plt.subplots(1, len(workloads), figsize=(4.5 * len(workloads), 4.5),
                                        sharey=True)
        for axes, workload in zip(all_axes, workloads):
            percents = sorted({p for w, p in grid if w == workload}, key=int)
            caches = list(grid[(workload, percents[0])].keys())
            width = 0.8 / len(caches)
            for index, cache in enumerate(caches):
                axes.bar([i + index * width for i in range(len(percents))],
                         [grid[(workload, p)][cache] for p in percents], width, label=cache)
            axes.set_xticks([i + 0.4 - width / 2 for i in range(len(percents))],
                            [f"{p}%" for p in percents])
            axes.set_title(workload)
            axes.set_xlabel("cache size (of working set)")
        all_axes[0].set_ylabel("hit ratio")
        # One legend below the panels, so it hides no bar.
        handles, names = all_axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8)
        figure.tight_layout(rect=(0, 0.07, 1, 1))
        figure.savefig(os.path.join(directory, "hit-ratio.png"), dpi=110)
        plt.close(figure)
    print(f"Plots: {directory}/throughput.png, {directory}/hit-ratio.png\n")


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "machine.txt")) as file:
        for line in file:
            print(line.rstrip() + "  ")
    print()
    check(directory)
    server_pairs = server(directory)
    memory(directory)
    recovery(directory)
    grid = hit_ratio(directory)
    server_hit_ratio(directory)
    plots(directory, server_pairs, grid)


if __name__ == "__main__":
    main()
