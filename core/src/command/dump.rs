//! DUMP and RESTORE: a key's value as a payload in Redis's own format
//! ([`crate::codec::rdb`]), so values move between floe nodes (slot migration) and
//! between floe and Redis.
//!
//! DUMP writes the payload straight into the reply; RESTORE checks the whole payload,
//! then composes the value straight into the store (one `Set` record). Arguments are
//! checked in Redis's order: the options, then BUSYKEY, then the TTL, then the payload.
//! `IDLETIME` and `FREQ` are checked as Redis checks them and then ignored: floe's
//! eviction keeps its own access bits.

use super::{Context, Door, is};
use crate::codec::rdb::{self, Object};

/// The commands of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Dump,
    Restore,
}

/// Runs one command of the family; its arity was checked.
pub(super) fn run<D: Door>(command: Command, context: &mut Context<'_, '_, D>) {
    match command {
        Command::Dump => dump(context),
        Command::Restore => restore(context),
    }
}

/// DUMP key: the payload, or a null if the key does not exist.
fn dump<D: Door>(context: &mut Context<'_, '_, D>) {
    let (db, key, now) = (context.session.db, context.arg(1), context.now);
    match context.shards.store_for(key).dump_value(db, key, now) {
        None => context.reply.null(),
        Some(value) => context
            .reply
            .bulk_parts(rdb::encoded_size(value), |put| rdb::encode(value, put)),
    }
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]: `+OK`.
fn restore<D: Door>(context: &mut Context<'_, '_, D>) {
    let mut replace = false;
    let mut absolute = false;
    let mut idle_given = false;
    let mut frequency_given = false;
    let mut index = 4;
    while index < context.count() {
        let option = context.arg(index);
        let has_value = index + 1 < context.count();
        if is(option, "replace") {
            replace = true;
        } else if is(option, "absttl") {
            absolute = true;
        } else if is(option, "idletime") && has_value && !frequency_given {
            let Some(idle) = context.integer(index + 1) else {
                return;
            };
            if idle < 0 {
                context.error("ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            idle_given = true;
            index += 1;
        } else if is(option, "freq") && has_value && !idle_given {
            let Some(frequency) = context.integer(index + 1) else {
                return;
            };
            if !(0..=255).contains(&frequency) {
                context.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            frequency_given = true;
            index += 1;
        } else {
            context.syntax_error();
            return;
        }
        index += 1;
    }
    let (db, key, now) = (context.session.db, context.arg(1), context.now);
    if !replace && context.shards.store_for(key).exists(db, key, now) {
        context.error("BUSYKEY Target key name already exists.");
        return;
    }
    let Some(ttl) = context.integer(2) else {
        return;
    };
    let Ok(ttl) = u64::try_from(ttl) else {
        context.error("ERR Invalid TTL value, must be >= 0");
        return;
    };
    let object = match Object::decode(context.arg(3)) {
        Ok(object) => object,
        Err(error) => {
            context.error(error.message());
            return;
        }
    };
    let expires_at = match ttl {
        0 => 0,
        _ if absolute => ttl,
        _ => now.saturating_add(ttl),
    };
    let restored =
        context
            .shards
            .store_for(key)
            .restore(db, key, &object, expires_at, now, context.log);
    match restored {
        Ok(()) => context.ok(),
        Err(error) => context.store_error(error),
    }
}

#[cfg(test)]
mod tests;
