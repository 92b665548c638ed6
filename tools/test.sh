#!/bin/bash
# Every test: installs what is needed, builds twice (plain, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), runs the unit and
# integration tests of both under CTest, then a short libFuzzer run of each
# fuzz target over its corpus.  Exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash tools/install-deps.sh

echo "== plain build: unit tests and the install/consumer tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
# (The real-peer tests run once, in the sanitizer build below.)
(cd build && ctest --output-on-failure -E '^integration/test_(dump|relay|blocksrc|monitor)')

echo "== ASan+UBSan build: every test, integration with real peers included"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTORM_SANITIZE=ON -DSTORM_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -E '^integration/test_install$')

if [ -x tests/fuzz/run.sh ] || [ -f tests/fuzz/run.sh ]; then
	echo "== libFuzzer: ${STORM_FUZZ_SECONDS:-20} s per target over the kept corpus"
	bash tests/fuzz/run.sh "${STORM_FUZZ_SECONDS:-20}"
fi
echo "== all tests passed"
