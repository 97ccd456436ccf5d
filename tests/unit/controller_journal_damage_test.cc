// SPDX-License-Identifier: Apache-2.0
// Damaged and missing state files, one table row each (issue 13): every
// case either loads exactly the versions that were acknowledged or refuses
// to start with DATA_LOSS naming the file, the byte offset and the last
// good version; --recover_readable_state then starts from the readable
// prefix and leaves files the next plain start accepts.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/controller/cluster_store.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using testing::Objs;
using testing::Svc;
using testing::TempDir;

// The journal's layout (state_files.h): 8 magic bytes, then records of a
// 12-byte header (length, payload CRC, header CRC) and the payload.
constexpr size_t kFileHeader = 8;
constexpr size_t kRecordHeader = 12;
constexpr size_t kHeaderCrcAt = 8;

// Six writes, each its own version and journal record.
constexpr uint64_t kWrites = 6;

std::string ReadAll(const std::string& path) {
  std::string data;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return data;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) {
    data.append(buffer, n);
  }
  std::fclose(f);
  return data;
}

void WriteAll(const std::string& path, const std::string& data) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
  std::fclose(f);
}

uint32_t Le32(const std::string& data, size_t at) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= uint32_t{static_cast<unsigned char>(data[at + i])} << (8 * i);
  }
  return value;
}

// Where each journal record starts.
std::vector<size_t> RecordOffsets(const std::string& journal) {
  std::vector<size_t> offsets;
  for (size_t at = kFileHeader; at + kRecordHeader <= journal.size();
       at += kRecordHeader + Le32(journal, at)) {
    offsets.push_back(at);
  }
  return offsets;
}

// The state dir as a test found it after the writes.
struct Files {
  std::string dir;
  std::string journal() const { return dir + "/journal"; }
  std::string snapshot() const { return dir + "/snapshot"; }
};

void FlipBit(const std::string& path, size_t offset, int bit) {
  std::string data = ReadAll(path);
  ASSERT_LT(offset, data.size()) << path;
  data[offset] = static_cast<char>(data[offset] ^ (1 << bit));
  WriteAll(path, data);
}

struct DamageCase {
  std::string name;
  // Compaction after this many records (0: never), so some rows have a
  // snapshot: 3 gives a snapshot at version 4 and journal records 5 and 6.
  size_t compact_after = 0;
  uint64_t writes = kWrites;
  std::function<void(const Files&)> damage;
  // The version a plain start must load; unset: it must refuse.
  std::optional<uint64_t> loads;
  // For a refusal: the file named, the byte offset ("" for none) and the
  // last good version named.
  std::string file;
  std::string offset;
  uint64_t last_good = 0;
  // What --recover_readable_state starts at.
  uint64_t recovers = 0;
};

void PrintTo(const DamageCase& c, std::ostream* os) { *os << c.name; }

// Offset of record `index` (negative: from the end) of the journal.
size_t Record(const Files& files, int index) {
  std::vector<size_t> offsets = RecordOffsets(ReadAll(files.journal()));
  EXPECT_FALSE(offsets.empty());
  if (offsets.empty()) return 0;
  return index >= 0 ? offsets[index] : offsets[offsets.size() + index];
}

std::string RecordText(const Files& files, int index) {
  return absl::StrCat("offset ", Record(files, index), " ");
}

// Bit 4 of a length's second byte adds 4096: the length now runs past the
// end of the file, which a loader without a header CRC takes for a torn
// write.
void GrowLength(const Files& files, int index) {
  FlipBit(files.journal(), Record(files, index) + 1, 4);
}

std::vector<DamageCase> Cases() {
  std::vector<DamageCase> cases;
  cases.push_back(
      {.name = "Intact", .damage = [](const Files&) {}, .loads = 6});
  cases.push_back({.name = "FirstRecordLengthPastTheEnd",
                   .damage = [](const Files& f) { GrowLength(f, 0); },
                   .file = "journal",
                   .offset = "offset 8 ",
                   .last_good = 0,
                   .recovers = 0});
  cases.push_back({.name = "SecondRecordLengthPastTheEnd",
                   .damage = [](const Files& f) { GrowLength(f, 1); },
                   .file = "journal",
                   .offset = "second",
                   .last_good = 1,
                   .recovers = 1});
  cases.push_back(
      {.name = "SecondRecordLengthOffByOne",
       .damage = [](const Files& f) { FlipBit(f.journal(), Record(f, 1), 0); },
       .file = "journal",
       .offset = "second",
       .last_good = 1,
       .recovers = 1});
  cases.push_back({.name = "LastRecordLengthPastTheEnd",
                   .damage = [](const Files& f) { GrowLength(f, -1); },
                   .file = "journal",
                   .offset = "last",
                   .last_good = 5,
                   .recovers = 5});
  cases.push_back({.name = "SecondRecordPayload",
                   .damage =
                       [](const Files& f) {
                         FlipBit(f.journal(), Record(f, 1) + kRecordHeader + 3,
                                 6);
                       },
                   .file = "journal",
                   .offset = "second",
                   .last_good = 1,
                   .recovers = 1});
  cases.push_back({.name = "LastRecordPayload",
                   .damage =
                       [](const Files& f) {
                         FlipBit(f.journal(), Record(f, -1) + kRecordHeader + 3,
                                 6);
                       },
                   .file = "journal",
                   .offset = "last",
                   .last_good = 5,
                   .recovers = 5});
  cases.push_back({.name = "ThirdRecordHeaderCrc",
                   .damage =
                       [](const Files& f) {
                         FlipBit(f.journal(), Record(f, 2) + kHeaderCrcAt, 2);
                       },
                   .file = "journal",
                   .offset = "third",
                   .last_good = 2,
                   .recovers = 2});
  cases.push_back({.name = "LastRecordCutInItsPayload",
                   .damage =
                       [](const Files& f) {
                         ASSERT_EQ(truncate(f.journal().c_str(),
                                            Record(f, -1) + kRecordHeader + 5),
                                   0);
                       },
                   .loads = 5});
  cases.push_back(
      {.name = "LastRecordCutInItsHeader",
       .damage =
           [](const Files& f) {
             ASSERT_EQ(truncate(f.journal().c_str(), Record(f, -1) + 5), 0);
           },
       .loads = 5});
  cases.push_back({.name = "RandomBytes",
                   .damage =
                       [](const Files& f) {
                         std::mt19937 random(13);
                         std::string data(ReadAll(f.journal()).size(), '\0');
                         for (char& c : data) c = static_cast<char>(random());
                         WriteAll(f.journal(), data);
                       },
                   .file = "journal",
                   .offset = "offset 0 ",
                   .last_good = 0,
                   .recovers = 0});
  cases.push_back({.name = "RandomBytesAfterTheMagic",
                   .damage =
                       [](const Files& f) {
                         std::mt19937 random(13);
                         std::string data = ReadAll(f.journal());
                         for (size_t i = kFileHeader; i < data.size(); ++i) {
                           data[i] = static_cast<char>(random());
                         }
                         WriteAll(f.journal(), data);
                       },
                   .file = "journal",
                   .offset = "offset 8 ",
                   .last_good = 0,
                   .recovers = 0});
  cases.push_back(
      {.name = "JournalDeleted",
       .damage = [](const Files& f) { std::filesystem::remove(f.journal()); },
       .file = "journal",
       .offset = "offset 0 ",
       .last_good = 0,
       .recovers = 0});
  cases.push_back({.name = "JournalEmptied",
                   .damage =
                       [](const Files& f) {
                         ASSERT_EQ(truncate(f.journal().c_str(), 0), 0);
                       },
                   .file = "journal",
                   .offset = "offset 0 ",
                   .last_good = 0,
                   .recovers = 0});
  cases.push_back(
      {.name = "JournalDeletedSnapshotKept",
       .compact_after = 3,
       .damage = [](const Files& f) { std::filesystem::remove(f.journal()); },
       .file = "journal",
       .offset = "offset 0 ",
       .last_good = 4,
       .recovers = 4});
  cases.push_back(
      {.name = "SnapshotDeletedJournalKept",
       .compact_after = 3,
       .damage = [](const Files& f) { std::filesystem::remove(f.snapshot()); },
       .file = "journal",
       .last_good = 0,
       .recovers = 0});
  cases.push_back(
      {.name = "SnapshotDeletedJournalEmpty",
       .compact_after = 3,
       .writes = 4,
       .damage = [](const Files& f) { std::filesystem::remove(f.snapshot()); },
       .file = "journal",
       .last_good = 0,
       .recovers = 0});
  cases.push_back({.name = "SnapshotPayload",
                   .compact_after = 3,
                   .damage =
                       [](const Files& f) {
                         FlipBit(f.snapshot(), kFileHeader + kRecordHeader + 3,
                                 6);
                       },
                   .file = "snapshot",
                   .offset = "offset 8 ",
                   .last_good = 0,
                   .recovers = 0});
  return cases;
}

class JournalDamageTest : public ::testing::TestWithParam<DamageCase> {
 protected:
  StoreConfig Config(bool recover = false) const {
    StoreConfig config;
    config.state_dir = dir_.path();
    if (GetParam().compact_after > 0) {
      config.journal_max_records = GetParam().compact_after;
    }
    config.recover_readable_state = recover;
    return config;
  }

  // Writes version 1..writes, keeping what the store showed at each.
  void SetUp() override {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    ASSERT_NE(store, nullptr);
    states_.push_back(store->Snapshot());
    for (uint64_t v = 1; v <= GetParam().writes; ++v) {
      absl::StatusOr<ApplyResult> result =
          store->Apply(Objs({Svc(absl::StrCat("s", v))}));
      ASSERT_TRUE(result.ok()) << result.status();
      ASSERT_EQ(result->version, v);  // acknowledged
      states_.push_back(store->Snapshot());
    }
  }

  // The store holds exactly what it acknowledged up to `version`. Only
  // the contents: a recovered store starts a new history (state id).
  void ExpectState(const ClusterStore& store, uint64_t version) {
    EXPECT_EQ(store.version(), version);
    ASSERT_LT(version, states_.size());
    v1::WatchResponse held = store.Snapshot();
    v1::WatchResponse acknowledged = states_[version];
    held.clear_state_id();
    acknowledged.clear_state_id();
    EXPECT_TRUE(testing::SameMessage(held, acknowledged)) << held.DebugString();
  }

  // The offset a refusal must name, resolved before the damage.
  std::string ExpectedOffset(const Files& files) const {
    const std::string& offset = GetParam().offset;
    if (offset == "second") return RecordText(files, 1);
    if (offset == "third") return RecordText(files, 2);
    if (offset == "last") return RecordText(files, -1);
    return offset;
  }

  TempDir dir_;
  std::vector<v1::WatchResponse> states_;
};

TEST_P(JournalDamageTest, LoadsWhatWasAcknowledgedOrRefuses) {
  const DamageCase& c = GetParam();
  Files files{dir_.path()};
  std::string offset = ExpectedOffset(files);
  c.damage(files);
  absl::StatusOr<std::unique_ptr<ClusterStore>> store =
      ClusterStore::Open(Config());
  if (c.loads.has_value()) {
    ASSERT_TRUE(store.ok()) << store.status();
    ExpectState(**store, *c.loads);
    return;
  }
  ASSERT_FALSE(store.ok()) << "started at version " << (*store)->version();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss)
      << store.status();
  std::string message(store.status().message());
  EXPECT_NE(message.find(absl::StrCat(dir_.path(), "/", c.file)), message.npos)
      << message;
  EXPECT_NE(message.find(offset), message.npos) << offset << ": " << message;
  EXPECT_NE(message.find(absl::StrCat("last good version is ", c.last_good)),
            message.npos)
      << message;
  // Refusing changes nothing: a second plain start refuses the same way.
  absl::StatusOr<std::unique_ptr<ClusterStore>> again =
      ClusterStore::Open(Config());
  EXPECT_EQ(again.status(), store.status());
}

TEST_P(JournalDamageTest, RecoveryKeepsTheReadablePrefix) {
  const DamageCase& c = GetParam();
  Files files{dir_.path()};
  c.damage(files);
  uint64_t expected = c.loads.value_or(c.recovers);
  {
    absl::StatusOr<std::unique_ptr<ClusterStore>> store =
        ClusterStore::Open(Config(/*recover=*/true));
    ASSERT_TRUE(store.ok()) << store.status();
    ExpectState(**store, expected);
  }
  // The files were rewritten: a plain start is clean, and writing goes on.
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
  ASSERT_NE(store, nullptr);
  ExpectState(*store, expected);
  absl::StatusOr<ApplyResult> next = store->Apply(Objs({Svc("after")}));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->version, expected + 1);
}

INSTANTIATE_TEST_SUITE_P(Table, JournalDamageTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// Files from before the format had a header CRC are read and converted.
TEST(JournalFormatTest, FormatOneFilesAreReadAndConverted) {
  TempDir dir;
  // One format-1 record (length, CRC-32 of length + payload, payload):
  // version 1, service "old" as a store holds it.
  auto record = [](const std::string& payload) {
    std::string out(8, '\0');
    uint32_t length = static_cast<uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(length >> (8 * i));
    uint32_t crc = 0;
    {
      // zlib's CRC-32, bit by bit, so the test does not need zlib.
      auto update = [&crc](const std::string& bytes) {
        crc = ~crc;
        for (unsigned char b : bytes) {
          crc ^= b;
          for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
        }
        crc = ~crc;
      };
      update(out.substr(0, 4));
      update(payload);
    }
    for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<char>(crc >> (8 * i));
    return out + payload;
  };
  v1::WatchResponse first;
  first.set_version(1);
  {
    std::unique_ptr<ClusterStore> memory = testing::OpenOrDie();
    absl::StatusOr<ApplyResult> old = memory->Apply(Objs({Svc("old")}));
    ASSERT_TRUE(old.ok()) << old.status();
    *first.add_upserts() = old->objects[0];
  }
  WriteAll(dir.File("journal"), record(first.SerializeAsString()));
  StoreConfig config;
  config.state_dir = dir.path();
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->version(), 1u);
    absl::StatusOr<ApplyResult> next = store->Apply(Objs({Svc("new")}));
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->version, 2u);
  }
  EXPECT_EQ(ReadAll(dir.File("snapshot")).substr(0, 8), "yardSNP2");
  EXPECT_EQ(ReadAll(dir.File("journal")).substr(0, 8), "yardJNL2");
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 2u);
  EXPECT_EQ(store->List(v1::KIND_SERVICE, "").size(), 2u);
}

// A fresh directory, or one whose only write was torn, starts empty.
TEST(JournalFormatTest, FreshAndNeverAcknowledgedDirsStartEmpty) {
  TempDir dir;
  StoreConfig config;
  config.state_dir = dir.path();
  { ASSERT_NE(testing::OpenOrDie(config), nullptr); }
  // A first append cut short: no marker was made, nothing was lost.
  std::string journal = ReadAll(dir.File("journal"));
  ASSERT_EQ(journal, "yardJNL2");
  WriteAll(dir.File("journal"), journal + std::string("\x30\x00\x00", 3));
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir.File("acknowledged")));
}

}  // namespace
}  // namespace switchyard::controller
