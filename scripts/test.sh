#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test: unit, bpf (BPF_PROG_TEST_RUN) and e2e (namespaces, veth,
# real sockets). Installs and builds what it needs first. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh
# Serial: e2e tests build network namespaces and attach programs; running
# them side by side only makes their timing noisier on two cores.
ctest --test-dir "${YARD_BUILD_DIR:-build}" --output-on-failure --timeout 600 "$@"
