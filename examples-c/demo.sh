#!/bin/sh
# Runs the connector's flow end to end from C (examples-c/show_popup.c
# linked against target/release/liblsq.so): a lookup by the caller's
# number, an agent ringing (lookup, agent by e-mail, popup) and a plain
# popup. With LSQ_HOST, LSQ_ACCESS_KEY and LSQ_SECRET_KEY set it talks to
# LeadSquared (the arguments are show_popup's); without them it starts the
# bundled emulator with its sample data on a free loopback port.
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
    --secret-key "$LSQ_SECRET_KEY" --data emulator/data/sample.json > "$dir/emulator.log" 2>&1 &
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
show=target/release/examples-c/show_popup
if [ $# -gt 0 ]; then
    "$show" "$@" || status=$?
else
    plan="--option default_country_code=91"
    echo "demo: 1. the caller +91 86117 95988 is looked up"
    "$show" $plan --lookup "+91 86117 95988" || status=$?
    echo "demo: 2. agent priya.sharma@example.com (extension 1001) rings for that caller"
    "$show" $plan --ring "+91 86117 95988" --user priya.sharma@example.com --destination 1001 || status=$?
    echo "demo: 3. a popup for a known LeadId and UserId"
    "$show" || status=$?
fi
echo "demo: what the emulator received:"
cat "$dir/emulator.log"
exit "$status"
