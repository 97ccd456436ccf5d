#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures (once) and builds Switchyard into build/ (or $YARD_BUILD_DIR).
# Quiet when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${YARD_BUILD_DIR:-build}

if [[ ! -f $dir/build.ninja ]]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Two cores: more jobs only thrash. Ninja prints nothing but progress, which
# --quiet hides, and "no work to do", which is dropped here; errors and
# cmake's own messages still reach the terminal.
if ! out=$(ninja -C "$dir" -j "${YARD_BUILD_JOBS:-2}" --quiet 2>&1); then
  echo "$out" >&2
  exit 1
fi
[[ -z $out || $out == "ninja: no work to do." ]] || echo "$out"
