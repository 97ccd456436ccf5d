// SPDX-License-Identifier: Apache-2.0
// The ABI table of control/kernel/abi.h against the compiled BPF object:
// every shared struct and field, found by name in the object's BTF, has
// the size and offset C++ was built with. The static_asserts pin the
// C++ side; this checks that clang -target bpf laid the same header out
// the same way. The skeleton is only opened (parsed), never loaded.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "control/kernel/abi.h"
#include "yard_datapath.skel.h"

namespace switchyard::kernel {
namespace {

struct SkelDeleter {
  void operator()(yard_datapath* skel) const { yard_datapath__destroy(skel); }
};

class AbiBtfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    skel_.reset(yard_datapath__open());
    ASSERT_NE(skel_, nullptr) << "open the yard_datapath skeleton";
    btf_ = bpf_object__btf(skel_->obj);
    ASSERT_NE(btf_, nullptr) << "yard_datapath has no BTF";
  }

  const btf_type* Struct(std::string_view name) const {
    int id = btf__find_by_name_kind(btf_, std::string(name).c_str(),
                                    BTF_KIND_STRUCT);
    return id > 0 ? btf__type_by_id(btf_, id) : nullptr;
  }

  std::unique_ptr<yard_datapath, SkelDeleter> skel_;
  const struct btf* btf_ = nullptr;
};

TEST_F(AbiBtfTest, EveryStructHasTheSizeCppUses) {
  for (const AbiStruct& s : kAbiStructs) {
    const btf_type* t = Struct(s.name);
    ASSERT_NE(t, nullptr) << "struct " << s.name
                          << " is not in the BPF object's BTF (no map or "
                             "program uses it?)";
    EXPECT_EQ(t->size, s.size) << "struct " << s.name;
  }
}

TEST_F(AbiBtfTest, EveryFieldHasTheOffsetAndSizeCppUses) {
  for (const AbiField& f : kAbiFields) {
    const btf_type* t = Struct(f.type);
    ASSERT_NE(t, nullptr) << "struct " << f.type;
    const btf_member* m = btf_members(t);
    bool found = false;
    for (int i = 0; i < btf_vlen(t); ++i, ++m) {
      if (f.name != btf__name_by_offset(btf_, m->name_off)) continue;
      found = true;
      ASSERT_EQ(btf_member_bitfield_size(t, i), 0u)
          << f.type << "." << f.name << " is a bitfield";
      EXPECT_EQ(btf_member_bit_offset(t, i), f.offset * 8)
          << f.type << "." << f.name << ": offset in bits";
      EXPECT_EQ(btf__resolve_size(btf_, m->type), static_cast<long>(f.size))
          << f.type << "." << f.name << ": size";
    }
    EXPECT_TRUE(found) << f.type << "." << f.name
                       << " is not a field of the BPF side's struct";
  }
}

// The other way round: no field of the BPF side is missing from the
// table (the static_asserts would not see one C++ never names).
TEST_F(AbiBtfTest, TheTableListsEveryFieldOfTheBpfSide) {
  for (const AbiStruct& s : kAbiStructs) {
    const btf_type* t = Struct(s.name);
    ASSERT_NE(t, nullptr) << "struct " << s.name;
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++m) {
      std::string_view name = btf__name_by_offset(btf_, m->name_off);
      bool listed = false;
      for (const AbiField& f : kAbiFields) {
        listed = listed || (f.type == s.name && f.name == name);
      }
      EXPECT_TRUE(listed) << s.name << "." << name
                          << " is missing from abi.h's table";
    }
  }
}

}  // namespace
}  // namespace switchyard::kernel
