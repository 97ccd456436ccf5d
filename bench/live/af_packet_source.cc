// SPDX-License-Identifier: Apache-2.0
#include "bench/live/af_packet_source.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"

namespace switchyard::bench::live {
namespace {

// A send that cannot go on (the socket's buffer full of frames the node
// never consumes) gives up after this, instead of hanging the run.
constexpr time_t kSendTimeoutSeconds = 1;
// Consecutive interrupted sendmmsg calls tolerated before giving up.
constexpr int kMaxInterrupts = 100;
constexpr uint32_t kMaxBatch = 256;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

// Opens the socket in the calling thread's namespace: protocol 0, so it
// receives nothing (no tap on the device's traffic, no copies to read).
absl::StatusOr<int> OpenSocket(int ifindex) {
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket(AF_PACKET, SOCK_RAW)");
  // Straight to the driver, as live frames reach the stack without a
  // qdisc; a veth has none anyway (noqueue), so an old kernel without the
  // option loses nothing that matters.
  const int one = 1;
  (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
  const timeval timeout = {kSendTimeoutSeconds, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus(err, "SO_SNDTIMEO on the packet socket");
  }
  sockaddr_ll addr = {};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = 0;
  addr.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus(err,
                       absl::StrCat("bind packet socket to ifindex ", ifindex));
  }
  return fd;
}

}  // namespace

AfPacketSource::~AfPacketSource() {
  if (fd_ >= 0) close(fd_);
}

absl::Status AfPacketSource::Start(const InjectionPoint& point,
                                   const FrameRecipe& recipe) {
  if (point.peer == nullptr || point.peer_ifindex <= 0) {
    return absl::InvalidArgumentError("af-packet needs the veth's peer end");
  }
  if (recipe.dsts.empty() || recipe.dsts.size() > YBL_MAX_DSTS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "need 1..", YBL_MAX_DSTS, " destinations, got ", recipe.dsts.size()));
  }
  if (absl::Status s = Stop(); !s.ok()) return s;
  // A socket stays in the namespace it was made in: made there, used from
  // here.
  absl::StatusOr<int> fd =
      point.peer->Run([&] { return OpenSocket(point.peer_ifindex); });
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  ifindex_ = point.peer_ifindex;
  recipe_ = recipe;
  return absl::OkStatus();
}

absl::StatusOr<InjectResult> AfPacketSource::Inject(uint32_t frames,
                                                    uint32_t batch) {
  if (fd_ < 0) return absl::FailedPreconditionError("af-packet not started");
  batch = std::clamp<uint32_t>(batch, 1, kMaxBatch);
  frames_.resize(static_cast<size_t>(batch) * YBL_FRAME_LEN);
  // The destination of every frame; the frame's own header carries the
  // MACs, the address only names the device and the protocol.
  sockaddr_ll to = {};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_IP);
  to.sll_ifindex = ifindex_;
  to.sll_halen = ETH_ALEN;
  std::memcpy(to.sll_addr, recipe_.dst_mac.data(), ETH_ALEN);
  iovec iov[kMaxBatch];
  mmsghdr msgs[kMaxBatch];
  std::memset(msgs, 0, sizeof(msgs));
  for (uint32_t i = 0; i < batch; ++i) {
    iov[i].iov_base = &frames_[static_cast<size_t>(i) * YBL_FRAME_LEN];
    iov[i].iov_len = YBL_FRAME_LEN;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof(to);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  InjectResult result;
  const uint64_t start = NowNs();
  int interrupts = 0;
  while (result.frames < frames) {
    const uint32_t n = static_cast<uint32_t>(
        std::min<uint64_t>(batch, frames - result.frames));
    for (uint32_t i = 0; i < n; ++i) {
      WriteFrame(
          recipe_, seq_ + i, 0,
          absl::MakeSpan(&frames_[static_cast<size_t>(i) * YBL_FRAME_LEN],
                         YBL_FRAME_LEN));
    }
    uint32_t sent = 0;
    while (sent < n) {
      const int rc = sendmmsg(fd_, msgs + sent, n - sent, 0);
      if (rc > 0) {
        sent += static_cast<uint32_t>(rc);
        interrupts = 0;
        continue;
      }
      const int err = rc == 0 ? EAGAIN : errno;
      if (err == EINTR && ++interrupts < kMaxInterrupts) continue;
      if (err == ENOBUFS) {
        // The device dropped this frame (the node's receive queue was
        // full): it was offered, and the sinks will not count it.
        ++sent;
        continue;
      }
      return ErrnoStatus(err, "sendmmsg on the packet socket");
    }
    seq_ += n;
    result.frames += n;
  }
  result.wall_ns = NowNs() - start;
  return result;
}

absl::Status AfPacketSource::Stop() {
  if (fd_ >= 0 && close(fd_) != 0) {
    fd_ = -1;
    return ErrnoStatus(errno, "close the packet socket");
  }
  fd_ = -1;
  return absl::OkStatus();
}

}  // namespace switchyard::bench::live
