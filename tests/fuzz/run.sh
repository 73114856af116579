#!/usr/bin/env bash
# Time-boxed fuzzing of every target on the stable toolchain (`-s none`: no sanitizer,
# which needs nightly). Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 20)
# New inputs go to tests/fuzz/corpus/<target> (not committed); a failing input is saved in
# tests/fuzz/artifacts/<target> and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# The harness's own tests (its classification mirrors the daemon's transport).
cargo test --quiet --lib
cargo fuzz build --fuzz-dir . -s none
for target in dispatch url; do
    mkdir -p "corpus/$target"
    dict=()
    [ -f "$target.dict" ] && dict=("-dict=$target.dict")
    log="$(mktemp)"
    status=0
    cargo fuzz run --fuzz-dir . -s none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 "${dict[@]}" \
        >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed (exit $status)" >&2
        rm -f "$log"
        exit 1
    fi
    echo "fuzz $target: $(grep -E '^Done' "$log" || echo 'no summary')"
    rm -f "$log"
done
