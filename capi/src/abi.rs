//! The `extern "C"` functions: the one module of floe-capi with `unsafe`.
//!
//! Each function does three things: catch any panic (`guard`), turn its raw pointers into
//! references and slices with the checks below, and call the safe code in [`crate::db`] or
//! [`crate::memory`]. Every out-pointer is checked before the operation runs, so a refused
//! call changes nothing.
//!
//! Invariants upheld here (what makes each `unsafe` block sound, given the caller keeps the
//! contract in each function's `# Safety`):
//!
//! - A slice is made only from a non-null pointer with a size of at most `isize::MAX`
//!   (`bytes_in`, `bytes_out`); a null pointer with size 0 is the empty slice, never
//!   dereferenced.
//! - An out-pointer (or an input struct) is dereferenced only when non-null and aligned for
//!   its type (`out`, `input`).
//! - A `FloeDb *` is never dereferenced: it is a handle number ([`crate::db`]).
//! - A `FloeMemory *` is dereferenced only when non-null, aligned for [`MemoryHeader`], and
//!   its `magic` reads `MEMORY_MAGIC`; `floe_memory_create` is the only writer of a
//!   header, and writes it whole, at an aligned address inside the caller's buffer, before
//!   it returns the pointer.
//!
//! The caller's contract, common to all: pointers point to memory valid for the sizes given
//! for the whole call, an input and an output buffer do not overlap, and a `FloeMemory`
//! and its buffer are used by one thread at a time and left alone by the caller until
//! `floe_memory_destroy`.
#![allow(
    unsafe_code,
    reason = "the C boundary: raw pointers in, checked slices out"
)]

use core::mem::{align_of, size_of};
use core::ptr;
use std::any::Any;
use std::ffi::{CStr, OsStr, c_char};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use crate::db::{self, FloeDb, FloeOptions, FloeStats, Handle};
use crate::memory::{self, FloeMemory, MEMORY_BROKEN, MEMORY_MAGIC, MemoryHeader};
use crate::status::FloeStatus;

/// A pointer argument refused before the operation ran.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    reason: Reason,
    /// The argument's name, as in the header.
    argument: &'static str,
}

/// What is wrong with a pointer argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// Null where memory is needed.
    Null,
    /// A size above `isize::MAX`, which no buffer has.
    SizeTooLarge,
    /// Not aligned for the type it points to.
    Misaligned,
}

impl Refusal {
    const fn new(reason: Reason, argument: &'static str) -> Self {
        Self { reason, argument }
    }

    /// The status the call returns.
    const fn status(self) -> FloeStatus {
        match self.reason {
            Reason::Null => FloeStatus::NullPointer,
            Reason::SizeTooLarge | Reason::Misaligned => FloeStatus::InvalidArgument,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let argument = self.argument;
        match self.reason {
            Reason::Null => write!(f, "`{argument}` is null"),
            Reason::SizeTooLarge => write!(f, "`{argument}`: size above isize::MAX"),
            Reason::Misaligned => write!(f, "`{argument}` is misaligned"),
        }
    }
}

/// Fills `options` with the defaults: 64 MiB of item memory, 1,048,576 keys, persistence
/// on, `FLOE_FSYNC_ALWAYS`, `FLOE_EVICTION_NOEVICTION`.
///
/// # Safety
/// `options` is null or points to a writable `FloeOptions`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_options_default(options: *mut FloeOptions) -> FloeStatus {
    guard(|| {
        // SAFETY: `out` checks null and alignment; the caller promises the rest.
        match unsafe { out(options, "options") } {
            Ok(options) => {
                *options = FloeOptions::default();
                FloeStatus::Ok
            }
            Err(refusal) => db::thread_fail(refusal.status(), refusal),
        }
    })
}

/// Opens (creating if needed) the data directory `dir`, recovering what it holds, and
/// writes the new handle to `*db`. With `options->persistence` 0, `dir` may be null and no
/// file is touched.
///
/// Errors (message from `floe_last_error(NULL, ...)`): `FLOE_STATUS_LOCKED` if another
/// process or handle has the directory, `FLOE_STATUS_CORRUPT` if its data is damaged,
/// `FLOE_STATUS_IO` if it cannot be created or read, `FLOE_STATUS_INVALID_ARGUMENT` for
/// options out of range, `FLOE_STATUS_NULL_POINTER`.
///
/// # Safety
/// `dir` is null or a NUL-terminated string; `options` is null or points to a
/// `FloeOptions`; `db` is null or points to a writable `FloeDb *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_open(
    dir: *const c_char,
    options: *const FloeOptions,
    db: *mut *mut FloeDb,
) -> FloeStatus {
    guard(|| {
        // SAFETY: `out` checks null and alignment; the caller promises the rest.
        let target = match unsafe { out(db, "db") } {
            Ok(target) => target,
            Err(refusal) => return db::thread_fail(refusal.status(), refusal),
        };
        // SAFETY: `input` checks null and alignment; the caller promises the rest.
        let options = match unsafe { input(options, "options") } {
            Ok(options) => *options,
            Err(refusal) => return db::thread_fail(refusal.status(), refusal),
        };
        let dir = (!dir.is_null()).then(|| {
            // SAFETY: non-null, and the caller promises a NUL-terminated string.
            let bytes = unsafe { CStr::from_ptr(dir) }.to_bytes();
            Path::new(OsStr::from_bytes(bytes))
        });
        match db::open(dir, &options) {
            Ok(id) => {
                *target = ptr::without_provenance_mut(id);
                FloeStatus::Ok
            }
            Err(status) => status,
        }
    })
}

/// Flushes and closes the store, and frees the handle: any later call with it returns
/// `FLOE_STATUS_BAD_HANDLE`. The handle is freed whatever the status; a failure of the
/// final flush (`FLOE_STATUS_POISONED`, `FLOE_STATUS_IO`) is reported with its message in
/// `floe_last_error(NULL, ...)`.
///
/// # Safety
/// None: the handle is a number in a table, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_close(db: *mut FloeDb) -> FloeStatus {
    guard(|| db::close(db.addr()))
}

/// Copies the value of `key` into `value` (at most `value_capacity` bytes) and writes its
/// size to `*value_size`. If the value is larger, writes the needed size to `*value_size`,
/// leaves `value` untouched and returns `FLOE_STATUS_BUFFER_TOO_SMALL` (so a call with
/// capacity 0 and a null `value` asks for the size). `FLOE_STATUS_NOT_FOUND` if the key
/// does not exist.
///
/// # Safety
/// `key` points to `key_size` readable bytes (or is null with size 0); `value` to
/// `value_capacity` writable bytes (or is null with capacity 0); `value_size` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_get(
    db: *const FloeDb,
    key: *const u8,
    key_size: usize,
    value: *mut u8,
    value_capacity: usize,
    value_size: *mut usize,
) -> FloeStatus {
    on_handle(db, |handle| {
        // SAFETY: the helpers check null, size and alignment; the caller promises the rest.
        let (key, value, value_size) = unsafe {
            (
                bytes_in(key, key_size, "key")?,
                bytes_out(value, value_capacity, "value")?,
                out(value_size, "value_size")?,
            )
        };
        Ok(handle.get(key, value, value_size))
    })
}

/// Stores `value` under `key`, with no expiry. `FLOE_STATUS_KEY_TOO_LARGE`,
/// `FLOE_STATUS_VALUE_TOO_LARGE`, or `FLOE_STATUS_FULL` (under `noeviction`) change nothing.
/// Returns once the write is as durable as the fsync policy says.
///
/// # Safety
/// `key` and `value` point to `key_size` and `value_size` readable bytes (or are null with
/// size 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_set(
    db: *mut FloeDb,
    key: *const u8,
    key_size: usize,
    value: *const u8,
    value_size: usize,
) -> FloeStatus {
    on_handle(db, |handle| {
        // SAFETY: the helper checks null and size; the caller promises the rest.
        let (key, value) = unsafe {
            (
                bytes_in(key, key_size, "key")?,
                bytes_in(value, value_size, "value")?,
            )
        };
        Ok(handle.set(key, value))
    })
}

/// As `floe_set`, and the key expires `ttl_ms` milliseconds from now (at least 1: a TTL
/// of 0 is `FLOE_STATUS_INVALID_ARGUMENT`).
///
/// # Safety
/// As `floe_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_set_with_ttl(
    db: *mut FloeDb,
    key: *const u8,
    key_size: usize,
    value: *const u8,
    value_size: usize,
    ttl_ms: u64,
) -> FloeStatus {
    on_handle(db, |handle| {
        // SAFETY: the helper checks null and size; the caller promises the rest.
        let (key, value) = unsafe {
            (
                bytes_in(key, key_size, "key")?,
                bytes_in(value, value_size, "value")?,
            )
        };
        Ok(handle.set_with_ttl(key, value, ttl_ms))
    })
}

/// Removes `key`; writes whether it existed to `*existed`.
///
/// # Safety
/// `key` points to `key_size` readable bytes (or is null with size 0); `existed` is null
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_delete(
    db: *mut FloeDb,
    key: *const u8,
    key_size: usize,
    existed: *mut bool,
) -> FloeStatus {
    on_handle(db, |handle| {
        // SAFETY: the helpers check null, size and alignment; the caller promises the rest.
        let (key, existed) = unsafe { (bytes_in(key, key_size, "key")?, out(existed, "existed")?) };
        Ok(handle.delete(key, existed))
    })
}

/// Writes whether `key` exists (and has not expired) to `*exists`.
///
/// # Safety
/// As `floe_delete`, with `exists`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_exists(
    db: *const FloeDb,
    key: *const u8,
    key_size: usize,
    exists: *mut bool,
) -> FloeStatus {
    on_handle(db, |handle| {
        // SAFETY: the helpers check null, size and alignment; the caller promises the rest.
        let (key, exists) = unsafe { (bytes_in(key, key_size, "key")?, out(exists, "exists")?) };
        *exists = handle.exists(key);
        Ok(FloeStatus::Ok)
    })
}

/// Writes the number of keys stored to `*count`.
///
/// # Safety
/// `count` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_len(db: *const FloeDb, count: *mut u64) -> FloeStatus {
    on_handle(db, |handle| {
        // SAFETY: `out` checks null and alignment; the caller promises the rest.
        let count = unsafe { out(count, "count")? };
        *count = handle.len() as u64;
        Ok(FloeStatus::Ok)
    })
}

/// Waits until everything written so far is as durable as the fsync policy promises.
///
/// # Safety
/// None: the handle is a number in a table, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_flush(db: *mut FloeDb) -> FloeStatus {
    on_handle(db, |handle| Ok(handle.flush()))
}

/// Writes the store's counters to `*stats`.
///
/// # Safety
/// `stats` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_stats(db: *const FloeDb, stats: *mut FloeStats) -> FloeStatus {
    on_handle(db, |handle| {
        // SAFETY: `out` checks null and alignment; the caller promises the rest.
        let stats = unsafe { out(stats, "stats")? };
        *stats = handle.stats();
        Ok(FloeStatus::Ok)
    })
}

/// Copies the message of the last failed call on `db` into `buffer`, NUL-terminated, and
/// writes its size with the NUL to `*message_size`. With `db` null: the message of this
/// thread's last failure that had no handle (`floe_open`, `floe_close`, a bad handle, a
/// caught panic). `FLOE_STATUS_BUFFER_TOO_SMALL` (buffer untouched) if it does not fit.
/// An empty string when nothing failed yet.
///
/// # Safety
/// `buffer` points to `buffer_capacity` writable bytes (or is null with capacity 0);
/// `message_size` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_last_error(
    db: *const FloeDb,
    buffer: *mut c_char,
    buffer_capacity: usize,
    message_size: *mut usize,
) -> FloeStatus {
    guard(|| {
        // SAFETY: the helpers check null, size and alignment; the caller promises the rest.
        let arguments = unsafe {
            (
                bytes_out(buffer.cast::<u8>(), buffer_capacity, "buffer"),
                out(message_size, "message_size"),
            )
        };
        let (buffer, size) = match arguments {
            (Ok(buffer), Ok(size)) => (buffer, size),
            (Err(refusal), _) | (_, Err(refusal)) => {
                return db::thread_fail(refusal.status(), refusal);
            }
        };
        if db.is_null() {
            db::thread_message_copy(buffer, size)
        } else {
            db::with_handle(db.addr(), |handle| handle.message_copy(buffer, size))
        }
    })
}

/// Writes to `*buffer_size` the bytes of buffer `floe_memory_create` needs for a store of
/// `memory_size` bytes of items and up to `keys_max` keys.
/// `FLOE_STATUS_INVALID_ARGUMENT` for sizes floe cannot build a store of (memory under
/// four segments of 4 KiB, or too large).
///
/// # Safety
/// `buffer_size` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_memory_buffer_size(
    memory_size: u64,
    keys_max: u64,
    buffer_size: *mut usize,
) -> FloeStatus {
    guard(|| {
        // SAFETY: `out` checks null and alignment; the caller promises the rest.
        let target = match unsafe { out(buffer_size, "buffer_size") } {
            Ok(target) => target,
            Err(refusal) => return refusal.status(),
        };
        match memory::config(memory_size, keys_max, 0) {
            Ok(config) => {
                *target = memory::buffer_size(&config);
                FloeStatus::Ok
            }
            Err(status) => status,
        }
    })
}

/// Creates an in-memory store inside `buffer` (`buffer_size` bytes, any alignment, at
/// least what `floe_memory_buffer_size` says) and writes its handle to `*memory`. No system
/// call, no allocation: the store lives in the buffer. `FLOE_STATUS_BUFFER_TOO_SMALL` if
/// the buffer is smaller than needed; `FLOE_STATUS_INVALID_ARGUMENT` for sizes or an
/// eviction code out of range.
///
/// # Safety
/// `buffer` points to `buffer_size` writable bytes that stay valid, and that the caller
/// neither reads nor writes, until `floe_memory_destroy` returns; `memory` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_memory_create(
    buffer: *mut u8,
    buffer_size: usize,
    memory_size: u64,
    keys_max: u64,
    eviction: u32,
    memory: *mut *mut FloeMemory,
) -> FloeStatus {
    guard(|| {
        // SAFETY: `out` checks null and alignment; the caller promises the rest.
        let target = match unsafe { out(memory, "memory") } {
            Ok(target) => target,
            Err(refusal) => return refusal.status(),
        };
        let config = match memory::config(memory_size, keys_max, eviction) {
            Ok(config) => config,
            Err(status) => return status,
        };
        if buffer_size < memory::buffer_size(&config) {
            return FloeStatus::BufferTooSmall;
        }
        // SAFETY: `bytes_out` checks null and size; the caller promises the buffer is ours
        // until `floe_memory_destroy`, which is what `'static` stands for here: the store
        // borrows it, and every access goes through the handle while its magic is live.
        let bytes: &'static mut [u8] = match unsafe { bytes_out(buffer, buffer_size, "buffer") } {
            Ok(bytes) => bytes,
            Err(refusal) => return refusal.status(),
        };
        let offset = bytes.as_ptr().align_offset(align_of::<MemoryHeader>());
        let Some((head, arena)) = offset
            .checked_add(size_of::<MemoryHeader>())
            .and_then(|header_end| bytes.split_at_mut_checked(header_end))
        else {
            return FloeStatus::BufferTooSmall;
        };
        let header = match MemoryHeader::new(arena, config) {
            Ok(header) => header,
            Err(status) => return status,
        };
        let Some(place) = head.get_mut(offset..) else {
            return FloeStatus::BufferTooSmall;
        };
        assert!(
            place.len() == size_of::<MemoryHeader>(),
            "len={}",
            place.len()
        );
        let place = place.as_mut_ptr().cast::<MemoryHeader>();
        assert!(place.is_aligned(), "unaligned header");
        // SAFETY: `place` is aligned (`align_offset`, asserted) and spans exactly
        // `size_of::<MemoryHeader>()` bytes of the caller's buffer, borrowed exclusively and
        // disjoint from the arena the store carved.
        unsafe { place.write(header) };
        *target = place.cast::<FloeMemory>();
        FloeStatus::Ok
    })
}

/// As `floe_get`, on a memory store, at time `now_ms` (milliseconds on the caller's
/// clock: a key whose expiry is at or before it is gone).
///
/// # Safety
/// As `floe_get`; `memory` is a handle from `floe_memory_create` whose buffer is still
/// valid (after `floe_memory_destroy` it is refused with `FLOE_STATUS_BAD_HANDLE` until the
/// buffer is reused).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_memory_get(
    memory: *mut FloeMemory,
    key: *const u8,
    key_size: usize,
    now_ms: u64,
    value: *mut u8,
    value_capacity: usize,
    value_size: *mut usize,
) -> FloeStatus {
    // SAFETY: the caller promises `memory` came from `floe_memory_create` (checked further
    // by its magic), and the pointers as the helpers need.
    unsafe {
        on_memory(memory, |header| {
            let key = bytes_in(key, key_size, "key").map_err(|refusal| refusal.status())?;
            let value = bytes_out(value, value_capacity, "value").map_err(|r| r.status())?;
            let value_size = out(value_size, "value_size").map_err(|r| r.status())?;
            Ok(header.get(key, now_ms, value, value_size))
        })
    }
}

/// Stores `value` under `key` in a memory store, expiring `ttl_ms` after `now_ms` (0: no
/// expiry). Under `FLOE_EVICTION_NOEVICTION` a full store refuses with `FLOE_STATUS_FULL`.
///
/// # Safety
/// As `floe_set` and `floe_memory_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_memory_set(
    memory: *mut FloeMemory,
    key: *const u8,
    key_size: usize,
    value: *const u8,
    value_size: usize,
    ttl_ms: u64,
    now_ms: u64,
) -> FloeStatus {
    // SAFETY: as in `floe_memory_get`.
    unsafe {
        on_memory(memory, |header| {
            let key = bytes_in(key, key_size, "key").map_err(|refusal| refusal.status())?;
            let value = bytes_in(value, value_size, "value").map_err(|r| r.status())?;
            Ok(header.set(key, value, ttl_ms, now_ms))
        })
    }
}

/// Removes `key` from a memory store; writes whether it existed to `*existed`.
///
/// # Safety
/// As `floe_delete` and `floe_memory_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_memory_delete(
    memory: *mut FloeMemory,
    key: *const u8,
    key_size: usize,
    now_ms: u64,
    existed: *mut bool,
) -> FloeStatus {
    // SAFETY: as in `floe_memory_get`.
    unsafe {
        on_memory(memory, |header| {
            let key = bytes_in(key, key_size, "key").map_err(|refusal| refusal.status())?;
            let existed = out(existed, "existed").map_err(|refusal| refusal.status())?;
            *existed = header.delete(key, now_ms);
            Ok(FloeStatus::Ok)
        })
    }
}

/// Writes the number of keys in a memory store to `*count`.
///
/// # Safety
/// As `floe_len` and `floe_memory_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_memory_len(memory: *mut FloeMemory, count: *mut u64) -> FloeStatus {
    // SAFETY: as in `floe_memory_get`.
    unsafe {
        on_memory(memory, |header| {
            let count = out(count, "count").map_err(|refusal| refusal.status())?;
            *count = header.len() as u64;
            Ok(FloeStatus::Ok)
        })
    }
}

/// Ends a memory store, live or broken by a panic: later calls with the handle are
/// refused (while the buffer is not reused), and the buffer is the caller's again.
///
/// # Safety
/// As `floe_memory_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn floe_memory_destroy(memory: *mut FloeMemory) -> FloeStatus {
    guard(|| {
        // SAFETY: the caller promises `memory` came from `floe_memory_create`.
        let header: *mut MemoryHeader = match unsafe { memory_header(memory) } {
            Ok(header) => header,
            // A broken store's header is whole (only its magic changed), so it ends the
            // same way.
            Err(FloeStatus::Panic) => memory.cast::<MemoryHeader>(),
            Err(status) => return status,
        };
        // The store owns nothing but the buffer (its prefix index, the one part that could
        // own heap memory, is never turned on here), so ending it is forgetting it.
        // SAFETY: `memory_header` checked the pointer and read a live or broken magic, and
        // a broken header is whole; this only reads.
        let owns_heap = unsafe { (*header).owns_heap() };
        assert!(!owns_heap, "a memory store's prefix index is never on");
        // SAFETY: as above; only the magic is written.
        unsafe { (&raw mut (*header).magic).write(0) };
        FloeStatus::Ok
    })
}

/// Runs `body`; a panic becomes [`FloeStatus::Panic`], its message kept for this thread.
fn guard(body: impl FnOnce() -> FloeStatus) -> FloeStatus {
    panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        db::thread_fail(
            FloeStatus::Panic,
            format_args!("floe panicked: {}", panic_message(&*payload)),
        )
    })
}

/// Runs `operation` on the open handle `db` under `guard`; a refused argument becomes
/// the handle's last error.
fn on_handle(
    db: *const FloeDb,
    operation: impl FnOnce(&Handle) -> Result<FloeStatus, Refusal>,
) -> FloeStatus {
    guard(|| {
        db::with_handle(db.addr(), |handle| {
            operation(handle).unwrap_or_else(|refusal| handle.fail(refusal.status(), refusal))
        })
    })
}

/// Runs `operation` on the memory store `memory` under `guard`; a panic marks the store
/// broken ([`MEMORY_BROKEN`]): its state may be half-changed.
///
/// # Safety
/// As [`memory_header`].
unsafe fn on_memory(
    memory: *mut FloeMemory,
    operation: impl FnOnce(&mut MemoryHeader) -> Result<FloeStatus, FloeStatus>,
) -> FloeStatus {
    // SAFETY: the caller's contract.
    let header = match unsafe { memory_header(memory) } {
        Ok(header) => header,
        Err(status) => return status,
    };
    let header: *mut MemoryHeader = header;
    let status = guard(|| {
        // SAFETY: just checked by `memory_header`; the reference lives only in this call.
        operation(unsafe { &mut *header }).unwrap_or_else(|status| status)
    });
    if status == FloeStatus::Panic {
        // SAFETY: the header was live when the call began; only its magic is written.
        unsafe { (&raw mut (*header).magic).write(MEMORY_BROKEN) };
    }
    status
}

/// The live header behind a `FloeMemory *`.
///
/// # Safety
/// `memory` is null or a handle from `floe_memory_create` whose buffer is still valid and
/// not in use by another call.
unsafe fn memory_header<'a>(memory: *mut FloeMemory) -> Result<&'a mut MemoryHeader, FloeStatus> {
    let header = memory.cast::<MemoryHeader>();
    if header.is_null() {
        return Err(FloeStatus::NullPointer);
    }
    if !header.is_aligned() {
        return Err(FloeStatus::BadHandle);
    }
    // SAFETY: non-null and aligned; the caller promises it points into a live buffer that
    // `floe_memory_create` wrote a header to (a destroyed one reads magic 0).
    let magic = unsafe { (&raw const (*header).magic).read() };
    match magic {
        // SAFETY: the magic says `floe_memory_create` wrote a whole header here.
        MEMORY_MAGIC => Ok(unsafe { &mut *header }),
        MEMORY_BROKEN => Err(FloeStatus::Panic),
        _ => Err(FloeStatus::BadHandle),
    }
}

/// `size` bytes at `pointer` as a slice; null with size 0 is the empty slice.
///
/// # Safety
/// If non-null, `pointer` points to `size` bytes readable for `'a`.
unsafe fn bytes_in<'a>(
    pointer: *const u8,
    size: usize,
    argument: &'static str,
) -> Result<&'a [u8], Refusal> {
    check_bytes(pointer, size, argument)?;
    if size == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-null and at most isize::MAX bytes (checked); readable (the caller).
    Ok(unsafe { core::slice::from_raw_parts(pointer, size) })
}

/// `size` bytes at `pointer` as a writable slice; null with size 0 is the empty slice.
///
/// # Safety
/// If non-null, `pointer` points to `size` bytes writable for `'a`, used by nothing else.
unsafe fn bytes_out<'a>(
    pointer: *mut u8,
    size: usize,
    argument: &'static str,
) -> Result<&'a mut [u8], Refusal> {
    check_bytes(pointer, size, argument)?;
    if size == 0 {
        return Ok(&mut []);
    }
    // SAFETY: non-null and at most isize::MAX bytes (checked); writable and exclusive
    // (the caller).
    Ok(unsafe { core::slice::from_raw_parts_mut(pointer, size) })
}

/// Refuses a null pointer with a size, and a size no slice may have.
fn check_bytes(pointer: *const u8, size: usize, argument: &'static str) -> Result<(), Refusal> {
    if size > isize::MAX as usize {
        return Err(Refusal::new(Reason::SizeTooLarge, argument));
    }
    if pointer.is_null() && size > 0 {
        return Err(Refusal::new(Reason::Null, argument));
    }
    Ok(())
}

/// The out-pointer `pointer` as a reference.
///
/// # Safety
/// If non-null, `pointer` points to a `T` writable (and readable) for `'a`, used by
/// nothing else.
unsafe fn out<'a, T>(pointer: *mut T, argument: &'static str) -> Result<&'a mut T, Refusal> {
    if pointer.is_null() {
        return Err(Refusal::new(Reason::Null, argument));
    }
    if !pointer.is_aligned() {
        return Err(Refusal::new(Reason::Misaligned, argument));
    }
    // SAFETY: non-null and aligned (checked); valid and exclusive (the caller).
    Ok(unsafe { &mut *pointer })
}

/// The input pointer `pointer` as a shared reference.
///
/// # Safety
/// If non-null, `pointer` points to a `T` readable for `'a` and not written meanwhile.
unsafe fn input<'a, T>(pointer: *const T, argument: &'static str) -> Result<&'a T, Refusal> {
    if pointer.is_null() {
        return Err(Refusal::new(Reason::Null, argument));
    }
    if !pointer.is_aligned() {
        return Err(Refusal::new(Reason::Misaligned, argument));
    }
    // SAFETY: non-null and aligned (checked); valid and unchanging (the caller).
    Ok(unsafe { &*pointer })
}

/// The text of a panic's payload, when it has one.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("on purpose"));
        assert_eq!(status, FloeStatus::Panic);
        let mut buffer = [0u8; 64];
        let mut size = 0;
        assert_eq!(
            db::thread_message_copy(&mut buffer, &mut size),
            FloeStatus::Ok
        );
        assert_eq!(&buffer[..size], b"floe panicked: on purpose\0");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&7_u32), "(no message)");
    }

    #[test]
    fn sizes_above_isize_max_and_null_with_a_size_are_refused() {
        let refused = check_bytes(ptr::null(), 1, "key").err().map(|r| r.status());
        assert_eq!(refused, Some(FloeStatus::NullPointer));
        let byte = 0u8;
        let refused = check_bytes(&byte, usize::MAX, "key").err();
        assert_eq!(
            refused.map(|r| r.status()),
            Some(FloeStatus::InvalidArgument)
        );
        assert_eq!(
            refused.map(|r| r.to_string()),
            Some("`key`: size above isize::MAX".to_owned())
        );
        assert!(check_bytes(ptr::null(), 0, "key").is_ok());
    }

    #[test]
    fn a_misaligned_out_pointer_is_refused() {
        let mut words = [0u64; 2];
        let misaligned = words
            .as_mut_ptr()
            .cast::<u8>()
            .wrapping_add(1)
            .cast::<u64>();
        // SAFETY: refused before any access.
        let refused = unsafe { out(misaligned, "count") }.err();
        assert_eq!(
            refused.map(|r| r.status()),
            Some(FloeStatus::InvalidArgument)
        );
        assert_eq!(
            refused.map(|r| r.to_string()),
            Some("`count` is misaligned".to_owned())
        );
        // SAFETY: refused before any access.
        let refused = unsafe { input(misaligned.cast_const(), "options") }.err();
        assert_eq!(refused.map(|r| r.reason), Some(Reason::Misaligned));
        // SAFETY: refused before any access.
        let refused = unsafe { input(ptr::null::<u64>(), "options") }.err();
        assert_eq!(refused.map(|r| r.status()), Some(FloeStatus::NullPointer));
    }

    #[test]
    fn a_panic_inside_a_memory_call_breaks_the_store() {
        let mut size = 0;
        // SAFETY: a writable usize.
        let status = unsafe { floe_memory_buffer_size(64 << 10, 100, &mut size) };
        assert_eq!(status, FloeStatus::Ok);
        let mut buffer = vec![0u8; size];
        let mut memory = ptr::null_mut();
        // SAFETY: the buffer outlives the store, destroyed below.
        let status =
            unsafe { floe_memory_create(buffer.as_mut_ptr(), size, 64 << 10, 100, 0, &mut memory) };
        assert_eq!(status, FloeStatus::Ok);
        // SAFETY: a live handle.
        let status = unsafe { on_memory(memory, |_| panic!("inside")) };
        assert_eq!(status, FloeStatus::Panic);
        let mut count = 0;
        // SAFETY: the handle's buffer is alive; the broken magic refuses the call.
        let status = unsafe { floe_memory_len(memory, &mut count) };
        assert_eq!(status, FloeStatus::Panic);
        // SAFETY: as above; a broken store ends like a live one.
        assert_eq!(unsafe { floe_memory_destroy(memory) }, FloeStatus::Ok);
        // SAFETY: as above; now the magic is 0.
        let status = unsafe { floe_memory_destroy(memory) };
        assert_eq!(status, FloeStatus::BadHandle);
        drop(buffer);
    }
}
