// SPDX-License-Identifier: Apache-2.0
// yard-bench-kube-fanout: yard-controller in Kubernetes mode as the fan-out
// between an API server and many agents. Against a running API-server
// stand-in and controller (bench/kube_fanout/run.sh starts both in a
// network namespace of its own), one run:
//   - opens --streams AgentSync.Watch streams as distinct nodes, acking
//     every response, and waits for every first snapshot;
//   - makes --changes EndpointSlice changes through the API server's REST
//     API, one at a time, and times each from the write's response to the
//     moment the last stream received it (recognised by content: a marker
//     address in the slice, see watch_streams.h);
//   - records the API server's watch and list counts (GET /standin/stats),
//     the controller's kube metrics, and the controller's VmRSS/VmHWM
//     before and with the streams.
// Numbers only; it asserts nothing about speed. Every wait is bounded.
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/kube_fanout/http_client.h"
#include "bench/kube_fanout/watch_streams.h"
#include "control/format/json.h"
#include "control/format/value.h"

ABSL_FLAG(std::string, controller, "127.0.0.1:50151",
          "yard-controller's agent address (host:port)");
ABSL_FLAG(std::string, api, "", "the API server, https://127.0.0.1:PORT");
ABSL_FLAG(std::string, ca_file, "", "the API server's CA certificate");
ABSL_FLAG(std::string, token_file, "", "bearer token for the API server");
ABSL_FLAG(std::string, metrics, "",
          "the controller's metrics, http://HOST:PORT (optional)");
ABSL_FLAG(int, controller_pid, 0,
          "the controller's pid, for VmRSS/VmHWM (0: not measured)");
ABSL_FLAG(int, streams, 100, "agent Watch streams (1-5000)");
ABSL_FLAG(int, changes, 200, "timed API-server changes (0: none)");
ABSL_FLAG(int, connect_batch, 0,
          "open streams this many at a time, each batch's snapshots "
          "received before the next (0: all at once)");
ABSL_FLAG(int, max_controller_rss_mib, 0,
          "stop opening streams once the controller's VmRSS passes this "
          "(0: no limit); the results say where it stopped. Keeps a "
          "controller that grows per stream from taking a shared machine's "
          "memory.");
ABSL_FLAG(int, connect_timeout_s, 180,
          "stop opening streams after this long; an error when --changes "
          "are to be timed, else recorded");
ABSL_FLAG(std::string, marker_slice, "bench/marker-x7k2p",
          "NAMESPACE/NAME of the EndpointSlice the changes rewrite");
ABSL_FLAG(std::string, marker_service, "marker",
          "the Service that slice belongs to");
ABSL_FLAG(int, endpoints, 10, "endpoints the rewritten slice has");
ABSL_FLAG(std::string, node_prefix, "bench-node-",
          "streams say hello as nodes <prefix>0, <prefix>1, ...");
ABSL_FLAG(std::string, json, "", "also write the results here");

namespace format = switchyard::format;
using switchyard::bench::HttpClient;
using switchyard::bench::HttpClientOptions;
using switchyard::bench::Hub;
using switchyard::bench::MarkerAddress;
using switchyard::bench::MarkerSlice;
using switchyard::bench::StreamOptions;
using switchyard::bench::WatchStreams;

namespace {

constexpr absl::Duration kChangeWait = absl::Seconds(30);

[[noreturn]] void Fail(const std::string& why) {
  fprintf(stderr, "yard-bench-kube-fanout: %s\n", why.c_str());
  exit(1);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Memory {
  int64_t rss_kib = -1, hwm_kib = -1;
};

Memory ReadMemory(int pid) {
  Memory m;
  if (pid <= 0) return m;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(absl::StrCat("/proc/", pid, "/status")), '\n')) {
    int64_t* field = nullptr;
    if (absl::ConsumePrefix(&line, "VmRSS:")) field = &m.rss_kib;
    if (absl::ConsumePrefix(&line, "VmHWM:")) field = &m.hwm_kib;
    if (field == nullptr) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    if (!absl::SimpleAtoi(line, field)) *field = -1;
  }
  return m;
}

// CPU seconds (user + system) a process has used: the controller's from
// /proc/PID/stat, this process's from getrusage. They share 2 cores, so
// the split says whose work the fan-out time is.
double CpuSeconds(int pid) {
  if (pid <= 0) {
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    return s(self.ru_utime) + s(self.ru_stime);
  }
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  // Fields after the command (which may hold spaces) end with ')'.
  const size_t end = stat.rfind(')');
  if (end == std::string::npos) return -1;
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(end + 2), ' ', absl::SkipEmpty());
  double utime = 0, stime = 0;  // fields 14 and 15 of stat(5), in ticks
  if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return -1;
  }
  return (utime + stime) / sysconf(_SC_CLK_TCK);
}

format::Value Json(const Memory& m) {
  format::Value v = format::Value::Map();
  v.Set("vm_rss_kib", format::Value::Int(m.rss_kib));
  v.Set("vm_hwm_kib", format::Value::Int(m.hwm_kib));
  return v;
}

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

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// The controller's own kube and fan-out series, as text lines (the
// results writer parses them; this binary has no use for the values).
format::Value KubeMetrics(HttpClient* metrics) {
  format::Value lines = format::Value::List();
  if (metrics == nullptr) return lines;
  absl::StatusOr<std::string> text = metrics->Get("/metrics");
  if (!text.ok()) return lines;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (absl::StartsWith(line, "switchyard_controller_kube_") ||
        absl::StartsWith(line, "switchyard_controller_watching_agents")) {
      lines.Append(format::Value::String(std::string(line)));
    }
  }
  return lines;
}

// The controller's count of open agent streams; -1 when unknown.
int WatchingAgents(HttpClient* metrics) {
  absl::StatusOr<std::string> text =
      metrics == nullptr ? absl::NotFoundError("") : metrics->Get("/metrics");
  if (!text.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::ConsumePrefix(&line, "switchyard_controller_watching_agents "))
      continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return static_cast<int>(value);
  }
  return -1;
}

// Waits (bounded) until the controller counts `want` streams: an earlier
// run's cancelled streams are noticed asynchronously.
int AwaitWatchingAgents(HttpClient* metrics, int want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int now = WatchingAgents(metrics);
  while (now >= 0 && now != want && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    now = WatchingAgents(metrics);
  }
  return now;
}

// The API server's own counters, verbatim JSON text.
format::Value StandInStats(HttpClient* api) {
  absl::StatusOr<std::string> stats = api->Get("/standin/stats");
  if (!stats.ok()) Fail(std::string(stats.status().message()));
  return format::Value::String(std::string(absl::StripAsciiWhitespace(*stats)));
}

// The rewritten slice's endpoints, as a real EndpointSlice controller
// writes them: the first carries the marker address, the rest stay put.
std::string SlicePatch(int marker, int endpoints, const std::string& ns) {
  std::vector<std::string> items;
  for (int e = 0; e < endpoints; ++e) {
    const std::string address =
        e == 0 ? MarkerAddress(marker) : absl::StrCat("10.254.0.", e + 1);
    items.push_back(absl::StrCat(
        R"({"addresses":[")", address,
        R"("],"conditions":{"ready":true,"serving":true,"terminating":false},)",
        R"("nodeName":"node-)", e % 3, R"(","targetRef":{"kind":"Pod",)",
        R"("name":"marker-)", e, R"(","namespace":")", ns, R"("}})"));
  }
  return absl::StrCat(R"({"endpoints":[)", absl::StrJoin(items, ","), "]}");
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int streams = absl::GetFlag(FLAGS_streams);
  const int changes = absl::GetFlag(FLAGS_changes);
  const int pid = absl::GetFlag(FLAGS_controller_pid);
  const int endpoints = absl::GetFlag(FLAGS_endpoints);
  int batch = absl::GetFlag(FLAGS_connect_batch);
  if (batch <= 0) batch = streams;
  if (streams < 1 || streams > 5000 || changes < 0 || endpoints < 1) {
    Fail("want 1-5000 streams, 0 or more changes, 1 or more endpoints");
  }
  std::pair<std::string, std::string> slice_name =
      absl::StrSplit(absl::GetFlag(FLAGS_marker_slice), '/');
  const MarkerSlice marker_slice{slice_name.first, slice_name.second};

  auto api =
      HttpClient::Create({.base_url = absl::GetFlag(FLAGS_api),
                          .ca_file = absl::GetFlag(FLAGS_ca_file),
                          .token = std::string(absl::StripAsciiWhitespace(
                              ReadFile(absl::GetFlag(FLAGS_token_file))))});
  if (!api.ok()) Fail(std::string(api.status().message()));
  std::unique_ptr<HttpClient> metrics;
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    auto m = HttpClient::Create({.base_url = absl::GetFlag(FLAGS_metrics)});
    if (!m.ok()) Fail(std::string(m.status().message()));
    metrics = *std::move(m);
  }

  format::Value doc = format::Value::Map();
  doc.Set("streams", format::Value::Int(streams));
  doc.Set("changes", format::Value::Int(changes));
  doc.Set("connect_batch", format::Value::Int(batch));
  doc.Set("watching_agents_before",
          format::Value::Int(AwaitWatchingAgents(metrics.get(), 0)));
  doc.Set("memory_before_streams", Json(ReadMemory(pid)));
  doc.Set("standin_before", StandInStats(api->get()));

  Hub hub(streams);
  std::string why;
  {
    WatchStreams watch({.target = absl::GetFlag(FLAGS_controller),
                        .marker_slice = marker_slice},
                       &hub);
    const absl::Time connect_start = absl::Now();
    const absl::Time connect_deadline =
        connect_start + absl::Seconds(absl::GetFlag(FLAGS_connect_timeout_s));
    const int64_t rss_limit_kib =
        int64_t{absl::GetFlag(FLAGS_max_controller_rss_mib)} * 1024;
    std::string stopped;  // why fewer than `streams` were opened
    // The controller's VmRSS after each batch: its cost per stream.
    format::Value rss_by_streams = format::Value::List();
    int opened = 0;
    while (opened < streams && stopped.empty()) {
      for (int b = 0; b < batch && opened < streams; ++b, ++opened) {
        watch.Open(opened,
                   absl::StrCat(absl::GetFlag(FLAGS_node_prefix), opened));
      }
      if (!hub.WaitSnapshots(opened, connect_deadline, &why)) {
        if (changes > 0 || hub.Failed()) {
          Fail(absl::StrCat("first snapshots: ", why));
        }
        stopped = absl::StrCat("connect timeout: ", why);
      }
      const Memory now = ReadMemory(pid);
      format::Value point = format::Value::Map();
      point.Set("streams", format::Value::Int(hub.Snapshots()));
      point.Set("vm_rss_kib", format::Value::Int(now.rss_kib));
      rss_by_streams.Append(std::move(point));
      fprintf(stderr,
              "yard-bench-kube-fanout: %d streams snapshotted, "
              "controller VmRSS %.0f MiB\n",
              hub.Snapshots(), now.rss_kib / 1024.0);
      if (stopped.empty() && rss_limit_kib > 0 && now.rss_kib > rss_limit_kib &&
          opened < streams) {
        if (changes > 0) Fail("the controller passed --max_controller_rss_mib");
        stopped = absl::StrCat("controller VmRSS ", now.rss_kib / 1024,
                               " MiB passed the limit of ",
                               rss_limit_kib / 1024, " MiB");
      }
    }
    const absl::Duration connect = absl::Now() - connect_start;
    doc.Set("streams_opened", format::Value::Int(opened));
    doc.Set("streams_snapshotted", format::Value::Int(hub.Snapshots()));
    doc.Set("connect_stopped", format::Value::String(stopped));
    doc.Set("controller_rss_by_streams", std::move(rss_by_streams));
    fprintf(stderr,
            "yard-bench-kube-fanout: %d streams have their snapshot after "
            "%.0f ms (%.1f MB of snapshots, version %lu)%s%s\n",
            hub.Snapshots(), Ms(connect), hub.SnapshotBytes() / 1e6,
            static_cast<unsigned long>(hub.LatestVersion()),
            stopped.empty() ? "" : "; stopped: ", stopped.c_str());
    doc.Set("snapshots_ms", format::Value::Fixed(Ms(connect), 1));
    doc.Set("snapshot_bytes_total", format::Value::Int(hub.SnapshotBytes()));
    doc.Set("watching_agents_with_streams",
            format::Value::Int(AwaitWatchingAgents(metrics.get(), opened)));
    doc.Set("memory_with_streams", Json(ReadMemory(pid)));
    doc.Set("standin_with_streams", StandInStats(api->get()));
    doc.Set("metrics_with_streams", KubeMetrics(metrics.get()));

    // Markers carry on from the highest a snapshot showed (the stand-in
    // keeps the slice between runs); change 0 warms up and is not counted.
    const std::string slice_path = absl::StrCat(
        "/apis/discovery.k8s.io/v1/namespaces/", marker_slice.namespace_name,
        "/endpointslices/", marker_slice.name);
    int marker = std::max(0, hub.MaxMarker()) + 1;
    const double controller_cpu_start = CpuSeconds(pid);
    const double bench_cpu_start = CpuSeconds(0);
    std::vector<double> from_response, from_request, first_from_response,
        write_ms;
    for (int k = 0; changes > 0 && k <= changes; ++k, ++marker) {
      const std::string body =
          SlicePatch(marker, endpoints, marker_slice.namespace_name);
      const absl::Time sent = absl::Now();
      absl::StatusOr<std::string> written =
          (*api)->MergePatch(slice_path, body);
      const absl::Time answered = absl::Now();
      if (!written.ok()) Fail(std::string(written.status().message()));
      absl::Time first, last;
      if (!hub.WaitMarker(marker, answered + kChangeWait, &last, &first,
                          &why)) {
        Fail(absl::StrCat("change ", k, ": ", why));
      }
      if (k == 0) continue;
      from_response.push_back(Ms(last - answered));
      from_request.push_back(Ms(last - sent));
      first_from_response.push_back(Ms(first - answered));
      write_ms.push_back(Ms(answered - sent));
      // Let the acks' echoes settle before the next write.
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (changes > 0) {
      const Stats all = Summarize(from_response),
                  sent = Summarize(from_request),
                  first = Summarize(first_from_response),
                  write = Summarize(write_ms);
      doc.Set("last_stream_after_response", Json(all));
      doc.Set("last_stream_after_request", Json(sent));
      doc.Set("first_stream_after_response", Json(first));
      doc.Set("api_write", Json(write));
      // Per timed change (the warm-up's share included: a small bias).
      doc.Set("controller_cpu_ms_per_change",
              format::Value::Fixed(
                  (CpuSeconds(pid) - controller_cpu_start) * 1e3 / changes, 2));
      doc.Set("bench_cpu_ms_per_change",
              format::Value::Fixed(
                  (CpuSeconds(0) - bench_cpu_start) * 1e3 / changes, 2));
      fprintf(stderr,
              "yard-bench-kube-fanout: %d streams, %d changes: API write "
              "answered -> last stream received p50 %.2f p99 %.2f max "
              "%.2f ms (write itself p50 %.2f ms)\n",
              streams, changes, all.p50, all.p99, all.max, write.p50);
    }
    doc.Set("standin_after", StandInStats(api->get()));
    doc.Set("metrics_after", KubeMetrics(metrics.get()));
    doc.Set("memory_after", Json(ReadMemory(pid)));
  }  // every stream cancelled and ended here
  doc.Set("responses_received", format::Value::Int(hub.Responses()));

  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream out(path);
    out << format::WriteJson(doc);
    if (!out) Fail(absl::StrCat("write ", path));
  }
  return 0;
}
