#!/bin/bash
# The main job on a built-in default: installs what is needed, builds, and
# runs storm-dump on a capture of real tgtd + libiscsi traffic the repository
# ships, first PDU by PDU, then as block I/O events.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target storm-dump >/dev/null

cap=tests/data/demo.pcap
echo "== storm-dump $cap: every iSCSI PDU, in stream order (JSON Lines)"
./build/tools/storm-dump "$cap"
echo
echo "== storm-dump --events $cap: every block I/O, with the SHA-256 of its data"
./build/tools/storm-dump --events "$cap"
