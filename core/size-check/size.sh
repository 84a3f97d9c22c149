#!/usr/bin/env bash
# floe-core's size on a bare-metal budget (issue 15): builds `floe-size-check` (a
# `#![no_std] #![no_main]` program using the store, table, arena and record codec; opt-level
# "s", LTO, one codegen unit, panic abort), runs it (exit status 0 = every check held), and
# prints its sections and its `.text` by module, from `nm`'s symbol sizes.
#
# LTO inlines across modules, so a function's bytes count where its outermost non-inlined
# caller lives (most of the store's internals show up in `floe_core::store`). The module
# breakdown is a guide; the `.text` total is the number.
#
# Fails if `.text` is above the issue's budget of 100 KiB (FLOE_TEXT_SIZE_MAX overrides).
#
# Usage: core/size-check/size.sh   (honours CARGO_TARGET_DIR)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target_dir="${CARGO_TARGET_DIR:-$here/../../target}/size-check"
host="$(rustc -vV | sed -n 's/^host: //p')"
text_size_max="${FLOE_TEXT_SIZE_MAX:-102400}"

# The link flags of core/nostd-check/check.sh: no C start files, libc only for memcpy/memset.
RUSTFLAGS="-C link-arg=-nostartfiles -C link-arg=-lc" \
  cargo build --quiet --manifest-path "$here/Cargo.toml" --target-dir "$target_dir" --release \
  --target "$host"
binary="$target_dir/$host/release/floe-size-check"
"$binary" || {
  echo "size-check: FAILED: check number $? in core/size-check/src/main.rs" >&2
  exit 1
}

echo "size-check: sections (size -A), bytes"
size -A "$binary" | awk '$1 ~ /^\.(text|rodata|data|bss|eh_frame)$/ { printf "%8d  %s\n", $2, $1 }'

echo "size-check: .text by module (nm --size-sort -S), bytes"
nm --size-sort -C --radix=d -S "$binary" | awk '
  $3 ~ /^[tTwW]$/ {
    size = $2 + 0
    name = $4
    for (i = 5; i <= NF; i++) name = name " " $i
    sub(/^</, "", name)
    count = split(name, parts, "::")
    module = ""
    for (i = 1; i < count; i++) {
      if (parts[i] !~ /^[a-z_][a-z0-9_]*$/) break
      module = module (module == "" ? "" : "::") parts[i]
    }
    if (module == "") module = "(entry, no module)"
    if (module ~ /^core(::|$)/) module = "core (Rust library)"
    total[module] += size
    all += size
  }
  END {
    for (module in total) printf "%8d  %s\n", total[module], module
    printf "%8d  all function symbols\n", all
  }' | sort -rn

text_size="$(size -A "$binary" | awk '$1 == ".text" { print $2 }')"

# For comparison, not budgeted: the same program plus a SET and a GET through the command
# table (RESP replies), which a host that takes Redis commands would link.
RUSTFLAGS="-C link-arg=-nostartfiles -C link-arg=-lc" \
  cargo build --quiet --manifest-path "$here/Cargo.toml" --target-dir "$target_dir/commands" \
  --release --target "$host" --features commands
commands_binary="$target_dir/commands/$host/release/floe-size-check"
"$commands_binary" || {
  echo "size-check: FAILED: check number $? with --features commands" >&2
  exit 1
}
commands_text_size="$(size -A "$commands_binary" | awk '$1 == ".text" { print $2 }')"
echo "size-check: with the command table and RESP replies (--features commands): .text is" \
  "$commands_text_size bytes"

if [ "$text_size" -gt "$text_size_max" ]; then
  echo "size-check: FAILED: .text is $text_size bytes, above the budget of $text_size_max" >&2
  exit 1
fi
echo "size-check: ok, .text is $text_size bytes (budget $text_size_max)"
