// SPDX-License-Identifier: Apache-2.0
// The BPF ABI as C++ sees it: the C header itself, plus the layout of
// every struct shared with the programs pinned down field by field, so a
// layout change on one side cannot go unnoticed on the other.
//
// The numbers below are the layout the BPF side compiles (clang -target
// bpf lays these structs out as x86-64 does: naturally aligned, explicit
// padding, no holes). A change to yard_abi.h that moves, resizes, adds or
// removes a field stops the build here; updating this table is then the
// moment to bump YARD_LAYOUT_VERSION, so agents refuse pins of the old
// layout instead of misreading them. tests/unit/abi_btf_test.cc checks
// the same table against the BTF of the compiled BPF object.
#ifndef SWITCHYARD_CONTROL_KERNEL_ABI_H_
#define SWITCHYARD_CONTROL_KERNEL_ABI_H_

#include <cstddef>
#include <string_view>

#include "yard_abi.h"

// The version this table describes: bump both together.
static_assert(YARD_LAYOUT_VERSION == 3,
              "layout version changed: check the table in abi.h");

// X(struct, size in bytes): every struct in a map or the programs' config.
#define YARD_ABI_STRUCTS(X)  \
  X(yard_config, 28)         \
  X(yard_feature_value, 128) \
  X(yard_layout_value, 4)    \
  X(yard_svc4_key, 8)        \
  X(yard_svc_value, 16)      \
  X(yard_slot_key, 8)        \
  X(yard_slot_value, 4)      \
  X(yard_backend4, 8)        \
  X(yard_rnat4, 8)           \
  X(yard_ct4_key, 16)        \
  X(yard_ct4_value, 64)      \
  X(yard_lc_count, 8)        \
  X(yard_lb_src4_key, 12)    \
  X(yard_frag4_key, 12)      \
  X(yard_frag4_ports, 4)     \
  X(yard_aff4_key, 8)        \
  X(yard_aff4_value, 24)     \
  X(yard_counter, 16)        \
  X(yard_svc_stats, 32)

// X(struct, field, offset, size), every field of each, in order.
#define YARD_ABI_FIELDS(X)                   \
  X(yard_config, hairpin_addr, 0, 4)         \
  X(yard_config, udp_timeout_s, 4, 4)        \
  X(yard_config, tcp_idle_timeout_s, 8, 4)   \
  X(yard_config, tcp_close_timeout_s, 12, 4) \
  X(yard_config, snat_addr, 16, 4)           \
  X(yard_config, snat_port_min, 20, 2)       \
  X(yard_config, snat_port_max, 22, 2)       \
  X(yard_config, local_redirect, 24, 1)      \
  X(yard_config, coarse_clock, 25, 1)        \
  X(yard_config, stack_bypass, 26, 1)        \
  X(yard_config, pad, 27, 1)                 \
  X(yard_feature_value, state, 0, 4)         \
  X(yard_feature_value, why, 4, 124)         \
  X(yard_layout_value, version, 0, 4)        \
  X(yard_svc4_key, addr, 0, 4)               \
  X(yard_svc4_key, port, 4, 2)               \
  X(yard_svc4_key, proto, 6, 1)              \
  X(yard_svc4_key, scope, 7, 1)              \
  X(yard_svc_value, svc_id, 0, 4)            \
  X(yard_svc_value, rev_nat_id, 4, 4)        \
  X(yard_svc_value, count, 8, 2)             \
  X(yard_svc_value, flags, 10, 1)            \
  X(yard_svc_value, policy, 11, 1)           \
  X(yard_svc_value, aff_timeout_s, 12, 4)    \
  X(yard_slot_key, svc_id, 0, 4)             \
  X(yard_slot_key, slot, 4, 4)               \
  X(yard_slot_value, backend_id, 0, 4)       \
  X(yard_backend4, addr, 0, 4)               \
  X(yard_backend4, port, 4, 2)               \
  X(yard_backend4, state, 6, 1)              \
  X(yard_backend4, pad, 7, 1)                \
  X(yard_rnat4, addr, 0, 4)                  \
  X(yard_rnat4, port, 4, 2)                  \
  X(yard_rnat4, pad, 6, 2)                   \
  X(yard_ct4_key, saddr, 0, 4)               \
  X(yard_ct4_key, daddr, 4, 4)               \
  X(yard_ct4_key, sport, 8, 2)               \
  X(yard_ct4_key, dport, 10, 2)              \
  X(yard_ct4_key, proto, 12, 1)              \
  X(yard_ct4_key, dir, 13, 1)                \
  X(yard_ct4_key, pad, 14, 2)                \
  X(yard_ct4_value, created_ns, 0, 8)        \
  X(yard_ct4_value, last_seen_ns, 8, 8)      \
  X(yard_ct4_value, packets, 16, 8)          \
  X(yard_ct4_value, bytes, 24, 8)            \
  X(yard_ct4_value, backend_id, 32, 4)       \
  X(yard_ct4_value, rev_nat_id, 36, 4)       \
  X(yard_ct4_value, addr, 40, 4)             \
  X(yard_ct4_value, port, 44, 2)             \
  X(yard_ct4_value, flags, 46, 2)            \
  X(yard_ct4_value, nat_addr, 48, 4)         \
  X(yard_ct4_value, nat_port, 52, 2)         \
  X(yard_ct4_value, pad, 54, 2)              \
  X(yard_ct4_value, lc, 56, 4)               \
  X(yard_ct4_value, pad2, 60, 4)             \
  X(yard_lc_count, word, 0, 8)               \
  X(yard_lb_src4_key, prefixlen, 0, 4)       \
  X(yard_lb_src4_key, rev_nat_id, 4, 4)      \
  X(yard_lb_src4_key, addr, 8, 4)            \
  X(yard_frag4_key, saddr, 0, 4)             \
  X(yard_frag4_key, daddr, 4, 4)             \
  X(yard_frag4_key, id, 8, 2)                \
  X(yard_frag4_key, proto, 10, 1)            \
  X(yard_frag4_key, pad, 11, 1)              \
  X(yard_frag4_ports, sport, 0, 2)           \
  X(yard_frag4_ports, dport, 2, 2)           \
  X(yard_aff4_key, svc_id, 0, 4)             \
  X(yard_aff4_key, client, 4, 4)             \
  X(yard_aff4_value, last_ns, 0, 8)          \
  X(yard_aff4_value, backend_id, 8, 4)       \
  X(yard_aff4_value, slot, 12, 4)            \
  X(yard_aff4_value, addr, 16, 4)            \
  X(yard_aff4_value, port, 20, 2)            \
  X(yard_aff4_value, pad, 22, 2)             \
  X(yard_counter, packets, 0, 8)             \
  X(yard_counter, bytes, 8, 8)               \
  X(yard_svc_stats, forward, 0, 16)          \
  X(yard_svc_stats, reply, 16, 16)

#define YARD_ABI_CHECK_STRUCT(type, size) \
  static_assert(sizeof(type) == (size), #type " changed size");
#define YARD_ABI_CHECK_FIELD(type, field, offset, size)                        \
  static_assert(offsetof(type, field) == (offset), #type "." #field " moved"); \
  static_assert(sizeof(type::field) == (size),                                 \
                #type "." #field " changed size");
YARD_ABI_STRUCTS(YARD_ABI_CHECK_STRUCT)
YARD_ABI_FIELDS(YARD_ABI_CHECK_FIELD)
#undef YARD_ABI_CHECK_STRUCT
#undef YARD_ABI_CHECK_FIELD

namespace switchyard::kernel {

// The same table as data, for checks against BTF.
struct AbiStruct {
  std::string_view name;
  size_t size;
};
struct AbiField {
  std::string_view type;
  std::string_view name;
  size_t offset;
  size_t size;
};

#define YARD_ABI_STRUCT_ROW(type, size) AbiStruct{#type, size},
#define YARD_ABI_FIELD_ROW(type, field, offset, size) \
  AbiField{#type, #field, offset, size},
inline constexpr AbiStruct kAbiStructs[] = {
    YARD_ABI_STRUCTS(YARD_ABI_STRUCT_ROW)};
inline constexpr AbiField kAbiFields[] = {YARD_ABI_FIELDS(YARD_ABI_FIELD_ROW)};
#undef YARD_ABI_STRUCT_ROW
#undef YARD_ABI_FIELD_ROW

// Each struct's fields follow one another with no hole and end where the
// struct does: no implicit padding (which writers could not zero, and hash
// keys compare bytewise), and no field missing from the table.
consteval bool AbiFieldsTileTheirStructs() {
  for (const AbiStruct& s : kAbiStructs) {
    size_t next = 0;
    for (const AbiField& f : kAbiFields) {
      if (f.type != s.name) continue;
      if (f.offset != next) return false;
      next = f.offset + f.size;
    }
    if (next != s.size) return false;
  }
  return true;
}
static_assert(AbiFieldsTileTheirStructs(),
              "a struct in abi.h has a hole or a field the table misses");

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_ABI_H_
