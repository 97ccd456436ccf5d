// SPDX-License-Identifier: Apache-2.0
// A large namespace through yardctl, the real binaries: 20,000
// EndpointSlices of 10 endpoints in one namespace are applied, listed (a
// table, page by page), read as JSON, applied again and deleted, as a user
// would, with yardctl against yard-controller on its unix socket.
//
// Before lists were paged, every apply first listed the kinds it wrote
// and every get read a namespace in one message: past about 14,800 such
// slices both failed with "Received message larger than max". Now a get
// asks for 500 objects at a time (kubectl's --chunk-size), and an apply
// or delete costs what it writes, whatever else the namespace holds.
//
// The slices go in files of 1,000, one apply each, as a user splitting a
// large set would: each request stays far below the control messages'
// limit (control/common/message_limits.h) and yardctl's default 10 s
// deadline. Timings are printed, not asserted (machines differ).
//
// No network namespace, no kernel object: the controller listens only on
// a socket in this test's scratch folder.
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/support/assert_ok.h"
#include "tests/e2e/support/daemons.h"
#include "tests/e2e/support/scratch.h"
#include "tests/netns/netns.h"
#include "tests/netns/process.h"

#ifndef YARD_YARDCTL_PATH
#error "YARD_YARDCTL_PATH must name the yardctl binary"
#endif

namespace switchyard {
namespace {

constexpr char kScratchTag[] = "ll";
constexpr char kNamespace[] = "big";
constexpr int kSlices = 20000;
constexpr int kEndpointsPerSlice = 10;
constexpr int kSlicesPerFile = 1000;
constexpr int kFiles = kSlices / kSlicesPerFile;
// One yardctl run: far above what one takes (a second or two at most on
// two loaded cores), far below the ctest timeout.
constexpr absl::Duration kYardctlTimeout = absl::Seconds(60);

std::string SliceName(int i) { return absl::StrFormat("web-%05d", i); }

// One file of slices [first, first + kSlicesPerFile), as a user's
// generator or `kubectl get -o yaml` would write them.
std::string SliceFile(int first) {
  std::string out;
  for (int i = first; i < first + kSlicesPerFile; ++i) {
    absl::StrAppend(&out,
                    "---\n"
                    "apiVersion: discovery.k8s.io/v1\n"
                    "kind: EndpointSlice\n"
                    "metadata:\n"
                    "  name: ",
                    SliceName(i),
                    "\n"
                    "  namespace: big\n"
                    "  labels:\n"
                    "    kubernetes.io/service-name: web\n"
                    "addressType: IPv4\n"
                    "ports:\n"
                    "- name: http\n"
                    "  port: 8080\n"
                    "  protocol: TCP\n"
                    "endpoints:\n");
    for (int e = 0; e < kEndpointsPerSlice; ++e) {
      int n = i * kEndpointsPerSlice + e;
      absl::StrAppend(&out, "- addresses: [\"10.", 128 + (n >> 16), ".",
                      (n >> 8) & 0xff, ".", n & 0xff,
                      "\"]\n"
                      "  conditions: {ready: true}\n"
                      "  nodeName: node-",
                      n % 50, "\n");
    }
  }
  return out;
}

constexpr char kService[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: big
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
)";

int CountLines(absl::string_view text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

int CountOf(absl::string_view text, absl::string_view needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

class LargeListTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK(e2e::RemoveStaleLeftovers(kScratchTag));
  }

  void SetUp() override {
    work_dir_ = e2e::ScratchWorkDir(kScratchTag);
    const std::string pin_root = e2e::ScratchPinRoot(kScratchTag);
    socket_ = absl::StrCat(work_dir_, "/c.sock");
    cleanup_.Add(work_dir_);
    cleanup_.Add(pin_root);
    ASSERT_OK(e2e::FreshScratch(work_dir_, pin_root));
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> child =
        netns::ChildProcess::Start({
            .argv = e2e::UnixControllerArgv(socket_,
                                            absl::StrCat(work_dir_, "/state")),
            .log_path = absl::StrCat(work_dir_, "/controller.log"),
        });
    ASSERT_TRUE(child.ok()) << child.status();
    controller_ = *std::move(child);
    ASSERT_OK(e2e::WaitForControllerSocket(socket_, *controller_,
                                           absl::Now() + e2e::kStartTimeout,
                                           absl::Milliseconds(5)));
  }

  void TearDown() override {
    if (!HasFailure()) return;
    std::cerr << "---- last lines of controller.log\n"
              << e2e::Tail(
                     e2e::ReadFile(absl::StrCat(work_dir_, "/controller.log")),
                     40)
              << "\n";
  }

  // `yardctl args...` against the test's controller: what it printed
  // (stdout and stderr), or an error naming the command if it failed.
  absl::StatusOr<std::string> Yardctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {YARD_YARDCTL_PATH,
                                     absl::StrCat("--controller=", socket_)};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<netns::CommandResult> result =
        netns::RunCommand(argv, kYardctlTimeout);
    if (!result.ok()) return result.status();
    if (result->timed_out || result->exit_code != 0) {
      return absl::InternalError(
          absl::StrCat("yardctl ", absl::StrJoin(args, " "), ": ",
                       result->timed_out ? "timed out" : "failed", ": ",
                       e2e::Tail(result->output, 5)));
    }
    return std::move(result->output);
  }

  std::string FilePath(int file) const {
    return absl::StrCat(work_dir_, "/slices/", file, ".yaml");
  }

  // Applies every file, one yardctl each; checks each object's verb.
  void ApplyAll(absl::string_view verb) {
    for (int f = 0; f < kFiles; ++f) {
      absl::StatusOr<std::string> out = Yardctl({"apply", "-f", FilePath(f)});
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_EQ(CountOf(*out, absl::StrCat(" ", verb, "\n")), kSlicesPerFile)
          << e2e::Tail(*out, 3);
    }
  }

  e2e::RemoveOnExit cleanup_;
  std::string work_dir_;
  std::string socket_;
  std::unique_ptr<netns::ChildProcess> controller_;
};

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// CPU time (user + system) of the finished children so far: the yardctl
// runs. With the controller's, it shows the work apart from the machine's
// load, which on shared cores can stretch wall time several times.
absl::Duration ChildrenCpu() {
  rusage usage = {};
  getrusage(RUSAGE_CHILDREN, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

// CPU time of the running process `pid` (/proc/PID/stat utime + stime).
absl::Duration ProcessCpu(pid_t pid) {
  std::string stat = e2e::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return absl::ZeroDuration();
  std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
  // Fields 14 and 15 of the whole line; the split starts at field 3.
  if (fields.size() < 13) return absl::ZeroDuration();
  int64_t ticks = std::stoll(fields[11]) + std::stoll(fields[12]);
  return absl::Seconds(ticks) / sysconf(_SC_CLK_TCK);
}

// One phase's wall time and CPU time, split into yardctl's and the
// controller's.
struct Phase {
  absl::Duration wall, yardctl_cpu, controller_cpu;
};

class PhaseClock {
 public:
  explicit PhaseClock(pid_t controller)
      : controller_(controller),
        start_(absl::Now()),
        children_(ChildrenCpu()),
        controller_cpu_(ProcessCpu(controller)) {}
  Phase Stop() const {
    return {absl::Now() - start_, ChildrenCpu() - children_,
            ProcessCpu(controller_) - controller_cpu_};
  }

 private:
  pid_t controller_;
  absl::Time start_;
  absl::Duration children_, controller_cpu_;
};

std::string Show(const Phase& phase) {
  return absl::StrFormat(
      "%6.1f s wall, CPU %5.1f s yardctl + %5.1f s controller",
      Seconds(phase.wall), Seconds(phase.yardctl_cpu),
      Seconds(phase.controller_cpu));
}

TEST_F(LargeListTest, TwentyThousandSlicesApplyListAndDelete) {
  absl::Time start = absl::Now();
  std::filesystem::create_directories(absl::StrCat(work_dir_, "/slices"));
  size_t manifest_bytes = 0;
  for (int f = 0; f < kFiles; ++f) {
    std::string text = SliceFile(f * kSlicesPerFile);
    manifest_bytes += text.size();
    std::ofstream(FilePath(f)) << text;
  }
  std::ofstream(absl::StrCat(work_dir_, "/service.yaml")) << kService;
  const absl::Duration write_files = absl::Now() - start;

  absl::StatusOr<std::string> out =
      Yardctl({"apply", "-f", absl::StrCat(work_dir_, "/service.yaml")});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "service/web created\n");

  const pid_t pid = controller_->pid();
  PhaseClock clock(pid);
  ApplyAll("created");
  const Phase apply = clock.Stop();

  // The table, page by page (500 a request): a header and one row each.
  clock = PhaseClock(pid);
  out = Yardctl({"get", "endpointslices", "-n", kNamespace});
  const Phase get_table = clock.Stop();
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(CountLines(*out), kSlices + 1);
  EXPECT_TRUE(absl::StartsWith(*out, "NAME "));
  EXPECT_NE(out->find("\nweb-19999 "), std::string::npos);

  clock = PhaseClock(pid);
  absl::StatusOr<std::string> json =
      Yardctl({"get", "eps", "-n", kNamespace, "-o", "json"});
  const Phase get_json = clock.Stop();
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(CountOf(*json, "\"kind\": \"EndpointSlice\""), kSlices);
  EXPECT_EQ(CountOf(*json, "\"addresses\": ["), kSlices * kEndpointsPerSlice);
  EXPECT_NE(json->find("\"kind\": \"List\""), std::string::npos);

  // Paged or in one request, the same answer.
  clock = PhaseClock(pid);
  absl::StatusOr<std::string> names =
      Yardctl({"get", "eps", "-n", kNamespace, "-o", "name"});
  const Phase get_names = clock.Stop();
  absl::StatusOr<std::string> names_whole =
      Yardctl({"get", "eps", "-n", kNamespace, "-o", "name", "--chunk-size=0"});
  ASSERT_TRUE(names.ok()) << names.status();
  ASSERT_TRUE(names_whole.ok()) << names_whole.status();
  EXPECT_EQ(*names, *names_whole);
  EXPECT_EQ(CountLines(*names), kSlices);

  // A later apply in the full namespace: nothing listed, every one said
  // unchanged by the controller.
  clock = PhaseClock(pid);
  ApplyAll("unchanged");
  const Phase reapply = clock.Stop();

  clock = PhaseClock(pid);
  for (int f = 0; f < kFiles; ++f) {
    absl::StatusOr<std::string> deleted =
        Yardctl({"delete", "-f", FilePath(f)});
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    ASSERT_EQ(CountOf(*deleted, " deleted\n"), kSlicesPerFile);
  }
  const Phase remove = clock.Stop();
  out = Yardctl({"get", "eps", "-n", kNamespace});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "No resources found in big namespace.\n");

  std::cout << kSlices << " EndpointSlices of " << kEndpointsPerSlice
            << " endpoints (" << manifest_bytes / 1000000 << " MB of YAML in "
            << kFiles << " files, written in " << Seconds(write_files)
            << " s):\n"
            << "  apply, " << kFiles << " runs      " << Show(apply) << "\n"
            << "  get, table         " << Show(get_table) << "\n"
            << "  get -o json        " << Show(get_json) << " ("
            << json->size() / 1000000 << " MB)\n"
            << "  get -o name        " << Show(get_names) << "\n"
            << "  apply, unchanged   " << Show(reapply) << "\n"
            << "  delete, " << kFiles << " runs     " << Show(remove) << "\n";
}

}  // namespace
}  // namespace switchyard
