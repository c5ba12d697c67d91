#!/bin/sh
# Builds the libFuzzer targets in $FUZZ_BUILD (default build-fuzz/; clang,
# ASan+UBSan) and runs each for FUZZ_SECONDS seconds (default 60), one at a
# time, on a scratch copy of its seed corpus so fuzz/corpus/ is never
# modified. Exits non-zero if any target finds a crash, leak, timeout or
# out-of-memory. `make fuzz` runs this.
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  space-separated subset of targets (default: all)
#   FUZZ_BUILD    build directory, relative to the repository or absolute
#                 (default build-fuzz)
#   FUZZ_WORKDIR  where scratch corpora and crash files go (default: mktemp -d)
#   FUZZ_ARGS     extra libFuzzer flags, e.g. "-seed=1 -jobs=1"
set -eu

cd "$(dirname "$0")/.."
[ -f fuzz/CMakeLists.txt ] || { echo "fuzz.sh: run from the repository" >&2; exit 2; }

secs=${FUZZ_SECONDS:-60}
# Every target in fuzz/CMakeLists.txt (HT_FUZZ_TARGETS).
targets=${FUZZ_TARGETS:-"fuzz_envelope fuzz_cert fuzz_crl fuzz_keyfile fuzz_time fuzz_noise fuzz_control fuzz_config fuzz_session fuzz_peermsg fuzz_csv fuzz_trace_request fuzz_answer fuzz_bundle"}
build=${FUZZ_BUILD:-build-fuzz}
case $secs in '' | *[!0-9]*) echo "fuzz.sh: FUZZ_SECONDS must be a number" >&2; exit 2 ;; esac

CC=clang cmake -S . -B "$build" -DHT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 >/dev/null

work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/hoptrace-fuzz.XXXXXX")}
mkdir -p "$work"
failed=""
summary=""

for t in $targets; do
	# Room for each parser's inputs and, where it has a size limit that is
	# not too slow to reach, a little more so the limit is tested (libFuzzer
	# starts short and grows inputs, so a high bound costs little).
	case $t in
	fuzz_time) max_len=256 ;;         # HT_TIME_STR_MAX is 32
	fuzz_cert) max_len=4096 ;;        # HT_CERT_MAX 2048
	fuzz_keyfile) max_len=8192 ;;     # HT_KEYFILE_MAX 4096
	fuzz_config) max_len=32768 ;;     # no limit in hd_config_parse; 1024 peers
	fuzz_session) max_len=16384 ;;    # handshake frames with certificates, transport
	fuzz_control) max_len=16384 ;;    # frames; HT_CTL_MAX_FRAME (1 MiB) is too slow
	fuzz_envelope | fuzz_crl) max_len=65536 ;;  # HT_ENVELOPE_MAX 60000
	fuzz_noise | fuzz_peermsg) max_len=65600 ;; # HT_NOISE_MAX_MSG 65535, HT_PAYLOAD_MAX
	fuzz_csv) max_len=16384 ;;
	fuzz_trace_request | fuzz_answer | fuzz_bundle) max_len=8192 ;; # requests and answers carry a certificate; bundles several         # rows of up to 32 fields of 256 bytes; many rows
	*) max_len=4096 ;;
	esac
	bin=$build/bin/$t
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
