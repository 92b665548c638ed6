#!/bin/bash
# The main job on a built-in default: installs what is needed, builds, and
# runs storm-monitor on a capture the repository ships: the Linux kernel's
# ext4 over iSCSI (tgtd), made by tools/make-monitor-demo.sh.  The volume as
# it was when the capture started is tests/data/monitor-demo.img.gz; the
# monitor follows the capture's writes (the jbd2 journal, inode tables,
# directories, extent trees) and prints the file operations they amount to.
# Then storm-dump shows the same capture one level down, as block I/O.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target storm-monitor storm-dump >/dev/null

cap=tests/data/monitor-demo.pcap
img=build/monitor-demo.img
gzip -dc tests/data/monitor-demo.img.gz >"$img"
echo "== what the workload did (its own log, tests/data/monitor-demo.expected.jsonl):"
grep -v '"sync"' tests/data/monitor-demo.expected.jsonl | cut -c1-110
echo
echo "== storm-monitor --image $img --pcap $cap: the same, rebuilt from sectors on the wire"
./build/examples/monitor/storm-monitor --image "$img" --pcap "$cap"
echo
echo "== storm-dump --events $cap: the first block writes it was made from"
./build/tools/storm-dump --events "$cap" | grep '"op":"write"' | head -n 8
