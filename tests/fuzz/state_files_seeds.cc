// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of state_files_fuzz into the directory given:
// real state directories made by StateFiles (a journal only; a snapshot
// and a journal after it), packed as state_files_input.h describes, with
// each combination of marker and damage mode.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "control/common/log.h"
#include "control/controller/state_files.h"
#include "tests/fuzz/state_files_input.h"

namespace {

namespace v1 = switchyard::v1;
using switchyard::controller::EncodeWatchResponse;
using switchyard::controller::StateFiles;

v1::Object Service(const std::string& name, int port) {
  v1::Object object;
  v1::Service& service = *object.mutable_service();
  service.mutable_metadata()->set_name(name);
  service.mutable_metadata()->set_namespace_("default");
  service.mutable_spec()->set_cluster_ip("10.96.0.10");
  v1::ServicePort& p = *service.mutable_spec()->add_ports();
  p.set_port(port);
  p.set_protocol("TCP");
  return object;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool Check(const absl::Status& status) {
  if (!status.ok()) std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return status.ok();
}

// Three journaled writes; with `snapshot`, a snapshot after the second.
bool MakeState(const std::string& dir, bool snapshot) {
  absl::StatusOr<std::unique_ptr<StateFiles>> files = StateFiles::Open(dir);
  if (!files.ok() || !(*files)->Load().ok()) return false;
  std::vector<v1::Object> objects = {Service("web", 80), Service("dns", 53)};
  for (uint64_t version = 1; version <= 3; ++version) {
    if (version == 3 && snapshot) {
      std::vector<const v1::Object*> all = {&objects[0], &objects[1]};
      if (!Check((*files)->WriteSnapshot(2, all))) return false;
    }
    const v1::Object* upsert = &objects[version % 2];
    v1::ObjectRef gone;
    gone.set_kind(v1::KIND_SERVICE);
    gone.set_name("old");
    std::string payload =
        version == 2 ? EncodeWatchResponse(version, false, {}, {gone})
                     : EncodeWatchResponse(version, false, {&upsert, 1}, {});
    if (!Check((*files)->Append(payload))) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  switchyard::log_internal::SetMinSeverity(
      switchyard::log_internal::Severity::kError);
  namespace fuzz = switchyard::fuzz;
  std::filesystem::create_directories(argv[1]);
  for (bool snapshot : {false, true}) {
    std::string dir = "/tmp/yard-state-seeds-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr || !MakeState(dir, snapshot)) return 1;
    std::string snap = snapshot ? Slurp(dir + "/snapshot") : "";
    std::string journal = Slurp(dir + "/journal");
    std::filesystem::remove_all(dir);
    for (int variant = 0; variant < 4; ++variant) {
      uint8_t flags = fuzz::kHasJournal | fuzz::kAcknowledged;
      if (snapshot) flags |= fuzz::kHasSnapshot;
      if (variant & 1) flags |= fuzz::kKeepReadable;
      if (variant & 2) flags |= fuzz::kResealJournal;
      std::string path = std::string(argv[1]) + "/seed-" +
                         (snapshot ? "snapshot-" : "journal-") +
                         std::to_string(variant);
      std::ofstream(path, std::ios::binary)
          << fuzz::PackStateFiles(flags, snap, journal);
    }
  }
  return 0;
}
