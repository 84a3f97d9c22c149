//! Store fuzz target: arbitrary operation lists against a model fed only by the store's
//! log records (`floe_core::store::model`, the same check the proptests run).
//!
//! The first byte picks the eviction policy and whether memory is ample or tight, so the
//! fuzzer explores cleaning and every policy's eviction path.
#![no_main]

use floe_core::storage::policy::EvictionPolicy;
use floe_core::store::model::{Op, run_model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, Vec<Op>)| {
    let (choice, ops) = input;
    let policy = EvictionPolicy::ALL[usize::from(choice) % EvictionPolicy::ALL.len()];
    let memory_size = if choice & 0x80 == 0 {
        4 * 1024
    } else {
        1 << 20
    };
    if let Err(failure) = run_model(policy, memory_size, &ops) {
        panic!("model check failed under {}: {failure}", policy.name());
    }
});
