# The README's commands. Each target installs the Debian packages it needs
# (as root; otherwise it prints the apt-get line and stops), configures,
# builds and runs.
#   make demo   build everything, run the local multi-carrier demo
#   make test   build everything, run the whole suite: a gcc build and a
#               clang AddressSanitizer + UndefinedBehaviorSanitizer build
#   make fuzz   run every fuzz target for FUZZ_SECONDS (default 60) each
#   make bench  the store against SQLite (10M records), then trace latency, hop
#               throughput and a flood on real daemons (bench/README.md)

DEB_PACKAGES := build-essential cmake pkg-config clang libclang-rt-14-dev \
	libsodium-dev libuv1-dev libprotobuf-c-dev protobuf-c-compiler \
	libcmocka-dev libjansson-dev libinih-dev liblmdb-dev libsqlite3-dev jq \
	python3 python3-nacl python3-protobuf python3-dissononce protobuf-compiler

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test fuzz bench format clean

all: build

deps:
	@scripts/deps.sh $(DEB_PACKAGES)

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build -j $(JOBS)

demo: build
	scripts/demo.sh build/bin

test: deps
	scripts/test.sh

fuzz: deps
	scripts/fuzz.sh

bench: deps
	scripts/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-bench
