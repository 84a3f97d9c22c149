//! The `floe` binary: argument parsing only; everything else lives in the runtime.

fn main() {}
