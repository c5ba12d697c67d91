#!/bin/sh
# The benchmarks, on a Release build (-O2, no sanitizers) in build-bench:
#   store  bench_store: the call-record store and SQLite side by side on the
#          same records (bench/README.md, docs/store.md)
#   trace  bench/bench_trace.sh: trace latency over 6 hops, hop throughput
#          and a flood, on real daemons, against a floor measured in the
#          same run
# Prints the BENCH lines (and INFO lines and the machine); progress goes to
# stderr. A part that fails makes the script exit non-zero after the others.
#   BENCH_PARTS    which parts, in order (default "store trace")
#   BENCH_N        store records (default 10M)
#   BENCH_ARGS     more bench_store options, e.g. "--store-only -n 100M"
#   BENCH_BUILD    the build folder (default build-bench)
#   TRACE_N, STREAM_N, STREAM_W, FLOOD_N   see bench/bench_trace.sh
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
build=${BENCH_BUILD:-build-bench}
parts=${BENCH_PARTS:-store trace}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
	-DHT_SANITIZE=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target bench_store hoptraced hoptrace_cli ht_tracer trace_floor >&2
rc=0
for p in $parts; do
	case $p in
	store) "$build/bin/bench_store" -n "${BENCH_N:-10M}" ${BENCH_ARGS:-} || rc=1 ;;
	trace) sh bench/bench_trace.sh --bin "$build/bin" || rc=1 ;;
	*) echo "bench.sh: unknown part '$p' (store, trace)" >&2; exit 2 ;;
	esac
done
exit $rc
