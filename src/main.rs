//! The `floe` binary: argument parsing only; everything else lives in the runtime.
//!
//! Until the stdin CLI lands, running `floe` shows the engine at work on Poro's example
//! session, so `cargo run --release` always does something true.

use std::time::{SystemTime, UNIX_EPOCH};

use floe_core::arena::Arena;
use floe_core::store::{Config, SetOptions, Store};

fn main() {
    let config = Config::new(16 << 20, 100_000);
    let mut memory = vec![0u8; config.arena_size()];
    let mut arena = Arena::from_buffer(&mut memory);
    let mut store = match Store::new(&mut arena, config) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("floe: cannot start the store: {error:?}");
            std::process::exit(1);
        }
    };
    if let Err(error) = arena.freeze() {
        eprintln!("floe: cannot freeze the arena: {error:?}");
        std::process::exit(1);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        });

    println!(
        "floe {} - engine demo (the interactive CLI is not built yet)",
        env!("CARGO_PKG_VERSION")
    );
    println!("> SET mykey \"Hello, World!\"");
    match store.set(
        0,
        b"mykey",
        b"Hello, World!",
        SetOptions::default(),
        now,
        &mut (),
    ) {
        Ok(_) => println!("OK"),
        Err(error) => println!("(error) {}", error.message()),
    }
    println!("> GET mykey");
    match store.get(0, b"mykey", now) {
        Some(value) => println!("\"{}\"", String::from_utf8_lossy(value)),
        None => println!("(nil)"),
    }
    println!("> DEL mykey");
    println!(
        "(integer) {}",
        i32::from(store.delete(0, b"mykey", now, &mut ()))
    );
    println!("> GET mykey");
    match store.get(0, b"mykey", now) {
        Some(value) => println!("\"{}\"", String::from_utf8_lossy(value)),
        None => println!("(nil)"),
    }
    let stats = store.stats();
    println!(
        "arena {} bytes, frozen; table + segments use {} of {} bytes",
        arena.capacity_size(),
        stats.memory_used_size,
        stats.memory_limit_size
    );
}
