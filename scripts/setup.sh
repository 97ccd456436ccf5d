#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package that Switchyard's build, tests and benchmarks need, and mounts
# bpffs when it is missing. Idempotent: when everything is already present it prints nothing.
set -euo pipefail

packages=(
  # Build
  build-essential cmake ninja-build pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libabsl-dev libgtest-dev libgmock-dev
  # Control plane (gRPC + protobuf, YAML manifests)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libyaml-cpp-dev
  # Kubernetes API client (HTTPS with verified TLS)
  libcurl4-openssl-dev
  # Tests and the lab: namespaces, veth, tc, real clients and servers
  iproute2 ethtool iperf3 curl netcat-openbsd socat iptables nftables util-linux
  # The Kubernetes API-server stand-in's tests: certificates, and the official Python client
  # (Debian's python3 at /usr/bin/python3, whatever python3 is first on PATH)
  openssl python3 python3-kubernetes python3-yaml
  # Format
  clang-format
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages (${missing[*]}) and not root; run as root" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# An image build (deploy/container) may not mount anything and needs no
# bpffs: it sets YARD_SETUP_NO_BPFFS=1.
if [[ -z ${YARD_SETUP_NO_BPFFS:-} ]] && ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi
