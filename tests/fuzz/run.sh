#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang into their own tree and runs one.
#
#   tests/fuzz/run.sh TARGET [libFuzzer flags...]
#
# TARGET: manifest_fuzz, state_files_fuzz, translate_fuzz, kube_decode_fuzz.
# Runs for YARD_FUZZ_SECONDS (default 10) on a corpus in
# $YARD_FUZZ_BUILD_DIR/corpus/TARGET, seeded from the repository's real
# inputs and kept between runs, so longer runs build on earlier ones.
# Crashes land in $YARD_FUZZ_BUILD_DIR/artifacts/TARGET and fail the run
# (libFuzzer exits non-zero). Exits 77 (ctest: skipped) when clang or its
# libFuzzer runtime is missing.
#
# A longer run, e.g. an hour per target:
#   YARD_FUZZ_SECONDS=3600 tests/fuzz/run.sh translate_fuzz -jobs=2
# Reproducing a crash: build/fuzz/tests/fuzz/TARGET CRASH_FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${1:?usage: run.sh TARGET [libFuzzer flags...]}
shift
build=${YARD_FUZZ_BUILD_DIR:-$root/build/fuzz}
seconds=${YARD_FUZZ_SECONDS:-10}

skip() { echo "SKIPPED: $*"; exit 77; }
command -v clang >/dev/null && command -v clang++ >/dev/null ||
  skip "no clang"
# libFuzzer ships as part of clang's runtime; probe it with a tiny link.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
  >"$probe/p.cc"
clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cc" -o "$probe/p" \
  2>/dev/null || skip "clang cannot link -fsanitize=fuzzer (no libFuzzer)"

# Configure once, then build only what the target needs. ccache is used
# when present, as the main build does through its environment.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache
            -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [[ ! -f $build/build.ninja ]]; then
  sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
    -DYARD_FUZZ=ON -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
targets=("$target")
[[ $target == state_files_fuzz ]] && targets+=(state_files_seeds)
ninja -C "$build" -j "${YARD_BUILD_JOBS:-1}" --quiet "${targets[@]}"

# Seeds: real inputs, copied in every run (cheap; libFuzzer dedups).
corpus=$build/corpus/$target
artifacts=$build/artifacts/$target
mkdir -p "$corpus" "$artifacts"
case $target in
  manifest_fuzz)
    cp "$root"/examples/*.yaml "$root"/tests/kube/testdata/*.json "$corpus"/ ;;
  kube_decode_fuzz)
    cp "$root"/tests/kube/testdata/*.json "$corpus"/
    # Watch events: one line each, as the watch stream carries them.
    for f in "$root"/tests/kube/testdata/*.json; do
      for type in ADDED MODIFIED DELETED; do
        printf '{"type":"%s","object":%s}' "$type" "$(tr -d '\n' <"$f")" \
          >"$corpus/watch-$type-$(basename "$f")"
      done
    done
    printf '{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}' \
      >"$corpus/watch-bookmark"
    printf '{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old"}}' \
      >"$corpus/watch-error" ;;
  state_files_fuzz)
    "$build/tests/fuzz/state_files_seeds" "$corpus" ;;
  translate_fuzz) ;;  # structured input: libFuzzer finds its way from empty
  *) echo "unknown target $target" >&2; exit 2 ;;
esac

cd "$artifacts"
# libFuzzer's own default exit code for a crash is 77, which ctest would
# take for "skipped": a finding must fail. An input that runs 10 s is a
# finding too (reported as timeout-*, with the input), and it must be
# reported before the process reaches libFuzzer's 2 GB RSS limit, whose
# report first profiles the heap and can take many minutes. Leak checks
# are off for the same reason: a short run is not the place for them.
#
# The run's progress lines (hundreds) go to a log beside the artifacts;
# what is printed is the end of it, where libFuzzer puts a finding's report
# and the input (file and base64): a CI log that keeps only a test's first
# and last lines must still show the finding.
log=$artifacts/last-run.log
status=0
"$build/tests/fuzz/$target" -max_total_time="$seconds" \
  -error_exitcode=1 -timeout_exitcode=1 -timeout=10 -detect_leaks=0 \
  -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" "$corpus" \
  >"$log" 2>&1 || status=$?
if ((status == 0)); then
  grep -E '^(INFO: Seed|Done|stat::)' "$log" || tail -n 12 "$log"
else
  echo "$target: libFuzzer exited $status; the end of $log:"
  grep -E '^INFO: Seed' "$log" || true
  tail -n 80 "$log"
fi
exit "$status"
