#!/usr/bin/env bash
# Builds the fuzz targets as cargo-fuzz would (nightly, libFuzzer,
# sanitizer coverage, ASan) and runs each for SECONDS (default 60), starting
# from the seeds. Needs a nightly toolchain, not cargo-fuzz itself:
#   fuzz/run.sh [SECONDS] [TARGET...]
# With cargo-fuzz installed, `cargo +nightly fuzz run response` is the same.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("${@:-response popup options}")
read -r -a targets <<<"${targets[*]}"
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address \
-Cdebug-assertions -Coverflow-checks" \
    cargo +nightly build --release --target "$triple" --bins
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
    echo "=== $t: ${seconds}s"
    "target/$triple/release/$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$t/" "corpus/$t"
done
