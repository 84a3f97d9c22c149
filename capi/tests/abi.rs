//! The C ABI called from Rust, as a C program would: through the `extern "C"` functions
//! with raw pointers. Pins what `tests/test.c` checks under valgrind, plus what C cannot
//! easily do: many threads on one handle while another closes it.
#![allow(
    unsafe_code,
    reason = "the functions under test are the unsafe C boundary"
)]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::ffi::CString;
use std::ptr;
use std::sync::Barrier;
use std::thread;

use floe_capi::*;

/// Opens a store with no files (`persistence` 0) of 1 MiB and 1,000 keys.
fn open_cache() -> *mut FloeDb {
    let options = FloeOptions {
        memory_size: 1 << 20,
        keys_max: 1000,
        persistence: 0,
        ..FloeOptions::default()
    };
    let mut db = ptr::null_mut();
    // SAFETY: valid options and out-pointer; a null directory is allowed without persistence.
    let status = unsafe { floe_open(ptr::null(), &options, &mut db) };
    assert_eq!(status, FloeStatus::Ok);
    db
}

fn set(db: *mut FloeDb, key: &[u8], value: &[u8]) -> FloeStatus {
    // SAFETY: slices give valid pointers and sizes.
    unsafe { floe_set(db, key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
}

/// The value of `key` read through a buffer of `capacity` bytes: status and bytes (the
/// needed size's worth of zeros when the buffer is too small).
fn get(db: *const FloeDb, key: &[u8], capacity: usize) -> (FloeStatus, Vec<u8>) {
    let mut buffer = vec![0u8; capacity];
    let mut size = 0;
    // SAFETY: slices give valid pointers and sizes; `size` is writable.
    let status = unsafe {
        floe_get(
            db,
            key.as_ptr(),
            key.len(),
            buffer.as_mut_ptr(),
            capacity,
            &mut size,
        )
    };
    buffer.resize(size, 0);
    (status, buffer)
}

fn last_error(db: *const FloeDb) -> String {
    let mut buffer = [0u8; 512];
    let mut size = 0;
    // SAFETY: a writable buffer of its length and a writable size.
    let status =
        unsafe { floe_last_error(db, buffer.as_mut_ptr().cast(), buffer.len(), &mut size) };
    assert_eq!(status, FloeStatus::Ok);
    String::from_utf8_lossy(&buffer[..size.saturating_sub(1)]).into_owned()
}

#[test]
fn a_cache_handle_sets_gets_deletes_counts_and_closes() {
    let db = open_cache();
    assert_eq!(set(db, b"k", b"hello"), FloeStatus::Ok);
    assert_eq!(get(db, b"k", 16), (FloeStatus::Ok, b"hello".to_vec()));
    assert_eq!(get(db, b"k", 2), (FloeStatus::BufferTooSmall, vec![0; 5]));
    assert_eq!(get(db, b"absent", 16).0, FloeStatus::NotFound);

    let mut flag = false;
    // SAFETY: valid key slice and writable flag.
    let status = unsafe { floe_exists(db, b"k".as_ptr(), 1, &mut flag) };
    assert_eq!(status, FloeStatus::Ok);
    assert!(flag);
    let mut count = 0;
    // SAFETY: writable count.
    assert_eq!(unsafe { floe_len(db, &mut count) }, FloeStatus::Ok);
    assert_eq!(count, 1);
    // SAFETY: a zero TTL is refused before anything is read past the slices.
    let status = unsafe { floe_set_with_ttl(db, b"t".as_ptr(), 1, b"v".as_ptr(), 1, 0) };
    assert_eq!(status, FloeStatus::InvalidArgument);
    assert_eq!(last_error(db), "ttl_ms is 0");
    // SAFETY: valid key slice and writable flag.
    let status = unsafe { floe_delete(db, b"k".as_ptr(), 1, &mut flag) };
    assert_eq!(status, FloeStatus::Ok);
    assert!(flag);

    let mut stats = FloeStats::default();
    // SAFETY: writable stats.
    assert_eq!(unsafe { floe_stats(db, &mut stats) }, FloeStatus::Ok);
    assert_eq!((stats.hits, stats.misses, stats.keys), (2, 1, 0));
    // SAFETY: a live handle.
    assert_eq!(unsafe { floe_flush(db) }, FloeStatus::Ok);
    // SAFETY: a live handle.
    assert_eq!(unsafe { floe_close(db) }, FloeStatus::Ok);
    assert_eq!(set(db, b"k", b"v"), FloeStatus::BadHandle);
    assert!(last_error(ptr::null()).contains("not an open FloeDb"));
}

#[test]
fn null_pointers_are_refused_and_named() {
    let db = open_cache();
    // SAFETY: the null out-pointer is refused before any access.
    let status = unsafe { floe_get(db, b"k".as_ptr(), 1, ptr::null_mut(), 0, ptr::null_mut()) };
    assert_eq!(status, FloeStatus::NullPointer);
    assert_eq!(last_error(db), "`value_size` is null");
    // SAFETY: refused before any access.
    let status = unsafe { floe_set(db, ptr::null(), 4, ptr::null(), 0) };
    assert_eq!(status, FloeStatus::NullPointer);
    assert_eq!(last_error(db), "`key` is null");
    // SAFETY: refused before any access.
    let status = unsafe { floe_options_default(ptr::null_mut()) };
    assert_eq!(status, FloeStatus::NullPointer);
    // SAFETY: refused before any access.
    let status = unsafe { floe_open(ptr::null(), ptr::null(), ptr::null_mut()) };
    assert_eq!(status, FloeStatus::NullPointer);
    // SAFETY: a live handle.
    assert_eq!(unsafe { floe_close(db) }, FloeStatus::Ok);
}

#[test]
fn a_held_directory_is_refused_and_the_holder_keeps_working() {
    let dir = std::env::temp_dir().join(format!("floe-capi-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir); // a leftover from an earlier run, if any
    let path = CString::new(dir.to_str().unwrap()).unwrap();
    let options = FloeOptions {
        memory_size: 1 << 20,
        keys_max: 100,
        ..FloeOptions::default()
    };
    let (mut first, mut second) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: a NUL-terminated path, valid options and out-pointers.
    let status = unsafe { floe_open(path.as_ptr(), &options, &mut first) };
    assert_eq!(status, FloeStatus::Ok);
    // SAFETY: as above.
    let status = unsafe { floe_open(path.as_ptr(), &options, &mut second) };
    assert_eq!(status, FloeStatus::Locked);
    assert!(second.is_null());
    assert!(last_error(ptr::null()).contains("in use"));
    assert_eq!(set(first, b"k", b"v"), FloeStatus::Ok);
    // SAFETY: a live handle.
    assert_eq!(unsafe { floe_close(first) }, FloeStatus::Ok);

    // SAFETY: as above.

    let status = unsafe { floe_open(path.as_ptr(), &options, &mut second) };

    assert_eq!(status, FloeStatus::Ok);
    assert_eq!(get(second, b"k", 8), (FloeStatus::Ok, b"v".to_vec()));
    // SAFETY: a live handle.
    assert_eq!(unsafe { floe_close(second) }, FloeStatus::Ok);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn threads_share_a_handle_and_a_close_refuses_the_rest() {
    let db = open_cache();
    let id = db.addr(); // a handle is a number: safe to send across threads
    let barrier = Barrier::new(5);
    thread::scope(|scope| {
        for worker in 0..4_u8 {
            let barrier = &barrier;
            scope.spawn(move || {
                let db = ptr::without_provenance_mut::<FloeDb>(id);
                barrier.wait();
                for index in 0..100_u8 {
                    let status = set(db, &[worker, index], b"v");
                    // A call that found the handle before the close removed it may meet
                    // the closed store (`Closed`); one after is refused, never run.
                    assert!(
                        matches!(
                            status,
                            FloeStatus::Ok | FloeStatus::Closed | FloeStatus::BadHandle
                        ),
                        "{status:?}"
                    );
                }
            });
        }
        barrier.wait();
        // SAFETY: a live handle; the workers' calls in flight finish on their own clone.
        assert_eq!(unsafe { floe_close(db) }, FloeStatus::Ok);
    });
    assert_eq!(set(db, b"k", b"v"), FloeStatus::BadHandle);
}

#[test]
fn a_memory_store_lives_in_the_callers_buffer() {
    let mut needed = 0;
    // SAFETY: a writable size.
    let status = unsafe { floe_memory_buffer_size(64 << 10, 100, &mut needed) };
    assert_eq!(status, FloeStatus::Ok);
    let mut buffer = vec![0u8; needed];
    let mut memory = ptr::null_mut();
    // SAFETY: a writable buffer of `needed` bytes that outlives the store (destroyed below).
    let status =
        unsafe { floe_memory_create(buffer.as_mut_ptr(), needed, 64 << 10, 100, 0, &mut memory) };
    assert_eq!(status, FloeStatus::Ok);

    let now = 5_000;
    // SAFETY: a live store and valid slices.
    let status = unsafe { floe_memory_set(memory, b"k".as_ptr(), 1, b"vv".as_ptr(), 2, 5, now) };
    assert_eq!(status, FloeStatus::Ok);
    let mut value = [0u8; 4];
    let mut size = 0;
    for (at, expected) in [(now + 4, FloeStatus::Ok), (now + 5, FloeStatus::NotFound)] {
        // SAFETY: a live store, valid slices and a writable size.
        let status = unsafe {
            floe_memory_get(
                memory,
                b"k".as_ptr(),
                1,
                at,
                value.as_mut_ptr(),
                4,
                &mut size,
            )
        };
        assert_eq!(status, expected, "at {at}");
    }
    let mut existed = true;
    // SAFETY: a live store, a valid slice and a writable flag.
    let status = unsafe { floe_memory_delete(memory, b"k".as_ptr(), 1, now, &mut existed) };
    assert_eq!((status, existed), (FloeStatus::Ok, false));
    let mut count = 1;
    // SAFETY: a live store and a writable count.
    let status = unsafe { floe_memory_len(memory, &mut count) };
    assert_eq!(status, FloeStatus::Ok);
    assert_eq!(count, 0);
    // SAFETY: a live store.
    assert_eq!(unsafe { floe_memory_destroy(memory) }, FloeStatus::Ok);
    // SAFETY: the buffer is still alive: the destroyed handle reads magic 0 and is refused.
    let status = unsafe { floe_memory_len(memory, &mut count) };
    assert_eq!(status, FloeStatus::BadHandle);
    drop(buffer);
}
