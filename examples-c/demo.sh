#!/bin/sh
# Shows one popup end to end from C (examples-c/show_popup.c linked against
# target/release/liblsq.so). With LSQ_HOST, LSQ_ACCESS_KEY and
# LSQ_SECRET_KEY set it talks to LeadSquared; without them it starts the
# bundled emulator on a free loopback port and talks to that.
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-cc}

cargo build --release --quiet -p lsq -p lsq-emulator
mkdir -p target/release/examples-c
# The program asks the loader for the soname, liblsq.so.0, as it would once installed.
ln -sf ../liblsq.so target/release/examples-c/liblsq.so.0
"$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude examples-c/show_popup.c \
    -Ltarget/release -llsq -Wl,-rpath,"$PWD/target/release/examples-c" -o target/release/examples-c/show_popup

if [ -n "${LSQ_HOST:-}" ] && [ -n "${LSQ_ACCESS_KEY:-}" ] && [ -n "${LSQ_SECRET_KEY:-}" ]; then
    exec target/release/examples-c/show_popup "$@"
fi

dir=$(mktemp -d)
emulator_pid=
cleanup() { [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
export LSQ_ACCESS_KEY=demo-access-key LSQ_SECRET_KEY=demo-secret-key
target/release/lsq-emulator --port 0 --port-file "$dir/port" --access-key "$LSQ_ACCESS_KEY" \
    --secret-key "$LSQ_SECRET_KEY" > "$dir/emulator.log" 2>&1 &
emulator_pid=$!
# The emulator writes the port file once it is listening (up to ~10 s).
tries=0
while [ ! -s "$dir/port" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ] || ! kill -0 "$emulator_pid" 2>/dev/null; then
        echo "demo: the emulator did not start:" >&2; cat "$dir/emulator.log" >&2; exit 1
    fi
    sleep 0.05
done
export LSQ_HOST="http://127.0.0.1:$(cat "$dir/port")"
echo "demo: no LeadSquared credentials given: using the bundled emulator at $LSQ_HOST"
status=0
target/release/examples-c/show_popup "$@" || status=$?
echo "demo: what the emulator received:"
cat "$dir/emulator.log"
exit "$status"
