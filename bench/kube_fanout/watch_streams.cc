// SPDX-License-Identifier: Apache-2.0
#include "bench/kube_fanout/watch_streams.h"

#include <google/protobuf/io/coded_stream.h>
#include <grpcpp/support/stub_options.h>

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::bench {
namespace {

namespace v1 = switchyard::v1;

constexpr char kWatchMethod[] = "/switchyard.v1.AgentSync/Watch";

grpc::ByteBuffer Serialize(const v1::WatchRequest& request) {
  std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// The version of a response without decoding the rest. Protobuf writes
// fields in number order, so field 1 (version) comes first when set;
// field 2 (snapshot) second.
void PeekHead(const grpc::ByteBuffer& buffer, uint64_t* version,
              bool* snapshot) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return;
  std::string head;
  for (const grpc::Slice& s : slices) {
    head.append(reinterpret_cast<const char*>(s.begin()),
                std::min<size_t>(s.size(), 32 - head.size()));
    if (head.size() >= 32) break;
  }
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(head.data()), head.size());
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    uint64_t value = 0;
    if ((tag & 7) != 0 || !in.ReadVarint64(&value)) return;
    if (tag >> 3 == 1) *version = value;
    if (tag >> 3 == 2) *snapshot = value != 0;
    if (tag >> 3 >= 2) return;
  }
}

}  // namespace

std::string MarkerAddress(int marker) {
  return absl::StrCat("10.255.", (marker >> 8) & 255, ".", marker & 255);
}

int MarkerOf(const std::string& address) {
  std::vector<std::string> parts = absl::StrSplit(address, '.');
  int hi = 0, lo = 0;
  if (parts.size() != 4 || parts[0] != "10" || parts[1] != "255" ||
      !absl::SimpleAtoi(parts[2], &hi) || !absl::SimpleAtoi(parts[3], &lo)) {
    return -1;
  }
  return hi * 256 + lo;
}

Hub::Hub(int streams)
    : marker_(streams, -1),
      marker_at_(streams, absl::InfinitePast()),
      snapshotted_(streams, false) {}

void Hub::Received(int stream, bool snapshot, uint64_t version, int marker,
                   absl::Time at) {
  absl::MutexLock lock(&mu_);
  ++responses_;
  version_ = std::max(version_, version);
  if (snapshot && !snapshotted_[stream]) {
    snapshotted_[stream] = true;
    ++snapshots_;
  }
  if (marker < 0) return;
  if (marker <= marker_[stream]) return;
  if (marker_[stream] < target_ && marker >= target_) ++reached_;
  marker_[stream] = marker;
  marker_at_[stream] = at;
}

void Hub::Ended(int stream, const std::string& why) {
  absl::MutexLock lock(&mu_);
  if (ended_.empty()) ended_ = absl::StrCat("stream ", stream, " ended: ", why);
}

bool Hub::WaitSnapshots(int count, absl::Time deadline, std::string* why) {
  absl::MutexLock lock(&mu_);
  auto done = [&] {
    mu_.AssertHeld();
    return snapshots_ >= count || FailedLocked();
  };
  bool ok = mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  if (FailedLocked()) {
    *why = ended_;
    return false;
  }
  if (!ok) *why = absl::StrCat(snapshots_, " of ", count, " snapshots");
  return ok;
}

bool Hub::WaitMarker(int marker, absl::Time deadline, absl::Time* last_arrival,
                     absl::Time* first_arrival, std::string* why) {
  absl::MutexLock lock(&mu_);
  target_ = marker;
  reached_ = 0;
  for (int m : marker_) reached_ += m >= marker;
  const int all = static_cast<int>(marker_.size());
  auto done = [&] {
    mu_.AssertHeld();
    return reached_ == all || FailedLocked();
  };
  bool ok = mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  if (FailedLocked()) {
    *why = ended_;
    return false;
  }
  if (!ok) {
    *why = absl::StrCat(reached_, " of ", all, " streams have marker ", marker);
    return false;
  }
  *first_arrival = *std::min_element(marker_at_.begin(), marker_at_.end());
  *last_arrival = *std::max_element(marker_at_.begin(), marker_at_.end());
  return true;
}

int Hub::Snapshots() {
  absl::MutexLock lock(&mu_);
  return snapshots_;
}

bool Hub::Failed() {
  absl::MutexLock lock(&mu_);
  return FailedLocked();
}

int Hub::MaxMarker() {
  absl::MutexLock lock(&mu_);
  int most = -1;
  for (int m : marker_) most = std::max(most, m);
  return most;
}

uint64_t Hub::LatestVersion() {
  absl::MutexLock lock(&mu_);
  return version_;
}

int64_t Hub::Responses() {
  absl::MutexLock lock(&mu_);
  return responses_;
}

int64_t Hub::SnapshotBytes() {
  absl::MutexLock lock(&mu_);
  return snapshot_bytes_;
}

void Hub::AddSnapshotBytes(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  snapshot_bytes_ += bytes;
}

// One agent's stream. gRPC calls the On* methods from its own threads; a
// reactor allows one write in flight, so acks queue behind it.
class WatchStreams::Stream
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Stream(const StreamOptions& options, int index, const std::string& node,
         Hub* hub)
      : options_(options), index_(index), hub_(hub) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    // Equal channel arguments would share one connection process-wide; a
    // local subchannel pool gives each stream its own, as separate nodes.
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    stub_ = std::make_unique<grpc::GenericStub>(grpc::CreateCustomChannel(
        options.target, grpc::InsecureChannelCredentials(), args));
    stub_->PrepareBidiStreamingCall(&context_, kWatchMethod,
                                    grpc::StubOptions(), this);
    v1::WatchRequest hello;
    hello.mutable_hello()->set_node_name(node);
    hello.mutable_hello()->set_last_applied_version(0);
    Send(hello);
    StartRead(&incoming_);
    StartCall();
  }

  void Cancel() {
    stopping_ = true;
    context_.TryCancel();
  }

  void WaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending; OnDone says why
    const absl::Time at = absl::Now();
    uint64_t version = 0;
    bool snapshot = false;
    int marker = -1;
    const size_t size = incoming_.Length();
    if (static_cast<int64_t>(size) <= options_.decode_limit_bytes) {
      v1::WatchResponse response;
      grpc::Slice whole;
      if (incoming_.DumpToSingleSlice(&whole).ok() &&
          response.ParseFromArray(whole.begin(), whole.size())) {
        version = response.version();
        snapshot = response.snapshot();
        marker = FindMarker(response);
      }
    } else {
      PeekHead(incoming_, &version, &snapshot);
    }
    if (snapshot) hub_->AddSnapshotBytes(size);
    hub_->Received(index_, snapshot, version, marker, at);
    v1::WatchRequest ack;
    ack.mutable_ack()->set_version(version);
    ack.mutable_ack()->set_applied(true);
    Send(ack);
    incoming_.Clear();
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) return;
    WriteNextLocked();
  }

  void OnDone(const grpc::Status& status) override {
    if (!stopping_) hub_->Ended(index_, status.error_message());
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

 private:
  int FindMarker(const v1::WatchResponse& response) const {
    int marker = -1;
    for (const v1::Object& o : response.upserts()) {
      if (!o.has_endpoint_slice()) continue;
      const v1::EndpointSlice& slice = o.endpoint_slice();
      if (slice.metadata().name() != options_.marker_slice.name ||
          slice.metadata().namespace_() !=
              options_.marker_slice.namespace_name) {
        continue;
      }
      for (const v1::Endpoint& e : slice.endpoints()) {
        for (const std::string& a : e.addresses()) {
          marker = std::max(marker, MarkerOf(a));
        }
      }
    }
    return marker;
  }

  void Send(const v1::WatchRequest& request) {
    absl::MutexLock lock(&mu_);
    pending_.push_back(Serialize(request));
    WriteNextLocked();
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || pending_.empty()) return;
    writing_ = true;
    in_flight_ = std::move(pending_.front());
    pending_.pop_front();
    StartWrite(&in_flight_);
  }

  const StreamOptions& options_;
  const int index_;
  Hub* const hub_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::ClientContext context_;
  grpc::ByteBuffer incoming_;
  std::atomic<bool> stopping_{false};

  absl::Mutex mu_;
  std::deque<grpc::ByteBuffer> pending_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer in_flight_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

WatchStreams::WatchStreams(StreamOptions options, Hub* hub)
    : options_(std::move(options)), hub_(hub) {}

WatchStreams::~WatchStreams() {
  for (auto& s : streams_) s->Cancel();
  for (auto& s : streams_) s->WaitDone();
}

void WatchStreams::Open(int index, const std::string& node_name) {
  streams_.push_back(
      std::make_unique<Stream>(options_, index, node_name, hub_));
}

}  // namespace switchyard::bench
