// SPDX-License-Identifier: Apache-2.0
// The store's paged lists: pages by count and by size that add up to the
// whole list, the continue token (refused when it is not the store's, or
// names another listing), the consistency rule (a later page is served
// only when nothing it covers changed since the first), and what Apply and
// Delete report per object so that clients need not list.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/controller/cluster_store.h"
#include "control/controller/list_continue.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using testing::Obj;
using testing::Objs;
using testing::Ref;
using testing::Slice;
using testing::Svc;

std::string Ns(const std::string& text, const std::string& ns) {
  // Objects are written in "default" unless moved: the namespace is the
  // first field of metadata in every helper's text.
  std::string out = text;
  const std::string anchor = "metadata { ";
  size_t at = out.find(anchor);
  out.insert(at + anchor.size(), absl::StrCat("namespace: '", ns, "' "));
  return out;
}

std::vector<std::string> Names(const std::vector<v1::Object>& objects) {
  std::vector<std::string> names;
  for (const v1::Object& object : objects) {
    names.push_back(Describe(RefOf(object)));
  }
  return names;
}

class StoreListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreConfig config;
    config.retained_deltas = 8;
    store_ = testing::OpenOrDie(config);
    // default: services a..e, slices of a; prod: service p; a node.
    std::vector<std::string> texts;
    for (char c = 'a'; c <= 'e'; ++c) texts.push_back(Svc(std::string(1, c)));
    texts.push_back(Slice("a-1", "a"));
    texts.push_back(Slice("a-2", "a"));
    texts.push_back(Ns(Svc("p"), "prod"));
    texts.push_back("node { metadata { name: 'n1' } }");
    ASSERT_TRUE(store_->Apply(Objs(texts)).ok());
  }

  // Every page of a listing, `limit` at a time; fails the test on error.
  std::vector<ListPage> AllPages(v1::Kind kind, const std::string& ns,
                                 int64_t limit,
                                 size_t max_bytes = kMaxListPageBytes) {
    std::vector<ListPage> pages;
    ListQuery query{
        .kind = kind, .ns = ns, .limit = limit, .max_bytes = max_bytes};
    while (true) {
      absl::StatusOr<ListPage> page = store_->List(query);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || pages.size() > 100) return pages;
      pages.push_back(*page);
      if (page->continue_token.empty()) return pages;
      query.continue_token = page->continue_token;
    }
  }

  static std::vector<v1::Object> Joined(const std::vector<ListPage>& pages) {
    std::vector<v1::Object> all;
    for (const ListPage& page : pages) {
      all.insert(all.end(), page.objects.begin(), page.objects.end());
    }
    return all;
  }

  ListPage FirstPage(v1::Kind kind, const std::string& ns, int64_t limit) {
    absl::StatusOr<ListPage> page =
        store_->List(ListQuery{.kind = kind, .ns = ns, .limit = limit});
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *page : ListPage();
  }

  absl::StatusOr<ListPage> Continue(v1::Kind kind, const std::string& ns,
                                    const ListPage& after) {
    return store_->List(ListQuery{
        .kind = kind, .ns = ns, .continue_token = after.continue_token});
  }

  std::unique_ptr<ClusterStore> store_;
};

TEST_F(StoreListTest, PagesAddUpToTheWholeListForEveryScope) {
  const std::vector<std::pair<v1::Kind, std::string>> scopes = {
      {v1::KIND_UNSPECIFIED, ""},       {v1::KIND_UNSPECIFIED, "default"},
      {v1::KIND_SERVICE, ""},           {v1::KIND_SERVICE, "default"},
      {v1::KIND_SERVICE, "prod"},       {v1::KIND_ENDPOINT_SLICE, "default"},
      {v1::KIND_NODE, "default"},       {v1::KIND_SERVICE, "nowhere"},
      {v1::KIND_ENDPOINT_SLICE, "prod"}};
  for (const auto& [kind, ns] : scopes) {
    std::vector<std::string> whole = Names(store_->List(kind, ns));
    for (int64_t limit : {0, 1, 2, 3, 100}) {
      SCOPED_TRACE(absl::StrCat("kind ", kind, " ns '", ns, "' limit ", limit));
      std::vector<ListPage> pages = AllPages(kind, ns, limit);
      EXPECT_EQ(Names(Joined(pages)), whole);
      int64_t listed = 0;
      for (const ListPage& page : pages) {
        EXPECT_EQ(page.version, store_->version());
        if (limit > 0) EXPECT_LE(page.objects.size(), size_t(limit));
        listed += static_cast<int64_t>(page.objects.size());
        EXPECT_EQ(page.remaining, static_cast<int64_t>(whole.size()) - listed);
        EXPECT_EQ(page.continue_token.empty(), page.remaining == 0);
      }
    }
  }
  // The scopes themselves: nodes ignore the namespace, a namespace's
  // listing of every kind leaves nodes out.
  EXPECT_EQ(Names(store_->List(v1::KIND_NODE, "default")),
            std::vector<std::string>{"Node n1"});
  EXPECT_EQ(Names(store_->List(v1::KIND_UNSPECIFIED, "prod")),
            std::vector<std::string>{"Service prod/p"});
  EXPECT_EQ(store_->Count(v1::KIND_SERVICE), 6u);
  EXPECT_EQ(store_->Count(v1::KIND_ENDPOINT_SLICE), 2u);
  EXPECT_EQ(store_->Count(v1::KIND_NODE), 1u);
}

TEST_F(StoreListTest, PagesStopAtTheByteBudget) {
  const size_t one = Obj(Svc("a")).ByteSizeLong();
  std::vector<std::string> whole =
      Names(store_->List(v1::KIND_SERVICE, "default"));
  // Room for about two services a page, whatever the limit.
  std::vector<ListPage> pages =
      AllPages(v1::KIND_SERVICE, "default", 0, 2 * one + 30);
  EXPECT_EQ(Names(Joined(pages)), whole);
  ASSERT_GE(pages.size(), 3u);
  for (const ListPage& page : pages) {
    EXPECT_GE(page.objects.size(), 1u);
    EXPECT_LE(page.objects.size(), 3u);
  }
  // A budget smaller than one object still moves on, one at a time.
  pages = AllPages(v1::KIND_SERVICE, "default", 0, 1);
  EXPECT_EQ(pages.size(), whole.size());
  EXPECT_EQ(Names(Joined(pages)), whole);
}

TEST_F(StoreListTest, LaterPagesShowTheFirstPagesVersion) {
  ListPage first = FirstPage(v1::KIND_SERVICE, "default", 2);
  ASSERT_EQ(
      Names(first.objects),
      (std::vector<std::string>{"Service default/a", "Service default/b"}));
  const uint64_t at = first.version;
  // Changes the rest of the listing does not cover: a listed service, a
  // slice, another namespace.
  ASSERT_TRUE(store_->Apply({Obj(Svc("a", "", "ports { port: 81 }"))}).ok());
  ASSERT_TRUE(store_->Apply({Obj(Slice("a-3", "a"))}).ok());
  ASSERT_TRUE(store_->Apply({Obj(Ns(Svc("q"), "prod"))}).ok());
  ASSERT_TRUE(store_->Delete({Ref(v1::KIND_SERVICE, "prod", "p")}, false).ok());
  ASSERT_EQ(store_->version(), at + 4);

  absl::StatusOr<ListPage> second =
      Continue(v1::KIND_SERVICE, "default", first);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->version, at);
  EXPECT_EQ(Names(second->objects),
            (std::vector<std::string>{"Service default/c", "Service default/d",
                                      "Service default/e"}));
  EXPECT_TRUE(second->continue_token.empty());
}

TEST_F(StoreListTest, AChangeTheRestCoversAbortsTheListing) {
  ListPage first = FirstPage(v1::KIND_SERVICE, "default", 2);
  ASSERT_TRUE(store_->Apply({Obj(Svc("d", "", "ports { port: 81 }"))}).ok());
  absl::StatusOr<ListPage> second =
      Continue(v1::KIND_SERVICE, "default", first);
  ASSERT_EQ(second.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("continue: the list began at version ", first.version,
                         " and the store is now at ", first.version + 1,
                         ": Service default/d, which the rest of the list "
                         "holds, changed at version ",
                         first.version + 1,
                         "; list again from the start (without continue)"));

  // A new object, and a deleted one, count the same way.
  first = FirstPage(v1::KIND_SERVICE, "default", 2);
  ASSERT_TRUE(store_->Apply({Obj(Svc("bb"))}).ok());
  EXPECT_EQ(Continue(v1::KIND_SERVICE, "default", first).status().code(),
            absl::StatusCode::kAborted);
  first = FirstPage(v1::KIND_SERVICE, "default", 2);
  ASSERT_TRUE(
      store_->Delete({Ref(v1::KIND_SERVICE, "default", "e")}, false).ok());
  EXPECT_EQ(Continue(v1::KIND_SERVICE, "default", first).status().code(),
            absl::StatusCode::kAborted);

  // Starting again works.
  EXPECT_EQ(Names(Joined(AllPages(v1::KIND_SERVICE, "default", 2))),
            Names(store_->List(v1::KIND_SERVICE, "default")));
}

TEST_F(StoreListTest, ForgottenHistoryAbortsTheListing) {
  ListPage first = FirstPage(v1::KIND_SERVICE, "default", 2);
  // More versions than the store keeps deltas for (8), none in the rest of
  // the listing: the store can no longer tell, so it refuses.
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(
        store_
            ->Apply({Obj(
                Svc("a", "", absl::StrCat("ports { port: ", 100 + i, " }")))})
            .ok());
  }
  absl::StatusOr<ListPage> second =
      Continue(v1::KIND_SERVICE, "default", first);
  ASSERT_EQ(second.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(
      second.status().message().find("the changes since are no longer kept"),
      absl::string_view::npos)
      << second.status();
}

TEST_F(StoreListTest, ForeignAndDamagedTokensAreRefused) {
  ListPage first = FirstPage(v1::KIND_SERVICE, "default", 2);
  ASSERT_FALSE(first.continue_token.empty());

  auto with_token = [&](v1::Kind kind, const std::string& ns,
                        const std::string& token) {
    return store_->List(
        ListQuery{.kind = kind, .ns = ns, .continue_token = token});
  };
  for (const std::string& bad :
       {std::string("garbage!"), std::string("Zm9v"),
        first.continue_token.substr(0, first.continue_token.size() / 2)}) {
    absl::StatusOr<ListPage> page =
        with_token(v1::KIND_SERVICE, "default", bad);
    ASSERT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(page.status().message().rfind(
                  "continue: not a token this controller gave out (", 0),
              0u)
        << page.status();
    EXPECT_NE(page.status().message().find("list again without one"),
              absl::string_view::npos);
  }

  absl::StatusOr<ListPage> other =
      with_token(v1::KIND_SERVICE, "prod", first.continue_token);
  ASSERT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(other.status().message(),
            "continue: the token continues a list of Services in namespace "
            "default, not of Services in namespace prod; ask for the same "
            "kind and namespace");
  other = with_token(v1::KIND_ENDPOINT_SLICE, "default", first.continue_token);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);

  // Another store's token (another history): start again.
  std::unique_ptr<ClusterStore> elsewhere = testing::OpenOrDie();
  ASSERT_TRUE(elsewhere->Apply(Objs({Svc("a"), Svc("b"), Svc("c")})).ok());
  absl::StatusOr<ListPage> foreign =
      elsewhere->List(ListQuery{.kind = v1::KIND_SERVICE,
                                .ns = "default",
                                .continue_token = first.continue_token});
  ASSERT_EQ(foreign.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(foreign.status().message().find("another controller state"),
            absl::string_view::npos);

  absl::StatusOr<ListPage> negative =
      store_->List(ListQuery{.kind = v1::KIND_SERVICE, .limit = -1});
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(negative.status().message(),
            "limit: -1 is negative (0 asks for no limit)");
}

TEST(ListContinueTest, RoundTripsAndIsOpaque) {
  ListContinue token{.state_id = "0123456789abcdef0123456789abcdef",
                     .version = 42,
                     .kind = v1::KIND_ENDPOINT_SLICE,
                     .ns = "big",
                     .last = {v1::KIND_ENDPOINT_SLICE, "big", "web-00017"}};
  std::string text = EncodeListContinue(token);
  EXPECT_EQ(text.find("web-00017"), std::string::npos);  // base64
  absl::StatusOr<ListContinue> back = DecodeListContinue(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state_id, token.state_id);
  EXPECT_EQ(back->version, 42u);
  EXPECT_EQ(back->kind, v1::KIND_ENDPOINT_SLICE);
  EXPECT_EQ(back->ns, "big");
  EXPECT_EQ(back->last, token.last);

  token.last.kind = v1::KIND_UNSPECIFIED;  // never made by a store
  EXPECT_FALSE(DecodeListContinue(EncodeListContinue(token)).ok());
  EXPECT_FALSE(DecodeListContinue("").ok());
}

TEST_F(StoreListTest, ApplySaysWhatItDidToEachObject) {
  absl::StatusOr<ApplyResult> result = store_->Apply(
      Objs({Svc("a"), Svc("b", "", "ports { port: 81 }"), Svc("new")}));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcomes,
            (std::vector<v1::ApplyResult::Outcome>{v1::ApplyResult::UNCHANGED,
                                                   v1::ApplyResult::CONFIGURED,
                                                   v1::ApplyResult::CREATED}));
  // A write that changes nothing says so for every object.
  result = store_->Apply(Objs({Svc("new"), Svc("a")}));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcomes,
            (std::vector<v1::ApplyResult::Outcome>{
                v1::ApplyResult::UNCHANGED, v1::ApplyResult::UNCHANGED}));
}

TEST_F(StoreListTest, DeleteSaysWhichObjectsExisted) {
  std::vector<v1::ObjectRef> deleted = {Ref(v1::KIND_SERVICE, "x", "stale")};
  ASSERT_TRUE(store_
                  ->Delete({Ref(v1::KIND_SERVICE, "", "c"),
                            Ref(v1::KIND_SERVICE, "", "missing"),
                            Ref(v1::KIND_NODE, "", "n1")},
                           /*ignore_not_found=*/true, &deleted)
                  .ok());
  std::vector<std::string> names;
  for (const v1::ObjectRef& ref : deleted) names.push_back(Describe(ref));
  EXPECT_EQ(names, (std::vector<std::string>{"Service default/c", "Node n1"}));
  ASSERT_TRUE(store_
                  ->Delete({Ref(v1::KIND_SERVICE, "", "missing")},
                           /*ignore_not_found=*/true, &deleted)
                  .ok());
  EXPECT_TRUE(deleted.empty());
}

}  // namespace
}  // namespace switchyard::controller
