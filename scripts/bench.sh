#!/bin/sh
# The call-record store benchmark (bench/README.md): a Release build (-O2,
# no sanitizers) in build-bench, then bench_store with the store and SQLite
# side by side on the same records. Prints the BENCH lines (and INFO lines
# and the machine); progress goes to stderr.
#   BENCH_N        records (default 10M)
#   BENCH_ARGS     more bench_store options, e.g. "--store-only -n 100M"
#   BENCH_BUILD    the build folder (default build-bench)
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
build=${BENCH_BUILD:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
	-DHT_SANITIZE=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target bench_store
exec "$build/bin/bench_store" -n "${BENCH_N:-10M}" ${BENCH_ARGS:-}
