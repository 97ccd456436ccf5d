// SPDX-License-Identifier: Apache-2.0
// Many fake agents in one process: AgentSync.Watch streams on gRPC's
// callback API (no thread per stream, so 1,000 streams cost gRPC's small
// thread pool, not 1,000 threads). Each stream says hello as a distinct
// node, acknowledges every response at once as an agent does after
// programming its maps, and reports what it received to a Hub.
//
// Changes are recognised by content, not by version: the bench writes a
// marker number into one EndpointSlice's first endpoint address, and a
// stream "has" change m once it has received that slice with marker >= m.
#ifndef SWITCHYARD_BENCH_KUBE_FANOUT_WATCH_STREAMS_H_
#define SWITCHYARD_BENCH_KUBE_FANOUT_WATCH_STREAMS_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::bench {

// The EndpointSlice that carries the marker, and how a marker is spelled
// in its first endpoint's address (10.255.hi.lo: 65,535 markers).
struct MarkerSlice {
  std::string namespace_name;
  std::string name;
};
std::string MarkerAddress(int marker);
// -1 when `address` is not a marker address.
int MarkerOf(const std::string& address);

// What every stream has received.
class Hub {
 public:
  explicit Hub(int streams);

  // A response arrived on `stream` at `at`; `marker` is the marker slice's
  // marker in it, or -1 when the response did not carry that slice.
  void Received(int stream, bool snapshot, uint64_t version, int marker,
                absl::Time at);
  void Ended(int stream, const std::string& why);

  // Waits until `count` streams have had their first snapshot; false on
  // timeout or when a stream ended (`why` says which).
  bool WaitSnapshots(int count, absl::Time deadline, std::string* why);
  // Waits until every stream has marker >= `marker` and says when the
  // first and the last of them received it; false on timeout or when a
  // stream ended.
  bool WaitMarker(int marker, absl::Time deadline, absl::Time* last_arrival,
                  absl::Time* first_arrival, std::string* why);
  int Snapshots();
  bool Failed();
  // The highest marker any stream has seen (-1: none).
  int MaxMarker();
  uint64_t LatestVersion();
  int64_t Responses();
  int64_t SnapshotBytes();
  void AddSnapshotBytes(int64_t bytes);

 private:
  bool FailedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !ended_.empty();
  }

  absl::Mutex mu_;
  std::vector<int> marker_ ABSL_GUARDED_BY(mu_);
  // When each stream's marker last rose: a change is written only once
  // every stream has the one before, so this is when it received the
  // current one, also when that was before the write's response came back.
  std::vector<absl::Time> marker_at_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> snapshotted_ ABSL_GUARDED_BY(mu_);
  int snapshots_ ABSL_GUARDED_BY(mu_) = 0;
  // The change being waited for, and how many streams have it.
  int target_ ABSL_GUARDED_BY(mu_) = 0;
  int reached_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t responses_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t snapshot_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::string ended_ ABSL_GUARDED_BY(mu_);
};

struct StreamOptions {
  std::string target;  // the controller, host:port
  MarkerSlice marker_slice;
  // Responses larger than this are not decoded past their version (a
  // 10,000-service snapshot to 1,000 streams would otherwise spend the
  // bench's CPU parsing, not the controller's).
  int64_t decode_limit_bytes = 1 << 20;
};

// The streams, each on a channel (and so a TCP connection) of its own, as
// agents on separate nodes have.
class WatchStreams {
 public:
  WatchStreams(StreamOptions options, Hub* hub);
  ~WatchStreams();  // cancels every stream and waits for each to end

  // Opens stream `index` as node `node_name` (hello from version 0).
  void Open(int index, const std::string& node_name);
  size_t size() const { return streams_.size(); }

 private:
  class Stream;
  const StreamOptions options_;
  Hub* const hub_;
  std::vector<std::unique_ptr<Stream>> streams_;
};

}  // namespace switchyard::bench

#endif  // SWITCHYARD_BENCH_KUBE_FANOUT_WATCH_STREAMS_H_
