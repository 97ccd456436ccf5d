#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures (once) and builds Switchyard into build/. Quiet when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Two cores: more jobs only thrash. Ninja prints nothing but progress, which
# --quiet hides; errors still reach the terminal.
ninja -C build -j "${YARD_BUILD_JOBS:-2}" --quiet
