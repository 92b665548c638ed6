#!/bin/bash
# Installs the Debian 12 packages libstorm builds, tests and demonstrates with.
# Idempotent; run as root.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config clang libclang-rt-14-dev
	# the library's dependencies and the tools' (OpenSSL's libcrypto for SHA-256)
	libpcap-dev uthash-dev libssl-dev libnetfilter-queue-dev libmnl-dev
	libext2fs-dev ntfs-3g-dev libiscsi-dev
	# tests
	libcriterion-dev python3
	# real peers: iSCSI target, initiators, capture and reference dissector
	tgt libiscsi-bin qemu-utils qemu-block-extra tshark e2fsprogs iproute2 iptables
	# a second target: istgt negotiates digests on discovery sessions (tgtd does not)
	istgt
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: these packages are missing and installing needs root: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
