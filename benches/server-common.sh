# Shared by the server benchmark scripts (server-vs-redis.sh, server-rss.sh): sourced, not
# run. Installs Redis if missing, builds floe, hands out free loopback ports, starts servers
# and stops exactly the processes it started (by PID, on exit).
#
# The sourcing script sets `root` (the repository) first; this file sets `floe`,
# `floe_commit`, `redis_version` and `work` (a temporary directory, removed on exit unless
# FLOE_BENCH_KEEP is set), and installs the EXIT trap.

# Installs redis-server and redis-tools with apt-get when a tool is missing, then stops and
# disables the system service the package starts: the benchmarks run only their own servers.
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

work=$(mktemp -d "${TMPDIR:-/tmp}/floe-bench.XXXXXX")
started=()

# Stops every process this script started: SIGTERM, up to 5 s, then SIGKILL.
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
# Below the kernel's ephemeral range (32768 and up here): a port a benchmark client's own
# connection holds is not listening, so the probe below would take it for free.
next_port=$((20000 + RANDOM % 10000))
free_port() {
    while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do
        next_port=$((next_port + 1))
    done
    port=$next_port
    next_port=$((next_port + 1))
}

# Sets `servers` to the two servers a script started ("name port pid" each, from floe_port,
# floe_pid, redis_port and redis_pid): floe first when `turn` is even, Redis first when it
# is odd, so that neither always gets the quieter moment.
servers_in_turn() { # turn
    servers=("floe $floe_port $floe_pid" "redis $redis_port $redis_pid")
    if [ $(($1 % 2)) = 1 ]; then
        servers=("redis $redis_port $redis_pid" "floe $floe_port $floe_pid")
    fi
}

# Waits until the server `name` (pid, port) answers PING; its log is $work/$name.log.
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

# CPU time of a server, in clock ticks: utime + stime of the process (every thread), plus
# cutime + cstime, the children it waited for. Redis rewrites its AOF in a forked child
# (automatically, once the file doubled past 64 MB); floe snapshots in a thread, which
# utime already counts. The command name in field 2 may hold spaces, so count fields after
# its closing parenthesis: fields 14 to 17 are the 12th to 15th after ")".
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}

# Whole-process resident memory in KiB (VmRSS).
rss_kib() {
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}
