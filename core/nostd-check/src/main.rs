//! A `#![no_std]`, `#![no_main]` program that links floe-core and calls it: the arena over a
//! static buffer, `wyhash` and `glob_match`. If floe-core (or anything it depends on) pulled
//! in `std`, linking this would fail with a duplicate `panic_impl` lang item, since std and
//! this file would both define the panic handler.
//!
//! It is built for the host target with no C start files (`-nostartfiles`): `_start` is the
//! entry point, and the program leaves through the `exit_group` system call, with status 0
//! when every check holds. The C library is linked only for `memset` and `memcpy`, which
//! code in `core` calls, and the dynamic loader that resolves them. Only x86_64 Linux is
//! supported, the one target these machines have.
#![no_std]
#![no_main]

use floe_core::arena::{Arena, ArenaState};
use floe_core::error::ArenaError;
use floe_core::glob::glob_match;
use floe_core::hash::wyhash;

/// The memory the arena carves, as a host without an allocator would provide it.
static mut MEMORY: [u8; 4096] = [0; 4096];

/// Runs every check; the number of the first one that fails, or 0.
fn run() -> i32 {
    // SAFETY: the pointer is to a static, so it is non-null, aligned and valid for the whole
    // program. `run` is called once, from `_start`, on the only thread, and nothing else
    // names `MEMORY`, so the reference made here is the only one for the rest of the program.
    let memory: Option<&'static mut [u8; 4096]> = unsafe { (&raw mut MEMORY).as_mut() };
    let Some(memory) = memory else { return 8 };
    let mut arena = Arena::from_buffer(memory);
    let Ok(odd) = arena.alloc_bytes(3) else {
        return 1;
    };
    odd[0] = b'k';
    let Ok(words) = arena.alloc_slice::<u64>(8) else {
        return 2;
    };
    if words.as_ptr().addr() % 8 != 0 || words.iter().any(|word| *word != 0) {
        return 3;
    }
    if arena.freeze().is_err() || arena.alloc_bytes(1) != Err(ArenaError::Frozen) {
        return 4;
    }
    if arena.state() != ArenaState::Frozen || arena.release().is_err() {
        return 5;
    }
    // Wyhash's published test vector for "abc" with seed 2.
    words[0] = wyhash(b"abc", 2);
    if words[0] != 0x32dd_92e4_b291_5153 {
        return 6;
    }
    if !glob_match(b"user:*:[a-z]?", b"user:42:ab") || glob_match(b"a*a*a*b", b"aaaaaaa") {
        return 7;
    }
    0
}

/// The process entry point: no C runtime runs before it. The kernel (then the dynamic loader)
/// enters with a 16-byte aligned stack and no return address, so align it as a call would
/// have and call into Rust.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    core::arch::naked_asm!("xor ebp, ebp", "and rsp, -16", "call {entry}", "ud2", entry = sym entry)
}

/// What `_start` calls: runs the checks and exits with their result.
extern "C" fn entry() -> ! {
    exit(run())
}

/// Prebuilt `core` is compiled with unwind tables that name this symbol, so the link needs
/// it. With `panic = "abort"` nothing unwinds and it is never called. (If std leaked in, it
/// would define this too, but the build stops earlier, at the duplicate `panic_impl`.)
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
