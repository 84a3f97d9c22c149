//! TLS for the RESP and HTTP doors (`tls-port`, `tls-http-port`), with `rustls`'s
//! buffer-based API, inside the workers' own event loops: no thread and no socket of its
//! own, the same code on io_uring and epoll.
//!
//! ```text
//!  socket bytes ─► Tls::open: read_tls, process_new_packets, reader() ─► Connection::input
//!  Connection::output (released replies only) ─► Tls::seal: writer(), write_tls ─► socket
//! ```
//!
//! A connection of a TLS listener carries a [`Tls`]; [`super::connection::Connection`]
//! calls it at the two edges where bytes enter and leave, so every door (RESP, HTTP) runs
//! unchanged on the plaintext, and the durability gate is untouched: only replies already
//! released to `output` are enciphered, so no ciphertext leaves for a reply still held.
//!
//! Invariants: plaintext reaches the door only after rustls authenticated it; once rustls
//! refuses the peer's bytes (a failed handshake, plaintext on the TLS port, a wrong,
//! expired or missing client certificate) nothing more is read or run, only rustls's alert
//! is sent, and the connection closes.
//!
//! Fault assumptions: the peer may send anything, or stop in the middle of a handshake;
//! the certificate, key and CA files may be missing, empty, or not PEM, which start-up
//! reports naming the file.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

use crate::config::Settings;

/// One connection's TLS session and the ciphertext waiting for its socket.
#[derive(Debug)]
pub(super) struct Tls {
    session: ServerConnection,
    /// Ciphertext (handshake, records, alerts) not yet handed to the socket.
    pub(super) sealed: Vec<u8>,
    /// rustls refused the peer: nothing more is read, only the alert is sent.
    failed: bool,
    /// close_notify is queued.
    notified: bool,
}

/// Why TLS refused a connection's bytes.
#[derive(Debug)]
pub(super) enum TlsFailure {
    /// The records could not be buffered (a record larger than TLS allows).
    Read(io::Error),
    /// The handshake or a record failed: bad certificate, plaintext, a wrong MAC, ...
    Protocol(rustls::Error),
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Read(error) => write!(formatter, "reading records: {error}"),
            Self::Protocol(error) => write!(formatter, "{error}"),
        }
    }
}

impl Tls {
    /// A server session for a new client.
    ///
    /// # Errors
    /// rustls could not start a session (it refuses only a configuration it cannot use,
    /// which [`server_config`] already checked).
    pub(super) fn new(config: &Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        let mut session = ServerConnection::new(Arc::clone(config))?;
        // The plaintext handed to the writer is at most what the connection released, which
        // the output limit already bounds; a second bound here would only strand replies.
        session.set_buffer_limit(None);
        Ok(Self {
            session,
            sealed: Vec::new(),
            failed: false,
            notified: false,
        })
    }

    /// Deciphers `received` (bytes from the socket) and appends the plaintext to `input`.
    ///
    /// # Errors
    /// rustls refused them; the alert it queued goes out with the next [`Tls::seal`], and
    /// every later call fails too.
    pub(super) fn open(&mut self, received: &[u8], input: &mut Vec<u8>) -> Result<(), TlsFailure> {
        if self.failed {
            return Err(TlsFailure::Read(io::Error::other(
                "the session failed before",
            )));
        }
        let mut rest = received;
        // Each pass takes at least one byte (read_tls reads from a non-empty slice or
        // fails), so the loop ends within `received.len()` passes; the bound is a guard.
        for _ in 0..=received.len() {
            if rest.is_empty() {
                return Ok(());
            }
            let result = self
                .session
                .read_tls(&mut rest)
                .map_err(TlsFailure::Read)
                .and_then(|_| {
                    self.session
                        .process_new_packets()
                        .map_err(TlsFailure::Protocol)
                });
            let state = match result {
                Ok(state) => state,
                Err(failure) => {
                    self.failed = true;
                    return Err(failure);
                }
            };
            let size = state.plaintext_bytes_to_read();
            if size > 0 {
                let start = input.len();
                input.resize(start + size, 0);
                // rustls said this many bytes are ready: a short read is a broken promise.
                if let Err(error) = self.session.reader().read_exact(&mut input[start..]) {
                    input.truncate(start);
                    self.failed = true;
                    return Err(TlsFailure::Read(error));
                }
            }
        }
        // read_tls took no byte of a non-empty slice: refuse the peer rather than spin or
        // panic on bytes a client chose.
        self.failed = true;
        Err(TlsFailure::Read(io::Error::other("rustls took no bytes")))
    }

    /// Enciphers `plaintext` (the replies released, which it empties) into `sealed`, with
    /// whatever else rustls has to send (handshake messages, tickets, an alert). With
    /// `closing` (and nothing left to send) a close_notify goes last.
    pub(super) fn seal(&mut self, plaintext: &mut Vec<u8>, closing: bool) {
        if self.failed {
            plaintext.clear(); // the peer is refused: its replies are not sent
        } else if !plaintext.is_empty() {
            // With no buffer limit the writer takes every byte (before the handshake ends
            // it keeps them, and rustls seals them once it ends).
            if self.session.writer().write_all(plaintext).is_err() {
                self.failed = true;
            }
            plaintext.clear();
        }
        if closing && !self.notified && !self.failed && !self.session.is_handshaking() {
            self.session.send_close_notify();
            self.notified = true;
        }
        // Each pass moves at least one queued record, or stops.
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.sealed) {
                Ok(0) | Err(_) => break, // a Vec never refuses; 0: nothing more queued
                Ok(_) => {}
            }
        }
    }
}

/// The TLS settings' server configuration: `None` when no TLS door listens.
///
/// # Errors
/// A message naming the setting and the file that cannot work, and what is wrong with it.
pub(super) fn server_config(settings: &Settings) -> Result<Option<Arc<ServerConfig>>, String> {
    if settings.tls_port == 0 && settings.tls_http_port == 0 {
        if settings.tls_cert.is_some() || settings.tls_key.is_some() {
            tracing::warn!(
                "--tls-cert/--tls-key are given but no TLS door listens (--tls-port, \
                 --tls-http-port): TLS is off"
            );
        }
        return Ok(None);
    }
    let (Some(cert_path), Some(key_path)) = (&settings.tls_cert, &settings.tls_key) else {
        return Err(
            "--tls-port and --tls-http-port need --tls-cert and --tls-key (PEM files: the \
             server's certificate chain and its private key)"
                .to_owned(),
        );
    };
    let certificates = read_certificates("--tls-cert", cert_path)?;
    let key = read_key(key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS: {error}"))?;
    let builder = match &settings.tls_ca {
        None => builder.with_no_client_auth(),
        Some(ca_path) => {
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates("--tls-ca", ca_path)? {
                roots.add(certificate).map_err(|error| {
                    format!(
                        "--tls-ca `{}`: a certificate is not a usable CA: {error}",
                        ca_path.display()
                    )
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| format!("--tls-ca `{}`: {error}", ca_path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certificates, key)
        .map_err(|error| {
            format!(
                "--tls-key `{}` does not go with the certificate of --tls-cert `{}`: {error}",
                key_path.display(),
                cert_path.display()
            )
        })?;
    Ok(Some(Arc::new(config)))
}

/// Every certificate of a PEM file, in order (a chain: the leaf first).
fn read_certificates(setting: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path)
        .map_err(|error| format!("{setting} `{}`: cannot read it: {error}", path.display()))?;
    let certificates: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
    let certificates = certificates.map_err(|error| {
        format!(
            "{setting} `{}`: not a PEM certificate file: {error}",
            path.display()
        )
    })?;
    if certificates.is_empty() {
        return Err(format!(
            "{setting} `{}`: holds no certificate (expected PEM, `-----BEGIN CERTIFICATE-----`)",
            path.display()
        ));
    }
    Ok(certificates)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = std::fs::read(path)
        .map_err(|error| format!("--tls-key `{}`: cannot read it: {error}", path.display()))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| {
        format!(
            "--tls-key `{}`: holds no PEM private key (PKCS#8, PKCS#1 or SEC1, `-----BEGIN \
             PRIVATE KEY-----`): {error}",
            path.display()
        )
    })
}
