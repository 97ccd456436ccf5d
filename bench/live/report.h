// SPDX-License-Identifier: Apache-2.0
// Results of a run: a table for people (stderr) and a JSON document (one
// object per case, raw samples included) for files and tools.
#ifndef SWITCHYARD_BENCH_LIVE_REPORT_H_
#define SWITCHYARD_BENCH_LIVE_REPORT_H_

#include <string>
#include <vector>

#include "bench/live/rate_case.h"
#include "bench/live/tcp_crr.h"

namespace switchyard::bench::live {

struct CaseRecord {
  std::string mode;            // ModeName
  std::string entry;           // EntryName: "clusterip" or "nodeport"
  std::string shape;           // ShapeName, or "tcp_connect"
  std::string traffic_source;  // packet-rate cases: TrafficSource::name
  std::string site;            // endpoints: "local" or "remote" (node n2)
  bool node_conntrack = true;  // nf_conntrack active on the node
  int services = 0;
  int endpoints = 0;  // per service
  std::string setup;  // ProgrammedNode::Describe
  double program_seconds = 0;
  // Packet-rate cases.
  std::vector<RateSample> rate_samples;
  double pps = 0;
  double ns_per_frame = 0;
  // TCP connection cases.
  std::vector<CrrSample> crr_samples;
  double connections_per_s = 0;
};

struct RunInfo {
  std::string kernel;
  std::string iptables;  // `iptables -V`: names the backend
  int backends = 0;
  int cpus = 0;
  uint32_t batch = 0;
  bool quick = false;
  bool node_conntrack = true;  // the run's setting for Switchyard's nodes
  // Packet-rate cases' TrafficSource::name, and why it was chosen; empty
  // when the run had none.
  std::string traffic_source;
  std::string traffic_source_why;
};

std::string ToJson(const RunInfo& info, const std::vector<CaseRecord>& cases);
std::string ToTable(const RunInfo& info, const std::vector<CaseRecord>& cases);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_REPORT_H_
