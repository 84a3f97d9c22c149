//! TLS on `floe serve` (`--tls-port`, `--tls-http-port`, `--tls-cert`, `--tls-key`,
//! `--tls-ca`), driven by real TLS clients nobody here wrote: the `redis` crate over rustls
//! (`rediss://`) for RESP and `ureq` over rustls for HTTPS. The certificates (a CA, a
//! second CA nobody trusts, the server's, clients' good and expired) are made at test time
//! with `rcgen`. Every check runs on both event loops (io_uring and epoll).
//!
//! What they pin: commands, pipelines and MULTI work inside TLS with durability on (the
//! replies are gated on the log, then enciphered); a client that does not trust the
//! server's CA, a plaintext client on the TLS port, and (with `--tls-ca`) a client without
//! a certificate, with an expired one or with one from another CA are closed, while every
//! other client is served on; bad certificate and key files stop the start with a message
//! naming the file.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{Server, Target, free_port};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use redis::{ClientTlsConfig, Commands, TlsCertificates};

common::server::against_floe_loops!(
    resp_commands_pipelines_and_multi_over_tls,
    https_get_and_put,
    a_client_that_does_not_trust_the_ca_is_refused,
    plaintext_on_the_tls_port_is_closed_and_others_are_served,
    client_certificates_are_required_with_a_ca,
);

/// How long a client waits for a connection or a reply.
const WAIT: Duration = Duration::from_secs(20);

/// PEM files of one test's certificates.
struct Pki {
    dir: PathBuf,
    ca: String,
    /// A second CA that signed nothing the server shows.
    ca_other: String,
    /// The server's certificate (for `localhost` and `127.0.0.1`) and key.
    server_cert: PathBuf,
    server_key: PathBuf,
    /// A client certificate the CA signed, and its key.
    client: (String, String),
    /// A client certificate the CA signed that expired last year.
    client_expired: (String, String),
    /// A client certificate the other CA signed.
    client_stranger: (String, String),
}

impl Pki {
    fn new(name: &str) -> Self {
        let dir = common::scratch(&format!("tls-{name}-{}", std::process::id()));
        let (ca, ca_pem) = authority("floe test CA");
        let (ca_other, ca_other_pem) = authority("another CA");
        let mut server =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server certificate parameters");
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("a key");
        let server_pem = server
            .signed_by(&server_key, &ca)
            .expect("sign the server certificate")
            .pem();
        let server_cert = dir.join("server.pem");
        let server_key_path = dir.join("server.key");
        std::fs::write(&server_cert, server_pem).expect("write server.pem");
        std::fs::write(&server_key_path, server_key.serialize_pem()).expect("write server.key");
        std::fs::write(dir.join("ca.pem"), &ca_pem).expect("write ca.pem");
        let expired = {
            let mut params = client_params("expired");
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
            params
        };
        Self {
            client: client_pem(client_params("good"), &ca),
            client_expired: client_pem(expired, &ca),
            client_stranger: client_pem(client_params("stranger"), &ca_other),
            dir,
            ca: ca_pem,
            ca_other: ca_other_pem,
            server_cert,
            server_key: server_key_path,
        }
    }

    fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// `floe serve` on `target` with RESP and HTTP over TLS on free ports, plus `args`.
    fn start(&self, target: Target, args: &[&str]) -> TlsServer {
        let tls_port = free_port();
        let tls_http_port = free_port();
        let (tls, tls_http) = (tls_port.to_string(), tls_http_port.to_string());
        let cert = self.server_cert.display().to_string();
        let key = self.server_key.display().to_string();
        let mut all = vec![
            "--tls-port",
            &tls,
            "--tls-http-port",
            &tls_http,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ];
        all.extend_from_slice(args);
        if target == Target::FloeEpoll {
            all.extend(["--io", "epoll"]);
        }
        TlsServer {
            server: Server::floe(&all),
            tls_port,
            tls_http_port,
        }
    }
}

/// A server with its TLS doors' ports.
struct TlsServer {
    server: Server,
    tls_port: u16,
    tls_http_port: u16,
}

impl TlsServer {
    /// A `redis` crate client over TLS that trusts `root` and shows `identity`.
    fn client(&self, root: &str, identity: Option<&(String, String)>) -> redis::Client {
        redis::Client::build_with_tls(
            format!("rediss://127.0.0.1:{}/", self.tls_port),
            TlsCertificates {
                client_tls: identity.map(|(cert, key)| ClientTlsConfig {
                    client_cert: cert.clone().into_bytes(),
                    client_key: key.clone().into_bytes(),
                }),
                root_cert: Some(root.as_bytes().to_vec()),
            },
        )
        .expect("a TLS client")
    }

    /// A connection that answered PING, or why not.
    fn connect(
        &self,
        root: &str,
        identity: Option<&(String, String)>,
    ) -> Result<redis::Connection, redis::RedisError> {
        let mut connection = self
            .client(root, identity)
            .get_connection_with_timeout(WAIT)?;
        connection.set_read_timeout(Some(WAIT))?;
        connection.set_write_timeout(Some(WAIT))?;
        redis::cmd("PING").query::<String>(&mut connection)?;
        Ok(connection)
    }
}

fn authority(name: &str) -> (CertifiedIssuer<'static, KeyPair>, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a key"))
        .expect("a self-signed CA");
    let pem = issuer.pem();
    (issuer, pem)
}

fn client_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client parameters");
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

fn client_pem(
    params: CertificateParams,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> (String, String) {
    let key = KeyPair::generate().expect("a key");
    let cert = params
        .signed_by(&key, issuer)
        .expect("sign a client certificate");
    (cert.pem(), key.serialize_pem())
}

fn https_agent(ca: &str) -> ureq::Agent {
    https_agent_as(ca, None)
}

/// An HTTPS client that trusts `ca` and shows `identity` (certificate and key, PEM).
fn https_agent_as(ca: &str, identity: Option<&(String, String)>) -> ureq::Agent {
    let root = ureq::tls::Certificate::from_pem(ca.as_bytes()).expect("the CA as PEM");
    let client_cert = identity.map(|(cert, key)| {
        ureq::tls::ClientCert::new_with_certs(
            &[ureq::tls::Certificate::from_pem(cert.as_bytes()).expect("a PEM certificate")],
            ureq::tls::PrivateKey::from_pem(key.as_bytes()).expect("a PEM key"),
        )
    });
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
        .client_cert(client_cert)
        .build();
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(WAIT))
            .build(),
    )
}

/// SET/GET, a pipeline, MULTI/EXEC and a large value, inside TLS, with the log on (every
/// write's reply waits for its fdatasync, then is enciphered); what TLS wrote, plaintext
/// RESP reads.
fn resp_commands_pipelines_and_multi_over_tls(target: Target) {
    let pki = Pki::new(&format!("commands-{}", target.name()));
    let tls = pki.start(target, &[]);
    let mut connection = tls.connect(&pki.ca, None).expect("connect over TLS");
    let () = connection.set("greeting", "hello over TLS").expect("SET");
    let value: String = connection.get("greeting").expect("GET");
    assert_eq!(value, "hello over TLS");

    let mut pipeline = redis::pipe();
    for index in 0..200 {
        pipeline.set(format!("key:{index}"), index).ignore();
    }
    for index in 0..200 {
        pipeline.get(format!("key:{index}"));
    }
    let values: Vec<u32> = pipeline.query(&mut connection).expect("a pipeline");
    assert_eq!(values, (0..200).collect::<Vec<u32>>());

    let (counter, listed): (i64, Vec<String>) = redis::pipe()
        .atomic()
        .incr("counter", 5)
        .set("in-multi", "yes")
        .ignore()
        .cmd("MGET")
        .arg("greeting")
        .arg("in-multi")
        .query(&mut connection)
        .expect("MULTI/EXEC");
    assert_eq!(counter, 5);
    assert_eq!(listed, ["hello over TLS", "yes"]);

    // Larger than a TLS record (16 KiB) and than one receive buffer: many records each way.
    let large: Vec<u8> = (0..100_000_u32).map(|index| (index % 251) as u8).collect();
    let () = connection.set("large", &large).expect("SET a large value");
    let back: Vec<u8> = connection.get("large").expect("GET a large value");
    assert!(back == large, "the large value came back changed");

    let mut plain = redis::Client::open(tls.server.url(""))
        .expect("a URL")
        .get_connection()
        .expect("plaintext RESP");
    let value: String = plain.get("greeting").expect("GET over plaintext");
    assert_eq!(value, "hello over TLS");
    let port: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("tls-port")
        .query(&mut plain)
        .expect("CONFIG GET tls-port");
    assert_eq!(port, ["tls-port".to_owned(), tls.tls_port.to_string()]);
}

/// HTTPS: PUT and GET `/kv/{key}` through ureq over rustls; RESP over TLS sees the value.
fn https_get_and_put(target: Target) {
    let pki = Pki::new(&format!("https-{}", target.name()));
    let tls = pki.start(target, &["--persistence", "off"]);
    let agent = https_agent(&pki.ca);
    let base = format!("https://localhost:{}", tls.tls_http_port);
    let response = agent
        .put(format!("{base}/kv/greeting"))
        .send("hello over HTTPS")
        .expect("PUT");
    assert_eq!(response.status().as_u16(), 204);
    let mut response = agent
        .get(format!("{base}/kv/greeting"))
        .call()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.body_mut().read_to_string().expect("the body"),
        "hello over HTTPS"
    );
    let response = agent.get(format!("{base}/kv/missing")).call().expect("GET");
    assert_eq!(response.status().as_u16(), 404);
    // Keep-alive: many requests on one TLS session.
    for index in 0..50 {
        let response = agent
            .put(format!("{base}/kv/k{index}"))
            .send(index.to_string())
            .expect("PUT");
        assert_eq!(response.status().as_u16(), 204);
    }
    let mut connection = tls.connect(&pki.ca, None).expect("RESP over TLS");
    let value: String = connection.get("k49").expect("GET");
    assert_eq!(value, "49");
}

/// A client that trusts another CA fails the handshake; the server serves on.
fn a_client_that_does_not_trust_the_ca_is_refused(target: Target) {
    let pki = Pki::new(&format!("wrong-ca-{}", target.name()));
    let tls = pki.start(target, &["--persistence", "off"]);
    assert!(
        tls.connect(&pki.ca_other, None).is_err(),
        "a client trusting another CA must not get through"
    );
    let agent = https_agent(&pki.ca_other);
    let refused = agent
        .get(format!("https://localhost:{}/kv/a", tls.tls_http_port))
        .call();
    assert!(refused.is_err(), "HTTPS must refuse too: {refused:?}");
    let mut connection = tls
        .connect(&pki.ca, None)
        .expect("a good client still connects");
    let () = connection.set("after", "1").expect("SET");
}

/// Plaintext RESP to the TLS port: closed (after, at most, TLS's alert), and nothing runs;
/// a TLS client connected before and one connecting after are both served.
fn plaintext_on_the_tls_port_is_closed_and_others_are_served(target: Target) {
    let pki = Pki::new(&format!("plaintext-{}", target.name()));
    let tls = pki.start(target, &["--persistence", "off"]);
    let mut before = tls.connect(&pki.ca, None).expect("connect over TLS");
    let () = before.set("kept", "yes").expect("SET");

    let mut raw = TcpStream::connect(("127.0.0.1", tls.tls_port)).expect("connect");
    raw.set_read_timeout(Some(WAIT)).expect("timeout");
    raw.write_all(b"*3\r\n$3\r\nSET\r\n$8\r\nsneaked!\r\n$1\r\n1\r\nPING\r\n")
        .expect("write plaintext");
    let mut answer = Vec::new();
    let started = Instant::now();
    let read = raw.read_to_end(&mut answer);
    assert!(
        started.elapsed() < WAIT,
        "the server did not close the plaintext client"
    );
    // A reset after the alert is a close too.
    if let Err(error) = read {
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    }
    assert!(
        answer.is_empty() || answer[0] == 0x15,
        "a plaintext client must get at most a TLS alert, not {:?}",
        String::from_utf8_lossy(&answer)
    );

    let value: String = before.get("kept").expect("the earlier client is served");
    assert_eq!(value, "yes");
    let mut after = tls.connect(&pki.ca, None).expect("a later client connects");
    let exists: bool = after.exists("sneaked!").expect("EXISTS");
    assert!(!exists, "nothing sent in plaintext may run");
}

/// With `--tls-ca`, a client must show a certificate that CA signed and that is valid now.
fn client_certificates_are_required_with_a_ca(target: Target) {
    let pki = Pki::new(&format!("mtls-{}", target.name()));
    let ca = pki.ca_path().display().to_string();
    let tls = pki.start(target, &["--persistence", "off", "--tls-ca", &ca]);
    let mut good = tls
        .connect(&pki.ca, Some(&pki.client))
        .expect("a client with a good certificate connects");
    let () = good.set("mtls", "ok").expect("SET");
    assert!(
        tls.connect(&pki.ca, None).is_err(),
        "a client without a certificate must be refused"
    );
    assert!(
        tls.connect(&pki.ca, Some(&pki.client_expired)).is_err(),
        "an expired client certificate must be refused"
    );
    assert!(
        tls.connect(&pki.ca, Some(&pki.client_stranger)).is_err(),
        "a client certificate from another CA must be refused"
    );
    let value: String = good.get("mtls").expect("the good client is served on");
    assert_eq!(value, "ok");

    // The HTTPS door asks for the same.
    let url = format!("https://localhost:{}/kv/mtls", tls.tls_http_port);
    let mut response = https_agent_as(&pki.ca, Some(&pki.client))
        .get(&url)
        .call()
        .expect("HTTPS with a good certificate");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.body_mut().read_to_string().expect("body"), "ok");
    let refused = https_agent(&pki.ca).get(&url).call();
    assert!(refused.is_err(), "HTTPS without a certificate: {refused:?}");
}

/// Bad TLS files stop the start (exit 2) with a message naming the file and the fault.
#[test]
fn bad_tls_files_are_named_at_startup() {
    let pki = Pki::new("bad-files");
    let garbage = pki.dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write garbage.pem");
    let missing = pki.dir.join("missing.pem");
    let ca_key_as_cert = pki.dir.join("client.key");
    std::fs::write(&ca_key_as_cert, &pki.client.1).expect("write client.key");
    let cases: [(Vec<&Path>, &str); 5] = [
        (vec![&missing, &pki.server_key], "missing.pem"),
        (vec![&garbage, &pki.server_key], "holds no certificate"),
        (vec![&pki.server_cert, &garbage], "holds no PEM private key"),
        // A key that is not the certificate's.
        (vec![&pki.server_cert, &ca_key_as_cert], "does not go with"),
        (
            vec![&pki.server_cert, &pki.server_key, &garbage],
            "--tls-ca",
        ),
    ];
    for (files, expected) in cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_floe"));
        command.args(["serve", "--persistence", "off", "--http-port", "off"]);
        command.args(["--port", &free_port().to_string()]);
        command.args(["--tls-port", &free_port().to_string()]);
        command.arg("--tls-cert").arg(files[0]);
        command.arg("--tls-key").arg(files[1]);
        if let Some(ca) = files.get(2) {
            command.arg("--tls-ca").arg(ca);
        }
        let (code, stderr) = run_bounded(&mut command);
        assert_eq!(code, Some(2), "{expected}: {stderr}");
        assert!(stderr.contains(expected), "want {expected:?} in: {stderr}");
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_floe"));
    command.args(["serve", "--persistence", "off", "--http-port", "off"]);
    command.args(["--port", &free_port().to_string()]);
    command.args(["--tls-port", &free_port().to_string()]);
    let (code, stderr) = run_bounded(&mut command);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("need --tls-cert and --tls-key"), "{stderr}");
}

/// Runs a `floe serve` that must fail at start: its exit code and stderr; killed (and the
/// test failed) if it is still running after a bound.
fn run_bounded(command: &mut Command) -> (Option<i32>, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start floe");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll floe") {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                pipe.read_to_string(&mut stderr).expect("read stderr");
            }
            return (status.code(), stderr);
        }
        if started.elapsed() > WAIT {
            let _killed = child.kill();
            let _reaped = child.wait();
            panic!("floe serve with bad TLS files kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
