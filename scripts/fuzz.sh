#!/bin/sh
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan+UBSan) and runs each
# for FUZZ_SECONDS seconds (default 60), one at a time, on a scratch copy of
# its seed corpus so fuzz/corpus/ is never modified. Exits non-zero if any
# target finds a crash, leak, timeout or out-of-memory. `make fuzz` runs this.
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  space-separated subset of targets (default: all)
#   FUZZ_WORKDIR  where scratch corpora and crash files go (default: mktemp -d)
#   FUZZ_ARGS     extra libFuzzer flags, e.g. "-seed=1 -jobs=1"
set -eu

cd "$(dirname "$0")/.."
[ -f fuzz/CMakeLists.txt ] || { echo "fuzz.sh: run from the repository" >&2; exit 2; }

secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"fuzz_envelope fuzz_cert fuzz_crl fuzz_keyfile fuzz_time fuzz_noise fuzz_control"}
case $secs in '' | *[!0-9]*) echo "fuzz.sh: FUZZ_SECONDS must be a number" >&2; exit 2 ;; esac

CC=clang cmake -S . -B build-fuzz -DHT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 >/dev/null

work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-fuzz.XXXXXX")}
mkdir -p "$work"
failed=""
summary=""

for t in $targets; do
	case $t in
	fuzz_envelope | fuzz_crl) max_len=65536 ;;
	*) max_len=4096 ;;
	esac
	bin=build-fuzz/bin/$t
	[ -x "$bin" ] || { echo "fuzz.sh: no such target: $t" >&2; exit 2; }
	dir=$work/$t
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp fuzz/corpus/"$t"/* "$dir/corpus/"
	seeds=$(find "$dir/corpus" -type f | wc -l)

	echo "== $t: ${secs}s, -max_len=$max_len, $seeds seeds, log $dir/log"
	# shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
	if "$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/" ${FUZZ_ARGS:-} \
		"$dir/corpus" >"$dir/log" 2>&1; then
		result=ok
	else
		result="FAILED (exit $?)"
		failed="$failed $t"
	fi

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -n 1)
	total=$(find "$dir/corpus" -type f | wc -l)
	new=$((total - seeds))
	line="$t: $result, ${execs:-?} execs, ${cov:-no coverage line}, $new new inputs"
	summary="$summary$line
"
	echo "   $line"
	if [ "$new" -gt 0 ]; then
		echo "   new inputs in $dir/corpus/ (to keep some: $bin -merge=1 fuzz/corpus/$t $dir/corpus)"
	fi
	if [ "$result" != ok ]; then
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)' "$dir/log" | head -n 5 | sed 's/^/   /'
		for a in "$dir"/artifacts/*; do
			[ -e "$a" ] && echo "   reproducer: $a (replay: $bin $a)"
		done
	fi
done

echo
echo "fuzz.sh: results ($work)"
printf '%s' "$summary"
if [ -n "$failed" ]; then
	echo "fuzz.sh: FAILED:$failed" >&2
	exit 1
fi
