//! Fuzz target that must fail: it panics on inputs starting with `FUZ!`, a planted bug
//! that coverage guidance finds one byte at a time (each matched byte opens a new branch).
//!
//! It proves that the harness works: instrumentation, corpus, crash detection. A CI
//! script runs it briefly and fails if it does NOT crash:
//!
//! ```text
//! if cargo fuzz run -s none canary -- -max_total_time=60; then
//!     echo "canary survived: the fuzzing harness is broken"; exit 1
//! fi
//! ```
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'F') {
        if data.get(1) == Some(&b'U') {
            if data.get(2) == Some(&b'Z') {
                if data.get(3) == Some(&b'!') {
                    panic!("canary: the fuzzer found the planted bug");
                }
            }
        }
    }
});
