// SPDX-License-Identifier: Apache-2.0
// The store's history id (state_id.h): kept across restarts on the same
// state dir, new for every memory-only store, new when the id file is
// missing or unreadable, after recovery and after a stop that was not a
// clean close, and sent on every watch response.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "control/controller/cluster_store.h"
#include "control/controller/state_id.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using testing::Objs;
using testing::Svc;
using testing::TempDir;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

StoreConfig InDir(const TempDir& dir) {
  StoreConfig config;
  config.state_dir = dir.path();
  return config;
}

// Opens a store on `dir`, writes one Service per name (a version each),
// and copies the directory into `crashed` while the store is still open:
// the files as a crash would leave them. Returns the store's state id.
std::string WriteAndCopyWhileOpen(const TempDir& dir, const TempDir& crashed,
                                  const std::vector<std::string>& names) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
  EXPECT_NE(store, nullptr);
  if (store == nullptr) return "";
  for (const std::string& name : names) {
    EXPECT_TRUE(store->Apply(Objs({Svc(name)})).ok());
  }
  std::filesystem::copy(dir.path(), crashed.path(),
                        std::filesystem::copy_options::recursive |
                            std::filesystem::copy_options::overwrite_existing);
  return store->state_id();
}

TEST(StateIdTest, NewIdsAre128RandomBitsInHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = NewStateId();
    EXPECT_TRUE(IsStateId(id)) << id;
    EXPECT_EQ(id.size(), 32u);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_FALSE(IsStateId(""));
  EXPECT_FALSE(IsStateId("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(IsStateId("0123456789abcdef0123456789abcde"));
  EXPECT_FALSE(IsStateId("0123456789abcdef0123456789abcdeg"));
}

TEST(StateIdTest, MemoryOnlyStoresEachBeginTheirOwnHistory) {
  std::unique_ptr<ClusterStore> a = testing::OpenOrDie();
  std::unique_ptr<ClusterStore> b = testing::OpenOrDie();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(IsStateId(a->state_id())) << a->state_id();
  EXPECT_TRUE(IsStateId(b->state_id())) << b->state_id();
  // Same version (0), same contents: still not one history.
  EXPECT_NE(a->state_id(), b->state_id());
}

TEST(StateIdTest, ReopenedStateDirKeepsItsId) {
  TempDir dir;
  std::string id;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
    ASSERT_NE(store, nullptr);
    id = store->state_id();
    ASSERT_TRUE(store->Apply(Objs({Svc("a")})).ok());
  }
  EXPECT_TRUE(IsStateId(id)) << id;
  EXPECT_EQ(ReadText(dir.File("state_id")), id + "\n");
  EXPECT_FALSE(std::filesystem::exists(dir.File("state_id.tmp")));
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->state_id(), id);
  EXPECT_EQ(store->version(), 1u);
  // So an agent at version 1 of this history resumes with a delta.
  EXPECT_TRUE(store->ChangesSince(1).has_value());
}

TEST(StateIdTest, StateDirWithoutAnIdGetsANewOneAndKeepsIt) {
  TempDir dir;
  std::string first;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
    ASSERT_NE(store, nullptr);
    first = store->state_id();
    ASSERT_TRUE(store->Apply(Objs({Svc("a")})).ok());
  }
  // What a state dir from before state ids looks like.
  ASSERT_EQ(unlink(dir.File("state_id").c_str()), 0);
  std::string second;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
    ASSERT_NE(store, nullptr);
    second = store->state_id();
    EXPECT_EQ(store->version(), 1u);
    EXPECT_EQ(store->List(v1::KIND_SERVICE, "").size(), 1u);
  }
  EXPECT_TRUE(IsStateId(second));
  EXPECT_NE(second, first);
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->state_id(), second);
}

TEST(StateIdTest, UnreadableIdIsReplaced) {
  TempDir dir;
  { ASSERT_NE(testing::OpenOrDie(InDir(dir)), nullptr); }
  WriteText(dir.File("state_id"), "not an id\n");
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(IsStateId(store->state_id())) << store->state_id();
  EXPECT_EQ(ReadText(dir.File("state_id")), store->state_id() + "\n");
}

TEST(StateIdTest, RecoveryBeginsANewHistory) {
  // Recovery may drop acknowledged writes; their versions would be issued
  // again for other contents, so agents must not resume across it.
  TempDir dir;
  std::string before;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
    ASSERT_NE(store, nullptr);
    before = store->state_id();
    ASSERT_TRUE(store->Apply(Objs({Svc("a")})).ok());
  }
  StoreConfig config = InDir(dir);
  config.recover_readable_state = true;
  std::string recovered;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
    ASSERT_NE(store, nullptr);
    recovered = store->state_id();
  }
  EXPECT_NE(recovered, before);
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->state_id(), recovered);
}

TEST(StateIdTest, OnlyAClosedStoreLeavesTheCleanMark) {
  TempDir dir;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Apply(Objs({Svc("a")})).ok());
    // Open took it: a crash from here must read as one.
    EXPECT_FALSE(std::filesystem::exists(dir.File("stopped_cleanly")));
  }
  EXPECT_TRUE(std::filesystem::exists(dir.File("stopped_cleanly")));
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(InDir(dir));
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir.File("stopped_cleanly")));
}

TEST(StateIdTest, AStopWithoutACleanCloseBeginsANewHistory) {
  // Versions are streamed before they are durable, so after a crash the
  // last ones agents saw may be missing and their numbers reused: the
  // files as a crash leaves them (copied while the store is open) must
  // not continue the history.
  TempDir dir;
  TempDir crashed;
  const std::string id = WriteAndCopyWhileOpen(dir, crashed, {"a", "b"});
  std::unique_ptr<ClusterStore> after_crash =
      testing::OpenOrDie(InDir(crashed));
  ASSERT_NE(after_crash, nullptr);
  EXPECT_TRUE(IsStateId(after_crash->state_id()));
  EXPECT_NE(after_crash->state_id(), id);
  // Nothing acknowledged is lost: same objects, same version.
  EXPECT_EQ(after_crash->version(), 2u);
  EXPECT_EQ(after_crash->List(v1::KIND_SERVICE, "").size(), 2u);
  EXPECT_EQ(ReadText(crashed.File("state_id")), after_crash->state_id() + "\n");
  // The original closed cleanly and keeps its history.
  std::unique_ptr<ClusterStore> reopened = testing::OpenOrDie(InDir(dir));
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->state_id(), id);
}

TEST(StateIdTest, AStoreThatFailedToOpenDoesNotHideACrash) {
  TempDir dir;
  TempDir crashed;
  WriteAndCopyWhileOpen(dir, crashed, {"a"});
  // An unreadable state id file fails the open after the clean mark was
  // looked for.
  ASSERT_EQ(unlink(crashed.File("state_id").c_str()), 0);
  ASSERT_TRUE(std::filesystem::create_directory(crashed.File("state_id")));
  EXPECT_FALSE(ClusterStore::Open(InDir(crashed)).ok());
  EXPECT_FALSE(std::filesystem::exists(crashed.File("stopped_cleanly")));
}

TEST(StateIdTest, EveryWatchResponseCarriesTheId) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Apply(Objs({Svc("a")})).ok());
  ASSERT_TRUE(store->Apply(Objs({Svc("b")})).ok());
  EXPECT_EQ(store->Snapshot().state_id(), store->state_id());
  std::optional<v1::WatchResponse> delta = store->ChangesSince(1);
  ASSERT_TRUE(delta.has_value());
  EXPECT_EQ(delta->state_id(), store->state_id());
  std::optional<v1::WatchResponse> none = store->ChangesSince(2);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->state_id(), store->state_id());
}

}  // namespace
}  // namespace switchyard::controller
