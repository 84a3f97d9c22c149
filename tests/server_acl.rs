//! ACL users on every door of `floe serve`: users, categories, key patterns, AUTH and its
//! failures (counted and in ACL LOG), ACL SAVE then a restart with `--aclfile`, HTTP's 401
//! and 403, Pizzaria's `auth user pass`; and the ACL replies that Redis 7.0 (installed
//! here) shares with Redis 7.2 compared byte for byte against a real redis-server.
//!
//! The checks of ACL DRYRUN and GENPASS, CLIENT LIST's `user=`, the connections ACL
//! DELUSER, LOAD and SETUSER close, EXEC's second look at queued commands and selectors
//! run against
//! a real redis-server too (`redis_behaves_as_the_checks_say`), so they pin Redis's
//! behaviour rather than floe's idea of it.
//!
//! floe answers NOPERM with Redis 7.2's texts (`User alice has no permissions to run the
//! 'set' command`, `No permissions to access a key`); Redis 7.0 words them differently,
//! so those are pinned here rather than compared.

mod common;

use std::time::Duration;

use common::server::{Client, Server, Target, escape};

common::server::against_floe_loops!(
    categories_commands_and_keys,
    multi_fails_on_a_denied_command,
    auth_failures_are_counted_and_logged,
    requirepass_is_the_default_users_password,
    acl_save_survives_a_restart,
    http_needs_credentials_and_permission,
    pizzaria_logs_in_as_a_user,
    dry_run_and_generated_passwords,
    client_list_names_the_user,
    deleted_users_connections_close,
    acl_load_closes_every_users_connections_but_defaults,
    subscribers_to_what_a_user_lost_close,
    exec_checks_queued_commands_again,
    selectors_allow_what_one_of_them_allows,
);

/// The checks below hold for Redis 7.0 too: run against a real redis-server, they prove
/// they pin Redis's behaviour.
#[test]
fn redis_behaves_as_the_checks_say() {
    dry_run_and_generated_passwords(Target::Redis);
    client_list_names_the_user(Target::Redis);
    deleted_users_connections_close(Target::Redis);
    acl_load_closes_every_users_connections_but_defaults(Target::Redis);
    subscribers_to_what_a_user_lost_close(Target::Redis);
    exec_checks_queued_commands_again(Target::Redis);
    selectors_allow_what_one_of_them_allows(Target::Redis);
}

/// How long a connection that is to close may stay open (a bound, not a timing check).
const CLOSE_BOUND: Duration = Duration::from_secs(10);

/// Sends `args` (split on spaces) and returns the raw reply as text.
fn run(client: &mut Client, line: &str) -> String {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    escape(&client.command(&args))
}

fn categories_commands_and_keys(target: Target) {
    let server = target.start();
    let mut admin = server.client();
    assert_eq!(
        run(
            &mut admin,
            "ACL SETUSER alice on >pw ~app:* %R~ro:* -@all +@read +@string -@dangerous +ping"
        ),
        "\"+OK\\r\\n\""
    );
    let mut alice = server.client();
    assert_eq!(run(&mut alice, "AUTH alice pw"), "\"+OK\\r\\n\"");
    assert_eq!(
        run(&mut alice, "ACL WHOAMI"),
        "\"-NOPERM User alice has no permissions to run the 'acl\\x7cwhoami' command\\r\\n\""
    );
    assert_eq!(run(&mut alice, "SET app:1 v"), "\"+OK\\r\\n\"");
    assert_eq!(run(&mut alice, "GET app:1"), "\"$1\\r\\nv\\r\\n\"");
    assert_eq!(run(&mut alice, "GET ro:1"), "\"$-1\\r\\n\"");
    assert_eq!(
        run(&mut alice, "SET ro:1 v"),
        "\"-NOPERM No permissions to access a key\\r\\n\""
    );
    assert_eq!(
        run(&mut alice, "GET other"),
        "\"-NOPERM No permissions to access a key\\r\\n\""
    );
    // SINTERCARD's keys follow numkeys: LIMIT and its value are no keys.
    assert_eq!(
        run(&mut alice, "SINTERCARD 1 app:s LIMIT 5"),
        "\":0\\r\\n\""
    );
    assert_eq!(
        run(&mut alice, "SINTERCARD 2 app:s other"),
        "\"-NOPERM No permissions to access a key\\r\\n\""
    );
    assert_eq!(
        run(&mut alice, "SINTER app:s other"),
        "\"-NOPERM No permissions to access a key\\r\\n\""
    );
    assert_eq!(
        run(&mut alice, "FLUSHALL"),
        "\"-NOPERM User alice has no permissions to run the 'flushall' command\\r\\n\""
    );
    assert_eq!(
        run(&mut alice, "KEYS *"),
        "\"-NOPERM User alice has no permissions to run the 'keys' command\\r\\n\""
    );
    assert_eq!(run(&mut alice, "PING"), "\"+PONG\\r\\n\"");
    // Permissions change at the next command; a deleted user's connections close.
    run(&mut admin, "ACL SETUSER alice -get");
    assert_eq!(
        run(&mut alice, "GET app:1"),
        "\"-NOPERM User alice has no permissions to run the 'get' command\\r\\n\""
    );
    assert_eq!(run(&mut admin, "ACL DELUSER alice"), "\":1\\r\\n\"");
    assert_eq!(alice.read_until_closed(CLOSE_BOUND), b"");
    // The redis crate logs in with AUTH user pass from the URL.
    run(&mut admin, "ACL SETUSER bob on >secret ~* +@all -flushall");
    let url = format!("redis://bob:secret@127.0.0.1:{}/", server.port);
    let mut bob = redis::Client::open(url)
        .expect("URL")
        .get_connection()
        .expect("bob logs in");
    let name: String = redis::cmd("ACL")
        .arg("WHOAMI")
        .query(&mut bob)
        .expect("whoami");
    assert_eq!(name, "bob");
    let denied = redis::cmd("FLUSHALL")
        .query::<()>(&mut bob)
        .expect_err("denied");
    assert_eq!(denied.code(), Some("NOPERM"));
}

fn multi_fails_on_a_denied_command(target: Target) {
    let server = target.start();
    let mut admin = server.client();
    run(&mut admin, "ACL SETUSER carol on >pw ~* +@all -flushdb");
    let mut carol = server.client();
    run(&mut carol, "AUTH carol pw");
    assert_eq!(run(&mut carol, "MULTI"), "\"+OK\\r\\n\"");
    assert_eq!(run(&mut carol, "SET k v"), "\"+QUEUED\\r\\n\"");
    assert_eq!(
        run(&mut carol, "FLUSHDB"),
        "\"-NOPERM User carol has no permissions to run the 'flushdb' command\\r\\n\""
    );
    assert_eq!(
        run(&mut carol, "EXEC"),
        "\"-EXECABORT Transaction discarded because of previous errors.\\r\\n\""
    );
    assert_eq!(run(&mut carol, "GET k"), "\"$-1\\r\\n\"");
    let log = String::from_utf8_lossy(&admin.command(&[b"ACL", b"LOG"])).into_owned();
    assert!(log.contains("multi") && log.contains("flushdb"), "{log}");
}

fn auth_failures_are_counted_and_logged(target: Target) {
    let server = target.start();
    let mut client = server.client();
    run(&mut client, "ACL SETUSER dave on >right +@all ~*");
    let wrong = "\"-WRONGPASS invalid username-password pair or user is disabled.\\r\\n\"";
    assert_eq!(run(&mut client, "AUTH dave wrong"), wrong);
    assert_eq!(run(&mut client, "AUTH nobody wrong"), wrong);
    assert_eq!(run(&mut client, "HELLO 3 AUTH dave wrong"), wrong);
    let info = String::from_utf8_lossy(&client.command(&[b"INFO", b"stats"])).into_owned();
    assert!(info.contains("acl_access_denied_auth:3"), "{info}");
    let log = String::from_utf8_lossy(&client.command(&[b"ACL", b"LOG", b"2"])).into_owned();
    assert!(log.contains("$4\r\nauth\r\n"), "{log}");
    assert!(
        log.contains("$5\r\nHELLO\r\n") && log.contains("$6\r\nnobody\r\n"),
        "{log}"
    );
    assert_eq!(run(&mut client, "ACL LOG RESET"), "\"+OK\\r\\n\"");
    assert_eq!(run(&mut client, "ACL LOG"), "\"*0\\r\\n\"");
    // HELLO 3 AUTH logs in and switches protocol.
    let reply = client.command(&[b"HELLO", b"3", b"AUTH", b"dave", b"right"]);
    assert!(reply.starts_with(b"%"), "{}", escape(&reply));
}

fn requirepass_is_the_default_users_password(target: Target) {
    let mut args = vec!["--persistence", "off", "--requirepass", "s3cret"];
    if target == Target::FloeEpoll {
        args.extend(["--io", "epoll"]);
    }
    let server = Server::floe(&args);
    let mut client = server.client();
    assert_eq!(
        run(&mut client, "PING"),
        "\"-NOAUTH Authentication required.\\r\\n\""
    );
    assert_eq!(run(&mut client, "AUTH s3cret"), "\"+OK\\r\\n\"");
    let list = String::from_utf8_lossy(&client.command(&[b"ACL", b"LIST"])).into_owned();
    // SHA-256 of "s3cret", never the password itself.
    assert!(!list.contains("s3cret"), "{list}");
    assert!(list.contains("user default on #"), "{list}");
    run(&mut client, "CONFIG SET requirepass other");
    let mut second = server.client();
    assert!(run(&mut second, "AUTH default s3cret").contains("WRONGPASS"));
    assert_eq!(run(&mut second, "AUTH default other"), "\"+OK\\r\\n\"");
}

fn acl_save_survives_a_restart(target: Target) {
    let scratch = common::scratch(&format!("acl-file-{}", target.name()));
    let file = scratch.join("users.acl");
    std::fs::write(&file, "user default on nopass ~* &* +@all\n").expect("write the ACL file");
    let file_text = file.display().to_string();
    let mut args = vec!["--persistence", "off", "--aclfile", file_text.as_str()];
    if target == Target::FloeEpoll {
        args.extend(["--io", "epoll"]);
    }
    let mut server = Server::floe(&args);
    let mut client = server.client();
    run(&mut client, "ACL SETUSER erin on >pw %R~r:* +@read");
    assert_eq!(run(&mut client, "ACL SAVE"), "\"+OK\\r\\n\"");
    let saved = std::fs::read_to_string(&file).expect("saved");
    assert!(saved.contains("user erin on #"), "{saved}");
    assert!(!saved.contains(">pw"), "{saved}");
    server.terminate();
    let server = Server::floe(&args);
    let mut client = server.client();
    assert_eq!(run(&mut client, "AUTH erin pw"), "\"+OK\\r\\n\"");
    assert!(run(&mut client, "ACL WHOAMI").contains("NOPERM"));
    // ACL LOAD takes the file back, all or nothing.
    let mut admin = server.client();
    std::fs::write(
        &file,
        "user default on nopass ~* &* +@all\nuser erin on bogus\n",
    )
    .expect("write");
    let failed = run(&mut admin, "ACL LOAD");
    assert!(
        failed.contains(":2: Error in user declaration 'bogus'"),
        "{failed}"
    );
    assert_eq!(run(&mut client, "GET r:1"), "\"$-1\\r\\n\"");
    std::fs::write(&file, "user default on nopass ~* &* +@all\n").expect("write");
    assert_eq!(run(&mut admin, "ACL LOAD"), "\"+OK\\r\\n\"");
    assert_eq!(
        run(&mut admin, "ACL USERS"),
        "\"*1\\r\\n$7\\r\\ndefault\\r\\n\""
    );
}

fn http_needs_credentials_and_permission(target: Target) {
    let server = target.start_doors(&["--persistence", "off", "--requirepass", "top"]);
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    );
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", server.http_port);
    let status = |request: ureq::RequestBuilder<ureq::typestate::WithoutBody>| {
        request.call().expect("request").status().as_u16()
    };
    assert_eq!(status(agent.get(url("/kv/a:1"))), 401);
    assert_eq!(status(agent.get(url("/health"))), 200);
    let mut admin = server.client();
    run(&mut admin, "AUTH top");
    run(
        &mut admin,
        "ACL SETUSER web on >webpw ~a:* +@read -@dangerous",
    );
    let basic =
        |user: &str, password: &str| format!("Basic {}", base64(&format!("{user}:{password}")));
    let get = |path: &str, authorization: &str| {
        status(agent.get(url(path)).header("Authorization", authorization))
    };
    assert_eq!(get("/kv/a:1", &basic("web", "wrong")), 401);
    assert_eq!(get("/kv/a:1", &basic("web", "webpw")), 404);
    assert_eq!(get("/kv/b:1", &basic("web", "webpw")), 403);
    assert_eq!(get("/stats", &basic("web", "webpw")), 403);
    assert_eq!(get("/kv/b:1", "Bearer top"), 404);
    assert_eq!(get("/kv/a:1", "Bearer webpw"), 404);
    let mut response = agent
        .put(url("/kv/a:1"))
        .header("Authorization", &basic("web", "webpw"))
        .send(&b"v"[..])
        .expect("PUT");
    assert_eq!(response.status().as_u16(), 403);
    let body = response.body_mut().read_to_string().expect("body");
    assert_eq!(
        body,
        "{\"error\":\"NOPERM User web has no permissions to run the 'set' command\"}"
    );
}

fn pizzaria_logs_in_as_a_user(target: Target) {
    use std::io::{Read, Write};
    let server = target.start_doors(&["--persistence", "off", "--requirepass", "pizza"]);
    let mut admin = server.client();
    run(&mut admin, "AUTH pizza");
    run(&mut admin, "ACL SETUSER cook on >dough ~menu:* +@all");
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", server.pizzaria_port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let requests = b"read menu:1\rauth cook wrong\rauth cook dough\rwrite menu:1|margherita\rwrite other|x\rread menu:1\r";
    stream.write_all(requests).expect("send");
    let expected = b"error\rerror\rsuccess\rsuccess\rerror\rmargherita\r";
    let mut received = Vec::new();
    let mut buffer = [0_u8; 256];
    while received.len() < expected.len() {
        let read = stream.read(&mut buffer).expect("read");
        assert!(read > 0, "closed early: {}", escape(&received));
        received.extend_from_slice(&buffer[..read]);
    }
    assert_eq!(escape(&received), escape(expected));
    let list = String::from_utf8_lossy(&admin.command(&[b"CLIENT", b"LIST"])).into_owned();
    assert!(list.contains(" user=cook "), "{list}");
}

/// ACL replies whose text Redis 7.0 (installed here) shares with 7.2: the same bytes
/// from a real redis-server and from both of floe's event loops.
#[test]
fn acl_replies_match_redis() {
    let lines = [
        "ACL WHOAMI",
        "ACL SETUSER alice",
        "ACL LIST",
        "ACL GETUSER alice",
        "ACL SETUSER alice on >pw ~app:* %R~ro:* +@all -get",
        "ACL GETUSER alice",
        "ACL LIST",
        "ACL SETUSER alice -@all +@string",
        "ACL SETUSER bob badrule",
        "ACL SETUSER bob ~x allkeys ~y",
        "ACL SETUSER bob +nosuch",
        "ACL SETUSER bob <nope",
        "ACL SETUSER bob #abc",
        "ACL SETUSER a\x20b",
        "ACL USERS",
        "ACL DELUSER default",
        "ACL DELUSER nobody alice",
        "ACL SAVE",
        "ACL LOAD",
        "ACL CAT",
        "ACL CAT nosuch",
        "ACL FOO",
        "ACL GETUSER",
        "ACL SETUSER",
        "ACL WHOAMI extra",
        "ACL LOG nope",
        "ACL GETUSER nobody",
        "AUTH nobody x",
        "AUTH x",
        "HELLO 2 AUTH nobody x",
    ];
    let replies = |target: Target| -> Vec<String> {
        let server = target.start();
        let mut client = server.client();
        lines
            .iter()
            .map(|line| {
                let line = line.replace("\\x20", " ");
                let args: Vec<&[u8]> = if line.starts_with("ACL SETUSER a ") {
                    vec![b"ACL", b"SETUSER", b"a b"]
                } else {
                    line.split(' ').map(str::as_bytes).collect()
                };
                format!("{line} -> {}", escape(&client.command(&args)))
            })
            .collect()
    };
    let redis = replies(Target::Redis);
    for floe in [Target::Floe, Target::FloeEpoll] {
        assert_eq!(replies(floe), redis, "{}", floe.name());
    }
}

/// ACL GENPASS gives fresh lowercase hex of the size asked for; ACL DRYRUN answers for
/// another user without running anything (its texts are compared with Redis's in
/// tests/differential/acl.redis).
fn dry_run_and_generated_passwords(target: Target) {
    let server = target.start();
    let url = format!("redis://127.0.0.1:{}/", server.port);
    let mut admin = redis::Client::open(url)
        .expect("URL")
        .get_connection()
        .expect("connect");
    let genpass = |admin: &mut redis::Connection, bits: Option<i64>| -> String {
        let mut command = redis::cmd("ACL");
        command.arg("GENPASS");
        if let Some(bits) = bits {
            command.arg(bits);
        }
        command.query(admin).expect("ACL GENPASS")
    };
    let first = genpass(&mut admin, None);
    let second = genpass(&mut admin, None);
    assert_eq!(first.len(), 64, "{first}");
    assert_ne!(first, second, "two passwords alike");
    for (bits, digits) in [(1, 1), (4, 1), (5, 2), (130, 33), (4096, 1024)] {
        let password = genpass(&mut admin, Some(bits));
        assert_eq!(password.len(), digits, "{bits} bits: {password}");
        assert!(
            password
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)),
            "{password}"
        );
    }
    let refused = redis::cmd("ACL")
        .arg("GENPASS")
        .arg(4097)
        .query::<String>(&mut admin)
        .expect_err("too many bits");
    assert!(refused.to_string().contains("up to 4096"), "{refused}");

    redis::cmd("ACL")
        .arg(&["SETUSER", "erin", "on", ">pw", "~e:*", "+get", "+set"])
        .exec(&mut admin)
        .expect("SETUSER");
    let dry_run = |admin: &mut redis::Connection, args: &[&str]| -> redis::Value {
        redis::cmd("ACL")
            .arg("DRYRUN")
            .arg("erin")
            .arg(args)
            .query(admin)
            .expect("ACL DRYRUN")
    };
    assert_eq!(
        dry_run(&mut admin, &["SET", "e:1", "v"]),
        redis::Value::Okay
    );
    assert_eq!(
        dry_run(&mut admin, &["SET", "f:1", "v"]),
        redis::Value::BulkString(b"This user has no permissions to access the 'f:1' key".to_vec())
    );
    // Nothing ran.
    let stored: Option<String> = redis::cmd("GET").arg("e:1").query(&mut admin).expect("GET");
    assert_eq!(stored, None);
    let unknown = redis::cmd("ACL")
        .arg(&["DRYRUN", "nobody", "GET", "k"])
        .query::<redis::Value>(&mut admin)
        .expect_err("no such user");
    assert!(
        unknown.to_string().contains("User 'nobody' not found"),
        "{unknown}"
    );
}

/// CLIENT LIST and CLIENT INFO name each client's user where Redis does (after `multi=`,
/// before `resp=`), and CLIENT KILL USER closes the connections of one user.
fn client_list_names_the_user(target: Target) {
    let server = target.start();
    let mut admin = server.client();
    run(&mut admin, "ACL SETUSER frank on >pw ~* +@all");
    let mut frank = server.client();
    assert_eq!(run(&mut frank, "AUTH frank pw"), "\"+OK\\r\\n\"");
    let info = String::from_utf8_lossy(&frank.command(&[b"CLIENT", b"INFO"])).into_owned();
    let fields: Vec<&str> = info.split([' ', '\n']).collect();
    let position = |prefix: &str| {
        fields
            .iter()
            .position(|field| field.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {info}"))
    };
    assert!(fields.contains(&"user=frank"), "{info}");
    assert!(position("multi=") < position("user="), "{info}");
    assert!(position("user=") < position("resp="), "{info}");
    let list = String::from_utf8_lossy(&admin.command(&[b"CLIENT", b"LIST"])).into_owned();
    assert!(list.contains(" user=frank "), "{list}");
    assert!(list.contains(" user=default "), "{list}");
    // RESET logs back in as default.
    run(&mut frank, "RESET");
    let info = String::from_utf8_lossy(&frank.command(&[b"CLIENT", b"INFO"])).into_owned();
    assert!(info.contains(" user=default "), "{info}");
    assert_eq!(run(&mut frank, "AUTH frank pw"), "\"+OK\\r\\n\"");
    assert_eq!(
        run(&mut admin, "CLIENT KILL USER nobody"),
        "\"-ERR No such user 'nobody'\\r\\n\""
    );
    assert_eq!(run(&mut admin, "CLIENT KILL USER frank"), "\":1\\r\\n\"");
    assert_eq!(frank.read_until_closed(Duration::from_secs(10)), b"");
    assert_eq!(run(&mut admin, "PING"), "\"+PONG\\r\\n\"");
}

/// ACL DELUSER closes every connection logged in as the deleted user, on any worker, its
/// own included once it has the reply (Redis 7.0 does); a disabled user's connections
/// carry on, with the user's rules as they are now.
fn deleted_users_connections_close(target: Target) {
    let server = target.start_with(&["--workers", "4"]);
    let mut admin = server.client();
    run(&mut admin, "ACL SETUSER gina on >pw ~* +@all");
    // Several connections, so that floe's spread over its workers.
    let mut ginas: Vec<Client> = (0..4).map(|_| server.client()).collect();
    for gina in &mut ginas {
        assert_eq!(run(gina, "AUTH gina pw"), "\"+OK\\r\\n\"");
    }
    run(&mut admin, "ACL SETUSER gina off -get");
    let mut late = server.client();
    assert_eq!(
        run(&mut late, "AUTH gina pw"),
        "\"-WRONGPASS invalid username-password pair or user is disabled.\\r\\n\""
    );
    assert_eq!(run(&mut ginas[0], "PING"), "\"+PONG\\r\\n\"");
    let denied = run(&mut ginas[1], "GET k");
    assert!(denied.starts_with("\"-NOPERM"), "{denied}");
    assert_eq!(run(&mut admin, "ACL DELUSER gina nobody"), "\":1\\r\\n\"");
    for gina in &mut ginas {
        assert_eq!(gina.read_until_closed(CLOSE_BOUND), b"");
    }
    assert_eq!(run(&mut admin, "PING"), "\"+PONG\\r\\n\"");
    assert_eq!(run(&mut late, "PING"), "\"+PONG\\r\\n\"");
    // A connection that deletes its own user gets the reply, then closes.
    run(&mut admin, "ACL SETUSER hank on >pw ~* +@all");
    let mut hank = server.client();
    run(&mut hank, "AUTH hank pw");
    assert_eq!(run(&mut hank, "ACL DELUSER hank"), "\":1\\r\\n\"");
    assert_eq!(hank.read_until_closed(CLOSE_BOUND), b"");
    // Deleting nobody, or failing, closes nothing.
    assert_eq!(run(&mut admin, "ACL DELUSER nobody"), "\":0\\r\\n\"");
    assert_eq!(
        run(&mut admin, "ACL DELUSER default"),
        "\"-ERR The 'default' user cannot be removed\\r\\n\""
    );
    assert_eq!(run(&mut admin, "PING"), "\"+PONG\\r\\n\"");
}

/// ACL LOAD closes every connection logged in as a user other than `default`, changed
/// or not, its own included (Redis 7.0 replaces every user object); `default`'s carry on.
/// A failed ACL LOAD closes nothing.
fn acl_load_closes_every_users_connections_but_defaults(target: Target) {
    let scratch = common::scratch(&format!("acl-load-{}", target.name()));
    let file = scratch.join("users.acl");
    let users = "user default on nopass ~* &* +@all\nuser ivan on >pw ~* +@all\n\
                 user jill on >pw ~* +@all\n";
    std::fs::write(&file, users).expect("write the ACL file");
    let file_text = file.display().to_string();
    let server = match target {
        Target::Redis => Server::redis_with(&["--aclfile", &file_text]),
        _ => target.start_with(&["--aclfile", &file_text]),
    };
    let mut admin = server.client();
    let mut ivan = server.client();
    let mut jill = server.client();
    run(&mut ivan, "AUTH ivan pw");
    run(&mut jill, "AUTH jill pw");
    std::fs::write(&file, "user bogus badrule\n").expect("write");
    let failed = run(&mut admin, "ACL LOAD");
    assert!(failed.starts_with("\"-ERR"), "{failed}");
    assert_eq!(run(&mut ivan, "PING"), "\"+PONG\\r\\n\"");
    std::fs::write(&file, users).expect("write");
    assert_eq!(run(&mut admin, "ACL LOAD"), "\"+OK\\r\\n\"");
    assert_eq!(ivan.read_until_closed(CLOSE_BOUND), b"");
    assert_eq!(jill.read_until_closed(CLOSE_BOUND), b"");
    assert_eq!(run(&mut admin, "PING"), "\"+PONG\\r\\n\"");
    let mut jill = server.client();
    run(&mut jill, "AUTH jill pw");
    assert_eq!(run(&mut jill, "ACL LOAD"), "\"+OK\\r\\n\"");
    assert_eq!(jill.read_until_closed(CLOSE_BOUND), b"");
    assert_eq!(run(&mut admin, "PING"), "\"+PONG\\r\\n\"");
}

/// ACL SETUSER closes the user's subscribers to a channel or pattern it may no longer use
/// (Redis 7.0 does); subscribers whose subscriptions stay allowed carry on.
fn subscribers_to_what_a_user_lost_close(target: Target) {
    let server = target.start_with(&["--workers", "4"]);
    let mut admin = server.client();
    run(&mut admin, "ACL SETUSER kim on >pw ~* &news:* +@all");
    let mut channel = server.client();
    let mut pattern = server.client();
    let mut shard = server.client();
    for client in [&mut channel, &mut pattern, &mut shard] {
        run(client, "AUTH kim pw");
    }
    run(&mut channel, "SUBSCRIBE news:1");
    run(&mut pattern, "PSUBSCRIBE news:*");
    run(&mut shard, "SSUBSCRIBE news:2");
    run(&mut admin, "ACL SETUSER kim resetchannels &news:1");
    assert_eq!(pattern.read_until_closed(CLOSE_BOUND), b"");
    assert_eq!(shard.read_until_closed(CLOSE_BOUND), b"");
    assert_eq!(run(&mut admin, "PUBLISH news:1 hi"), "\":1\\r\\n\"");
    assert_eq!(
        escape(&channel.reply()),
        "\"*3\\r\\n$7\\r\\nmessage\\r\\n$6\\r\\nnews:1\\r\\n$2\\r\\nhi\\r\\n\""
    );
    run(&mut admin, "ACL SETUSER kim resetchannels");
    assert_eq!(channel.read_until_closed(CLOSE_BOUND), b"");
}

/// EXEC checks each queued command again (Redis 7 does): one the user may no longer run,
/// after another connection changed its rules, gets Redis's NOPERM text in its place and
/// an ACL LOG entry with context `multi`; the rest run. A transaction a watched key
/// aborts checks nothing.
fn exec_checks_queued_commands_again(target: Target) {
    const CHANGED: &str = "-NOPERM ACLs rules changed between the moment the transaction \
         was accumulated and the EXEC call. This command is no longer allowed for the \
         following reason: ";
    let server = target.start_with(&["--workers", "4"]);
    let mut admin = server.client();
    run(&mut admin, "ACL SETUSER lee on >pw ~* &* +@all");
    let mut lee = server.client();
    run(&mut lee, "AUTH lee pw");
    for line in ["MULTI", "SET k v", "GET k", "PUBLISH ch x", "PING"] {
        run(&mut lee, line);
    }
    run(&mut admin, "ACL SETUSER lee -set resetchannels");
    run(&mut admin, "ACL LOG RESET");
    let expected = format!(
        "*4\r\n{CHANGED}no permission to execute the command or subcommand\r\n$-1\r\n\
         {CHANGED}no permission to access one of the channels used as arguments\r\n+PONG\r\n"
    );
    assert_eq!(run(&mut lee, "EXEC"), escape(expected.as_bytes()));
    let log = String::from_utf8_lossy(&admin.command(&[b"ACL", b"LOG"])).into_owned();
    assert!(log.starts_with("*2\r\n"), "{log}");
    for part in [
        "$5\r\nmulti\r\n",
        "$3\r\nset\r\n",
        "$2\r\nch\r\n",
        "$3\r\nlee\r\n",
    ] {
        assert!(log.contains(part), "{part:?} not in {log}");
    }
    // Keys, in a block of reads.
    for line in ["MULTI", "GET k", "GET j"] {
        run(&mut lee, line);
    }
    run(&mut admin, "ACL SETUSER lee resetkeys ~j");
    let expected = format!("*2\r\n{CHANGED}no permission to touch the specified keys\r\n$-1\r\n");
    assert_eq!(run(&mut lee, "EXEC"), escape(expected.as_bytes()));
    // A block of connection and server commands (floe runs it apart, outside the store).
    for line in ["MULTI", "PING", "CLIENT GETNAME"] {
        run(&mut lee, line);
    }
    run(&mut admin, "ACL SETUSER lee -client");
    let expected =
        format!("*2\r\n+PONG\r\n{CHANGED}no permission to execute the command or subcommand\r\n");
    assert_eq!(run(&mut lee, "EXEC"), escape(expected.as_bytes()));
    // A watched key changed: nothing runs, nothing is checked.
    run(&mut admin, "ACL SETUSER lee +set");
    for line in ["WATCH j", "MULTI", "SET j v"] {
        assert!(run(&mut lee, line).starts_with("\"+"), "{line}");
    }
    run(&mut admin, "SET j changed");
    run(&mut admin, "ACL SETUSER lee -set");
    run(&mut admin, "ACL LOG RESET");
    assert_eq!(run(&mut lee, "EXEC"), "\"*-1\\r\\n\"");
    assert_eq!(run(&mut admin, "ACL LOG"), "\"*0\\r\\n\"");
}

/// Selectors (Redis 7's `(...)`): a command runs when the user's own rules or one
/// selector allow all of it; they go to the ACL file and come back with ACL LOAD, and a
/// selector left open is refused there and in ACL SETUSER. The refusal texts are compared
/// with Redis's in tests/differential/acl.redis.
fn selectors_allow_what_one_of_them_allows(target: Target) {
    let scratch = common::scratch(&format!("acl-selectors-{}", target.name()));
    let file = scratch.join("users.acl");
    std::fs::write(&file, "user default on nopass ~* &* +@all\n").expect("write");
    let file_text = file.display().to_string();
    let server = match target {
        Target::Redis => Server::redis_with(&["--aclfile", &file_text]),
        _ => target.start_with(&["--aclfile", &file_text]),
    };
    let connect = |user: &str| {
        let url = format!("redis://{user}127.0.0.1:{}/", server.port);
        redis::Client::open(url)
            .expect("URL")
            .get_connection()
            .expect("log in")
    };
    let mut admin = connect("");
    let set_user = |admin: &mut redis::Connection, rules: &[&str]| {
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg("mia")
            .arg(rules)
            .query::<redis::Value>(admin)
    };
    set_user(&mut admin, &["on", ">pw", "~a:*", "+get", "(~b:*", "+set)"]).expect("SETUSER");
    let mut mia = connect("mia:pw@");
    let get = |mia: &mut redis::Connection, key: &str| {
        redis::cmd("GET").arg(key).query::<Option<String>>(mia)
    };
    let set = |mia: &mut redis::Connection, key: &str| {
        redis::cmd("SET").arg(key).arg("v").query::<()>(mia)
    };
    set(&mut mia, "b:1").expect("the selector allows SET b:*");
    assert_eq!(get(&mut mia, "a:1").expect("the root allows GET a:*"), None);
    for denied in [get(&mut mia, "b:1").map(|_| ()), set(&mut mia, "a:1")] {
        let error = denied.expect_err("no selector allows it whole");
        assert_eq!(error.code(), Some("NOPERM"), "{error}");
    }
    let user: std::collections::HashMap<String, redis::Value> = redis::cmd("ACL")
        .arg("GETUSER")
        .arg("mia")
        .query(&mut admin)
        .expect("GETUSER");
    let selectors = match &user["selectors"] {
        redis::Value::Array(selectors) => selectors.len(),
        other => panic!("selectors: {other:?}"),
    };
    assert_eq!(selectors, 1);
    let unmatched = set_user(&mut admin, &["(~c:*", "+get"]).expect_err("left open");
    assert!(
        unmatched
            .to_string()
            .contains("Unmatched parenthesis in acl selector starting at '(~c:*'"),
        "{unmatched}"
    );
    // To the file and back.
    redis::cmd("ACL")
        .arg("SAVE")
        .exec(&mut admin)
        .expect("SAVE");
    let saved = std::fs::read_to_string(&file).expect("saved");
    assert!(
        saved.contains(" (~b:* resetchannels -@all +set)"),
        "{saved}"
    );
    set_user(&mut admin, &["clearselectors"]).expect("clearselectors");
    redis::cmd("ACL")
        .arg("LOAD")
        .exec(&mut admin)
        .expect("LOAD");
    let mut mia = connect("mia:pw@");
    set(&mut mia, "b:2").expect("the selector is back");
    if target == Target::Redis {
        // redis-server 7.0.15 dies of a segmentation fault on ACL LOAD of a selector left
        // open (the line below); floe refuses the file.
        return;
    }
    std::fs::write(&file, format!("{saved}user nia on (~x +get\n")).expect("write");
    let refused = redis::cmd("ACL")
        .arg("LOAD")
        .exec(&mut admin)
        .expect_err("a selector left open");
    assert!(
        refused.to_string().contains("Unmatched parenthesis"),
        "{refused}"
    );
    set(&mut mia, "b:3").expect("a failed LOAD changes nothing");
}

/// Standard base64 with padding, for Basic credentials.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let word = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for index in 0..4 {
            if index <= chunk.len() {
                encoded.push(char::from(
                    ALPHABET[(word >> (18 - 6 * index) & 63) as usize],
                ));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}
