// ioredis (npm), a client nobody here wrote, against a Redis-protocol server.
//
// Usage: node ioredis_check.js PORT
//
// Runs the string and keyspace workload through ioredis's own API on 127.0.0.1:PORT:
// values (Buffers with NUL bytes too), SET's options, counters, ranges, keyspace commands,
// expiry, SCAN through `scanStream`, a second database, pipelines, MULTI/EXEC with a WATCH
// that another connection breaks, error replies (`ReplyError` with Redis's text), CONFIG
// GET, INFO (ioredis reads it itself for its ready check), CLIENT SETNAME/GETNAME and
// FLUSHDB; then the collection types (issue 12): `hset` of an object and `hgetall`, lists,
// BLPOP/BRPOP/BLMOVE/BZPOPMIN served by a second client's push and timing out to null,
// `smembers` (compared sorted where Redis's order is its hash table's), `zadd` with
// NX/GT and `zrange ... WITHSCORES`, and a pipeline and a MULTI over every type with
// WRONGTYPE as a `ReplyError`. Every check runs three times: over RESP2 (`protocol: 2`),
// over RESP3 with ioredis's default "legacy" reply shapes, and over RESP3 with
// `replyMapping: "resp3"` (maps as objects). Each check starts from an empty server
// (FLUSHALL); all checks run, each prints `ok NAME` or `FAIL NAME` with the reason, and
// the exit code is 1 if any failed. tests/clients_other.rs runs this against Redis and
// against floe.
"use strict";

const path = require("node:path");
const util = require("node:util");

const Redis = require(path.join(__dirname, "node", "node_modules", "ioredis"));
const { ReplyError } = Redis;

const HOST = "127.0.0.1";

class Mismatch extends Error {}

function expect(actual, expected, what) {
  if (!util.isDeepStrictEqual(actual, expected)) {
    throw new Mismatch(
      `${what}: expected ${util.inspect(expected)}, got ${util.inspect(actual)}`,
    );
  }
}

function expectTrue(condition, what) {
  if (!condition) {
    throw new Mismatch(what);
  }
}

// `promise` must reject with a ReplyError whose message is `text`.
async function expectError(promise, text, what) {
  let reply;
  try {
    reply = await promise;
  } catch (error) {
    expectTrue(
      error instanceof ReplyError,
      `${what}: expected a ReplyError, got ${util.inspect(error)}`,
    );
    expect(error.message, text, `${what}: the error's text`);
    return;
  }
  throw new Mismatch(`${what}: expected the error ${text}, got the reply ${util.inspect(reply)}`);
}

// One pass's client options and the clients it opened (closed after each check).
const pass = { options: {}, clients: [] };

function client(port, options = {}) {
  const redis = new Redis({
    host: HOST,
    port,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null, // a lost connection is a failure, not something to hide
    ...pass.options,
    ...options,
  });
  // Errors surface through the commands' promises; without a listener ioredis also prints
  // every connection error as "Unhandled error event".
  redis.on("error", () => {});
  pass.clients.push(redis);
  return redis;
}

async function connect(port, options = {}) {
  const redis = client(port, options);
  expect(await redis.flushall(), "OK", "FLUSHALL");
  return redis;
}

// A map reply: an object under `replyMapping: "resp3"`, a flat array otherwise.
function asObject(reply) {
  if (Array.isArray(reply)) {
    const object = {};
    for (let index = 0; index + 1 < reply.length; index += 2) {
      object[reply[index]] = reply[index + 1];
    }
    return object;
  }
  return reply;
}

// INFO's text as { field: value }; a section header or blank line is skipped.
function parseInfo(text) {
  const fields = {};
  for (const line of text.split("\r\n")) {
    if (line === "" || line.startsWith("#")) {
      continue;
    }
    const colon = line.indexOf(":");
    expectTrue(colon > 0, `an INFO line without a colon: ${util.inspect(line)}`);
    fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

const sleep = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function checkPingAndBinaryValues(port) {
  const redis = await connect(port);
  expect(await redis.ping(), "PONG", "PING");
  expect(await redis.ping("hello"), "hello", "PING with a message");
  expect(await redis.echo("hello"), "hello", "ECHO");
  const value = Buffer.concat([
    Buffer.from("a\x00b\r\n", "latin1"),
    Buffer.from([0xff, 0x00]),
    Buffer.from(Array.from({ length: 256 }, (_, index) => index)),
  ]);
  const key = Buffer.from("bin\x00key", "latin1");
  expect(await redis.set(key, value), "OK", "SET of a binary value under a binary key");
  expect(await redis.getBuffer(key), value, "GET of a binary value");
  expect(await redis.strlen(key), value.length, "STRLEN of a binary value");
  expect(await redis.get("missing"), null, "GET of a missing key");
  expect(await redis.getBuffer("missing"), null, "GET (Buffer) of a missing key");
  expect(await redis.set("empty", ""), "OK", "SET of an empty value");
  expect(await redis.get("empty"), "", "GET of an empty value");
  const big = Buffer.from(Array.from({ length: 200_000 }, (_, index) => index % 251));
  expect(await redis.set("big", big), "OK", "SET of 200 kB");
  expect(await redis.getBuffer("big"), big, "GET of 200 kB");
  expect(await redis.set("text", "héllo wörld ☃"), "OK", "SET of UTF-8");
  expect(await redis.get("text"), "héllo wörld ☃", "GET of UTF-8");
}

async function checkSetOptions(port) {
  const redis = await connect(port);
  expect(await redis.set("k", "v1", "NX"), "OK", "SET NX on a missing key");
  expect(await redis.set("k", "other", "NX"), null, "SET NX on an existing key");
  expect(await redis.get("k"), "v1", "GET after a refused SET NX");
  expect(await redis.set("nope", "v", "XX"), null, "SET XX on a missing key");
  expect(await redis.exists("nope"), 0, "EXISTS after a refused SET XX");
  expect(await redis.set("k", "v2", "XX"), "OK", "SET XX on an existing key");
  expect(await redis.set("k", "v3", "GET"), "v2", "SET GET returns the old value");
  expect(await redis.set("fresh", "v", "GET"), null, "SET GET on a missing key");
  expect(await redis.set("k", "v4", "EX", 100), "OK", "SET EX");
  let ttl = await redis.ttl("k");
  expectTrue(ttl >= 90 && ttl <= 100, `TTL after SET EX 100 is ${ttl}`);
  expect(await redis.set("k", "v5", "KEEPTTL"), "OK", "SET KEEPTTL");
  ttl = await redis.ttl("k");
  expectTrue(ttl >= 90 && ttl <= 100, `TTL after SET KEEPTTL is ${ttl}`);
  expect(await redis.set("k", "v6", "EX", 100, "XX", "GET"), "v5", "SET EX XX GET");
  expect(await redis.set("k", "v7"), "OK", "plain SET");
  expect(await redis.ttl("k"), -1, "a plain SET clears the TTL");
  expect(await redis.set("short", "v", "PX", 150), "OK", "SET PX");
  expect(await redis.setnx("k", "x"), 0, "SETNX on an existing key");
  expect(await redis.setex("sx", 50, "v"), "OK", "SETEX");
  ttl = await redis.ttl("sx");
  expectTrue(ttl >= 40 && ttl <= 50, `TTL after SETEX 50 is ${ttl}`);
  expect(await redis.getset("k", "v8"), "v7", "GETSET");
  expect(await redis.getdel("k"), "v8", "GETDEL");
  expect(await redis.exists("k"), 0, "GETDEL removes the key");
  await sleep(400);
  expect(await redis.get("short"), null, "a key set with PX 150 is gone after 400 ms");
  await expectError(redis.set("k", "v", "NX", "XX"), "ERR syntax error", "SET NX XX");
}

async function checkMsetAndCounters(port) {
  const redis = await connect(port);
  expect(await redis.mset({ m1: "1", m2: "two", m3: "3" }), "OK", "MSET of an object");
  expect(await redis.mset("m4", "4", "m5", "5"), "OK", "MSET of arguments");
  expect(
    await redis.mget("m1", "missing", "m2", "m3", "m5"),
    ["1", null, "two", "3", "5"],
    "MGET",
  );
  expect(await redis.msetnx("m1", "x", "new", "y"), 0, "MSETNX with one existing key");
  expect(await redis.exists("new"), 0, "MSETNX is all or nothing");
  expect(await redis.incr("n"), 1, "INCR of a missing key");
  expect(await redis.incr("n"), 2, "INCR");
  expect(await redis.incrby("n", 40), 42, "INCRBY");
  expect(await redis.decr("n"), 41, "DECR");
  expect(await redis.decrby("n", 50), -9, "DECRBY");
  expect(await redis.get("n"), "-9", "GET of a counter");
  expect(await redis.incrbyfloat("f", 1.5), "1.5", "INCRBYFLOAT of a missing key");
  expect(await redis.incrbyfloat("f", 0.1), "1.6", "INCRBYFLOAT");
  expect(await redis.incrbyfloat("f", -1.6), "0", "INCRBYFLOAT to zero");
  expect(await redis.set("i", "10"), "OK", "SET");
  expect(await redis.incrbyfloat("i", "2.5e3"), "2510", "INCRBYFLOAT with an exponent");
  expect(await redis.set("max", "9223372036854775807"), "OK", "SET of i64::MAX");
  await expectError(
    redis.incr("max"),
    "ERR increment or decrement would overflow",
    "INCR overflow",
  );
  await expectError(
    redis.incr("m2"),
    "ERR value is not an integer or out of range",
    "INCR of text",
  );
  await expectError(
    redis.incrbyfloat("m2", 1),
    "ERR value is not a valid float",
    "INCRBYFLOAT of text",
  );
  expect(await redis.get("m2"), "two", "a refused INCR leaves the value");
}

async function checkAppendAndRanges(port) {
  const redis = await connect(port);
  expect(await redis.append("s", "Hello"), 5, "APPEND to a missing key");
  expect(await redis.append("s", ", World"), 12, "APPEND");
  expect(await redis.get("s"), "Hello, World", "GET after APPEND");
  expect(await redis.strlen("s"), 12, "STRLEN");
  expect(await redis.strlen("missing"), 0, "STRLEN of a missing key");
  expect(await redis.getrange("s", 0, 4), "Hello", "GETRANGE 0 4");
  expect(await redis.getrange("s", -5, -1), "World", "GETRANGE -5 -1");
  expect(await redis.getrange("s", 7, 100), "World", "GETRANGE past the end");
  expect(await redis.getrange("s", 5, 2), "", "GETRANGE with start after end");
  expect(await redis.getrange("missing", 0, -1), "", "GETRANGE of a missing key");
  expect(await redis.setrange("s", 7, "There"), 12, "SETRANGE inside");
  expect(await redis.get("s"), "Hello, There", "GET after SETRANGE");
  expect(await redis.setrange("pad", 5, "x"), 6, "SETRANGE past the end of a missing key");
  expect(
    await redis.getBuffer("pad"),
    Buffer.from([0, 0, 0, 0, 0, 0x78]),
    "SETRANGE pads with NUL bytes",
  );
  await expectError(redis.setrange("s", -1, "x"), "ERR offset is out of range", "SETRANGE -1");
}

async function checkKeyspace(port) {
  const redis = await connect(port);
  await redis.mset({ a: "1", b: "2", c: "3", d: "4", "user:1": "ada", "user:2": "bob" });
  expect(await redis.exists("a", "b", "missing", "a"), 3, "EXISTS counts repeats");
  expect(await redis.del("a", "missing"), 1, "DEL");
  expect(await redis.unlink("b", "c", "missing"), 2, "UNLINK");
  expect(await redis.exists("a", "b", "c"), 0, "EXISTS after DEL and UNLINK");
  expect(await redis.type("d"), "string", "TYPE of a string");
  expect(await redis.type("missing"), "none", "TYPE of a missing key");
  expect(await redis.rename("d", "e"), "OK", "RENAME");
  expect(await redis.get("e"), "4", "GET of the new name");
  expect(await redis.exists("d"), 0, "RENAME removes the old name");
  await expectError(redis.rename("missing", "x"), "ERR no such key", "RENAME of a missing key");
  expect(await redis.renamenx("e", "user:1"), 0, "RENAMENX onto an existing key");
  expect((await redis.keys("user:*")).sort(), ["user:1", "user:2"], "KEYS user:*");
  expect((await redis.keys("*")).sort(), ["e", "user:1", "user:2"], "KEYS *");
  expect(await redis.keys("nothing*"), [], "KEYS with no match");
  expect(await redis.dbsize(), 3, "DBSIZE");
  expect(await redis.touch("e", "missing"), 1, "TOUCH");
  expectTrue(
    ["e", "user:1", "user:2"].includes(await redis.randomkey()),
    "RANDOMKEY is one of the keys",
  );
  expect(await redis.copy("e", "e2"), 1, "COPY");
  expect(await redis.get("e2"), "4", "GET of a copy");
}

async function checkExpiry(port) {
  const redis = await connect(port);
  await redis.set("k", "v");
  expect(await redis.ttl("k"), -1, "TTL of a key without expiry");
  expect(await redis.pttl("k"), -1, "PTTL of a key without expiry");
  expect(await redis.ttl("missing"), -2, "TTL of a missing key");
  expect(await redis.pttl("missing"), -2, "PTTL of a missing key");
  expect(await redis.expire("k", 100), 1, "EXPIRE");
  expect(await redis.expire("missing", 100), 0, "EXPIRE of a missing key");
  const ttl = await redis.ttl("k");
  expectTrue(ttl >= 90 && ttl <= 100, `TTL after EXPIRE 100 is ${ttl}`);
  const pttl = await redis.pttl("k");
  expectTrue(pttl >= 90_000 && pttl <= 100_000, `PTTL after EXPIRE 100 is ${pttl}`);
  expect(await redis.expire("k", 200, "NX"), 0, "EXPIRE NX on a key with a TTL");
  expect(await redis.expire("k", 200, "GT"), 1, "EXPIRE GT with a greater TTL");
  expect(await redis.pexpire("k", 50_000), 1, "PEXPIRE");
  const after = await redis.ttl("k");
  expectTrue(after >= 40 && after <= 50, `TTL after PEXPIRE 50000 is ${after}`);
  expect(await redis.persist("k"), 1, "PERSIST");
  expect(await redis.persist("k"), 0, "PERSIST of a key without expiry");
  expect(await redis.ttl("k"), -1, "TTL after PERSIST");
  const at = Math.floor(Date.now() / 1000) + 1000;
  expect(await redis.expireat("k", at), 1, "EXPIREAT");
  expect(await redis.expiretime("k"), at, "EXPIRETIME");
  await redis.set("gone", "v", "PX", 100);
  await sleep(300);
  expect(await redis.exists("gone"), 0, "an expired key is gone");
  expect(await redis.ttl("gone"), -2, "TTL of an expired key");
  await redis.set("now", "v");
  expect(await redis.expire("now", -1), 1, "EXPIRE with a negative TTL");
  expect(await redis.exists("now"), 0, "EXPIRE with a negative TTL deletes the key");
}

// Every key a scanStream yields, as a Set (SCAN may repeat a key; it must not miss one).
function scanAll(redis, options) {
  return new Promise((resolve, reject) => {
    const keys = new Set();
    const stream = redis.scanStream(options);
    stream.on("data", (page) => {
      for (const key of page) {
        keys.add(key);
      }
    });
    stream.on("end", () => resolve(keys));
    stream.on("error", reject);
  });
}

async function checkScanIteration(port) {
  const redis = await connect(port);
  const pipeline = redis.pipeline();
  for (let index = 0; index < 1000; index += 1) {
    pipeline.set(`scan:${index}`, index);
    pipeline.set(`other:${index}`, index);
  }
  await pipeline.exec();
  const wanted = new Set(Array.from({ length: 1000 }, (_, index) => `scan:${index}`));
  expect(await scanAll(redis, { match: "scan:*", count: 50 }), wanted, "scanStream MATCH scan:*");
  expect((await scanAll(redis, { count: 100 })).size, 2000, "scanStream over every key");
  const typed = await scanAll(redis, { match: "other:1*", type: "string", count: 100 });
  const typedWanted = new Set();
  for (let index = 0; index < 1000; index += 1) {
    if (String(index).startsWith("1")) {
      typedWanted.add(`other:${index}`);
    }
  }
  expect(typed, typedWanted, "scanStream MATCH TYPE string");
  const [cursor, page] = await redis.scan(0, "MATCH", "nothing*", "COUNT", 10);
  expectTrue(typeof cursor === "string", `SCAN's cursor is a string: ${util.inspect(cursor)}`);
  expect(page, [], "a SCAN page of a pattern with no match");
  expect(await redis.dbsize(), 2000, "DBSIZE");
}

async function checkSelectSecondDatabase(port) {
  const zero = await connect(port);
  const one = client(port, { db: 1 });
  expect(await zero.set("where", "zero"), "OK", "SET in db 0");
  expect(await one.set("where", "one"), "OK", "SET in db 1");
  expect(await one.set("only-one", "x"), "OK", "SET in db 1");
  expect(await zero.get("where"), "zero", "GET in db 0");
  expect(await one.get("where"), "one", "GET in db 1");
  expect(await zero.dbsize(), 1, "DBSIZE of db 0");
  expect(await one.dbsize(), 2, "DBSIZE of db 1");
  expect(await zero.exists("only-one"), 0, "a key of db 1 is not in db 0");
  expect(await zero.move("where", 2), 1, "MOVE to db 2");
  expect(await one.flushdb(), "OK", "FLUSHDB of db 1");
  expect(await one.dbsize(), 0, "DBSIZE of db 1 after FLUSHDB");
  expect(await zero.dbsize(), 0, "db 0 after MOVE");
  const switching = client(port);
  expect(await switching.select(2), "OK", "SELECT 2");
  expect(await switching.get("where"), "zero", "GET of a moved key in db 2");
  await expectError(switching.select(16), "ERR DB index is out of range", "SELECT 16");
  expect(await switching.get("where"), "zero", "a refused SELECT keeps the database");
}

async function checkPipelines(port) {
  const redis = await connect(port);
  const pipeline = redis.pipeline();
  for (let index = 0; index < 150; index += 1) {
    pipeline.set(`p:${index}`, index);
  }
  for (let index = 0; index < 150; index += 1) {
    pipeline.incr(`p:${index}`);
  }
  pipeline.dbsize();
  pipeline.mget(Array.from({ length: 150 }, (_, index) => `p:${index}`));
  const replies = await pipeline.exec();
  expect(replies.length, 302, "number of pipeline replies");
  expectTrue(
    replies.every(([error]) => error === null),
    `no errors in the pipeline: ${util.inspect(replies.filter(([error]) => error))}`,
  );
  const values = replies.map(([, value]) => value);
  expect(values.slice(0, 150), Array(150).fill("OK"), "pipelined SET replies");
  expect(
    values.slice(150, 300),
    Array.from({ length: 150 }, (_, index) => index + 1),
    "pipelined INCR replies",
  );
  expect(values[300], 150, "pipelined DBSIZE");
  expect(
    values[301],
    Array.from({ length: 150 }, (_, index) => String(index + 1)),
    "pipelined MGET",
  );

  const mixed = await redis.pipeline().set("text", "x").incr("text").get("text").exec();
  expect(mixed[0], [null, "OK"], "SET before an error in a pipeline");
  expectTrue(
    mixed[1][0] instanceof ReplyError,
    `an error in a pipeline: ${util.inspect(mixed[1])}`,
  );
  expect(
    mixed[1][0].message,
    "ERR value is not an integer or out of range",
    "the error's text in a pipeline",
  );
  expect(mixed[2], [null, "x"], "GET after an error in a pipeline");

  // Many commands in flight without an explicit pipeline: ioredis writes them back to back.
  const counts = await Promise.all(Array.from({ length: 200 }, () => redis.incr("burst")));
  expect(
    counts,
    Array.from({ length: 200 }, (_, index) => index + 1),
    "200 INCRs in flight at once come back in order",
  );
}

async function checkTransactions(port) {
  const redis = await connect(port);
  const other = client(port);
  const replies = await redis.multi().incr("tx").incr("tx").set("tx2", "v").get("tx2").exec();
  expect(replies, [[null, 1], [null, 2], [null, "OK"], [null, "v"]], "MULTI/EXEC");

  await redis.set("balance", 100);
  expect(await redis.watch("balance"), "OK", "WATCH");
  const balance = Number(await redis.get("balance"));
  expect(await other.set("balance", 5000), "OK", "a conflicting write from another connection");
  const aborted = await redis.multi().set("balance", balance - 30).exec();
  expect(aborted, null, "EXEC after a conflicting write to a WATCHed key aborts");
  expect(await redis.get("balance"), "5000", "an aborted EXEC changes nothing");

  expect(await redis.watch("balance"), "OK", "WATCH again");
  const current = Number(await redis.get("balance"));
  const committed = await redis.multi().set("balance", current - 30).get("balance").exec();
  expect(committed, [[null, "OK"], [null, "4970"]], "EXEC with no conflicting write");

  expect(await redis.watch("balance"), "OK", "WATCH before UNWATCH");
  expect(await redis.unwatch(), "OK", "UNWATCH");
  await other.set("balance", 1);
  expect(await redis.multi().set("balance", 2).exec(), [[null, "OK"]], "EXEC after UNWATCH");

  // A queued command with the wrong arity aborts EXEC (EXECABORT).
  let failed = null;
  try {
    await redis.multi().incr("tx").call("GET").exec();
  } catch (error) {
    failed = error;
  }
  expectTrue(failed instanceof ReplyError, `EXECABORT is a ReplyError: ${util.inspect(failed)}`);
  expect(
    failed.message,
    "EXECABORT Transaction discarded because of previous errors.",
    "EXECABORT's text",
  );
  expect(await redis.get("tx"), "2", "an EXECABORT transaction changes nothing");

  // A runtime error inside EXEC is one reply among the others.
  const inside = await redis.multi().set("t", "text").incr("t").get("t").exec();
  expect(inside[0], [null, "OK"], "SET inside EXEC");
  expectTrue(inside[1][0] instanceof ReplyError, `INCR inside EXEC: ${util.inspect(inside[1])}`);
  expect(inside[2], [null, "text"], "GET inside EXEC");

  // MULTI/EXEC inside a pipeline, as ioredis sends `pipeline().multi()...exec()`.
  const nested = await redis.pipeline().set("p", "1").multi().incr("p").incr("p").exec().exec();
  expect(nested[0], [null, "OK"], "SET before MULTI in a pipeline");
  expect(nested[nested.length - 1], [null, [2, 3]], "EXEC's reply inside a pipeline");
}

async function checkProtocol(port) {
  const redis = await connect(port);
  const hello = asObject(await redis.hello());
  const proto = pass.options.protocol ?? 3;
  expect(hello.proto, proto, "HELLO's proto is the pass's protocol");
  expect(hello.server, "redis", "HELLO's server");
  const info = await redis.client("INFO");
  expectTrue(
    new RegExp(`(^| )resp=${proto}( |\n|$)`).test(info),
    `CLIENT INFO says resp=${proto}: ${info}`,
  );
  expect(await redis.get("missing"), null, "a null reply");
  expect(await redis.mget("missing", "missing"), [null, null], "nulls in an array");
}

async function checkErrors(port) {
  const redis = await connect(port);
  await redis.set("text", "abc");
  await expectError(redis.incr("text"), "ERR value is not an integer or out of range", "INCR");
  await expectError(
    redis.call("NOSUCHCOMMAND", "x"),
    "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' ",
    "an unknown command",
  );
  await expectError(
    redis.call("GET"),
    "ERR wrong number of arguments for 'get' command",
    "GET with no key",
  );
  await expectError(
    redis.call("EXPIRE", "text", "soon"),
    "ERR value is not an integer or out of range",
    "EXPIRE with a bad number",
  );
  expect(await redis.ping(), "PONG", "the connection still works after errors");
}

async function checkConfigAndInfo(port) {
  const redis = await connect(port);
  const config = asObject(await redis.config("GET", "maxmemory"));
  expect(Object.keys(config), ["maxmemory"], "CONFIG GET maxmemory's keys");
  expectTrue(/^\d+$/.test(config.maxmemory), `CONFIG GET maxmemory: ${util.inspect(config)}`);
  const several = asObject(await redis.config("GET", "maxmemory*"));
  expectTrue(
    "maxmemory" in several && "maxmemory-policy" in several,
    `CONFIG GET maxmemory*: ${util.inspect(several)}`,
  );
  await redis.mset({ a: "1", b: "2" });
  await redis.set("c", "3", "EX", 100);
  const info = parseInfo(await redis.info());
  for (const field of ["redis_version", "uptime_in_seconds", "connected_clients", "used_memory"]) {
    expectTrue(field in info, `INFO has ${field}: ${Object.keys(info)}`);
  }
  expectTrue(Number(info.connected_clients) >= 1, "connected_clients counts this client");
  expectTrue(/^\d+$/.test(info.used_memory), `used_memory: ${info.used_memory}`);
  expectTrue(/^keys=3(,|$)/.test(info.db0), `INFO's db0: ${util.inspect(info.db0)}`);
  const server = parseInfo(await redis.info("server"));
  expectTrue("redis_version" in server, "INFO server has redis_version");
  expectTrue(!("used_memory" in server), "INFO server has only the server section");
  // ioredis parsed INFO itself for its ready check (`loading:`) before it said ready.
  expect(redis.status, "ready", "ioredis's status after its INFO ready check");
}

async function checkClientNameAndFlushdb(port) {
  const redis = await connect(port);
  expect(await redis.client("GETNAME"), null, "CLIENT GETNAME before SETNAME");
  expect(await redis.client("SETNAME", "floe-check"), "OK", "CLIENT SETNAME");
  expect(await redis.client("GETNAME"), "floe-check", "CLIENT GETNAME");
  await expectError(
    redis.client("SETNAME", "has space"),
    "ERR Client names cannot contain spaces, newlines or special characters.",
    "CLIENT SETNAME with a space",
  );
  const named = client(port, { connectionName: "named-by-ioredis" });
  expect(await named.client("GETNAME"), "named-by-ioredis", "ioredis's connectionName option");
  const list = await named.client("LIST");
  expectTrue(list.includes(" name=named-by-ioredis "), `CLIENT LIST shows the name: ${list}`);
  expectTrue(Number.isInteger(await named.client("ID")), "CLIENT ID");
  await redis.mset({ a: "1", b: "2" });
  expect(await redis.dbsize(), 2, "DBSIZE before FLUSHDB");
  expect(await redis.flushdb(), "OK", "FLUSHDB");
  expect(await redis.dbsize(), 0, "DBSIZE after FLUSHDB");
  expect(await redis.keys("*"), [], "KEYS after FLUSHDB");
  await redis.set("x", "1");
  expect(await redis.flushdb("ASYNC"), "OK", "FLUSHDB ASYNC");
  expect(await redis.dbsize(), 0, "DBSIZE after FLUSHDB ASYNC");
}

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

// Which reply shapes this pass gets: "resp2", "legacy" (RESP3 flattened to RESP2's shapes
// by ioredis) or "resp3" (`replyMapping: "resp3"`).
function shapes() {
  if ((pass.options.protocol ?? 3) === 2) {
    return "resp2";
  }
  return pass.options.replyMapping === "resp3" ? "resp3" : "legacy";
}

// `[member, score, ...]` as this pass's client gives WITHSCORES replies.
function scorePairs(pairs) {
  if (shapes() === "resp3") {
    return pairs.map(([member, score]) => [member, score]);
  }
  return pairs.flatMap(([member, score]) => [member, String(score)]);
}

async function checkHashes(port) {
  const redis = await connect(port);
  expect(await redis.hset("h", { name: "ada", age: "36", lang: "en" }), 3, "HSET of an object");
  expect(await redis.hset("h", "age", "37", "city", "london"), 1, "HSET of pairs");
  expect(
    await redis.hgetall("h"),
    { name: "ada", age: "37", lang: "en", city: "london" },
    "HGETALL",
  );
  expect(await redis.hget("h", "name"), "ada", "HGET");
  expect(await redis.hmget("h", "name", "missing"), ["ada", null], "HMGET");
  expect(await redis.hincrby("h", "age", 5), 42, "HINCRBY");
  expect(await redis.hincrbyfloat("h", "score", "1.5"), "1.5", "HINCRBYFLOAT");
  expect(await redis.hdel("h", "lang", "missing"), 1, "HDEL");
  expect(await redis.hlen("h"), 4, "HLEN");
  expect(await redis.hexists("h", "city"), 1, "HEXISTS");
  expect((await redis.hkeys("h")).sort(), ["age", "city", "name", "score"], "HKEYS");
  expect(await redis.hgetall("missing"), {}, "HGETALL of a missing key");
  expect(await redis.type("h"), "hash", "TYPE of a hash");
  const [cursor, page] = await redis.hscan("h", 0, "MATCH", "c*");
  expect([cursor, page], ["0", ["city", "london"]], "HSCAN MATCH c*");
  await expectError(
    redis.hincrby("h", "name", 1),
    "ERR hash value is not an integer",
    "HINCRBY of text",
  );
}

async function checkLists(port) {
  const redis = await connect(port);
  expect(await redis.rpush("l", "a", "b", "c"), 3, "RPUSH");
  expect(await redis.lpush("l", "z", "y"), 5, "LPUSH");
  expect(await redis.lrange("l", 0, -1), ["y", "z", "a", "b", "c"], "LRANGE 0 -1");
  expect(await redis.lpop("l", 2), ["y", "z"], "LPOP with a count");
  expect(await redis.rpop("l"), "c", "RPOP");
  expect(await redis.llen("l"), 2, "LLEN");
  expect(await redis.lindex("l", 1), "b", "LINDEX");
  expect(await redis.lmove("l", "other", "RIGHT", "LEFT"), "b", "LMOVE");
  expect(await redis.lrange("other", 0, -1), ["b"], "LMOVE's target");
  expect(await redis.lpop("missing"), null, "LPOP of a missing key");
  expect(await redis.type("l"), "list", "TYPE of a list");
  const values = Array.from({ length: 300 }, (_, index) => `v${index}`);
  expect(await redis.rpush("long", ...values), 300, "RPUSH of 300");
  expect(await redis.lrange("long", 0, -1), values, "LRANGE of 300");
}

async function checkBlockingPops(port) {
  const redis = await connect(port);
  const pusher = client(port);
  const started = Date.now();
  const popping = redis.blpop("empty", "queue", 5);
  await sleep(200);
  expect(await pusher.rpush("queue", "job1", "job2"), 2, "RPUSH from another client");
  expect(await popping, ["queue", "job1"], "BLPOP served by a push from another client");
  const waited = Date.now() - started;
  expectTrue(waited >= 150 && waited < 4000, `BLPOP waited ${waited} ms for a push after 200`);
  expect(await redis.brpop("queue", 1), ["queue", "job2"], "BRPOP of a ready element");
  const before = Date.now();
  expect(await redis.blpop("empty", 0.3), null, "BLPOP timing out");
  const timedOut = Date.now() - before;
  expectTrue(timedOut >= 250 && timedOut < 3000, `BLPOP 0.3 waited ${timedOut} ms`);
  const moving = redis.blmove("source", "target", "LEFT", "RIGHT", 5);
  await sleep(100);
  await pusher.lpush("source", "moved");
  expect(await moving, "moved", "BLMOVE");
  expect(await redis.lrange("target", 0, -1), ["moved"], "BLMOVE's target");
  const zpopping = redis.bzpopmin("zempty", "zq", 5);
  await sleep(100);
  expect(await pusher.zadd("zq", 9, "high", 1, "low"), 2, "ZADD from another client");
  expect(
    await zpopping,
    shapes() === "resp3" ? ["zq", "low", 1] : ["zq", "low", "1"],
    "BZPOPMIN served by a ZADD from another client",
  );
  expect(await redis.bzpopmin("zempty", 0.2), null, "BZPOPMIN timing out");
}

async function checkSets(port) {
  const redis = await connect(port);
  expect(await redis.sadd("s", "apple", "banana", "cherry", "apple"), 3, "SADD with a repeat");
  expect((await redis.smembers("s")).sort(), ["apple", "banana", "cherry"], "SMEMBERS");
  expect(await redis.sismember("s", "banana"), 1, "SISMEMBER");
  expect(await redis.sismember("s", "kiwi"), 0, "SISMEMBER of a missing member");
  expect(await redis.scard("s"), 3, "SCARD");
  await redis.sadd("t", "banana", "fig");
  expect(await redis.sinter("s", "t"), ["banana"], "SINTER");
  expect((await redis.sunion("s", "t")).sort(), ["apple", "banana", "cherry", "fig"], "SUNION");
  expect(await redis.sadd("ints", 30, -5, 7), 3, "SADD of integers");
  expect(await redis.smembers("ints"), ["-5", "7", "30"], "SMEMBERS of an integer set");
  expect(await redis.srem("s", "apple"), 1, "SREM");
  expect(await redis.type("s"), "set", "TYPE of a set");
  expect(await redis.smembers("missing"), [], "SMEMBERS of a missing key");
}

async function checkSortedSets(port) {
  const redis = await connect(port);
  expect(await redis.zadd("z", 1, "a", 2.5, "b", -1, "c"), 3, "ZADD");
  expect(await redis.zadd("z", "NX", 10, "a", 4, "d"), 1, "ZADD NX");
  expect(await redis.zadd("z", "GT", "CH", 1, "b", 5, "d"), 1, "ZADD GT CH");
  expect(
    await redis.zrange("z", 0, -1, "WITHSCORES"),
    scorePairs([["c", -1], ["a", 1], ["b", 2.5], ["d", 5]]),
    "ZRANGE WITHSCORES",
  );
  expect(await redis.zrange("z", "(1", "+inf", "BYSCORE"), ["b", "d"], "ZRANGE BYSCORE");
  expect(await redis.zrange("z", 0, 0, "REV"), ["d"], "ZRANGE REV");
  const incremented = await redis.zincrby("z", "0.1", "a");
  expect(
    incremented,
    shapes() === "resp3" ? 1.1 : "1.1000000000000001",
    "ZINCRBY to an inexact score",
  );
  expect(await redis.zscore("z", "d"), shapes() === "resp3" ? 5 : "5", "ZSCORE");
  expect(await redis.zrank("z", "b"), 2, "ZRANK");
  expect(await redis.zcard("z"), 4, "ZCARD");
  expect(
    await redis.zpopmin("z", 2),
    // Redis 7.0 writes a double as `%.17g`; RESP3 sends the same digits as a double.
    shapes() === "resp3" ? [["c", -1], ["a", 1.1]] : ["c", "-1", "a", "1.1000000000000001"],
    "ZPOPMIN with a count",
  );
  expect(await redis.type("z"), "zset", "TYPE of a sorted set");
  await expectError(
    redis.zadd("z", "NX", "GT", 1, "x"),
    "ERR GT, LT, and/or NX options at the same time are not compatible",
    "ZADD NX GT",
  );
}

async function checkCollectionPipelines(port) {
  const redis = await connect(port);
  const replies = await redis
    .pipeline()
    .hset("h", { f: "1" })
    .rpush("l", "a", "b")
    .sadd("s", "x")
    .zadd("z", 2.5, "m")
    .hgetall("h")
    .lrange("l", 0, -1)
    .smembers("s")
    .zrange("z", 0, -1, "WITHSCORES")
    .type("h")
    .type("z")
    .exec();
  expect(
    replies,
    [
      [null, 1],
      [null, 2],
      [null, 1],
      [null, 1],
      [null, { f: "1" }],
      [null, ["a", "b"]],
      [null, ["x"]],
      [null, scorePairs([["m", 2.5]])],
      [null, "hash"],
      [null, "zset"],
    ],
    "a pipeline of every collection type",
  );
  const transaction = await redis
    .multi()
    .lpush("l", "first")
    .hincrby("h", "f", 2)
    .sismember("s", "x")
    .zincrby("z", 1, "m")
    .lpop("l", 2)
    .hgetall("h")
    .exec();
  expect(
    transaction,
    [
      [null, 3],
      [null, 3],
      [null, 1],
      [null, shapes() === "resp3" ? 3.5 : "3.5"],
      [null, ["first", "a"]],
      [null, { f: "3" }],
    ],
    "MULTI/EXEC over every collection type",
  );
  await expectError(redis.lpush("h", "x"), WRONGTYPE, "LPUSH on a hash");
  await expectError(redis.hgetall("l"), WRONGTYPE, "HGETALL on a list");
  await expectError(redis.zadd("s", 1, "m"), WRONGTYPE, "ZADD on a set");
  await expectError(redis.blpop("z", 1), WRONGTYPE, "BLPOP on a sorted set");
  const mixed = await redis.pipeline().sadd("h", "x").hget("h", "f").exec();
  expectTrue(
    mixed[0][0] instanceof ReplyError,
    `WRONGTYPE in a pipeline: ${util.inspect(mixed[0])}`,
  );
  expect(mixed[0][0].message, WRONGTYPE, "WRONGTYPE's text in a pipeline");
  expect(mixed[1], [null, "3"], "HGET after a WRONGTYPE in a pipeline");
}

const CHECKS = [
  checkPingAndBinaryValues,
  checkSetOptions,
  checkMsetAndCounters,
  checkAppendAndRanges,
  checkKeyspace,
  checkExpiry,
  checkScanIteration,
  checkSelectSecondDatabase,
  checkPipelines,
  checkTransactions,
  checkProtocol,
  checkErrors,
  checkConfigAndInfo,
  checkClientNameAndFlushdb,
  checkHashes,
  checkLists,
  checkBlockingPops,
  checkSets,
  checkSortedSets,
  checkCollectionPipelines,
];

const PASSES = [
  { name: "RESP2", options: { protocol: 2 } },
  { name: "RESP3", options: { protocol: 3 } },
  { name: "RESP3 resp3-mapping", options: { protocol: 3, replyMapping: "resp3" } },
];

async function main() {
  if (process.argv.length !== 3) {
    console.error("usage: node ioredis_check.js PORT");
    return 2;
  }
  const port = Number(process.argv[2]);
  const version = require(path.join(__dirname, "node", "node_modules", "ioredis", "package.json"))
    .version;
  console.log(`ioredis ${version} against ${HOST}:${port}`);
  const failed = [];
  for (const { name: passName, options } of PASSES) {
    pass.options = options;
    for (const check of CHECKS) {
      const name = `${check.name.replace(/^check/, "")} (${passName})`;
      try {
        await check(port);
        console.log(`ok ${name}`);
      } catch (error) {
        failed.push(name);
        if (error instanceof Mismatch) {
          console.log(`FAIL ${name}: ${error.message}`);
        } else {
          console.log(`FAIL ${name}: unexpected exception`);
          console.log(error && error.stack ? error.stack : util.inspect(error));
        }
      } finally {
        for (const redis of pass.clients) {
          redis.disconnect();
        }
        pass.clients = [];
      }
    }
  }
  const total = PASSES.length * CHECKS.length;
  const names = failed.join(", ") || "none";
  console.log(`ioredis: ${total - failed.length} of ${total} checks ok; failed: ${names}`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.log(`ioredis check crashed: ${error && error.stack ? error.stack : error}`);
    process.exitCode = 1;
  },
);
