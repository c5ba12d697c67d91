#!/bin/sh
# The whole suite, twice: a gcc build, then a clang build with
# AddressSanitizer and UndefinedBehaviorSanitizer. Warnings are errors in
# both. Prints the number of cmocka cases each build ran.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

cases() {
	# cmocka prints "[  PASSED  ] N test(s)." per executable.
	grep -ho 'PASSED  \] [0-9]* test' "$1/Testing/Temporary/LastTest.log" |
		awk '{ n += $3 } END { print n + 0 }'
}

run() {
	dir=$1
	shift
	cmake -S . -B "$dir" "$@"
	cmake --build "$dir" -j "$jobs"
	(cd "$dir" && ctest --output-on-failure -j "$jobs")
	echo "$dir: $(cases "$dir") cmocka test cases passed"
}

CC=${CC_NORMAL:-gcc} run build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	CC=${CC_SANITIZE:-clang} run build-asan -DCMAKE_BUILD_TYPE=Debug -DHT_SANITIZE=ON
echo "make test: both builds passed"
