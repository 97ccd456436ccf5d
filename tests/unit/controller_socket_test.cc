// SPDX-License-Identifier: Apache-2.0
// yard-controller's unix socket at start: a socket nobody answers on (left
// by a controller that died) is replaced; one a live controller serves is
// never removed, and the second controller refuses to start (issue 13).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/controller/server.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

ServerConfig UnixOnly(const std::string& socket_path) {
  ServerConfig config;
  config.listen_unix = socket_path;  // no TCP, no metrics, state in memory
  return config;
}

// Whether something accepts connections on `path`.
bool Answers(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&address),
                    sizeof(address)) == 0;
  close(fd);
  return ok;
}

TEST(ControllerSocketTest, SecondControllerLeavesTheLiveSocketAlone) {
  testing::TempDir dir;
  std::string path = dir.File("controller.sock");
  absl::StatusOr<std::unique_ptr<ControllerServer>> first =
      ControllerServer::Start(UnixOnly(path));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(Answers(path));

  absl::StatusOr<std::unique_ptr<ControllerServer>> second =
      ControllerServer::Start(UnixOnly(path));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), "another controller is serving " + path +
                                           "; stop it or choose --socket");
  // The first controller is still the one clients reach.
  EXPECT_TRUE(Answers(path));
}

TEST(ControllerSocketTest, StaleSocketIsReplaced) {
  testing::TempDir dir;
  std::string path = dir.File("controller.sock");
  // What a killed controller leaves: the socket file, nobody listening.
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  ASSERT_EQ(
      bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)),
      0);
  close(fd);
  ASSERT_TRUE(std::filesystem::exists(path));
  ASSERT_FALSE(Answers(path));

  absl::StatusOr<std::unique_ptr<ControllerServer>> server =
      ControllerServer::Start(UnixOnly(path));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(Answers(path));
}

}  // namespace
}  // namespace switchyard::controller
