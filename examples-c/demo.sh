#!/bin/sh
# Runs the connector's whole flow from C, linked against target/release/liblsq.so:
#   1. examples-c/connector.c: a whole call (lookup, a ring-all of two agents,
#      the call log through a durable outbox, drained, and the metrics);
#   2. examples-c/show_popup.c: a lookup, an agent ringing and a plain popup.
#
# By default it starts the bundled emulator with its sample data on a free
# loopback port, whatever LSQ_HOST and the keys say. It talks to the real
# account only with --live (LSQ_HOST, LSQ_ACCESS_KEY and LSQ_SECRET_KEY
# exported); the remaining arguments then go to show_popup, e.g.
#   ./examples-c/demo.sh --live --lead-id GUID --user-id GUID --source +91-8611795988
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-cc}

live=
if [ "${1:-}" = "--live" ]; then
    live=1
    shift
fi

step() { echo "demo: $*"; }

# cargo's own progress bar (on a terminal) or its lines: a cold build takes a minute or two.
step "building liblsq and the emulator (cargo build --release; the first build takes 1-2 minutes)"
cargo build --release -p lsq -p lsq-emulator
mkdir -p target/release/examples-c
# The programs ask the loader for the soname, liblsq.so.0, as they would once installed.
ln -sf ../liblsq.so target/release/examples-c/liblsq.so.0
for program in show_popup connector; do
    step "compiling examples-c/$program.c (-Wall -Wextra -Wpedantic -Werror)"
    "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude "examples-c/$program.c" \
        -Ltarget/release -llsq -lpthread -Wl,-rpath,"$PWD/target/release/examples-c" \
        -o "target/release/examples-c/$program"
done
show=target/release/examples-c/show_popup
connector=target/release/examples-c/connector

if [ -n "$live" ]; then
    if [ -z "${LSQ_HOST:-}" ] || [ -z "${LSQ_ACCESS_KEY:-}" ] || [ -z "${LSQ_SECRET_KEY:-}" ]; then
        echo "demo: --live needs LSQ_HOST, LSQ_ACCESS_KEY and LSQ_SECRET_KEY exported" >&2
        exit 2
    fi
    step "--live: talking to $LSQ_HOST"
    exec "$show" "$@"
fi
if [ -n "${LSQ_HOST:-}" ]; then
    step "LSQ_HOST is set, but without --live the demo uses the emulator"
fi

dir=$(mktemp -d)
emulator_pid=
cleanup() { [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
export LSQ_ACCESS_KEY=demo-access-key LSQ_SECRET_KEY=demo-secret-key
step "starting the bundled LeadSquared emulator (emulator/data/sample.json)"
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
step "the emulator listens at $LSQ_HOST"
status=0
if [ $# -gt 0 ]; then
    "$show" "$@" || status=$?
else
    step "1. a whole call: examples-c/connector.c (outbox $dir/outbox.db)"
    "$connector" "$dir/outbox.db" || status=$?
    plan="--option default_country_code=91"
    step "2. the caller +91 86117 95988 is looked up"
    "$show" $plan --lookup "+91 86117 95988" || status=$?
    step "3. agent priya.sharma@example.com (extension 1001) rings for that caller"
    "$show" $plan --ring "+91 86117 95988" --user priya.sharma@example.com --destination 1001 || status=$?
    step "4. a popup for a known LeadId and UserId"
    "$show" || status=$?
    step "5. the UK lead stored as 07700 900123 is found for the caller id +44 7700 900123"
    "$show" --option default_country_code=44 --lookup "+44 7700 900123" || status=$?
fi
step "what the emulator received:"
cat "$dir/emulator.log"
step "$([ "$status" = 0 ] && echo "every step succeeded" || echo "a step FAILED (status $status)")"
exit "$status"
