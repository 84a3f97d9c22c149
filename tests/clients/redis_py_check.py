"""redis-py (PyPI `redis`), a client nobody here wrote, against a Redis-protocol server.

Usage: redis_py_check.py PORT
       redis_py_check.py sentinel SENTINEL_PORT PRIMARY_PORT REPLICA_PORT

Runs the string and keyspace workload through redis-py's own API on 127.0.0.1:PORT:
values (binary too), SET's options, counters, ranges, keyspace commands, expiry, SCAN
through `scan_iter`, a second database, pipelines, MULTI/EXEC with a WATCH that another
connection breaks, RESP3 (`protocol=3`), error replies, CONFIG GET, INFO as redis-py
parses it, CLIENT SETNAME/GETNAME and FLUSHDB; then the collection types (issue 12):
hashes (`hset(mapping=...)`, `hgetall`, `hincrby`, `hscan_iter`), lists (pushes, `lrange`,
`lpop` with a count, LMOVE, LMPOP), BLPOP/BRPOP/BLMOVE/BLMPOP served by a push from a
second connection in a thread and timing out to None, sets (`sinter`, `sscan_iter`; members
compared as sets, since Redis's order is its hash table's), sorted sets (`zadd` of a dict
with `nx`/`gt`, `zrange(withscores=True)` scores as floats, `zincrby`, `zpopmin`),
BZPOPMIN/BZPOPMAX/BZMPOP, SORT (BY and GET through hash fields, STORE), a pipeline and a
MULTI/EXEC over every type, and WRONGTYPE as `ResponseError`. Every reply is asserted.
Each check starts from an empty server (FLUSHALL); all checks run, each prints `ok NAME`
or `FAIL NAME` with the reason, and the exit code is 1 if any failed.
tests/clients_other.rs runs this against Redis and against floe.

The `sentinel` mode checks redis-py's `Sentinel` class instead, against a sentinel that
watches a primary as `mymaster` with one replica: discovery of both addresses, writes of
every type through `master_for`, reads of them through `slave_for` once replicated, and the
replica's READONLY refusal as `ReadOnlyError`.
"""

import sys
import threading
import time
import traceback

import redis
from redis.exceptions import ReadOnlyError, ResponseError, WatchError
from redis.sentinel import Sentinel

HOST = "127.0.0.1"


class Mismatch(Exception):
    """A reply that is not the one Redis gives."""


def expect(actual, expected, what):
    if actual != expected:
        raise Mismatch(f"{what}: expected {expected!r}, got {actual!r}")


def expect_true(condition, what):
    if not condition:
        raise Mismatch(what)


def expect_error(call, text, what, exact=True):
    """`call()` must raise ResponseError whose text is `text` (or starts with it)."""
    try:
        reply = call()
    except ResponseError as error:
        message = str(error)
        matches = message == text if exact else message.startswith(text)
        if not matches:
            raise Mismatch(f"{what}: expected the error {text!r}, got {message!r}") from None
        return error
    raise Mismatch(f"{what}: expected the error {text!r}, got the reply {reply!r}")


# The protocol every client of a pass speaks: main runs all checks over RESP2, then again
# over RESP3 (redis-py 8 says HELLO 3 by default; both must work).
PROTOCOL = 2


def client(port, **options):
    """A client of this pass's protocol (`options` may choose another)."""
    options.setdefault("protocol", PROTOCOL)
    return redis.Redis(host=HOST, port=port, socket_timeout=30, **options)


def connect(port, **options):
    """A client, after emptying the server."""
    fresh = client(port, **options)
    fresh.flushall()
    return fresh


def check_ping_and_binary_values(port):
    text = connect(port, decode_responses=True)
    expect(text.ping(), True, "PING")
    expect(text.execute_command("PING"), True, "PING as a command")
    expect(text.echo("hello"), "hello", "ECHO")
    raw = connect(port)
    value = b"a\x00b\r\n\xff\x00" + bytes(range(256))
    expect(raw.set(b"bin\x00key", value), True, "SET of a binary value under a binary key")
    expect(raw.get(b"bin\x00key"), value, "GET of a binary value")
    expect(raw.strlen(b"bin\x00key"), len(value), "STRLEN of a binary value")
    expect(raw.get("missing"), None, "GET of a missing key")
    expect(raw.set("empty", b""), True, "SET of an empty value")
    expect(raw.get("empty"), b"", "GET of an empty value")
    big = bytes(index % 251 for index in range(200_000))
    expect(raw.set("big", big), True, "SET of 200 kB")
    expect(raw.get("big"), big, "GET of 200 kB")


def check_set_options(port):
    r = connect(port, decode_responses=True)
    expect(r.set("k", "v1", nx=True), True, "SET NX on a missing key")
    expect(r.set("k", "other", nx=True), None, "SET NX on an existing key")
    expect(r.get("k"), "v1", "GET after a refused SET NX")
    expect(r.set("nope", "v", xx=True), None, "SET XX on a missing key")
    expect(r.exists("nope"), 0, "EXISTS after a refused SET XX")
    expect(r.set("k", "v2", xx=True), True, "SET XX on an existing key")
    expect(r.set("k", "v3", get=True), "v2", "SET GET returns the old value")
    expect(r.set("fresh", "v", get=True), None, "SET GET on a missing key")
    expect(r.set("k", "v4", ex=100), True, "SET EX")
    ttl = r.ttl("k")
    expect_true(90 <= ttl <= 100, f"TTL after SET EX 100 is {ttl}")
    expect(r.set("k", "v5", keepttl=True), True, "SET KEEPTTL")
    ttl = r.ttl("k")
    expect_true(90 <= ttl <= 100, f"TTL after SET KEEPTTL is {ttl}")
    expect(r.set("k", "v6"), True, "plain SET")
    expect(r.ttl("k"), -1, "a plain SET clears the TTL")
    expect(r.set("short", "v", px=150), True, "SET PX")
    expect(r.setnx("k", "x"), False, "SETNX on an existing key")
    expect(r.setex("sx", 50, "v"), True, "SETEX")
    expect_true(40 <= r.ttl("sx") <= 50, "TTL after SETEX 50")
    expect(r.getset("k", "v7"), "v6", "GETSET")
    expect(r.getdel("k"), "v7", "GETDEL")
    expect(r.exists("k"), 0, "GETDEL removes the key")
    time.sleep(0.4)
    expect(r.get("short"), None, "a key set with PX 150 is gone after 400 ms")
    expect_error(
        lambda: r.execute_command("SET", "k", "v", "NX", "XX"),
        "syntax error",
        "SET NX XX",
    )


def check_mset_and_counters(port):
    r = connect(port, decode_responses=True)
    expect(r.mset({"m1": "1", "m2": "two", "m3": "3"}), True, "MSET")
    expect(r.mget("m1", "missing", "m2", "m3"), ["1", None, "two", "3"], "MGET")
    expect(r.mget(["m1"]), ["1"], "MGET of a list")
    expect(r.msetnx({"m1": "x", "new": "y"}), False, "MSETNX with one existing key")
    expect(r.exists("new"), 0, "MSETNX is all or nothing")
    expect(r.incr("n"), 1, "INCR of a missing key")
    expect(r.incr("n"), 2, "INCR")
    expect(r.incrby("n", 40), 42, "INCRBY")
    expect(r.decr("n"), 41, "DECR")
    expect(r.decrby("n", 50), -9, "DECRBY")
    expect(r.incr("n", -1), -10, "INCR by -1")
    expect(r.get("n"), "-10", "GET of a counter")
    expect(r.incrbyfloat("f", 1.5), 1.5, "INCRBYFLOAT of a missing key")
    expect(r.incrbyfloat("f", 0.1), 1.6, "INCRBYFLOAT")
    expect(r.get("f"), "1.6", "GET after INCRBYFLOAT")
    expect(r.incrbyfloat("f", -1.6), 0.0, "INCRBYFLOAT to zero")
    expect(r.get("f"), "0", "INCRBYFLOAT writes 0, not 0.0")
    expect(r.set("i", "10"), True, "SET")
    expect(r.incrbyfloat("i", 2.5e3), 2510.0, "INCRBYFLOAT with an exponent")
    expect(r.get("i"), "2510", "INCRBYFLOAT writes an integral result without a point")
    expect(r.set("max", str(2**63 - 1)), True, "SET of i64::MAX")
    expect_error(lambda: r.incr("max"), "increment or decrement would overflow", "INCR overflow")
    expect_error(
        lambda: r.incr("m2"), "value is not an integer or out of range", "INCR of text"
    )
    expect_error(
        lambda: r.incrbyfloat("m2", 1), "value is not a valid float", "INCRBYFLOAT of text"
    )
    expect(r.get("m2"), "two", "a refused INCR leaves the value")


def check_append_and_ranges(port):
    r = connect(port, decode_responses=True)
    expect(r.append("s", "Hello"), 5, "APPEND to a missing key")
    expect(r.append("s", ", World"), 12, "APPEND")
    expect(r.get("s"), "Hello, World", "GET after APPEND")
    expect(r.strlen("s"), 12, "STRLEN")
    expect(r.strlen("missing"), 0, "STRLEN of a missing key")
    expect(r.getrange("s", 0, 4), "Hello", "GETRANGE 0 4")
    expect(r.getrange("s", -5, -1), "World", "GETRANGE -5 -1")
    expect(r.getrange("s", 7, 100), "World", "GETRANGE past the end")
    expect(r.getrange("s", 5, 2), "", "GETRANGE with start after end")
    expect(r.getrange("missing", 0, -1), "", "GETRANGE of a missing key")
    expect(r.setrange("s", 7, "There"), 12, "SETRANGE inside")
    expect(r.get("s"), "Hello, There", "GET after SETRANGE")
    expect(r.setrange("pad", 5, "x"), 6, "SETRANGE past the end of a missing key")
    raw = client(port)
    expect(raw.get("pad"), b"\x00\x00\x00\x00\x00x", "SETRANGE pads with NUL bytes")
    expect_error(lambda: r.setrange("s", -1, "x"), "offset is out of range", "SETRANGE -1")


def check_keyspace(port):
    r = connect(port, decode_responses=True)
    r.mset({"a": "1", "b": "2", "c": "3", "d": "4", "user:1": "ada", "user:2": "bob"})
    expect(r.exists("a", "b", "missing", "a"), 3, "EXISTS counts repeats")
    expect(r.delete("a", "missing"), 1, "DEL")
    expect(r.unlink("b", "c", "missing"), 2, "UNLINK")
    expect(r.exists("a", "b", "c"), 0, "EXISTS after DEL and UNLINK")
    expect(r.type("d"), "string", "TYPE of a string")
    expect(r.type("missing"), "none", "TYPE of a missing key")
    expect(r.rename("d", "e"), True, "RENAME")
    expect(r.get("e"), "4", "GET of the new name")
    expect(r.exists("d"), 0, "RENAME removes the old name")
    expect_error(lambda: r.rename("missing", "x"), "no such key", "RENAME of a missing key")
    expect(r.renamenx("e", "user:1"), False, "RENAMENX onto an existing key")
    expect(sorted(r.keys("user:*")), ["user:1", "user:2"], "KEYS user:*")
    expect(sorted(r.keys()), ["e", "user:1", "user:2"], "KEYS")
    expect(r.keys("nothing*"), [], "KEYS with no match")
    expect(r.dbsize(), 3, "DBSIZE")
    expect(r.touch("e", "missing"), 1, "TOUCH")
    expect_true(r.randomkey() in {"e", "user:1", "user:2"}, "RANDOMKEY")
    expect(r.copy("e", "e2"), True, "COPY")
    expect(r.get("e2"), "4", "GET of a copy")


def check_expiry(port):
    r = connect(port, decode_responses=True)
    r.set("k", "v")
    expect(r.ttl("k"), -1, "TTL of a key without expiry")
    expect(r.pttl("k"), -1, "PTTL of a key without expiry")
    expect(r.ttl("missing"), -2, "TTL of a missing key")
    expect(r.pttl("missing"), -2, "PTTL of a missing key")
    expect(r.expire("k", 100), True, "EXPIRE")
    expect(r.expire("missing", 100), False, "EXPIRE of a missing key")
    ttl = r.ttl("k")
    expect_true(90 <= ttl <= 100, f"TTL after EXPIRE 100 is {ttl}")
    pttl = r.pttl("k")
    expect_true(90_000 <= pttl <= 100_000, f"PTTL after EXPIRE 100 is {pttl}")
    expect(r.expire("k", 200, nx=True), False, "EXPIRE NX on a key with a TTL")
    expect(r.expire("k", 200, gt=True), True, "EXPIRE GT with a greater TTL")
    expect_true(190 <= r.ttl("k") <= 200, "TTL after EXPIRE GT")
    expect(r.pexpire("k", 50_000), True, "PEXPIRE")
    expect_true(40 <= r.ttl("k") <= 50, "TTL after PEXPIRE")
    expect(r.persist("k"), True, "PERSIST")
    expect(r.persist("k"), False, "PERSIST of a key without expiry")
    expect(r.ttl("k"), -1, "TTL after PERSIST")
    at = int(time.time()) + 1000
    expect(r.expireat("k", at), True, "EXPIREAT")
    expect(r.expiretime("k"), at, "EXPIRETIME")
    expect(r.pexpire("gone", 100), False, "PEXPIRE of a missing key")
    r.set("gone", "v", px=100)
    expect(r.pexpire("gone", 100), True, "PEXPIRE")
    time.sleep(0.3)
    expect(r.exists("gone"), 0, "an expired key is gone")
    expect(r.ttl("gone"), -2, "TTL of an expired key")
    r.set("now", "v")
    expect(r.expire("now", -1), True, "EXPIRE with a negative TTL")
    expect(r.exists("now"), 0, "EXPIRE with a negative TTL deletes the key")


def check_scan_iteration(port):
    r = connect(port, decode_responses=True)
    with r.pipeline(transaction=False) as pipe:
        for index in range(1000):
            pipe.set(f"scan:{index}", index)
            pipe.set(f"other:{index}", index)
        pipe.execute()
    keys = set(r.scan_iter(match="scan:*", count=50))
    expect(keys, {f"scan:{index}" for index in range(1000)}, "scan_iter MATCH scan:*")
    every = list(r.scan_iter(count=100))
    expect(len(set(every)), 2000, "scan_iter over every key")
    typed = set(r.scan_iter(match="other:1*", _type="string"))
    expect(
        typed,
        {f"other:{index}" for index in range(1000) if str(index).startswith("1")},
        "scan_iter MATCH TYPE string",
    )
    cursor, page = r.scan(0, match="nothing*", count=10)
    expect_true(isinstance(cursor, int), f"SCAN's cursor is parsed as an integer: {cursor!r}")
    expect(page, [], "a SCAN page of a pattern with no match")
    expect(r.dbsize(), 2000, "DBSIZE")


def check_select_second_database(port):
    zero = connect(port, decode_responses=True)
    one = client(port, db=1, decode_responses=True)
    expect(zero.set("where", "zero"), True, "SET in db 0")
    expect(one.set("where", "one"), True, "SET in db 1")
    expect(one.set("only-one", "x"), True, "SET in db 1")
    expect(zero.get("where"), "zero", "GET in db 0")
    expect(one.get("where"), "one", "GET in db 1")
    expect(zero.dbsize(), 1, "DBSIZE of db 0")
    expect(one.dbsize(), 2, "DBSIZE of db 1")
    expect(zero.exists("only-one"), 0, "a key of db 1 is not in db 0")
    expect(zero.move("where", 2), True, "MOVE to db 2")
    expect(one.flushdb(), True, "FLUSHDB of db 1")
    expect(one.dbsize(), 0, "DBSIZE of db 1 after FLUSHDB")
    expect(zero.dbsize(), 0, "db 0 after MOVE")
    two = client(port, db=2, decode_responses=True)
    expect(two.get("where"), "zero", "GET of a moved key in db 2")
    single = zero.connection_pool.get_connection()
    try:
        single.send_command("SELECT", 16)
        try:
            reply = single.read_response()
        except ResponseError as error:
            expect(str(error), "DB index is out of range", "SELECT 16")
        else:
            raise Mismatch(f"SELECT 16: expected an error, got {reply!r}")
    finally:
        zero.connection_pool.release(single)


def check_pipelines(port):
    r = connect(port, decode_responses=True)
    pipe = r.pipeline(transaction=False)
    for index in range(150):
        pipe.set(f"p:{index}", index)
    for index in range(150):
        pipe.incr(f"p:{index}")
    pipe.dbsize()
    pipe.mget([f"p:{index}" for index in range(150)])
    replies = pipe.execute()
    expect(len(replies), 302, "number of pipeline replies")
    expect(replies[:150], [True] * 150, "pipelined SET replies")
    expect(replies[150:300], list(range(1, 151)), "pipelined INCR replies")
    expect(replies[300], 150, "pipelined DBSIZE")
    expect(replies[301], [str(index + 1) for index in range(150)], "pipelined MGET")

    pipe = r.pipeline(transaction=False)
    pipe.set("text", "x").incr("text").get("text")
    replies = pipe.execute(raise_on_error=False)
    expect(replies[0], True, "SET before an error in a pipeline")
    expect_true(isinstance(replies[1], ResponseError), f"an error in a pipeline: {replies[1]!r}")
    expect(
        str(replies[1]),
        "value is not an integer or out of range",
        "the error's text in a pipeline",
    )
    expect(replies[2], "x", "GET after an error in a pipeline")


def check_transactions(port):
    r = connect(port, decode_responses=True)
    other = client(port, decode_responses=True)
    with r.pipeline(transaction=True) as pipe:
        replies = pipe.incr("tx").incr("tx").set("tx2", "v").get("tx2").execute()
    expect(replies, [1, 2, True, "v"], "MULTI/EXEC")

    r.set("balance", 100)
    with r.pipeline() as pipe:
        pipe.watch("balance")
        balance = int(pipe.get("balance"))
        expect(balance, 100, "GET in WATCH mode")
        other.set("balance", 5000)  # a conflicting write from another connection
        pipe.multi()
        pipe.set("balance", balance - 30)
        try:
            pipe.execute()
        except WatchError:
            pass
        else:
            raise Mismatch("EXEC after a conflicting write to a WATCHed key did not abort")
    expect(r.get("balance"), "5000", "an aborted EXEC changes nothing")

    # redis-py's retry loop: the first attempt is broken by another connection, the second
    # commits.
    attempts = []

    def withdraw(pipe):
        attempts.append(1)
        current = int(pipe.get("balance"))
        if len(attempts) == 1:
            other.incrby("balance", 1000)
        pipe.multi()
        pipe.set("balance", current - 30)

    r.transaction(withdraw, "balance")
    expect(len(attempts), 2, "attempts of r.transaction after one conflicting write")
    expect(r.get("balance"), "5970", "balance after the retried transaction")

    # WATCH of a key whose write came from this connection's own EXEC does not abort later
    # transactions; UNWATCH forgets.
    with r.pipeline() as pipe:
        pipe.watch("balance")
        pipe.unwatch()
        other.set("balance", 1)
        pipe.multi()
        pipe.set("balance", 2)
        expect(pipe.execute(), [True], "EXEC after UNWATCH")
    expect(r.get("balance"), "2", "GET after EXEC")

    # A queued command with the wrong arity aborts EXEC (EXECABORT).
    with r.pipeline() as pipe:
        pipe.incr("tx")
        pipe.execute_command("GET")
        try:
            pipe.execute()
        except ResponseError as error:
            message = str(error)
            expect_true(
                "wrong number of arguments for 'get' command" in message,
                f"EXECABORT names the queued error: {message!r}",
            )
        else:
            raise Mismatch("EXEC with a wrong-arity command queued did not fail")
    expect(r.get("tx"), "2", "an EXECABORT transaction changes nothing")

    # A runtime error inside EXEC is one reply among the others.
    with r.pipeline() as pipe:
        pipe.set("t", "text").incr("t").get("t")
        replies = pipe.execute(raise_on_error=False)
    expect(replies[0], True, "SET inside EXEC")
    expect_true(isinstance(replies[1], ResponseError), f"INCR inside EXEC: {replies[1]!r}")
    expect(replies[2], "text", "GET inside EXEC")


def check_resp3(port):
    r = connect(port, decode_responses=True, protocol=3)
    hello = r.execute_command("HELLO", 3)
    expect_true(isinstance(hello, dict), f"HELLO 3 answers a map: {hello!r}")
    expect(hello.get("proto"), 3, "HELLO 3's proto")
    expect(hello.get("server"), "redis", "HELLO 3's server")
    expect(r.set("k", "v"), True, "SET over RESP3")
    expect(r.get("k"), "v", "GET over RESP3")
    expect(r.get("missing"), None, "GET of a missing key over RESP3 (null)")
    expect(r.mget("k", "missing"), ["v", None], "MGET over RESP3")
    expect(r.incrby("n", 41), 41, "INCRBY over RESP3")
    expect(r.incrbyfloat("f", 2.5), 2.5, "INCRBYFLOAT over RESP3")
    expect(r.exists("k", "n"), 2, "EXISTS over RESP3")
    expect(r.expire("k", 100), True, "EXPIRE over RESP3")
    expect_true(90 <= r.ttl("k") <= 100, "TTL over RESP3")
    config = r.config_get("maxmemory")
    expect_true(isinstance(config, dict), f"CONFIG GET over RESP3 is a map: {config!r}")
    expect_true(str(config.get("maxmemory", "")).isdigit(), f"CONFIG GET maxmemory: {config!r}")
    info = r.info("keyspace")
    expect(info.get("db0", {}).get("keys"), 3, f"INFO keyspace over RESP3: {info!r}")
    expect(sorted(r.keys()), ["f", "k", "n"], "KEYS over RESP3")
    expect(set(r.scan_iter()), {"f", "k", "n"}, "scan_iter over RESP3")
    expect_error(
        lambda: r.incr("k"), "value is not an integer or out of range", "INCR of text over RESP3"
    )
    other = client(port, decode_responses=True, protocol=3)
    with r.pipeline() as pipe:
        pipe.watch("k")
        other.set("k", "changed")
        pipe.multi()
        pipe.get("k")
        try:
            pipe.execute()
        except WatchError:
            pass
        else:
            raise Mismatch("EXEC after a conflicting write did not abort over RESP3")
    with r.pipeline() as pipe:
        expect(pipe.incr("n").get("n").execute(), [42, "42"], "MULTI/EXEC over RESP3")
    pipe = r.pipeline(transaction=False)
    for index in range(120):
        pipe.set(f"r3:{index}", index)
    pipe.dbsize()
    expect(pipe.execute()[-1], 123, "a RESP3 pipeline of 121 commands")
    expect(r.client_setname("resp3-client"), True, "CLIENT SETNAME over RESP3")
    expect(r.client_getname(), "resp3-client", "CLIENT GETNAME over RESP3")
    expect(r.flushdb(), True, "FLUSHDB over RESP3")
    expect(r.dbsize(), 0, "DBSIZE after FLUSHDB over RESP3")


def check_errors(port):
    r = connect(port, decode_responses=True)
    r.set("text", "abc")
    expect_error(lambda: r.incr("text"), "value is not an integer or out of range", "INCR")
    expect_error(
        lambda: r.execute_command("NOSUCHCOMMAND", "x"),
        "unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' ",
        "an unknown command",
    )
    expect_error(
        lambda: r.execute_command("GET"),
        "wrong number of arguments for 'get' command",
        "GET with no key",
    )
    expect_error(
        lambda: r.execute_command("EXPIRE", "text", "soon"),
        "value is not an integer or out of range",
        "EXPIRE with a bad number",
    )
    expect(r.ping(), True, "the connection still works after errors")


def check_config_and_info(port):
    r = connect(port, decode_responses=True)
    config = r.config_get("maxmemory")
    expect(list(config), ["maxmemory"], "CONFIG GET maxmemory's keys")
    expect_true(config["maxmemory"].isdigit(), f"CONFIG GET maxmemory's value: {config!r}")
    policy = r.config_get("maxmemory-policy")
    expect_true(
        policy.get("maxmemory-policy", "") != "", f"CONFIG GET maxmemory-policy: {policy!r}"
    )
    several = r.config_get("maxmemory*")
    expect_true(
        {"maxmemory", "maxmemory-policy"} <= set(several), f"CONFIG GET maxmemory*: {several!r}"
    )
    r.mset({"a": "1", "b": "2"})
    r.set("c", "3", ex=100)
    info = r.info()
    for field in ("redis_version", "uptime_in_seconds", "connected_clients", "used_memory"):
        expect_true(field in info, f"INFO has {field}: {sorted(info)}")
    expect_true(isinstance(info["connected_clients"], int), "connected_clients is an integer")
    expect_true(info["connected_clients"] >= 1, "connected_clients counts this client")
    expect_true(isinstance(info["used_memory"], int), "used_memory is an integer")
    expect_true(
        isinstance(info["redis_version"], str) and info["redis_version"].count(".") >= 1,
        f"redis_version: {info['redis_version']!r}",
    )
    db0 = info.get("db0")
    expect_true(isinstance(db0, dict), f"INFO's db0 is parsed into fields: {db0!r}")
    expect(db0.get("keys"), 3, "INFO db0 keys")
    # floe leaves out `expires` and `avg_ttl` (it does not count expiring keys per database;
    # runtime/src/admin/info.rs); where they are given, they must be right.
    if "expires" in db0:
        expect(db0.get("expires"), 1, "INFO db0 expires")
    server = r.info("server")
    expect_true("redis_version" in server, f"INFO server: {sorted(server)}")
    expect_true("used_memory" not in server, "INFO server has only the server section")
    stats = r.info("stats")
    expect_true(isinstance(stats.get("total_commands_processed"), int), "INFO stats")
    expect_true(isinstance(r.info("memory").get("used_memory"), int), "INFO memory")
    everything = r.info("all")
    expect_true("cmdstat_info" in everything or "cmdstat_mset" in everything, "INFO all")


def check_client_name_and_flushdb(port):
    r = connect(port, decode_responses=True)
    connection = r.connection_pool.get_connection()
    try:
        connection.send_command("CLIENT", "GETNAME")
        expect(connection.read_response(), None, "CLIENT GETNAME before SETNAME")
        connection.send_command("CLIENT", "SETNAME", "floe-check")
        expect(connection.read_response(), "OK", "CLIENT SETNAME")
        connection.send_command("CLIENT", "GETNAME")
        expect(connection.read_response(), "floe-check", "CLIENT GETNAME")
        connection.send_command("CLIENT", "SETNAME", "has space")
        try:
            reply = connection.read_response()
        except ResponseError as error:
            expect(
                str(error),
                "Client names cannot contain spaces, newlines or special characters.",
                "CLIENT SETNAME with a space",
            )
        else:
            raise Mismatch(f"CLIENT SETNAME with a space: expected an error, got {reply!r}")
    finally:
        r.connection_pool.release(connection)
    named = client(port, client_name="named-by-pool", decode_responses=True)
    expect(named.client_getname(), "named-by-pool", "redis-py's client_name option")
    expect_true(
        any(entry.get("name") == "named-by-pool" for entry in named.client_list()),
        "CLIENT LIST shows the name",
    )
    expect_true(isinstance(named.client_id(), int), "CLIENT ID")
    r.mset({"a": "1", "b": "2"})
    expect(r.dbsize(), 2, "DBSIZE before FLUSHDB")
    expect(r.flushdb(), True, "FLUSHDB")
    expect(r.dbsize(), 0, "DBSIZE after FLUSHDB")
    expect(r.keys(), [], "KEYS after FLUSHDB")
    r.set("x", "1")
    expect(r.flushdb(asynchronous=True), True, "FLUSHDB ASYNC")
    expect(r.dbsize(), 0, "DBSIZE after FLUSHDB ASYNC")


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def popped_reply(*items):
    """A blocking pop's [key, element] or [key, member, score] as redis-py shapes it: a
    tuple over RESP2, a list over RESP3."""
    return tuple(items) if PROTOCOL == 2 else list(items)


def score_pairs(pairs):
    """Member/score pairs as redis-py gives them: tuples over RESP2, lists over RESP3 (the
    scores are floats either way)."""
    return [tuple(pair) if PROTOCOL == 2 else list(pair) for pair in pairs]


def check_hashes(port):
    r = connect(port, decode_responses=True)
    expect(r.hset("h", mapping={"name": "ada", "age": "36", "lang": "en"}), 3, "HSET mapping")
    expect(r.hset("h", "age", "37"), 0, "HSET of an existing field")
    expect(r.hset("h", key="city", value="london", mapping={"x": "1"}), 2, "HSET key and mapping")
    expect(
        r.hgetall("h"),
        {"name": "ada", "age": "37", "lang": "en", "city": "london", "x": "1"},
        "HGETALL",
    )
    expect(r.hget("h", "name"), "ada", "HGET")
    expect(r.hget("h", "missing"), None, "HGET of a missing field")
    expect(r.hmget("h", ["name", "missing", "x"]), ["ada", None, "1"], "HMGET")
    expect(r.hlen("h"), 5, "HLEN")
    expect(r.hexists("h", "lang"), True, "HEXISTS")
    expect(r.hexists("h", "nope"), False, "HEXISTS of a missing field")
    expect(r.hincrby("h", "age", 5), 42, "HINCRBY")
    expect(r.hincrby("h", "visits", -3), -3, "HINCRBY of a missing field")
    expect(r.hincrbyfloat("h", "x", 0.5), 1.5, "HINCRBYFLOAT")
    expect(r.hsetnx("h", "name", "bob"), False, "HSETNX of an existing field")
    expect(r.hsetnx("h", "nick", "ad"), True, "HSETNX of a new field")
    expect(r.hdel("h", "lang", "missing"), 1, "HDEL")
    expect(sorted(r.hkeys("h")), ["age", "city", "name", "nick", "visits", "x"], "HKEYS")
    expect(r.hstrlen("h", "city"), 6, "HSTRLEN")
    expect(
        dict(r.hscan_iter("h", match="n*")), {"name": "ada", "nick": "ad"}, "hscan_iter MATCH n*"
    )
    expect(len(dict(r.hscan_iter("h"))), 6, "hscan_iter over every field")
    expect(r.hgetall("missing"), {}, "HGETALL of a missing key")
    expect(r.type("h"), "hash", "TYPE of a hash")
    expect_error(
        lambda: r.hincrby("h", "name", 1), "hash value is not an integer", "HINCRBY of text"
    )
    big = connect(port, decode_responses=True)
    fields = {f"f{index}": str(index) for index in range(300)}
    expect(big.hset("big", mapping=fields), 300, "HSET of 300 fields")
    expect(big.hgetall("big"), fields, "HGETALL of 300 fields")
    expect(dict(big.hscan_iter("big", count=20)), fields, "hscan_iter of 300 fields")


def check_lists(port):
    r = connect(port, decode_responses=True)
    expect(r.rpush("l", "a", "b", "c"), 3, "RPUSH")
    expect(r.lpush("l", "z", "y"), 5, "LPUSH")
    expect(r.lrange("l", 0, -1), ["y", "z", "a", "b", "c"], "LRANGE 0 -1")
    expect(r.lrange("l", 1, 2), ["z", "a"], "LRANGE 1 2")
    expect(r.lrange("l", -2, 100), ["b", "c"], "LRANGE -2 100")
    expect(r.llen("l"), 5, "LLEN")
    expect(r.lindex("l", -1), "c", "LINDEX -1")
    expect(r.lpop("l"), "y", "LPOP")
    expect(r.lpop("l", 2), ["z", "a"], "LPOP with a count")
    expect(r.rpop("l"), "c", "RPOP")
    expect(r.lpop("missing"), None, "LPOP of a missing key")
    expect(r.lpop("missing", 2), None, "LPOP with a count of a missing key")
    expect(r.rpush("l", "x", "b", "y", "b"), 5, "RPUSH more")
    expect(r.lpos("l", "b"), 0, "LPOS")
    expect(r.lpos("l", "b", rank=2), 2, "LPOS RANK 2")
    expect(r.lpos("l", "b", count=0), [0, 2, 4], "LPOS COUNT 0")
    expect(r.lrem("l", 0, "b"), 3, "LREM")
    expect(r.linsert("l", "before", "y", "w"), 3, "LINSERT BEFORE")
    expect(r.lset("l", 0, "X"), True, "LSET")
    expect(r.lrange("l", 0, -1), ["X", "w", "y"], "LRANGE after LREM, LINSERT, LSET")
    expect(r.ltrim("l", 1, -1), True, "LTRIM")
    expect(r.lmove("l", "other", "LEFT", "RIGHT"), "w", "LMOVE")
    expect(r.lrange("other", 0, -1), ["w"], "LMOVE's target")
    expect(r.rpoplpush("l", "other"), "y", "RPOPLPUSH")
    expect(r.exists("l"), 0, "a list popped empty is gone")
    expect(r.type("other"), "list", "TYPE of a list")
    expect(
        r.lmpop(2, "missing", "other", direction="RIGHT", count=5),
        ["other", ["w", "y"]],
        "LMPOP",
    )
    expect_error(lambda: r.lset("nothing", 0, "v"), "no such key", "LSET of a missing key")
    numbers = [str(index) for index in range(500)]
    expect(r.rpush("n", *numbers), 500, "RPUSH of 500")
    expect(r.lrange("n", 0, -1), numbers, "LRANGE of 500")


def check_blocking_list_pops(port):
    r = connect(port, decode_responses=True)
    pusher = client(port, decode_responses=True)

    def push_later(*calls):
        def run():
            for call in calls:
                time.sleep(0.2)
                call()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    pushing = push_later(lambda: pusher.rpush("queue", "job1", "job2"))
    started = time.monotonic()
    popped = r.blpop(["empty", "queue"], timeout=5)
    waited = time.monotonic() - started
    pushing.join()
    expect(popped, popped_reply("queue", "job1"), "BLPOP served by a push from another client")
    expect_true(0.1 <= waited < 4, f"BLPOP waited {waited:.3f}s for a push after 0.2s")
    expect(r.lrange("queue", 0, -1), ["job2"], "what BLPOP left")
    expect(r.brpop(["queue"], timeout=1), popped_reply("queue", "job2"), "BRPOP of a ready one")
    started = time.monotonic()
    expect(r.blpop(["empty"], timeout=0.3), None, "BLPOP timing out")
    waited = time.monotonic() - started
    expect_true(0.25 <= waited < 3, f"BLPOP with timeout 0.3 waited {waited:.3f}s")
    pushing = push_later(lambda: pusher.lpush("source", "moved"))
    expect(r.blmove("source", "target", 5, "LEFT", "RIGHT"), "moved", "BLMOVE")
    pushing.join()
    expect(r.lrange("target", 0, -1), ["moved"], "BLMOVE's target")
    expect(r.blmove("source", "target", 0.2, "LEFT", "RIGHT"), None, "BLMOVE timing out")
    pushing = push_later(lambda: pusher.rpush("m2", "a", "b", "c"))
    expect(r.blmpop(5, 2, "m1", "m2", direction="LEFT", count=2), ["m2", ["a", "b"]], "BLMPOP")
    pushing.join()
    expect(r.blmpop(0.2, 1, "m1", direction="LEFT"), None, "BLMPOP timing out")


def check_sets(port):
    r = connect(port, decode_responses=True)
    expect(r.sadd("s", "apple", "banana", "cherry", "apple"), 3, "SADD with a repeat")
    expect(r.sadd("s", "banana", "date"), 1, "SADD of one new member")
    expect(sorted(r.smembers("s")), ["apple", "banana", "cherry", "date"], "SMEMBERS")
    expect(r.smembers("s"), {"apple", "banana", "cherry", "date"}, "SMEMBERS as a set")
    expect(r.sismember("s", "cherry"), True, "SISMEMBER")
    expect(r.sismember("s", "kiwi"), False, "SISMEMBER of a missing member")
    expect(r.smismember("s", ["apple", "kiwi"]), [True, False], "SMISMEMBER")
    expect(r.scard("s"), 4, "SCARD")
    r.sadd("t", "banana", "date", "fig")
    expect(r.sinter("s", "t"), {"banana", "date"}, "SINTER")
    expect(r.sunion("s", "t"), {"apple", "banana", "cherry", "date", "fig"}, "SUNION")
    expect(r.sdiff("s", "t"), {"apple", "cherry"}, "SDIFF")
    expect(r.sintercard(2, ["s", "t"]), 2, "SINTERCARD")
    expect(r.sinterstore("both", ["s", "t"]), 2, "SINTERSTORE")
    expect(r.smembers("both"), {"banana", "date"}, "SINTERSTORE's result")
    expect(r.srem("s", "apple", "kiwi"), 1, "SREM")
    expect(r.smove("s", "t", "cherry"), True, "SMOVE")
    expect(r.smembers("t"), {"banana", "cherry", "date", "fig"}, "SMOVE's target")
    expect(set(r.sscan_iter("t", match="*a*")), {"banana", "date"}, "sscan_iter MATCH *a*")
    expect(set(r.sscan_iter("t")), {"banana", "cherry", "date", "fig"}, "sscan_iter")
    popped = r.spop("both")
    expect_true(popped in {"banana", "date"}, f"SPOP: {popped!r}")
    expect(r.scard("both"), 1, "SCARD after SPOP")
    expect(r.type("t"), "set", "TYPE of a set")
    # An integer set comes back in numeric order from both (Redis's intset).
    r.sadd("ints", 30, -5, 7, 100, 0)
    expect(r.sort("ints"), ["-5", "0", "7", "30", "100"], "SORT of an integer set")
    expect(r.sscan("ints", 0), (0, ["-5", "0", "7", "30", "100"]), "SSCAN of an integer set")
    expect(r.smembers("missing"), set(), "SMEMBERS of a missing key")


def check_sorted_sets(port):
    r = connect(port, decode_responses=True)
    expect(r.zadd("z", {"a": 1, "b": 2.5, "c": -1}), 3, "ZADD of a dict")
    expect(r.zadd("z", {"a": 10, "d": 4}, nx=True), 1, "ZADD NX")
    expect(r.zscore("z", "a"), 1.0, "ZADD NX leaves an existing score")
    expect(r.zadd("z", {"b": 1, "d": 5}, gt=True, ch=True), 1, "ZADD GT CH")
    expect(r.zscore("z", "b"), 2.5, "ZADD GT keeps the greater score")
    expect(r.zadd("z", {"e": 7}, xx=True), 0, "ZADD XX of a new member")
    expect(
        r.zrange("z", 0, -1, withscores=True),
        score_pairs([("c", -1.0), ("a", 1.0), ("b", 2.5), ("d", 5.0)]),
        "ZRANGE WITHSCORES",
    )
    scores = [score for _, score in r.zrange("z", 0, -1, withscores=True)]
    expect_true(all(isinstance(score, float) for score in scores), f"scores are floats: {scores!r}")
    expect(r.zrange("z", 0, 1, desc=True), ["d", "b"], "ZRANGE DESC")
    expect(r.zrangebyscore("z", 0, "+inf"), ["a", "b", "d"], "ZRANGEBYSCORE 0 +inf")
    expect(r.zrangebyscore("z", "(1", 5), ["b", "d"], "ZRANGEBYSCORE (1 5")
    expect(r.zrevrangebyscore("z", 5, "-inf", start=1, num=2), ["b", "a"], "ZREVRANGEBYSCORE LIMIT")
    expect(r.zincrby("z", 0.25, "a"), 1.25, "ZINCRBY")
    expect(r.zincrby("z", 3, "new"), 3.0, "ZINCRBY of a new member")
    expect(r.zincrby("z", 0.1, "new"), 3.1, "ZINCRBY to an inexact score")
    expect(r.zscore("z", "new"), 3.1, "ZSCORE of an inexact score")
    expect(r.zrank("z", "b"), 2, "ZRANK")
    expect(r.zrevrank("z", "b"), 2, "ZREVRANK")
    expect(r.zcard("z"), 5, "ZCARD")
    expect(r.zcount("z", 1, 3.1), 3, "ZCOUNT")
    expect(r.zmscore("z", ["a", "missing"]), [1.25, None], "ZMSCORE")
    # Without a count RESP3 replies the one pair flat, and redis-py passes that through.
    single = score_pairs([("c", -1.0)]) if PROTOCOL == 2 else ["c", -1.0]
    expect(r.zpopmin("z"), single, "ZPOPMIN")
    expect(r.zpopmin("z", 2), score_pairs([("a", 1.25), ("b", 2.5)]), "ZPOPMIN with a count")
    single = score_pairs([("d", 5.0)]) if PROTOCOL == 2 else ["d", 5.0]
    expect(r.zpopmax("z"), single, "ZPOPMAX")
    expect(r.zrem("z", "new", "missing"), 1, "ZREM")
    expect(r.exists("z"), 0, "a sorted set emptied is gone")
    r.zadd("lex", {"alpha": 0, "beta": 0, "gamma": 0})
    expect(r.zrangebylex("lex", "[b", "+"), ["beta", "gamma"], "ZRANGEBYLEX")
    r.zadd("other", {"beta": 2, "delta": 1})
    expect(r.zunionstore("u", {"lex": 1, "other": 10}), 4, "ZUNIONSTORE with weights")
    expect(
        r.zrange("u", 0, -1, withscores=True),
        score_pairs([("alpha", 0.0), ("gamma", 0.0), ("delta", 10.0), ("beta", 20.0)]),
        "ZUNIONSTORE's result",
    )
    expect(
        dict(r.zscan_iter("u", match="*a")),
        {"alpha": 0.0, "gamma": 0.0, "delta": 10.0, "beta": 20.0},
        "zscan_iter",
    )
    expect(r.type("u"), "zset", "TYPE of a sorted set")
    # redis-py refuses nx with gt itself, so the server's error is reached through a command.
    expect_error(
        lambda: r.execute_command("ZADD", "u", "NX", "GT", 1, "x"),
        "GT, LT, and/or NX options at the same time are not compatible",
        "ZADD NX GT",
    )


def check_blocking_zset_pops(port):
    r = connect(port, decode_responses=True)
    pusher = client(port, decode_responses=True)

    def add_later():
        time.sleep(0.2)
        pusher.zadd("zq", {"low": 1, "high": 9})

    adding = threading.Thread(target=add_later)
    adding.start()
    popped = r.bzpopmin(["zempty", "zq"], timeout=5)
    adding.join()
    expect(popped, popped_reply("zq", "low", 1.0), "BZPOPMIN served by ZADD from another client")
    expect(r.bzpopmax("zq", timeout=1), popped_reply("zq", "high", 9.0), "BZPOPMAX of a ready one")
    expect(r.bzpopmin("zq", timeout=0.2), None, "BZPOPMIN timing out")
    r.zadd("zm", {"a": 1, "b": 2, "c": 3})
    # redis-py parses BZMPOP's scores only over RESP3 (RESP3 doubles); RESP2 leaves them text.
    pairs = [["c", "3"], ["b", "2"]] if PROTOCOL == 2 else [["c", 3.0], ["b", 2.0]]
    expect(r.bzmpop(1, 1, ["zm"], max=True, count=2), ["zm", pairs], "BZMPOP MAX")


def check_sort(port):
    r = connect(port, decode_responses=True)
    r.rpush("ids", 3, 1, 10, 2)
    expect(r.sort("ids"), ["1", "2", "3", "10"], "SORT")
    expect(r.sort("ids", desc=True, start=0, num=2), ["10", "3"], "SORT DESC LIMIT")
    expect(r.sort("ids", alpha=True), ["1", "10", "2", "3"], "SORT ALPHA")
    users = {1: ("ada", 3), 2: ("bob", 1), 3: ("cy", 4), 10: ("dee", 2)}
    for identifier, (name, rank) in users.items():
        r.hset(f"user:{identifier}", mapping={"name": name, "rank": rank})
    expect(
        r.sort("ids", by="user:*->rank", get="user:*->name"),
        ["bob", "dee", "ada", "cy"],
        "SORT BY GET",
    )
    expect(
        r.sort("ids", by="user:*->rank", get=["#", "user:*->name"], groups=True),
        [("2", "bob"), ("10", "dee"), ("1", "ada"), ("3", "cy")],
        "SORT GET # GET ... groups",
    )
    expect(r.sort("ids", store="sorted"), 4, "SORT STORE")
    expect(r.lrange("sorted", 0, -1), ["1", "2", "3", "10"], "SORT STORE's list")
    r.zadd("zs", {"x": 3, "y": 1, "z": 2})
    expect(r.sort("zs", alpha=True, desc=True), ["z", "y", "x"], "SORT of a sorted set")
    expect(r.sort_ro("ids", desc=True), ["10", "3", "2", "1"], "SORT_RO")
    r.rpush("words", "pear", "fig")
    expect_error(
        lambda: r.sort("words"),
        "One or more scores can't be converted into double",
        "SORT of text",
    )


def check_collection_pipelines_and_wrongtype(port):
    r = connect(port, decode_responses=True)
    pipe = r.pipeline(transaction=False)
    pipe.hset("h", mapping={"f": "1"}).rpush("l", "a", "b").sadd("s", "x", "y")
    pipe.zadd("z", {"m": 2.5}).hincrby("h", "f", 1).lrange("l", 0, -1).scard("s")
    pipe.zscore("z", "m").type("h").type("l").type("s").type("z")
    expect(
        pipe.execute(),
        [1, 2, 2, 1, 2, ["a", "b"], 2, 2.5, "hash", "list", "set", "zset"],
        "a pipeline of every collection type",
    )
    with r.pipeline(transaction=True) as pipe:
        pipe.lpush("l", "first").hgetall("h").sismember("s", "x").zincrby("z", 1, "m")
        pipe.lpop("l", 2)
        expect(
            pipe.execute(),
            [3, {"f": "2"}, True, 3.5, ["first", "a"]],
            "MULTI/EXEC over every collection type",
        )
    for call, what in [
        (lambda: r.lpush("h", "x"), "LPUSH on a hash"),
        (lambda: r.hset("l", "f", "v"), "HSET on a list"),
        (lambda: r.get("s"), "GET on a set"),
        (lambda: r.zadd("s", {"m": 1}), "ZADD on a set"),
        (lambda: r.smembers("z"), "SMEMBERS on a sorted set"),
        (lambda: r.blpop(["h"], timeout=1), "BLPOP on a hash"),
    ]:
        error = expect_error(call, WRONGTYPE, what)
        expect_true(type(error) is ResponseError, f"{what}: {type(error).__name__}")
    r.set("text", "v")
    expect_error(lambda: r.hgetall("text"), WRONGTYPE, "HGETALL on a string")
    with r.pipeline(transaction=False) as pipe:
        pipe.rpush("h", "x").hget("h", "f")
        replies = pipe.execute(raise_on_error=False)
    expect_true(isinstance(replies[0], ResponseError), f"WRONGTYPE in a pipeline: {replies[0]!r}")
    expect(str(replies[0]), WRONGTYPE, "WRONGTYPE's text in a pipeline")
    expect(replies[1], "2", "HGET after a WRONGTYPE in a pipeline")


CHECKS = [
    check_ping_and_binary_values,
    check_set_options,
    check_mset_and_counters,
    check_append_and_ranges,
    check_keyspace,
    check_expiry,
    check_scan_iteration,
    check_select_second_database,
    check_pipelines,
    check_transactions,
    check_resp3,
    check_errors,
    check_config_and_info,
    check_client_name_and_flushdb,
    check_hashes,
    check_lists,
    check_blocking_list_pops,
    check_sets,
    check_sorted_sets,
    check_blocking_zset_pops,
    check_sort,
    check_collection_pipelines_and_wrongtype,
]


def check_sentinel(sentinel_port, primary_port, replica_port):
    sentinel = Sentinel([(HOST, sentinel_port)], socket_timeout=5)
    expect(sentinel.discover_master("mymaster"), (HOST, primary_port), "discover_master")
    expect(sentinel.discover_slaves("mymaster"), [(HOST, replica_port)], "discover_slaves")
    primary = sentinel.master_for("mymaster", socket_timeout=5, decode_responses=True)
    expect(primary.flushall(), True, "FLUSHALL through master_for")
    expect(primary.set("k", "v"), True, "SET through master_for")
    expect(primary.hset("h", mapping={"a": "1", "b": "2"}), 2, "HSET through master_for")
    expect(primary.rpush("l", "x", "y"), 2, "RPUSH through master_for")
    expect(primary.zadd("z", {"m": 1.5}), 1, "ZADD through master_for")
    expect(primary.get("k"), "v", "GET through master_for")
    expect(
        primary.execute_command("ROLE")[0], "master", "ROLE of the address master_for chose"
    )
    replica = sentinel.slave_for("mymaster", socket_timeout=5, decode_responses=True)
    deadline = time.monotonic() + 30
    while replica.zscore("z", "m") is None:
        expect_true(time.monotonic() < deadline, "the writes did not reach the replica within 30 s")
        time.sleep(0.05)
    expect(replica.get("k"), "v", "GET through slave_for")
    expect(replica.hgetall("h"), {"a": "1", "b": "2"}, "HGETALL through slave_for")
    expect(replica.lrange("l", 0, -1), ["x", "y"], "LRANGE through slave_for")
    expect(replica.zscore("z", "m"), 1.5, "ZSCORE through slave_for")
    expect(replica.execute_command("ROLE")[0], "slave", "ROLE of the address slave_for chose")
    try:
        replica.set("k", "other")
    except ReadOnlyError as error:
        expect(str(error), "You can't write against a read only replica.", "READONLY's text")
    else:
        raise Mismatch("SET through slave_for was not refused")


def sentinel_main(arguments):
    sentinel_port, primary_port, replica_port = (int(argument) for argument in arguments)
    print(f"redis-py {redis.__version__} Sentinel against 127.0.0.1:{sentinel_port}")
    try:
        check_sentinel(sentinel_port, primary_port, replica_port)
    except Mismatch as mismatch:
        print(f"FAIL sentinel: {mismatch}")
        return 1
    except Exception:  # a client exception is a failure too; show where it came from
        print("FAIL sentinel: unexpected exception")
        traceback.print_exc(file=sys.stdout)
        return 1
    print("ok sentinel")
    return 0


def main():
    global PROTOCOL
    if len(sys.argv) == 5 and sys.argv[1] == "sentinel":
        return sentinel_main(sys.argv[2:])
    if len(sys.argv) != 2:
        print("usage: redis_py_check.py PORT", file=sys.stderr)
        print(
            "       redis_py_check.py sentinel SENTINEL_PORT PRIMARY_PORT REPLICA_PORT",
            file=sys.stderr,
        )
        return 2
    port = int(sys.argv[1])
    print(f"redis-py {redis.__version__} against 127.0.0.1:{port}")
    failed = []
    for PROTOCOL in (2, 3):
        for check in CHECKS:
            name = f"{check.__name__.removeprefix('check_')} (RESP{PROTOCOL})"
            try:
                check(port)
            except Mismatch as mismatch:
                failed.append(name)
                print(f"FAIL {name}: {mismatch}")
            except Exception:  # a client exception is a failure too; show where it came from
                failed.append(name)
                print(f"FAIL {name}: unexpected exception")
                traceback.print_exc(file=sys.stdout)
            else:
                print(f"ok {name}")
    total = 2 * len(CHECKS)
    print(f"redis-py: {total - len(failed)} of {total} checks ok; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
