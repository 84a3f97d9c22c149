//! What a constrained host pays for floe-core: a `#![no_std]`, `#![no_main]` program that
//! carves a [`Store`] from a static buffer and uses it the way an embedded cache would (set,
//! get, delete, a TTL that expires), with every log record the store reports encoded and
//! decoded again (the record codec both ways). Nothing else of floe-core is called, so LTO
//! and the linker's section GC leave out what such a host does not use (the RESP codec, the
//! command table, snapshots): the binary's `.text` is the budget the issue measures.
//!
//! Inputs pass through [`black_box`] so the optimizer cannot fold the calls away. The
//! program exits with 0 when every check holds, else the number of the first that failed.
//! The entry point and exit are those of `core/nostd-check` (x86_64 Linux only).
#![no_std]
#![no_main]

use core::hint::black_box;

use floe_core::arena::Arena;
use floe_core::codec::record::{Body, LogRecord, Record};
use floe_core::store::{Config, LogSink, SetOptions, Store};

/// The memory the store is carved from, as a host without an allocator would give it.
static mut MEMORY: [u8; 1 << 18] = [0; 1 << 18];

/// Encodes each record into a buffer and decodes it back, counting mismatches.
struct CodecSink {
    buffer: [u8; 256],
    record_count: u64,
    failure_count: u32,
}

impl LogSink for CodecSink {
    fn record(&mut self, record: Record<'_>) {
        self.record_count += 1;
        let log = LogRecord {
            lsn: self.record_count,
            body: Body::Standalone(record),
        };
        let Some(target) = self.buffer.get_mut(..log.encoded_size() as usize) else {
            self.failure_count += 1;
            return;
        };
        log.encode(target);
        match LogRecord::decode_bytes(target) {
            Ok((decoded, _)) if decoded == log => {}
            _ => self.failure_count += 1,
        }
    }
}

/// Runs every check; the number of the first one that fails, or 0.
fn run() -> i32 {
    // SAFETY: the pointer is to a static, so it is non-null, aligned and valid for the whole
    // program; `run` is called once, on the only thread, and nothing else names `MEMORY`.
    let memory: Option<&'static mut [u8; 1 << 18]> = unsafe { (&raw mut MEMORY).as_mut() };
    let Some(memory) = memory else { return 1 };
    let config = Config::new(black_box(64 << 10), black_box(256));
    let mut arena = Arena::from_buffer(memory);
    let Ok(mut store) = Store::new(&mut arena, config) else {
        return 2;
    };
    if arena.freeze().is_err() {
        return 3;
    }
    let mut sink = CodecSink {
        buffer: [0; 256],
        record_count: 0,
        failure_count: 0,
    };
    let now = black_box(1_700_000_000_000);
    for index in 0..black_box(100_u32) {
        let key = index.to_le_bytes();
        if store
            .set(0, &key, b"value", SetOptions::default(), now, &mut sink)
            .is_err()
        {
            return 4;
        }
    }
    if store.get(0, &7_u32.to_le_bytes(), now) != Some(&b"value"[..]) {
        return 5;
    }
    if !store.delete(0, &7_u32.to_le_bytes(), now, &mut sink) || store.len() != 99 {
        return 6;
    }
    if store
        .set_with_ttl(0, b"session", b"token", 10, now, &mut sink)
        .is_err()
    {
        return 7;
    }
    if store.get(0, b"session", now + 9).is_none() || store.get(0, b"session", now + 10).is_some() {
        return 8;
    }
    if sink.failure_count != 0 || sink.record_count != 102 {
        return 9;
    }
    #[cfg(feature = "commands")]
    if !commands(&mut store, now) {
        return 10;
    }
    0
}

/// A SET and a GET through the command table, replies in RESP.
#[cfg(feature = "commands")]
fn commands(store: &mut Store<'_>, now: u64) -> bool {
    use floe_core::codec::resp::SliceSink;
    use floe_core::command::{Outcome, Session, execute};

    let mut session = Session::new(1);
    let mut buffer = [0u8; 64];
    let set: [&[u8]; 3] = [b"SET", b"greeting", black_box(b"hello")];
    let mut sink = SliceSink::new(&mut buffer);
    let outcome = execute(store, &mut session, &set, now, &mut sink, &mut ());
    if outcome != Outcome::Done || sink.written() != b"+OK\r\n" {
        return false;
    }
    let get: [&[u8]; 2] = [black_box(b"GET"), b"greeting"];
    let mut sink = SliceSink::new(&mut buffer);
    let outcome = execute(store, &mut session, &get, now, &mut sink, &mut ());
    outcome == Outcome::Done && sink.written() == b"$5\r\nhello\r\n"
}

/// The process entry point (see `core/nostd-check`): align the stack as a call would have,
/// and call into Rust.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    core::arch::naked_asm!("xor ebp, ebp", "and rsp, -16", "call {entry}", "ud2", entry = sym entry)
}

/// What `_start` calls: runs the checks and exits with their result.
extern "C" fn entry() -> ! {
    exit(run())
}

/// Named by prebuilt `core`'s unwind tables; never called with `panic = "abort"`.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    exit(101)
}

/// Ends the process with `status` through the Linux `exit_group` system call.
fn exit(status: i32) -> ! {
    // SAFETY: `exit_group` (231) takes its one integer argument in rdi and never returns,
    // so nothing observes the registers the `syscall` instruction clobbers.
    unsafe {
        core::arch::asm!(
            "syscall",
            in("rax") 231,
            in("rdi") status,
            options(noreturn, nostack),
        )
    }
}
