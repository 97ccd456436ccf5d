// SPDX-License-Identifier: Apache-2.0
// yard-bench-sync: control-plane speed against a running controller and
// agent. Measures, from the moment a write is sent to the controller until
// the controller received the node agent's ack of the version (the agent
// acknowledges after its maps are programmed; the time is the
// controller's, NodeSync.acked_unix_us, so how soon this process hears of
// it adds nothing), and for endpoint changes also from the write's arrival
// at the controller (ApplyResponse.received_unix_us, the same clock):
//   - cold: N services with E endpoints each, in one write, onto an agent
//     that holds none of them;
//   - one service added to that;
//   - K single-endpoint changes, p50/p99;
// and the agent's resident memory. It prints numbers; it asserts nothing.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/synthetic_cluster.h"
#include "control/format/json.h"
#include "control/format/value.h"
#include "switchyard/v1/controller.grpc.pb.h"

ABSL_FLAG(std::string, controller, "unix:///run/switchyard/controller.sock",
          "yard-controller address");
ABSL_FLAG(std::string, node, "bench-node", "node whose agent is measured");
ABSL_FLAG(int, services, 10000, "services in the cold write");
ABSL_FLAG(int, endpoints, 10, "endpoints per service");
ABSL_FLAG(int, changes, 200, "single-endpoint changes to time");
ABSL_FLAG(int, agent_pid, 0, "agent process, for its resident memory");
ABSL_FLAG(std::string, json, "", "also write results here");
ABSL_FLAG(bool, keep, false, "leave the services in place at the end");
ABSL_FLAG(std::string, lb_policy, "",
          "every service's switchyard.io/lb-policy (maglev, least-conn); "
          "empty: the default, random");

namespace format = switchyard::format;
namespace v1 = switchyard::v1;

namespace {

const switchyard::bench::SyntheticCluster& Cluster() {
  static const switchyard::bench::SyntheticCluster cluster(
      "bench", "bench-", absl::GetFlag(FLAGS_lb_policy));
  return cluster;
}

class Bench {
 public:
  explicit Bench(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::ClusterState::NewStub(channel)) {}

  struct Timed {
    absl::Duration rpc;           // the write RPC, at this end
    absl::Duration from_send;     // sent -> acknowledged
    absl::Duration from_arrival;  // arrived -> acknowledged (controller's)
  };

  // Writes, then waits for the node's ack of the resulting version.
  Timed ApplyAndWait(const std::vector<v1::Object>& objects) {
    v1::ApplyRequest request;
    for (const v1::Object& o : objects) *request.add_objects() = o;
    // As yardctl apply without -o: only the outcomes come back.
    request.set_omit_objects(true);
    v1::ApplyResponse response;
    grpc::ClientContext context;
    absl::Time start = absl::Now();
    grpc::Status s = stub_->Apply(&context, request, &response);
    absl::Duration rpc = absl::Now() - start;
    if (!s.ok()) {
      fprintf(stderr, "apply failed: %s\n", s.error_message().c_str());
      exit(1);
    }
    absl::Time acked =
        WaitAcked(response.version(), start + absl::Seconds(120));
    // A controller too old to say when the write arrived: timed from the
    // send only.
    absl::Time arrived = response.received_unix_us() > 0
                             ? absl::FromUnixMicros(response.received_unix_us())
                             : start;
    return {rpc, acked - start, acked - arrived};
  }

  // When the controller received the node's ack of `version` (its clock
  // is this one), or when this process saw it from a controller too old
  // to say. The controller holds the call until the node has answered, so
  // there is no polling to take its CPU from what is measured.
  absl::Time WaitAcked(uint64_t version, absl::Time deadline) {
    const std::string node = absl::GetFlag(FLAGS_node);
    v1::ListNodeSyncRequest request;
    request.set_wait_for_version(version);
    request.add_nodes(node);
    request.set_wait_timeout_ms(1000);
    while (absl::Now() < deadline) {
      v1::ListNodeSyncResponse sync;
      grpc::ClientContext context;
      if (stub_->ListNodeSync(&context, request, &sync).ok()) {
        for (const v1::NodeSync& n : sync.nodes()) {
          if (n.node_name() != node) continue;
          if (n.acked_version() >= version) {
            return n.acked_unix_us() > 0
                       ? absl::FromUnixMicros(n.acked_unix_us())
                       : absl::Now();
          }
          if (n.rejected_version() >= version) {
            fprintf(stderr, "agent rejected version %lu: %s\n",
                    static_cast<unsigned long>(version),
                    n.rejected_error().c_str());
            exit(1);
          }
        }
      }
      // Only a controller that cannot wait answers early: poll it gently.
      absl::SleepFor(absl::Microseconds(200));
    }
    fprintf(stderr, "agent did not acknowledge version %lu in time\n",
            static_cast<unsigned long>(version));
    exit(1);
  }

  void DeleteAll(int services) {
    v1::DeleteRequest request;
    request.set_ignore_not_found(true);
    for (int i = 0; i <= services; ++i) {
      for (v1::Kind kind : {v1::KIND_SERVICE, v1::KIND_ENDPOINT_SLICE}) {
        v1::ObjectRef* ref = request.add_refs();
        ref->set_kind(kind);
        ref->set_namespace_("bench");
        ref->set_name(kind == v1::KIND_SERVICE
                          ? absl::StrCat("bench-", i)
                          : absl::StrCat("bench-", i, "-0"));
      }
    }
    v1::DeleteResponse response;
    grpc::ClientContext context;
    grpc::Status s = stub_->Delete(&context, request, &response);
    if (s.ok()) WaitAcked(response.version(), absl::Now() + absl::Seconds(120));
  }

 private:
  std::unique_ptr<v1::ClusterState::Stub> stub_;
};

long RssKiB(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_services);
  const int e = absl::GetFlag(FLAGS_endpoints);
  const int pid = absl::GetFlag(FLAGS_agent_pid);
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  Bench bench(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_controller),
                                        grpc::InsecureChannelCredentials(),
                                        args));
  bench.DeleteAll(n);  // a clean start, whatever an earlier run left

  long rss_before = pid ? RssKiB(pid) : -1;
  std::vector<v1::Object> cold;
  for (int i = 0; i < n; ++i) {
    cold.push_back(Cluster().Service(i));
    cold.push_back(Cluster().Slice(i, e, 0));
  }
  Bench::Timed cold_write = bench.ApplyAndWait(cold);
  const absl::Duration cold_rpc = cold_write.rpc;
  const absl::Duration cold_total = cold_write.from_send;
  long rss_after = pid ? RssKiB(pid) : -1;

  Bench::Timed one =
      bench.ApplyAndWait({Cluster().Service(n), Cluster().Slice(n, e, 0)});
  const absl::Duration one_rpc = one.rpc;
  const absl::Duration one_total = one.from_send;

  // The measure is from the write's arrival; from the send adds
  // the request's way to the controller and its parse.
  std::vector<double> change_ms, arrival_ms;
  for (int k = 1; k <= absl::GetFlag(FLAGS_changes); ++k) {
    Bench::Timed t = bench.ApplyAndWait({Cluster().Slice(k % n, e, k)});
    change_ms.push_back(Ms(t.from_send));
    arrival_ms.push_back(Ms(t.from_arrival));
  }
  std::sort(change_ms.begin(), change_ms.end());
  std::sort(arrival_ms.begin(), arrival_ms.end());
  auto pct_of = [](const std::vector<double>& ms, double p) {
    return ms.empty() ? 0.0
                      : ms[std::min(ms.size() - 1,
                                    static_cast<size_t>(p * ms.size()))];
  };
  auto pct = [&](double p) { return pct_of(change_ms, p); };
  auto arrival_pct = [&](double p) { return pct_of(arrival_ms, p); };

  const std::string policy = absl::GetFlag(FLAGS_lb_policy);
  printf("control plane, %d services x %d endpoints%s%s\n", n, e,
         policy.empty() ? "" : ", lb-policy ", policy.c_str());
  printf("  cold write -> agent ack      %9.1f ms (write RPC %.1f ms)\n",
         Ms(cold_total), Ms(cold_rpc));
  printf("  +1 service -> agent ack      %9.2f ms (write RPC %.2f ms)\n",
         Ms(one_total), Ms(one_rpc));
  printf(
      "  1 endpoint change -> ack     p50 %.2f ms  p99 %.2f ms  (%zu "
      "changes, from the write's arrival)\n",
      arrival_pct(0.5), arrival_pct(0.99), arrival_ms.size());
  printf("    the same from the send      p50 %.2f ms  p99 %.2f ms\n", pct(0.5),
         pct(0.99));
  if (pid) {
    printf(
        "  agent RSS                    %ld KiB before, %ld KiB after cold\n",
        rss_before, rss_after);
  }
  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    // Milliseconds to the microsecond: finer is below the noise of one
    // gRPC round trip.
    using format::Value;
    Value doc = Value::Map();
    doc.Set("services", Value::Int(n));
    doc.Set("endpoints", Value::Int(e));
    if (!policy.empty()) doc.Set("lb_policy", Value::String(policy));
    doc.Set("cold_ms", Value::Fixed(Ms(cold_total), 3));
    doc.Set("cold_rpc_ms", Value::Fixed(Ms(cold_rpc), 3));
    doc.Set("one_service_ms", Value::Fixed(Ms(one_total), 3));
    doc.Set("change_p50_ms", Value::Fixed(pct(0.5), 3));
    doc.Set("change_p99_ms", Value::Fixed(pct(0.99), 3));
    doc.Set("change_arrival_p50_ms", Value::Fixed(arrival_pct(0.5), 3));
    doc.Set("change_arrival_p99_ms", Value::Fixed(arrival_pct(0.99), 3));
    doc.Set("agent_rss_kib", Value::Int(rss_after));
    std::ofstream out(path);
    out << format::WriteJson(doc);
  }
  if (!absl::GetFlag(FLAGS_keep)) bench.DeleteAll(n);
  return 0;
}
