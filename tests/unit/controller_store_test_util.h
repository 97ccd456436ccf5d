// SPDX-License-Identifier: Apache-2.0
// Shared by the cluster-store tests: objects written as text protos (so a
// test reads like the manifest it stands for) and a temporary state dir.
#ifndef SWITCHYARD_TESTS_UNIT_CONTROLLER_STORE_TEST_UTIL_H_
#define SWITCHYARD_TESTS_UNIT_CONTROLLER_STORE_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/controller/cluster_store.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace switchyard::controller::testing {

// `text` is a v1.Object in text format; a parse error fails the test.
inline v1::Object Obj(const std::string& text) {
  v1::Object object;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &object))
      << text;
  return object;
}

inline std::vector<v1::Object> Objs(const std::vector<std::string>& texts) {
  std::vector<v1::Object> objects;
  for (const std::string& text : texts) objects.push_back(Obj(text));
  return objects;
}

inline v1::ObjectRef Ref(v1::Kind kind, const std::string& ns,
                         const std::string& name) {
  v1::ObjectRef ref;
  ref.set_kind(kind);
  ref.set_namespace_(ns);
  ref.set_name(name);
  return ref;
}

// A ClusterIP service `name` with one port; `extra_spec` goes inside spec.
inline std::string Svc(const std::string& name,
                       const std::string& extra_spec = "",
                       const std::string& ports = "ports { port: 80 }") {
  return absl::StrCat("service { metadata { name: '", name, "' } spec { ",
                      ports, " ", extra_spec, " } }");
}

// An EndpointSlice of service `service` with `endpoints` and `ports` text.
inline std::string Slice(const std::string& name, const std::string& service,
                         const std::string& body =
                             "endpoints { addresses: '10.1.0.1' } "
                             "ports { port: 8080 }") {
  return absl::StrCat("endpoint_slice { metadata { name: '", name,
                      "' labels { key: 'kubernetes.io/service-name' value: '",
                      service, "' } } address_type: 'IPv4' ", body, " }");
}

inline bool SameMessage(const google::protobuf::Message& a,
                        const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(base != nullptr ? base : "/tmp", "/yard-store-XXXXXX");
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

inline std::unique_ptr<ClusterStore> OpenOrDie(StoreConfig config = {}) {
  absl::StatusOr<std::unique_ptr<ClusterStore>> store =
      ClusterStore::Open(std::move(config));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

}  // namespace switchyard::controller::testing

#endif  // SWITCHYARD_TESTS_UNIT_CONTROLLER_STORE_TEST_UTIL_H_
