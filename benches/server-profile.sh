#!/usr/bin/env bash
# Where `floe serve` spends its time under redis-benchmark (issue 10's tuning): for each
# test (SET, then GET) one run under `perf stat` counting, per request, system calls by
# kind, io_uring operations, malloc/free/realloc calls (uprobes on glibc), context switches
# and page faults; then one run under `perf record` (cpu-clock, DWARF call graphs) whose
# flat and inclusive reports are kept.
#
#   benches/server-profile.sh [off|everysec|always] [PIPELINE] [CLIENTS] [REQUESTS]
#   benches/server-profile.sh off 1        # -c 50 -P 1, persistence off (the defaults)
#   benches/server-profile.sh always 32
#
# Needs perf with tracepoints and uprobes (root, or perf_event_paranoid <= 1). Output in
# target/bench-results/profile-<setting>-P<pipeline>-c<clients>/: counts.txt,
# <test>.flat.txt, <test>.inclusive.txt, <test>.threads.txt.
set -euo pipefail

setting=${1:-off}
pipeline=${2:-1}
clients=${3:-50}
requests=${4:-$((pipeline == 1 ? 200000 : 2000000))}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/server-common.sh
. "$root/benches/server-common.sh"

out="$root/target/bench-results/profile-$setting-P$pipeline-c$clients"
rm -rf "$out"
mkdir -p "$out"

libc=$(ldd "$floe" | awk '$1 ~ /^libc\.so/ { print $3 }')
for function in malloc free realloc; do
    if ! perf probe -l 2>/dev/null | grep -q "probe_libc:$function "; then
        perf probe -q -x "$libc" --add "$function" 2>/dev/null || true
    fi
done
allocation_events=$(perf probe -l 2>/dev/null | awk '{ print $1 }' |
    grep -E '^probe_libc:(malloc|free|realloc)$' | paste -sd, || true)
events="task-clock,context-switches,cpu-migrations,page-faults,raw_syscalls:sys_enter"
for syscall in io_uring_enter futex write read sendto recvfrom epoll_wait fdatasync \
    pwrite64 writev madvise mmap munmap; do
    events="$events,syscalls:sys_enter_$syscall"
done
events="$events,io_uring:io_uring_submit_req,io_uring:io_uring_complete"
if [ -n "$allocation_events" ]; then events="$events,$allocation_events"; fi

persistence=on
appendfsync=$setting
if [ "$setting" = off ]; then persistence=off appendfsync=everysec; fi
free_port
mkdir -p "$work/floe"
"$floe" serve --port "$port" --persistence "$persistence" --appendfsync "$appendfsync" \
    --dir "$work/floe" --maxmemory 4gb --max-keys 2000000 >"$work/floe.log" 2>&1 &
pid=$!
started+=("$pid")
wait_ready "$port" "$pid" floe

# "name ticks" for every thread of the server (utime + stime).
thread_ticks() {
    local task
    for task in /proc/"$pid"/task/*; do
        echo "$(cat "$task/comm") $(sed 's/.*) //' "$task/stat" | awk '{ print $12 + $13 }')"
    done
}

arguments=(-p "$port" -r 1000000 -d 256 -c "$clients" -P "$pipeline" -n "$requests" --csv)
{
    echo "floe $floe_commit serve, persistence $setting, -c $clients -P $pipeline," \
        "-n $requests per run; $(uptime)"
    for test in set get; do
        thread_ticks >"$work/threads.before"
        perf stat -x, -o "$work/stat.csv" -e "$events" -p "$pid" -- \
            redis-benchmark "${arguments[@]}" -t "$test" | grep -i "^\"$test\""
        echo "per request ($test):"
        awk -F, -v n="$requests" '
            $1 ~ /^[0-9.]+$/ {
                name = $3
                if (name == "task-clock") printf "  %-34s %10.2f us\n", "cpu", $1 * 1000 / n
                else printf "  %-34s %10.3f\n", name, $1 / n
            }' "$work/stat.csv"
        thread_ticks >"$work/threads.after"
        echo "CPU by thread ($test), ms:"
        awk -v hz="$(getconf CLK_TCK)" 'NR == FNR { before[$1] = $2; next }
            { printf "  %-34s %10d\n", $1, ($2 - before[$1]) * 1000 / hz }' \
            "$work/threads.before" "$work/threads.after"
    done
    echo "done; $(uptime)"
} | tee "$out/counts.txt"

for test in set get; do
    perf record -q -o "$work/perf.data" -e cpu-clock -F 1999 --call-graph dwarf,8192 \
        -p "$pid" -- redis-benchmark "${arguments[@]}" -t "$test" -n $((requests / 2)) \
        >/dev/null 2>&1
    perf report -i "$work/perf.data" --no-children --sort symbol --stdio \
        --percent-limit 0.5 -g none 2>/dev/null >"$out/$test.flat.txt"
    perf report -i "$work/perf.data" --children --sort symbol --stdio \
        --percent-limit 2 -g none 2>/dev/null >"$out/$test.inclusive.txt"
    perf report -i "$work/perf.data" --no-children --sort comm --stdio -g none \
        2>/dev/null >"$out/$test.threads.txt"
done
echo "reports in $out"
