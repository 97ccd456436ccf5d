// SPDX-License-Identifier: Apache-2.0
// The agent's logic without a kernel: the controller's snapshots and deltas
// reconciled into a fake map writer that checks the datapath's invariant
// after every single write.
#include "control/sync/reconciler.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include "control/common/ipv4.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_map_writer.h"

namespace switchyard::sync {
namespace {

constexpr Capacity kRoomy{
    .frontends = 1024, .slots = 4096, .backends = 1024, .source_ranges = 64};

v1::Service Service(const std::string& name, const std::string& cluster_ip,
                    int port = 80) {
  v1::Service s;
  s.mutable_metadata()->set_name(name);
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_spec()->set_type("ClusterIP");
  s.mutable_spec()->set_cluster_ip(cluster_ip);
  v1::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_name("http");
  p->set_port(port);
  p->set_protocol("TCP");
  p->mutable_target_port()->set_number(8080);
  return s;
}

// A LoadBalancer service whose endpoints on `node` are announced by a
// health-check node port (externalTrafficPolicy: Local).
v1::Service LocalLoadBalancer(const std::string& name,
                              const std::string& cluster_ip, int check_port) {
  v1::Service s = Service(name, cluster_ip);
  s.mutable_spec()->set_type("LoadBalancer");
  s.mutable_spec()->set_external_traffic_policy("Local");
  s.mutable_spec()->set_health_check_node_port(check_port);
  s.mutable_spec()->mutable_ports(0)->set_node_port(30080);
  return s;
}

v1::EndpointSlice Slice(const std::string& service,
                        const std::vector<std::string>& ips,
                        const std::string& node = "node-a") {
  v1::EndpointSlice e;
  e.mutable_metadata()->set_name(service + "-1");
  e.mutable_metadata()->set_namespace_("default");
  (*e.mutable_metadata()->mutable_labels())[translate::kServiceNameLabel] =
      service;
  e.set_address_type("IPv4");
  v1::EndpointPort* p = e.add_ports();
  p->set_name("http");
  p->set_port(8080);
  p->set_protocol("TCP");
  for (const std::string& ip : ips) {
    v1::Endpoint* ep = e.add_endpoints();
    ep->add_addresses(ip);
    ep->set_node_name(node);
  }
  return e;
}

class Update {
 public:
  Update(uint64_t version, bool snapshot) {
    msg_.set_version(version);
    msg_.set_snapshot(snapshot);
  }
  Update& Put(const v1::Service& s) {
    *msg_.add_upserts()->mutable_service() = s;
    return *this;
  }
  Update& Put(const v1::EndpointSlice& e) {
    *msg_.add_upserts()->mutable_endpoint_slice() = e;
    return *this;
  }
  // The controller state (history) the update comes from.
  Update& From(const std::string& state_id) {
    msg_.set_state_id(state_id);
    return *this;
  }
  Update& DeleteService(const std::string& name) {
    v1::ObjectRef* ref = msg_.add_deletes();
    ref->set_kind(v1::KIND_SERVICE);
    ref->set_namespace_("default");
    ref->set_name(name);
    return *this;
  }
  const v1::WatchResponse& msg() const { return msg_; }

 private:
  v1::WatchResponse msg_;
};

yard_svc4_key Frontend(const char* ip, int port) {
  yard_svc4_key key{};
  key.addr = *ParseIpv4(ip);
  key.port = htons(static_cast<uint16_t>(port));
  key.proto = IPPROTO_TCP;
  return key;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcileOutcome Apply(const Update& u) {
    ReconcileOutcome out = reconciler_->Apply(u.msg());
    EXPECT_EQ(writer_.violation(), "") << "after version " << u.msg().version();
    return out;
  }
  // What a restarted agent does: a new reconciler over the same maps,
  // adopting what they hold.
  void Restart() {
    reconciler_ = std::make_unique<Reconciler>(
        &writer_, kRoomy, translate::NodeContext{"node-a", {}});
    reconciler_->Adopt(writer_.entries());
  }
  // Listed backends whose address is `ip` (any port), as programmed now
  // (retired ones stay in the map for their flows).
  int BackendsAt(const char* ip) {
    int n = 0;
    for (const auto& [id, be] : writer_.entries().backends) {
      n += be.addr == *ParseIpv4(ip) && be.state != YARD_BACKEND_RETIRED;
    }
    return n;
  }
  bool HasFrontend(const char* ip, int port) {
    return writer_.entries().frontends.contains(Frontend(ip, port));
  }

  testing::FakeMapWriter writer_;
  std::unique_ptr<Reconciler> reconciler_ = std::make_unique<Reconciler>(
      &writer_, kRoomy, translate::NodeContext{"node-a", {}});
};

TEST_F(ReconcilerTest, SnapshotProgramsEverythingAndSetsTheResumeVersion) {
  EXPECT_EQ(reconciler_->ResumeVersion(), 0u);
  ReconcileOutcome out =
      Apply(Update(7, true)
                .Put(Service("web", "10.96.0.10"))
                .Put(Slice("web", {"10.244.1.2", "10.244.1.3"})));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_TRUE(out.full);
  EXPECT_EQ(out.version, 7u);
  EXPECT_GT(out.writes, 0u);
  EXPECT_EQ(out.writes, writer_.writes());
  EXPECT_EQ(reconciler_->ResumeVersion(), 7u);
  EXPECT_TRUE(HasFrontend("10.96.0.10", 80));
  EXPECT_EQ(BackendsAt("10.244.1.2"), 1);
  EXPECT_EQ(BackendsAt("10.244.1.3"), 1);
  EXPECT_EQ(out.counts.backends, 2u);
}

TEST_F(ReconcilerTest, DeltaTouchesOnlyItsService) {
  Update snapshot(1, true);
  for (int i = 0; i < 50; ++i) {
    std::string name = "svc" + std::to_string(i);
    snapshot.Put(Service(name, "10.96.1." + std::to_string(i + 1)))
        .Put(Slice(name, {"10.244.2." + std::to_string(i + 1)}));
  }
  ASSERT_TRUE(Apply(snapshot).status.ok());
  size_t before = writer_.writes();

  ReconcileOutcome out =
      Apply(Update(2, false).Put(Slice("svc7", {"10.244.2.8", "10.244.3.1"})));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_FALSE(out.full);
  // One new backend, one new slot, the frontend's count: a handful of
  // writes, not a pass over fifty services.
  EXPECT_GT(out.writes, 0u);
  EXPECT_LE(out.writes, 4u);
  EXPECT_EQ(writer_.writes() - before, out.writes);
  EXPECT_EQ(BackendsAt("10.244.3.1"), 1);
  EXPECT_EQ(reconciler_->ResumeVersion(), 2u);
}

TEST_F(ReconcilerTest, DeletedServiceIsRemovedByADelta) {
  ASSERT_TRUE(Apply(Update(1, true)
                        .Put(Service("web", "10.96.0.10"))
                        .Put(Slice("web", {"10.244.1.2"}))
                        .Put(Service("api", "10.96.0.11"))
                        .Put(Slice("api", {"10.244.1.9"})))
                  .status.ok());
  ReconcileOutcome out = Apply(Update(2, false).DeleteService("web"));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_FALSE(HasFrontend("10.96.0.10", 80));
  EXPECT_TRUE(HasFrontend("10.96.0.11", 80));
  // Its slice stays in the state, but a backend no frontend uses retires.
  EXPECT_EQ(BackendsAt("10.244.1.2"), 0);
  EXPECT_EQ(BackendsAt("10.244.1.9"), 1);
}

TEST_F(ReconcilerTest, RestartAdoptsTheMapsAndRewritesNothingStillDesired) {
  Update state(4, true);
  state.Put(Service("web", "10.96.0.10"))
      .Put(Slice("web", {"10.244.1.2", "10.244.1.3"}));
  ASSERT_TRUE(Apply(state).status.ok());
  const sync::ProgrammedEntries before = writer_.entries();

  Restart();
  // A restarted agent asks for a snapshot: it has no version yet.
  EXPECT_EQ(reconciler_->ResumeVersion(), 0u);
  EXPECT_EQ(reconciler_->counts().backends, 2u);
  ReconcileOutcome out = Apply(state);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.writes, 0u);
  EXPECT_EQ(out.counts.backends, 2u);
  EXPECT_EQ(writer_.entries().frontends.size(), before.frontends.size());
  EXPECT_EQ(reconciler_->ResumeVersion(), 4u);
}

TEST_F(ReconcilerTest, ResyncAfterAdoptionRemovesOnlyWhatWentStale) {
  ASSERT_TRUE(Apply(Update(1, true)
                        .Put(Service("web", "10.96.0.10"))
                        .Put(Slice("web", {"10.244.1.2"}))
                        .Put(Service("old", "10.96.0.99"))
                        .Put(Slice("old", {"10.244.9.9"})))
                  .status.ok());
  uint32_t kept_id = 0;
  for (const auto& [id, be] : writer_.entries().backends) {
    if (be.addr == *ParseIpv4("10.244.1.2")) kept_id = id;
  }
  ASSERT_NE(kept_id, 0u);
  Restart();
  size_t writes_before = writer_.writes();
  // Meanwhile "old" was deleted and "web" gained an endpoint.
  ReconcileOutcome out =
      Apply(Update(5, true)
                .Put(Service("web", "10.96.0.10"))
                .Put(Slice("web", {"10.244.1.2", "10.244.1.3"})));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_TRUE(HasFrontend("10.96.0.10", 80));
  EXPECT_FALSE(HasFrontend("10.96.0.99", 80));
  EXPECT_EQ(BackendsAt("10.244.9.9"), 0);
  EXPECT_EQ(BackendsAt("10.244.1.3"), 1);
  // The backend that stayed was never touched: no clear, no re-put.
  for (size_t i = writes_before; i < writer_.log().size(); ++i) {
    EXPECT_NE(writer_.log()[i], "put-backend " + std::to_string(kept_id));
    EXPECT_NE(writer_.log()[i], "clear-backend " + std::to_string(kept_id));
  }
}

TEST_F(ReconcilerTest, RejectedUpdateWritesNothingAndAsksForASnapshot) {
  // A delta before any snapshot cannot be applied to anything.
  ReconcileOutcome early =
      Apply(Update(3, false).Put(Service("web", "10.96.0.10")));
  EXPECT_FALSE(early.status.ok());
  EXPECT_EQ(writer_.writes(), 0u);
  EXPECT_EQ(reconciler_->ResumeVersion(), 0u);

  ASSERT_TRUE(Apply(Update(5, true)
                        .Put(Service("web", "10.96.0.10"))
                        .Put(Slice("web", {"10.244.1.2"})))
                  .status.ok());
  size_t before = writer_.writes();
  // A delta older than what is applied is refused whole.
  ReconcileOutcome stale =
      Apply(Update(4, false).Put(Slice("web", {"10.244.1.7"})));
  EXPECT_FALSE(stale.status.ok());
  EXPECT_EQ(writer_.writes(), before);
  EXPECT_EQ(reconciler_->ResumeVersion(), 0u);
}

// Failover: the agent moves to a controller with another state id, which
// sends a snapshot (its versions mean nothing against the first one's).
// That snapshot is reconciled against what the maps hold, like any other:
// nothing is flushed, and only real differences are written.
constexpr char kStateA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kStateB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

Update TwoServices(uint64_t version, bool with_db = true) {
  Update u(version, /*snapshot=*/true);
  u.Put(Service("web", "10.96.0.10")).Put(Slice("web", {"10.244.1.2"}));
  if (with_db) {
    u.Put(Service("db", "10.96.0.20", 5432)).Put(Slice("db", {"10.244.2.2"}));
  }
  return u;
}

TEST_F(ReconcilerTest, ResumePointNamesTheStateOfTheLastUpdate) {
  EXPECT_EQ(reconciler_->Resume().version, 0u);
  EXPECT_EQ(reconciler_->Resume().state_id, "");
  ASSERT_TRUE(Apply(TwoServices(10).From(kStateA)).status.ok());
  EXPECT_EQ(reconciler_->Resume().version, 10u);
  EXPECT_EQ(reconciler_->Resume().state_id, kStateA);
  ASSERT_TRUE(
      Apply(Update(11, false).Put(Slice("web", {"10.244.1.3"})).From(kStateA))
          .status.ok());
  EXPECT_EQ(reconciler_->Resume().version, 11u);
  EXPECT_EQ(reconciler_->Resume().state_id, kStateA);

  // A failure forgets both: the next hello asks for a snapshot and names
  // no state.
  writer_.FailWriteAt(0);
  EXPECT_FALSE(
      Apply(Update(12, false).Put(Slice("web", {"10.244.1.4"})).From(kStateA))
          .status.ok());
  EXPECT_EQ(reconciler_->Resume().version, 0u);
  EXPECT_EQ(reconciler_->Resume().state_id, "");
}

TEST_F(ReconcilerTest, FailoverSnapshotWithTheSameObjectsWritesNothing) {
  ASSERT_TRUE(Apply(TwoServices(10).From(kStateA)).status.ok());
  const size_t writes_before = writer_.writes();
  const ProgrammedCounts counts_before = reconciler_->counts();

  // Controller B numbers its own versions: lower than A's here.
  ReconcileOutcome out = Apply(TwoServices(3).From(kStateB));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_TRUE(out.full);
  EXPECT_EQ(out.writes, 0u);
  EXPECT_EQ(writer_.writes(), writes_before);
  EXPECT_EQ(out.counts.frontends, counts_before.frontends);
  EXPECT_EQ(out.counts.backends, counts_before.backends);
  EXPECT_EQ(reconciler_->Resume().version, 3u);
  EXPECT_EQ(reconciler_->Resume().state_id, kStateB);
}

TEST_F(ReconcilerTest, FailoverSnapshotLackingAServiceRemovesOnlyThatOne) {
  ASSERT_TRUE(Apply(TwoServices(10).From(kStateA)).status.ok());
  const sync::ProgrammedEntries before = writer_.entries();
  const size_t writes_before = writer_.writes();

  ReconcileOutcome out = Apply(TwoServices(3, /*with_db=*/false).From(kStateB));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_GT(out.writes, 0u);
  EXPECT_TRUE(HasFrontend("10.96.0.10", 80));
  EXPECT_FALSE(HasFrontend("10.96.0.20", 5432));
  EXPECT_EQ(BackendsAt("10.244.1.2"), 1);
  EXPECT_EQ(BackendsAt("10.244.2.2"), 0);
  // Nothing was added or rewritten: every write takes something of db's
  // away (a retired backend is marked so with a put, its flows still
  // using it), and web's frontend is as it was.
  for (size_t i = writes_before; i < writer_.log().size(); ++i) {
    const std::string& write = writer_.log()[i];
    EXPECT_FALSE(
        write.starts_with("put-frontend") || write.starts_with("put-slot") ||
        write.starts_with("put-revnat") || write.starts_with("put-range"))
        << "write " << write << " adds rather than removes";
  }
  const yard_svc4_key web = Frontend("10.96.0.10", 80);
  ASSERT_TRUE(before.frontends.contains(web));
  EXPECT_EQ(std::memcmp(&writer_.entries().frontends.at(web),
                        &before.frontends.at(web), sizeof(yard_svc_value)),
            0);
}

TEST_F(ReconcilerTest, DeltaFromAnotherStateIsRejectedAndAsksForASnapshot) {
  ASSERT_TRUE(Apply(TwoServices(10).From(kStateA)).status.ok());
  const size_t writes_before = writer_.writes();
  ReconcileOutcome out =
      Apply(Update(11, false).Put(Slice("web", {"10.244.1.9"})).From(kStateB));
  EXPECT_EQ(out.status.code(), absl::StatusCode::kFailedPrecondition)
      << out.status;
  EXPECT_EQ(writer_.writes(), writes_before);
  EXPECT_EQ(BackendsAt("10.244.1.9"), 0);
  EXPECT_EQ(reconciler_->Resume().version, 0u);
  EXPECT_EQ(reconciler_->Resume().state_id, "");
}

TEST_F(ReconcilerTest, FailedWriteMakesTheNextUpdateReconcileEverything) {
  ASSERT_TRUE(Apply(Update(1, true)
                        .Put(Service("web", "10.96.0.10"))
                        .Put(Slice("web", {"10.244.1.2"})))
                  .status.ok());
  writer_.FailWriteAt(0);
  ReconcileOutcome failed = Apply(Update(2, false)
                                      .Put(Service("api", "10.96.0.11"))
                                      .Put(Slice("api", {"10.244.1.9"})));
  EXPECT_FALSE(failed.status.ok());
  EXPECT_EQ(reconciler_->ResumeVersion(), 0u);
  writer_.FailWriteAt(-1);

  // The next delta names only "web", but after a failure nothing is
  // trusted: "api", which the failed update left unwritten, is programmed
  // too.
  ReconcileOutcome next =
      Apply(Update(3, false).Put(Slice("web", {"10.244.1.2", "10.244.1.3"})));
  ASSERT_TRUE(next.status.ok()) << next.status;
  EXPECT_TRUE(next.full);
  EXPECT_TRUE(HasFrontend("10.96.0.11", 80));
  EXPECT_EQ(BackendsAt("10.244.1.9"), 1);
  EXPECT_EQ(BackendsAt("10.244.1.3"), 1);
  EXPECT_EQ(reconciler_->ResumeVersion(), 3u);

  // And after that success, deltas are scoped again.
  ReconcileOutcome scoped =
      Apply(Update(4, false).Put(Slice("web", {"10.244.1.2"})));
  ASSERT_TRUE(scoped.status.ok());
  EXPECT_FALSE(scoped.full);
}

TEST_F(ReconcilerTest, UpdateThatWouldOverflowAMapFailsWhole) {
  reconciler_ = std::make_unique<Reconciler>(
      &writer_, Capacity{.frontends = 1024, .slots = 4096, .backends = 3},
      translate::NodeContext{"node-a", {}});
  ReconcileOutcome out =
      Apply(Update(1, true)
                .Put(Service("web", "10.96.0.10"))
                .Put(Slice("web", {"10.244.1.2", "10.244.1.3", "10.244.1.4",
                                   "10.244.1.5"})));
  EXPECT_FALSE(out.status.ok());
  EXPECT_EQ(writer_.writes(), 0u);
  EXPECT_EQ(reconciler_->ResumeVersion(), 0u);
}

TEST_F(ReconcilerTest, HealthChecksFollowLocalEndpoints) {
  ReconcileOutcome first =
      Apply(Update(1, true)
                .Put(LocalLoadBalancer("web", "10.96.0.10", 31000))
                .Put(Slice("web", {"10.244.1.2", "10.244.1.3"})));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_TRUE(first.health_checks_changed);
  std::vector<translate::HealthCheck> checks = reconciler_->health_checks();
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].service, "default/web");
  EXPECT_EQ(checks[0].port, 31000);
  EXPECT_EQ(checks[0].local_endpoints, 2u);

  // An unrelated service's change leaves them as they are.
  ReconcileOutcome unrelated = Apply(Update(2, false)
                                         .Put(Service("api", "10.96.0.11"))
                                         .Put(Slice("api", {"10.244.1.9"})));
  ASSERT_TRUE(unrelated.status.ok());
  EXPECT_FALSE(unrelated.health_checks_changed);

  // Endpoints moving to another node change the count.
  ReconcileOutcome moved =
      Apply(Update(3, false).Put(Slice("web", {"10.244.7.2"}, "node-b")));
  ASSERT_TRUE(moved.status.ok());
  EXPECT_TRUE(moved.health_checks_changed);
  EXPECT_EQ(reconciler_->health_checks().at(0).local_endpoints, 0u);

  // Servers that could not bind get the set again with the next update.
  reconciler_->HealthChecksNotServed();
  ReconcileOutcome retry =
      Apply(Update(4, false).Put(Slice("api", {"10.244.1.8"})));
  ASSERT_TRUE(retry.status.ok());
  EXPECT_TRUE(retry.health_checks_changed);
}

TEST_F(ReconcilerTest, NodeWithoutHealthChecksSpendsNothingOnThem) {
  reconciler_ = std::make_unique<Reconciler>(
      &writer_, kRoomy, translate::NodeContext{"node-a", {}},
      /*health_checks=*/false);
  ReconcileOutcome out =
      Apply(Update(1, true)
                .Put(LocalLoadBalancer("web", "10.96.0.10", 31000))
                .Put(Slice("web", {"10.244.1.2"})));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_FALSE(out.health_checks_changed);
  EXPECT_TRUE(reconciler_->health_checks().empty());
}

TEST_F(ReconcilerTest, ServiceNamesNameEveryProgrammedFrontend) {
  ASSERT_TRUE(Apply(Update(1, true)
                        .Put(Service("web", "10.96.0.10"))
                        .Put(Slice("web", {"10.244.1.2"})))
                  .status.ok());
  std::map<translate::FrontendKey, std::string> names;
  ASSERT_TRUE(reconciler_->TryServiceNames(names));
  bool found = false;
  for (const auto& [key, name] : names) {
    found |= name == "default/web:80/TCP";
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace switchyard::sync
