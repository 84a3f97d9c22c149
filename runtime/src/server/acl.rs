//! The doors' side of users and permissions ([`crate::acl`]): RESP's AUTH, HELLO ... AUTH
//! and the NOAUTH gate, HTTP's credentials, Pizzaria's `auth` line, and the client text
//! ACL LOG records. The permission check itself is [`crate::acl::Acl::check`], one for
//! every door.
//!
//! Invariants: every failed authentication, on any door, is counted (INFO's
//! `acl_access_denied_auth`, `/metrics`) and logged in ACL LOG with reason `auth`; a
//! failure says nothing about whether the user exists.

use std::sync::Arc;

use floe_core::codec::resp::Request;

use super::Worker;
use super::connection::{Connection, Control};
use super::resp::Resp;
use crate::acl::{Caller, Context, Disconnect, User, WRONG_PASSWORD};

/// Redis's reply to a command before authentication.
const NOAUTH: &[u8] = b"NOAUTH Authentication required.";

/// Redis's reply to HELLO without AUTH before authentication.
const NOAUTH_HELLO: &[u8] = b"NOAUTH HELLO must be called with the client already \
authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to \
authenticate the client and select the RESP protocol version at the same time";

/// AUTH, HELLO's AUTH option and the NOAUTH gate for a RESP client: `Some` when the
/// request was answered here, `None` to run it (HELLO after its AUTH succeeded, or a
/// command of a logged-in client).
pub(super) fn gate(
    resp: &mut Resp,
    connection: &mut Connection,
    name: &[u8],
    request: &Request<'_>,
    worker: &mut Worker,
) -> Option<Control> {
    let is = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
    let acl = &worker.admin.acl;
    let count = request.arg_count();
    let protocol = resp.session.protocol;
    // AUTH <password> without a default password is the table's (Redis's error text).
    let default_has_password = acl.user("default").is_some_and(|user| !user.open());
    if is("auth") && (count == 3 || (count == 2 && default_has_password)) {
        let (user, password) = match count {
            2 => (b"default".as_slice(), request.arg(1).unwrap_or_default()),
            _ => (
                request.arg(1).unwrap_or_default(),
                request.arg(2).unwrap_or_default(),
            ),
        };
        if acl.authenticate(&mut resp.caller, user, password) {
            connection.reply_now(protocol, |reply| reply.simple(b"OK"));
        } else {
            auth_failed(connection, worker, user, "AUTH");
            connection.reply_now(protocol, |reply| reply.error(WRONG_PASSWORD.as_bytes()));
        }
        return Some(Control::Continue);
    }
    if is("hello") {
        // HELLO <proto> AUTH <user> <pass>: authenticate, then let the table reply.
        let auth = (2..count).find(|&index| {
            request
                .arg(index)
                .is_some_and(|word| word.eq_ignore_ascii_case(b"auth"))
        });
        if let Some(index) = auth.filter(|index| index + 2 < count) {
            let user = request.arg(index + 1).unwrap_or_default();
            let password = request.arg(index + 2).unwrap_or_default();
            if !acl.authenticate(&mut resp.caller, user, password) {
                auth_failed(connection, worker, user, "HELLO");
                connection.reply_now(protocol, |reply| reply.error(WRONG_PASSWORD.as_bytes()));
                return Some(Control::Continue);
            }
            return None;
        }
    }
    if resp.caller.authenticated(acl) || is("quit") || is("reset") || is("auth") {
        return None;
    }
    let message = if is("hello") { NOAUTH_HELLO } else { NOAUTH };
    connection.reply_now(protocol, |reply| reply.error(message));
    Some(Control::Continue)
}

/// Closes the connections an ACL command named ([`Disconnect`]), each on its worker's
/// next turn as CLIENT KILL does, except `caller`'s: returns whether it is one (it
/// closes once its reply is out).
pub(super) fn disconnect(worker: &Worker, closes: &Disconnect, caller: u64) -> bool {
    let clients = &worker.shared.clients;
    match closes {
        Disconnect::Nobody => false,
        Disconnect::Subscribers(user) => worker.shared.pubsub.close_denied(clients, user, caller),
        Disconnect::Users(_) | Disconnect::AllButDefault => clients.close_users(closes, caller),
    }
}

/// EXEC's second look at a queued command (Redis 7 checks each again as EXEC reaches it:
/// the user's rules may have changed since it was queued): the error to reply in its
/// place, logged in ACL LOG with context `multi`, when `caller` may no longer run `args`.
pub(super) fn exec_refusal(
    worker: &Worker,
    caller: &mut Caller,
    connection: &Connection,
    args: &[&[u8]],
) -> Option<String> {
    let acl = &worker.admin.acl;
    let denial = acl.check(caller, args).err()?;
    let client = client_text(connection, worker);
    acl.log_denial(&denial, caller.name(), Context::Multi, &client);
    Some(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and \
         the EXEC call. This command is no longer allowed for the following reason: {}",
        denial.exec_reason()
    ))
}

/// Counts and logs a failed authentication of `user` by `object` (`AUTH`, `HELLO`,
/// `HTTP`, `Pizzaria`).
pub(super) fn auth_failed(connection: &Connection, worker: &Worker, user: &[u8], object: &str) {
    worker.stats.auth_failed();
    let client = client_text(connection, worker);
    worker.admin.acl.log_auth_failure(user, object, &client);
}

/// The client's CLIENT LIST line, for ACL LOG's `client-info`.
pub(super) fn client_text(connection: &Connection, worker: &Worker) -> String {
    let text = worker.shared.clients.list(Some(connection.info.id));
    text.trim_end().to_owned()
}

/// Logs an HTTP request in from its `Authorization` value (`Basic` user and password, or
/// a `Bearer` token that is a user's password): the caller, or `None` when the
/// credentials are wrong (counted and logged).
pub(super) fn http_login(
    connection: &Connection,
    worker: &Worker,
    scheme_credentials: Credentials,
) -> Option<Caller> {
    let acl = &worker.admin.acl;
    let mut caller = Caller::new(acl);
    let accepted = match &scheme_credentials {
        Credentials::Basic { user, password } => acl.authenticate(&mut caller, user, password),
        Credentials::Bearer(token) => {
            let found: Option<Arc<User>> = acl.user_by_token(token);
            found.is_some_and(|user| {
                acl.become_user(&mut caller, user);
                true
            })
        }
    };
    if accepted {
        return Some(caller);
    }
    let user: &[u8] = match &scheme_credentials {
        Credentials::Basic { user, .. } => user,
        Credentials::Bearer(_) => b"(bearer token)",
    };
    auth_failed(connection, worker, user, "HTTP");
    None
}

/// An HTTP request's credentials.
#[derive(Debug)]
pub(super) enum Credentials {
    /// `Basic base64(user:password)` (an empty user is `default`).
    Basic { user: Vec<u8>, password: Vec<u8> },
    /// `Bearer token`: a user's password.
    Bearer(Vec<u8>),
}
