# SPDX-License-Identifier: Apache-2.0
# Every external dependency, found once. Debian ships pkg-config files (not
# CMake packages) for libbpf, libelf and zlib, and CMake packages for Abseil
# and GoogleTest.

find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
pkg_check_modules(LIBELF REQUIRED IMPORTED_TARGET libelf)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)

find_package(absl REQUIRED)
find_package(GTest REQUIRED)
find_package(Threads REQUIRED)

# gRPC and protobuf: pkg-config files only on Debian.
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
# Kubernetes manifests. yaml-cpp is Debian's well-kept YAML 1.2 parser;
# YAML's anchors, block scalars and flow styles are not worth hand-writing.
find_package(yaml-cpp REQUIRED)
