// SPDX-License-Identifier: Apache-2.0
// The cluster store across restarts: what a reopened store holds, what it
// does with a journal a crash cut short, and compaction into a snapshot.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/controller/cluster_store.h"
#include "control/controller/state_files.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using testing::Objs;
using testing::Ref;
using testing::Slice;
using testing::Svc;
using testing::TempDir;

class DurabilityTest : public ::testing::Test {
 protected:
  StoreConfig Config() const {
    StoreConfig config;
    config.state_dir = dir_.path();
    return config;
  }
  void MustApply(ClusterStore& store, const std::vector<std::string>& texts) {
    absl::StatusOr<ApplyResult> result = store.Apply(Objs(texts));
    ASSERT_TRUE(result.ok()) << result.status();
  }
  off_t JournalSize() const {
    struct stat st;
    EXPECT_EQ(stat(dir_.File("journal").c_str(), &st), 0);
    return st.st_size;
  }
  void Truncate(off_t size) {
    ASSERT_EQ(truncate(dir_.File("journal").c_str(), size), 0);
  }
  void AppendBytes(const std::string& bytes) {
    int fd = open(dir_.File("journal").c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
    close(fd);
  }

  TempDir dir_;
};

TEST_F(DurabilityTest, ReopenRestoresObjectsVersionAndAllocations) {
  v1::WatchResponse before;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    ASSERT_NE(store, nullptr);
    MustApply(*store, {Svc("a", "type: 'NodePort'"), Svc("b")});  // v1
    MustApply(*store,
              {Slice("a-1", "a"), "node { metadata { name: 'n1' } }"});  // v2
    MustApply(
        *store,
        {Svc("c", "type: 'LoadBalancer' external_traffic_policy: 'Local'")});
    ASSERT_TRUE(
        store->Delete({Ref(v1::KIND_SERVICE, "", "b")}, false).ok());  // v4
    before = store->Snapshot();
    EXPECT_EQ(before.version(), 4u);
  }
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 4u);
  EXPECT_TRUE(testing::SameMessage(store->Snapshot(), before));

  // Allocations came back: b's address is free again, the others are not.
  absl::StatusOr<ApplyResult> d =
      store->Apply(Objs({Svc("d", "type: 'NodePort'")}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->version, 5u);
  EXPECT_EQ(d->objects[0].service().spec().cluster_ip(), "10.96.0.2");
  EXPECT_EQ(d->objects[0].service().spec().ports(0).node_port(), 30003);
  absl::StatusOr<ApplyResult> taken = store->Apply(Objs(
      {Svc("e", "type: 'NodePort'", "ports { port: 80 node_port: 30000 }")}));
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kInvalidArgument);

  // Watchers resume across the restart.
  std::optional<v1::WatchResponse> changes = store->ChangesSince(2);
  ASSERT_TRUE(changes.has_value());
  ASSERT_EQ(changes->upserts_size(), 2);  // c, d
  ASSERT_EQ(changes->deletes_size(), 1);  // b
  EXPECT_EQ(changes->deletes(0).name(), "b");
  EXPECT_TRUE(store->ChangesSince(0).has_value());
}

TEST_F(DurabilityTest, SecondOpenOfOneDirectoryIsRefused) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::unique_ptr<ClusterStore>> second =
      ClusterStore::Open(Config());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
}

TEST_F(DurabilityTest, TornLastRecordIsDroppedAndWritingContinues) {
  off_t after_two = 0;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    MustApply(*store, {Svc("a")});
    MustApply(*store, {Svc("b")});
    after_two = JournalSize();
    MustApply(*store, {Svc("c")});
  }
  // A crash in the middle of the third append.
  Truncate(JournalSize() - 5);
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->version(), 2u);
    EXPECT_EQ(JournalSize(), after_two);  // the torn bytes are gone
    EXPECT_EQ(store->Get(Ref(v1::KIND_SERVICE, "", "c")).status().code(),
              absl::StatusCode::kNotFound);
    // c's address was never durable, so it is handed out again.
    absl::StatusOr<ApplyResult> d = store->Apply(Objs({Svc("d")}));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->version, 3u);
    EXPECT_EQ(d->objects[0].service().spec().cluster_ip(), "10.96.0.3");
  }
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 3u);
  EXPECT_TRUE(store->Get(Ref(v1::KIND_SERVICE, "", "d")).ok());
}

TEST_F(DurabilityTest, HeaderOnlyAndZeroFilledTailsAreTolerated) {
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    MustApply(*store, {Svc("a")});
  }
  off_t good = JournalSize();
  AppendBytes(std::string(3, '\x7f'));  // part of a header
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->version(), 1u);
  }
  EXPECT_EQ(JournalSize(), good);
  // What some file systems show after a crash: the size grew, the data
  // never landed.
  AppendBytes(std::string(4096, '\0'));
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 1u);
  EXPECT_EQ(JournalSize(), good);
}

TEST_F(DurabilityTest, DamageBeforeTheLastRecordIsDataLoss) {
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    MustApply(*store, {Svc("a")});
    MustApply(*store, {Svc("b")});
  }
  // Flip a byte inside the first record's payload.
  int fd = open(dir_.File("journal").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char byte = 0;
  ASSERT_EQ(pread(fd, &byte, 1, 12), 1);
  byte ^= 0x40;
  ASSERT_EQ(pwrite(fd, &byte, 1, 12), 1);
  close(fd);
  absl::StatusOr<std::unique_ptr<ClusterStore>> store =
      ClusterStore::Open(Config());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss)
      << store.status();
}

TEST_F(DurabilityTest, CompactionWritesASnapshotAndReopens) {
  StoreConfig config = Config();
  config.journal_max_records = 4;
  v1::WatchResponse before;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
    for (int i = 0; i < 12; ++i) {
      MustApply(*store, {Svc(absl::StrCat("s", i), "type: 'NodePort'")});
    }
    ASSERT_TRUE(store->Delete({Ref(v1::KIND_SERVICE, "", "s3")}, false).ok());
    before = store->Snapshot();
    // In memory the deltas outlive compaction.
    EXPECT_TRUE(store->ChangesSince(1).has_value());
  }
  EXPECT_TRUE(std::filesystem::exists(dir_.File("snapshot")));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("snapshot.tmp")));
  // Snapshots at versions 5 and 10; the journal holds 11..13.
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 13u);
  EXPECT_TRUE(testing::SameMessage(store->Snapshot(), before));
  EXPECT_FALSE(store->ChangesSince(9).has_value());
  std::optional<v1::WatchResponse> changes = store->ChangesSince(10);
  ASSERT_TRUE(changes.has_value());
  EXPECT_EQ(changes->upserts_size(), 2);  // s10, s11
  EXPECT_EQ(changes->deletes_size(), 1);  // s3
  absl::StatusOr<ApplyResult> next =
      store->Apply(Objs({Svc("next", "type: 'NodePort'")}));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->objects[0].service().spec().cluster_ip(),
            "10.96.0.4");  // s3's
  EXPECT_EQ(next->objects[0].service().spec().ports(0).node_port(), 30003);
}

TEST_F(DurabilityTest, JournalRecordsTheSnapshotHasAreSkipped) {
  // A crash after the snapshot was renamed into place but before the
  // journal was emptied leaves both holding the same versions.
  StoreConfig config = Config();
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
    MustApply(*store, {Svc("a")});
    MustApply(*store, {Svc("b")});
  }
  std::string journal = dir_.File("journal");
  std::filesystem::copy_file(journal, dir_.File("journal.saved"));
  config.journal_max_records = 1;  // compacts at open
  { ASSERT_NE(testing::OpenOrDie(config), nullptr); }
  std::filesystem::remove(journal);
  std::filesystem::rename(dir_.File("journal.saved"), journal);
  config.journal_max_records = 1000;
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 2u);
  EXPECT_EQ(store->List(v1::KIND_SERVICE, "").size(), 2u);
}

TEST_F(DurabilityTest, NoChangeWritesNothing) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
  MustApply(*store, {Svc("a")});
  off_t size = JournalSize();
  MustApply(*store, {Svc("a")});
  ASSERT_TRUE(store->Delete({Ref(v1::KIND_SERVICE, "", "zzz")}, true).ok());
  EXPECT_EQ(JournalSize(), size);
  EXPECT_EQ(store->version(), 1u);
}

// A large apply is one journal record (one append, one fdatasync, one
// version), so a crash anywhere in its append leaves all of it or none:
// each cut inside the record reopens at the version before, with none of
// the batch; only the whole record brings the whole batch.
TEST_F(DurabilityTest, LargeApplyIsOneRecordKeptWholeOrNotAtAll) {
  constexpr int kServices = 50;
  std::vector<std::string> batch;
  for (int i = 0; i < kServices; ++i) {
    batch.push_back(Svc(absl::StrCat("s", i)));
    batch.push_back(Slice(absl::StrCat("s", i, "-1"), absl::StrCat("s", i)));
  }
  off_t before = 0;
  off_t after = 0;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    ASSERT_NE(store, nullptr);
    MustApply(*store, {Svc("first")});  // v1
    before = JournalSize();
    MustApply(*store, batch);  // v2
    after = JournalSize();
    EXPECT_EQ(store->version(), 2u);
  }
  {
    absl::StatusOr<std::unique_ptr<StateFiles>> files =
        StateFiles::Open(dir_.path());
    ASSERT_TRUE(files.ok()) << files.status();
    absl::StatusOr<StateFiles::Contents> contents = (*files)->Load();
    ASSERT_TRUE(contents.ok()) << contents.status();
    ASSERT_EQ(contents->journal.size(), 2u);
    EXPECT_EQ(contents->journal[1].version(), 2u);
    EXPECT_EQ(contents->journal[1].upserts_size(), 2 * kServices);
  }
  std::string journal;
  {
    std::ifstream in(dir_.File("journal"), std::ios::binary);
    journal.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(static_cast<off_t>(journal.size()), after);
  auto reopen_cut_at = [&](off_t cut) {
    {
      std::ofstream out(dir_.File("journal"),
                        std::ios::binary | std::ios::trunc);
      out.write(journal.data(), cut);
    }
    return testing::OpenOrDie(Config());
  };
  const off_t middle = before + (after - before) / 2;
  for (off_t cut : {before + 1, before + 11, before + 12, middle, after - 1}) {
    SCOPED_TRACE(absl::StrCat("journal cut at byte ", cut, " of ", after));
    std::unique_ptr<ClusterStore> store = reopen_cut_at(cut);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->version(), 1u);
    EXPECT_EQ(store->Count(v1::KIND_SERVICE), 1u);
    EXPECT_EQ(store->Count(v1::KIND_ENDPOINT_SLICE), 0u);
    EXPECT_EQ(JournalSize(), before);  // the torn record was cut off
  }
  std::unique_ptr<ClusterStore> store = reopen_cut_at(after);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 2u);
  EXPECT_EQ(store->Count(v1::KIND_SERVICE), kServices + 1u);
  EXPECT_EQ(store->Count(v1::KIND_ENDPOINT_SLICE),
            static_cast<size_t>(kServices));
}

// A record made of objects already encoded is the same bytes as one
// encoded from the objects, and reads back as them; so is one with none.
TEST(EncodeWatchResponseTest, EncodedUpsertsMakeTheSameRecord) {
  std::vector<v1::Object> objects =
      Objs({Svc("a", "type: 'NodePort'"), Slice("a-1", "a"),
            "node { metadata { name: 'n1' } }"});
  // A slice past 127 bytes, so its length takes two varint bytes.
  objects.push_back(testing::Obj(
      Slice("big", "a",
            absl::StrCat("endpoints { addresses: '10.1.0.1' hostname: '",
                         std::string(300, 'h'), "' } ports { port: 8080 }"))));
  std::vector<std::string> encoded(objects.size());
  std::vector<absl::string_view> views;
  std::vector<const v1::Object*> pointers;
  for (size_t i = 0; i < objects.size(); ++i) {
    ASSERT_TRUE(objects[i].SerializeToString(&encoded[i]));
    views.push_back(encoded[i]);
    pointers.push_back(&objects[i]);
  }
  for (uint64_t version : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 40}) {
    std::string record = EncodeWatchResponse(version, views);
    EXPECT_EQ(record,
              EncodeWatchResponse(version, /*snapshot=*/false, pointers, {}))
        << version;
    v1::WatchResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(record));
    EXPECT_EQ(parsed.version(), version);
    ASSERT_EQ(parsed.upserts_size(), static_cast<int>(objects.size()));
    for (size_t i = 0; i < objects.size(); ++i) {
      EXPECT_TRUE(
          testing::SameMessage(parsed.upserts(static_cast<int>(i)), objects[i]))
          << i;
    }
  }
  EXPECT_EQ(EncodeWatchResponse(0, absl::Span<const absl::string_view>()), "");
}

// The server's path: the objects come back encoded, and the journal record
// is made of the same bytes; both read back as what the store holds.
TEST_F(DurabilityTest, EncodedApplyReturnsAndJournalsTheStoredObjects) {
  std::vector<v1::Object> written;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
    ASSERT_NE(store, nullptr);
    absl::StatusOr<ApplyResult> result =
        store->Apply(Objs({Svc("a", "type: 'NodePort'"), Slice("a-1", "a"),
                           "node { metadata { name: 'n1' } }"}),
                     ApplyOutput::kEncoded);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->encoded.size(), 3u);
    ASSERT_EQ(result->refs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      v1::Object object;
      ASSERT_TRUE(object.ParseFromString(result->encoded[i]));
      absl::StatusOr<v1::Object> stored = store->Get(result->refs[i]);
      ASSERT_TRUE(stored.ok()) << stored.status();
      EXPECT_TRUE(testing::SameMessage(object, *stored)) << i;
      written.push_back(std::move(object));
    }
    EXPECT_EQ(written[0].service().spec().ports(0).node_port(), 30000);
    EXPECT_TRUE(result->objects.empty()) << "nothing copied back out";
  }
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(Config());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->version(), 1u);
  for (const v1::Object& object : written) {
    absl::StatusOr<v1::Object> stored = store->Get(RefOf(object));
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_TRUE(testing::SameMessage(object, *stored));
  }
}

}  // namespace
}  // namespace switchyard::controller
