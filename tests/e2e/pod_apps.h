// SPDX-License-Identifier: Apache-2.0
// The applications e2e tests run in pod namespaces: a backend server that
// answers with who it is and whom it saw, and bounded client calls.
//
// Every call is bounded in time (socket timeouts, poll deadlines), so a
// datapath that drops packets fails a test instead of hanging it.
#ifndef SWITCHYARD_TESTS_E2E_POD_APPS_H_
#define SWITCHYARD_TESTS_E2E_POD_APPS_H_

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"
#include "tests/netns/netns.h"

namespace switchyard::e2e {

// Receive and send timeout of every client socket.
inline constexpr absl::Duration kIoTimeout = absl::Seconds(2);

sockaddr_in SockAddr(absl::string_view ip, uint16_t port);
std::string Format(const sockaddr_in& address);  // "10.0.0.1:80"
absl::StatusOr<std::string> SockName(int fd);    // local address, formatted

// What a backend answered: its identity and the source address it saw.
struct Reply {
  std::string identity;
  std::string peer;
};
// "<identity> <ip:port>", the line a backend answers with (no newline).
absl::StatusOr<Reply> ParseReply(absl::string_view line);

// A backend pod's server: every TCP line and every UDP datagram is
// answered with "<identity> <source ip:port it saw>\n". One thread inside
// the pod's namespace, polling with a bounded timeout, stopped (and
// joined) on destruction.
class IdentityServer {
 public:
  static absl::StatusOr<std::unique_ptr<IdentityServer>> Start(
      const netns::Namespace& ns, std::string identity, uint16_t tcp_port,
      uint16_t udp_port);
  ~IdentityServer();
  IdentityServer(const IdentityServer&) = delete;
  IdentityServer& operator=(const IdentityServer&) = delete;

 private:
  explicit IdentityServer(std::string identity)
      : identity_(std::move(identity)) {}
  absl::Status Listen(uint16_t tcp_port, uint16_t udp_port);
  void Serve();
  void ServeDatagram();
  bool ServeStream(int fd);  // false when the connection is over

  std::string identity_;
  ScopedFd stop_, tcp_, udp_;
  std::thread thread_;
};

// Client calls: run them on a thread inside the client pod's namespace
// (Namespace::Run); a socket made there may then be used from any thread.

struct ConnectResult {
  ScopedFd fd;    // connected, blocking, with kIoTimeout; when error == 0
  int error = 0;  // errno the connect ended with; ETIMEDOUT at the deadline
  absl::Duration took;
};
// The error is in the result, not the status: a refused connect is an
// outcome tests look at. The status fails only on local errors.
// from_port: the local port to connect from (SO_REUSEADDR), 0 for an
// ephemeral one.
absl::StatusOr<ConnectResult> ConnectTcp(const sockaddr_in& to,
                                         absl::Duration timeout,
                                         uint16_t from_port = 0);
// A connect that must succeed.
absl::StatusOr<ScopedFd> MustConnect(const sockaddr_in& to,
                                     absl::Duration timeout);
// One request line, one reply line, on a connected TCP socket.
absl::StatusOr<Reply> Exchange(int fd, absl::string_view request);

// A UDP socket connected to `to`, on a fresh ephemeral port (or
// from_port), and one datagram out and its answer back.
absl::StatusOr<ScopedFd> UdpConnect(const sockaddr_in& to,
                                    uint16_t from_port = 0);
absl::StatusOr<Reply> UdpExchange(int fd, absl::string_view request);

// One whole TCP call, as a client that reads to the end makes it: connect
// (from local port from_port, 0: any), one exchange, its FIN, the
// server's, close. Both sides have closed when it returns; a failed
// connect or exchange is the error.
absl::StatusOr<Reply> TcpCall(const sockaddr_in& to, absl::Duration timeout,
                              uint16_t from_port = 0);
// One datagram and its answer on a connected UDP socket (which takes
// answers only from `to`).
absl::StatusOr<Reply> UdpCall(const sockaddr_in& to, uint16_t from_port = 0);

}  // namespace switchyard::e2e

#endif  // SWITCHYARD_TESTS_E2E_POD_APPS_H_
