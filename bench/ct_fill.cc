// SPDX-License-Identifier: Apache-2.0
// yard-bench-ct-fill: how full yard_ct4 gets under a stream of short TCP
// connections through a ClusterIP, with the flow lifetimes and the agent's
// sweeper, against what it would hold without them (every flow's two
// entries until the LRU evicts them).
//
//   yard-bench-ct-fill [--connections 1000000] [--rate 10000]
//                      [--close_timeout 10s] [--sweep_interval 10s]
//
// Each connection is the packets the datapath sees of a client that
// reads to the end: SYN, SYN-ACK, the client's FIN, the backend's FIN,
// the last ACK, run through yard_from_pod / yard_to_pod with
// BPF_PROG_TEST_RUN, from a new client port (and every 60,000 a new
// client address). Connections are paced to --rate per second of wall
// time (the datapath's clock is real time); the sweeper
// (control/agent/ct_sweeper.h) runs every --sweep_interval on another
// thread, as in the agent. Printed: the table's fill every second, its
// peak, and the bound the lifetimes predict: 2 entries x rate x (close
// timeout + sweep interval). A number, never a pass/fail.
#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/agent/ct_sweeper.h"
#include "control/kernel/datapath.h"
#include "control/packet/packet_builder.h"
#include "tests/packet/prog_run.h"

ABSL_FLAG(uint32_t, connections, 1000000, "short connections to run");
ABSL_FLAG(uint32_t, rate, 10000, "connections per second, at most");
ABSL_FLAG(absl::Duration, close_timeout, absl::Seconds(10),
          "the datapath's TCP close timeout");
ABSL_FLAG(absl::Duration, sweep_interval, absl::Seconds(10),
          "how often the sweeper runs (0: never)");

namespace switchyard {
namespace {

using kernel::Datapath;
using kernel::DatapathConfig;
using packet::Bytes;
using packet::PacketBuilder;

constexpr char kService[] = "10.96.0.10";
constexpr uint16_t kPort = 80, kTargetPort = 8080;
constexpr int kBackends = 10;

uint32_t Ip(const std::string& text) { return inet_addr(text.c_str()); }

absl::Status Install(kernel::DatapathMaps& maps) {
  for (int b = 1; b <= kBackends; ++b) {
    yard_backend4 be = {};
    be.addr = Ip(absl::StrCat("10.244.1.", b));
    be.port = htons(kTargetPort);
    be.state = YARD_BACKEND_ACTIVE;
    if (absl::Status s = maps.PutBackend(b, be); !s.ok()) return s;
    if (absl::Status s = maps.PutSlot({1, static_cast<uint32_t>(b)},
                                      {static_cast<uint32_t>(b)});
        !s.ok()) {
      return s;
    }
  }
  yard_rnat4 rnat = {};
  rnat.addr = Ip(kService);
  rnat.port = htons(kPort);
  if (absl::Status s = maps.PutRevNat(1, rnat); !s.ok()) return s;
  yard_svc_value svc = {};
  svc.svc_id = 1;
  svc.rev_nat_id = 1;
  svc.count = kBackends;
  return maps.PutFrontend(
      kernel::ServiceKey(Ip(kService), htons(kPort), IPPROTO_TCP), svc);
}

size_t Fill(kernel::DatapathMaps& maps) {
  auto all = maps.DumpCt();
  return all.ok() ? all->size() : 0;
}

int Main() {
  DatapathConfig config;  // default sizes: yard_ct4 as the agent makes it
  config.tcp_close_timeout_s = static_cast<uint32_t>(
      absl::ToInt64Seconds(absl::GetFlag(FLAGS_close_timeout)));
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  if (!dp.ok()) {
    fprintf(stderr, "load: %s\n", dp.status().ToString().c_str());
    return 1;
  }
  kernel::DatapathMaps& maps = (*dp)->maps();
  if (absl::Status s = Install(maps); !s.ok()) {
    fprintf(stderr, "install: %s\n", s.ToString().c_str());
    return 1;
  }
  const uint32_t n = absl::GetFlag(FLAGS_connections);
  const uint32_t rate = std::max(1u, absl::GetFlag(FLAGS_rate));
  const absl::Duration sweep = absl::GetFlag(FLAGS_sweep_interval);
  const kernel::CtTimeouts timeouts{.tcp_close_s = config.tcp_close_timeout_s};

  std::atomic<bool> done{false};
  std::atomic<uint64_t> swept{0};
  std::thread sweeper([&] {
    if (sweep <= absl::ZeroDuration()) return;
    absl::Time next = absl::Now() + sweep;
    while (!done) {
      absl::SleepFor(absl::Milliseconds(100));
      if (absl::Now() < next) continue;
      next += sweep;
      absl::StatusOr<uint64_t> s =
          agent::SweepExpiredFlows(maps, timeouts, agent::MonotonicNowNs());
      if (s.ok()) swept += *s;
    }
  });

  const int from_pod = (*dp)->from_pod_fd(), to_pod = (*dp)->to_pod_fd();
  size_t peak = 0;
  const absl::Time start = absl::Now();
  absl::Time next_report = start + absl::Seconds(1);
  for (uint32_t i = 0; i < n; ++i) {
    // Paced: connection i is due at start + i / rate.
    const absl::Time due = start + absl::Seconds(1) * i / rate;
    if (absl::Now() < due) absl::SleepFor(due - absl::Now());
    const std::string client =
        absl::StrCat("10.244.0.", 10 + (i / 60000) % 200);
    const uint16_t sport = static_cast<uint16_t>(1024 + i % 60000);
    auto out = [&](uint8_t flags) {
      return PacketBuilder()
          .Ipv4(client, kService)
          .Tcp(sport, kPort)
          .Flags(flags)
          .Build();
    };
    absl::StatusOr<packet::ProgRun> syn =
        packet::RunProg(from_pod, out(packet::kTcpSyn));
    if (!syn.ok()) {
      fprintf(stderr, "run: %s\n", syn.status().ToString().c_str());
      return 1;
    }
    // The backend the flow went to, from the translated SYN.
    const Bytes& t = syn->output;
    const std::string backend =
        absl::StrCat(t[30], ".", t[31], ".", t[32], ".", t[33]);
    auto back = [&](uint8_t flags) {
      return PacketBuilder()
          .Ipv4(backend, client)
          .Tcp(kTargetPort, sport)
          .Flags(flags)
          .Build();
    };
    (void)packet::RunProg(to_pod, back(packet::kTcpSyn | packet::kTcpAck));
    (void)packet::RunProg(from_pod, out(packet::kTcpFin | packet::kTcpAck));
    (void)packet::RunProg(to_pod, back(packet::kTcpFin | packet::kTcpAck));
    (void)packet::RunProg(from_pod, out(packet::kTcpAck));
    if (absl::Now() >= next_report) {
      const size_t fill = Fill(maps);
      peak = std::max(peak, fill);
      printf("%8.1f s  %9u connections  yard_ct4 %8zu entries  swept %llu\n",
             absl::ToDoubleSeconds(absl::Now() - start), i + 1, fill,
             static_cast<unsigned long long>(swept.load()));
      fflush(stdout);
      next_report += absl::Seconds(1);
    }
  }
  done = true;
  sweeper.join();
  const size_t fill = Fill(maps);
  peak = std::max(peak, fill);
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  const double bound =
      2.0 * std::min<double>(rate, n / secs) *
      (config.tcp_close_timeout_s + absl::ToDoubleSeconds(sweep));
  printf(
      "\n%u connections in %.1f s (%.0f/s); yard_ct4 capacity %u entries\n"
      "peak fill %zu entries, at the end %zu; swept %llu\n"
      "bound from the lifetimes: 2 x rate x (close %us + sweep %.0fs) = %.0f\n"
      "without them: %llu entries (2 per connection), up to the capacity\n",
      n, secs, n / secs, config.max_ct_entries, peak, fill,
      static_cast<unsigned long long>(swept.load()), config.tcp_close_timeout_s,
      absl::ToDoubleSeconds(sweep), bound, 2ull * n);
  return 0;
}

}  // namespace
}  // namespace switchyard

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return switchyard::Main();
}
