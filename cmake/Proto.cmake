# SPDX-License-Identifier: Apache-2.0
# C++ code generation for protobuf messages and gRPC services.
#
#   yard_proto_library(NAME yard_proto PROTOS switchyard/v1/a.proto ...)
#
# PROTOS are relative to this directory's source dir, which is also the
# import root; generated headers are included as "switchyard/v1/a.pb.h".

find_program(PROTOC protoc REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

function(yard_proto_library)
  cmake_parse_arguments(ARG "" "NAME" "PROTOS" ${ARGN})
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}")
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base "${proto}")
    set(gen "${out_dir}/${base}.pb.cc" "${out_dir}/${base}.pb.h"
            "${out_dir}/${base}.grpc.pb.cc" "${out_dir}/${base}.grpc.pb.h")
    add_custom_command(
      OUTPUT ${gen}
      COMMAND ${PROTOC} -I "${CMAKE_CURRENT_SOURCE_DIR}"
              --cpp_out "${out_dir}" --grpc_out "${out_dir}"
              --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN}
              "${CMAKE_CURRENT_SOURCE_DIR}/${proto}"
      DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${proto}"
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs "${out_dir}/${base}.pb.cc" "${out_dir}/${base}.grpc.pb.cc")
  endforeach()
  add_library(${ARG_NAME} ${srcs})
  target_include_directories(${ARG_NAME} PUBLIC "${out_dir}")
  target_link_libraries(${ARG_NAME} PUBLIC PkgConfig::GRPCPP PkgConfig::PROTOBUF)
  # Generated code trips -Wextra; it is not ours to fix.
  target_compile_options(${ARG_NAME} PRIVATE -w)
endfunction()
