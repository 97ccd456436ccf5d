#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds deploy/container/Containerfile with podman or docker, whichever is
# installed and working (a docker client without a daemon is not), then
# checks the image's binaries find every library they link. Exit 77
# (skipped) without a working builder: nothing is installed for it.
#
# The context is a copy of the files git knows (committed or not, minus
# what .gitignore drops), so local build trees never reach the builder.
set -euo pipefail
repo=$(cd "${1:?usage: build_image.sh REPO}" && pwd)
tag=localhost/switchyard-ctest:$$

builder=
for tool in podman docker; do
  if command -v "$tool" >/dev/null && "$tool" info >/dev/null 2>&1; then
    builder=$tool
    break
  fi
done
if [[ -z $builder ]]; then
  echo "no working podman or docker: skipped"
  exit 77
fi

context=$(mktemp -d)
trap 'rm -rf "$context"; "$builder" rmi -f "$tag" >/dev/null 2>&1 || true' EXIT
# A file deleted but not yet committed is listed and missing, and cp
# complains: fine, as long as the copy holds the build's roots.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 cp --parents -t "$context" 2>/dev/null) || true
for needed in CMakeLists.txt deploy/container/Containerfile scripts/setup.sh; do
  [[ -e $context/$needed ]] || { echo "context lacks $needed"; exit 1; }
done

echo "building with $builder"
"$builder" build -f "$context/deploy/container/Containerfile" -t "$tag" "$context"

# Every binary starts (--version, or yardctl help): its libraries resolve.
for binary in yard-agent yard-controller; do
  "$builder" run --rm --entrypoint "/usr/local/bin/$binary" "$tag" --version >/dev/null
done
"$builder" run --rm "$tag" >/dev/null  # yardctl help
"$builder" run --rm --entrypoint /bin/sh "$tag" -c \
  '! ldd /usr/local/bin/* | grep "not found"'
echo "image builds and its binaries run"
