// SPDX-License-Identifier: Apache-2.0
// yard-bench-fanout: how long yard-controller takes to push one change to
// many watching agents. It opens --watchers AgentSync.Watch streams (each
// on a connection of its own, as agents on different nodes would have),
// each acknowledging every message at once the way an agent does once its
// maps are programmed (here: no maps, so the controller's side is all
// that is timed). Then, --changes times, it changes one endpoint of one
// service and measures from sending the write until
//   - the first and the last watcher have received the new version, and
//   - the controller has recorded every watcher's ack (ListNodeSync).
// p50/p99/max over the changes. It prints numbers; it asserts nothing.
//
// All watchers run in this process, on the same machine as the controller:
// the times include this process's 100 threads waking, which a real
// cluster spreads over 100 machines. Read them as an upper bound.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/synthetic_cluster.h"
#include "control/format/json.h"
#include "control/format/value.h"
#include "switchyard/v1/controller.grpc.pb.h"

ABSL_FLAG(std::string, controller, "unix:///run/switchyard/controller.sock",
          "yard-controller address");
ABSL_FLAG(int, watchers, 100, "Watch streams (agents) to push to");
ABSL_FLAG(int, changes, 50, "single-endpoint changes to time");
ABSL_FLAG(int, services, 100,
          "services (x --endpoints) in place first: the snapshot each "
          "watcher gets");
ABSL_FLAG(int, endpoints, 10, "endpoints per service");
ABSL_FLAG(std::string, node_prefix, "fanout-",
          "watchers are nodes <prefix>0, <prefix>1, ...");
ABSL_FLAG(std::string, json, "", "also write results here");
ABSL_FLAG(bool, keep, false, "leave the services in place at the end");

namespace format = switchyard::format;
namespace v1 = switchyard::v1;

namespace {

// Every wait is bounded: a controller that stops answering ends the bench
// with an error, not a hang.
constexpr absl::Duration kWait = absl::Seconds(30);
constexpr char kNamespace[] = "fanout-bench";

[[noreturn]] void Fail(const std::string& why) {
  fprintf(stderr, "yard-bench-fanout: %s\n", why.c_str());
  exit(1);
}

const switchyard::bench::SyntheticCluster& Cluster() {
  static const switchyard::bench::SyntheticCluster cluster(kNamespace, "svc-");
  return cluster;
}

grpc::ChannelArguments Args() {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  // Channels with equal arguments share one connection process-wide; a
  // local subchannel pool gives each watcher its own, as separate agents.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return args;
}

// What every watcher has received: per watcher, each version with when it
// arrived (versions only grow on a stream).
class Hub {
 public:
  explicit Hub(int watchers) : log_(watchers), latest_(watchers, 0) {}

  void Received(int watcher, uint64_t version, absl::Time at) {
    absl::MutexLock lock(&mu_);
    log_[watcher].emplace_back(version, at);
    if (latest_[watcher] < target_ && version >= target_) ++reached_;
    latest_[watcher] = version;
  }

  void Ended(int watcher, const std::string& why) {
    absl::MutexLock lock(&mu_);
    ended_ = absl::StrCat("watcher ", watcher, " ended: ", why);
  }

  // Waits until every watcher has version >= `version`; false on timeout
  // or if a stream ended.
  bool WaitAll(uint64_t version, absl::Time deadline, std::string* why) {
    absl::MutexLock lock(&mu_);
    target_ = version;
    reached_ = 0;
    for (uint64_t v : latest_) reached_ += v >= version;
    auto done = [this] {
      mu_.AssertHeld();
      return reached_ == static_cast<int>(latest_.size()) || !ended_.empty();
    };
    bool ok = mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
    if (!ended_.empty()) {
      *why = ended_;
      return false;
    }
    if (!ok)
      *why = absl::StrCat(reached_, " of ", latest_.size(),
                          " watchers have version ", version);
    return ok;
  }

  // When each watcher first had a version >= `version`.
  std::vector<absl::Time> ArrivalTimes(uint64_t version) {
    absl::MutexLock lock(&mu_);
    std::vector<absl::Time> out;
    for (const auto& entries : log_) {
      for (const auto& [v, at] : entries) {
        if (v >= version) {
          out.push_back(at);
          break;
        }
      }
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::vector<std::pair<uint64_t, absl::Time>>> log_
      ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> latest_ ABSL_GUARDED_BY(mu_);
  uint64_t target_ ABSL_GUARDED_BY(mu_) = 0;
  int reached_ ABSL_GUARDED_BY(mu_) = 0;
  std::string ended_ ABSL_GUARDED_BY(mu_);
};

// One agent's Watch stream, on its own thread and connection: hello from
// version 0 (a snapshot), then read, timestamp, ack, as the agent's
// WatchClient does.
class Watcher {
 public:
  Watcher(const std::string& target, std::string node, int index, Hub* hub)
      : node_(std::move(node)), index_(index), hub_(hub) {
    stub_ = v1::AgentSync::NewStub(grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), Args()));
    thread_ = std::thread([this] { Run(); });
  }
  ~Watcher() {
    stopping_ = true;
    context_.TryCancel();
    thread_.join();
  }

 private:
  void Run() {
    auto stream = stub_->Watch(&context_);
    v1::WatchRequest hello;
    hello.mutable_hello()->set_node_name(node_);
    hello.mutable_hello()->set_last_applied_version(0);
    if (stream->Write(hello)) {
      v1::WatchResponse update;
      while (stream->Read(&update)) {
        hub_->Received(index_, update.version(), absl::Now());
        v1::WatchRequest ack;
        ack.mutable_ack()->set_version(update.version());
        ack.mutable_ack()->set_applied(true);
        if (!stream->Write(ack)) break;
      }
    }
    grpc::Status status = stream->Finish();
    if (!stopping_) hub_->Ended(index_, status.error_message());
  }

  const std::string node_;
  const int index_;
  Hub* const hub_;
  std::unique_ptr<v1::AgentSync::Stub> stub_;
  grpc::ClientContext context_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class Writer {
 public:
  explicit Writer(const std::string& target)
      : stub_(v1::ClusterState::NewStub(grpc::CreateCustomChannel(
            target, grpc::InsecureChannelCredentials(), Args()))) {}

  uint64_t Apply(const std::vector<v1::Object>& objects) {
    v1::ApplyRequest request;
    for (const v1::Object& o : objects) *request.add_objects() = o;
    request.set_omit_objects(true);  // only the version is read
    v1::ApplyResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
    grpc::Status s = stub_->Apply(&context, request, &response);
    if (!s.ok()) Fail(absl::StrCat("apply: ", s.error_message()));
    return response.version();
  }

  void DeleteAll(int services) {
    v1::DeleteRequest request;
    request.set_ignore_not_found(true);
    for (int i = 0; i < services; ++i) {
      for (v1::Kind kind : {v1::KIND_SERVICE, v1::KIND_ENDPOINT_SLICE}) {
        v1::ObjectRef* ref = request.add_refs();
        ref->set_kind(kind);
        ref->set_namespace_(kNamespace);
        ref->set_name(kind == v1::KIND_SERVICE ? absl::StrCat("svc-", i)
                                               : absl::StrCat("svc-", i, "-0"));
      }
    }
    v1::DeleteResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
    grpc::Status s = stub_->Delete(&context, request, &response);
    if (!s.ok()) Fail(absl::StrCat("delete: ", s.error_message()));
  }

  // Polls ListNodeSync until every node named prefix0..prefix(n-1) has
  // acknowledged `version`; false on timeout or a rejection.
  bool WaitAcked(const std::string& prefix, int n, uint64_t version,
                 absl::Time deadline) {
    while (absl::Now() < deadline) {
      v1::ListNodeSyncResponse sync;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(deadline));
      if (stub_->ListNodeSync(&context, {}, &sync).ok()) {
        int acked = 0;
        for (const v1::NodeSync& node : sync.nodes()) {
          if (node.node_name().rfind(prefix, 0) != 0) continue;
          if (node.rejected_version() >= version) return false;
          acked += node.acked_version() >= version;
        }
        if (acked >= n) return true;
      }
      absl::SleepFor(absl::Microseconds(200));
    }
    return false;
  }

 private:
  std::unique_ptr<v1::ClusterState::Stub> stub_;
};

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

struct Stats {
  double p50 = 0, p99 = 0, max = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
  };
  s.p50 = at(0.5);
  s.p99 = at(0.99);
  s.max = v.back();
  return s;
}

format::Value Json(const Stats& s) {
  format::Value v = format::Value::Map();
  v.Set("p50_ms", format::Value::Fixed(s.p50, 3));
  v.Set("p99_ms", format::Value::Fixed(s.p99, 3));
  v.Set("max_ms", format::Value::Fixed(s.max, 3));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_controller);
  const int watchers = absl::GetFlag(FLAGS_watchers);
  const int changes = absl::GetFlag(FLAGS_changes);
  const int services = std::max(1, absl::GetFlag(FLAGS_services));
  const int endpoints = absl::GetFlag(FLAGS_endpoints);
  const std::string prefix = absl::GetFlag(FLAGS_node_prefix);
  if (watchers < 1 || watchers > 1000 || changes < 1 || endpoints < 1) {
    Fail("want 1-1000 watchers, at least 1 change and 1 endpoint");
  }

  Writer writer(target);
  writer.DeleteAll(services);  // a clean start, whatever an earlier run left
  std::vector<v1::Object> initial;
  for (int i = 0; i < services; ++i) {
    initial.push_back(Cluster().Service(i));
    initial.push_back(Cluster().Slice(i, endpoints, 0));
  }
  const uint64_t base = writer.Apply(initial);

  Hub hub(watchers);
  std::vector<std::unique_ptr<Watcher>> streams;
  const absl::Time connect_start = absl::Now();
  for (int w = 0; w < watchers; ++w) {
    streams.push_back(
        std::make_unique<Watcher>(target, absl::StrCat(prefix, w), w, &hub));
  }
  std::string why;
  if (!hub.WaitAll(base, absl::Now() + kWait, &why)) {
    Fail(absl::StrCat("snapshots: ", why));
  }
  const absl::Duration connect = absl::Now() - connect_start;
  if (!writer.WaitAcked(prefix, watchers, base, absl::Now() + kWait)) {
    Fail("the controller did not record every snapshot's ack");
  }

  std::vector<double> first_ms, all_ms, acked_ms, rpc_ms, each_ms, spread_ms;
  // Change 0 is a warm-up, not counted.
  for (int k = 0; k <= changes; ++k) {
    const int shift = k + 1;
    const absl::Time start = absl::Now();
    const uint64_t version =
        writer.Apply({Cluster().Slice(k % services, endpoints, shift)});
    const absl::Duration rpc = absl::Now() - start;
    if (!hub.WaitAll(version, start + kWait, &why)) {
      Fail(absl::StrCat("change ", k, ": ", why));
    }
    if (!writer.WaitAcked(prefix, watchers, version, start + kWait)) {
      Fail(absl::StrCat("change ", k, ": acks not all recorded"));
    }
    const absl::Duration acked = absl::Now() - start;
    if (k == 0) continue;
    std::vector<absl::Time> arrivals = hub.ArrivalTimes(version);
    absl::Time first = *std::min_element(arrivals.begin(), arrivals.end());
    absl::Time last = *std::max_element(arrivals.begin(), arrivals.end());
    for (absl::Time t : arrivals) each_ms.push_back(Ms(t - start));
    first_ms.push_back(Ms(first - start));
    // The last arrival's own timestamp, not when this thread noticed it.
    all_ms.push_back(Ms(last - start));
    spread_ms.push_back(Ms(last - first));
    acked_ms.push_back(Ms(acked));
    rpc_ms.push_back(Ms(rpc));
    absl::SleepFor(absl::Milliseconds(5));  // let the acks' echoes settle
  }
  streams.clear();
  if (!absl::GetFlag(FLAGS_keep)) writer.DeleteAll(services);

  const Stats first = Summarize(first_ms), all = Summarize(all_ms),
              acked = Summarize(acked_ms), rpc = Summarize(rpc_ms),
              each = Summarize(each_ms), spread = Summarize(spread_ms);
  printf(
      "yard-controller fan-out: %d watchers, %d changes (1 endpoint each), "
      "%d services x %d endpoints in place\n",
      watchers, changes, services, endpoints);
  printf("  %d snapshots received in      %9.1f ms\n", watchers, Ms(connect));
  printf("  %-34s %9s %9s %9s\n", "write -> ...", "p50 ms", "p99 ms", "max ms");
  auto row = [](const char* name, const Stats& s) {
    printf("  %-34s %9.2f %9.2f %9.2f\n", name, s.p50, s.p99, s.max);
  };
  row("write RPC returned", rpc);
  row("first watcher received", first);
  row("every watcher received", all);
  row("every ack recorded", acked);
  row("any one watcher received", each);
  // The fan-out alone, without the write's own (durable) cost.
  row("first to last received", spread);
  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    using format::Value;
    Value doc = Value::Map();
    doc.Set("watchers", Value::Int(watchers));
    doc.Set("changes", Value::Int(changes));
    doc.Set("services", Value::Int(services));
    doc.Set("endpoints", Value::Int(endpoints));
    doc.Set("snapshots_ms", Value::Fixed(Ms(connect), 3));
    doc.Set("write_rpc", Json(rpc));
    doc.Set("first_received", Json(first));
    doc.Set("all_received", Json(all));
    doc.Set("all_acked", Json(acked));
    doc.Set("each_received", Json(each));
    doc.Set("first_to_last_received", Json(spread));
    std::ofstream out(path);
    out << format::WriteJson(doc);
    if (!out) Fail(absl::StrCat("write ", path));
  }
  return 0;
}
