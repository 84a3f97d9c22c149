#!/usr/bin/env bash
# The no_std proof for floe-core.
#
# 1. Builds `floe-nostd-check`, a `#![no_std] #![no_main]` binary (panic = "abort") that calls
#    floe-core built with `default-features = false`, for the host target with no C start
#    files, then runs it (exit status 0 = every check in src/main.rs held). If std leaks
#    into floe-core's dependency graph, the link fails with "duplicate lang item in crate
#    `std`: `panic_impl`", because std and the binary both define the panic handler.
# 2. Builds floe-core alone with no default features, from the workspace root.
#
# Usage: core/nostd-check/check.sh   (honours CARGO_TARGET_DIR; defaults to this crate's
# own target/ for step 1, kept apart from the workspace's because the flags differ)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$here/target}/nostd-check"
# An explicit --target keeps RUSTFLAGS off build scripts (they are normal std programs).
host="$(rustc -vV | sed -n 's/^host: //p')"

echo "nostd-check: building floe-core into a no_std binary"
# -nostartfiles: no crt1.o or __libc_start_main, `_start` is ours. -lc: only for the memset
# and memcpy that core's code calls (dynamically, so the loader resolves glibc's IFUNCs).
RUSTFLAGS="-C link-arg=-nostartfiles -C link-arg=-lc" \
  cargo build --quiet --manifest-path "$here/Cargo.toml" --target-dir "$target_dir" --release \
  --target "$host"
echo "nostd-check: running it"
"$target_dir/$host/release/floe-nostd-check" || {
  echo "nostd-check: FAILED: check number $? in core/nostd-check/src/main.rs" >&2
  exit 1
}

echo "nostd-check: building floe-core with no default features"
(cd "$root" && cargo build --quiet -p floe-core --no-default-features)
echo "nostd-check: ok"
