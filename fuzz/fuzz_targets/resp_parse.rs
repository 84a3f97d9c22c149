//! Placeholder until its issue lands.
#![no_main]
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
