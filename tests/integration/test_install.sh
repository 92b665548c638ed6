#!/bin/bash
# Installs libstorm to a temporary prefix and builds consumers out of tree:
# one with `pkg-config --cflags --libs libstorm` (and libstorm.a), one with
# CMake's find_package(storm).  Also checks the shared library's ABI hygiene:
# a SONAME with the major version, and only storm_* symbols exported.
set -euo pipefail
build=${STORM_BUILD_DIR:?run through CTest, or set STORM_BUILD_DIR}
src=${STORM_SOURCE_DIR:?}
for c in cc cmake pkg-config nm readelf; do
	command -v "$c" >/dev/null || { echo "SKIP: $c not installed" >&2; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/storm/storm.h"
test -f "$prefix/include/storm/version.h"
libdir=$(dirname "$(find "$prefix" -name libstorm.pc)")/..
so=$(find "$prefix" -name 'libstorm.so.*.*' | head -1)

soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libstorm.so.0" ] || { echo "FAIL: SONAME is '$soname'" >&2; exit 1; }
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^storm_' | grep -v '^LIBSTORM_' || true)
[ -z "$bad" ] || { echo "FAIL: exported non-storm symbols: $bad" >&2; exit 1; }
syms=$(nm -D --defined-only "$so")
grep -q ' storm_iscsi_feed@@LIBSTORM_1.0' <<<"$syms" ||
	{ echo "FAIL: storm_iscsi_feed not versioned LIBSTORM_1.0" >&2; exit 1; }

export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$work/pc_shared" "$src/tests/install/consumer.c" $(pkg-config --cflags --libs libstorm)
LD_LIBRARY_PATH=$(dirname "$so") "$work/pc_shared"
# shellcheck disable=SC2046
cc -std=c11 -o "$work/pc_static" "$src/tests/install/consumer.c" $(pkg-config --cflags libstorm) \
	"$(dirname "$so")/libstorm.a" $(pkg-config --libs libpcap)
"$work/pc_static"

cmake -S "$src/tests/install" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm" >/dev/null
LD_LIBRARY_PATH=$(dirname "$so") "$work/cm/consumer_shared"
"$work/cm/consumer_static"
echo "install: pkg-config and find_package consumers built and ran (4 programs)"
