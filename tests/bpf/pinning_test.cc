// SPDX-License-Identifier: Apache-2.0
// Pinned maps outlive the Datapath that created them, and a restarted agent
// adopts them (entries, flows and all) instead of starting empty; a restart
// with other map sizes over the same pins is refused rather than silently
// running on maps of another shape, and pins recorded as another layout
// version are refused naming both versions.
//
// Pins go under /sys/fs/bpf/switchyard-test-<pid>/; the fixture removes
// that folder however the test ends, and removes folders left by earlier
// runs whose process is gone (a crash skips every destructor).
#include <bpf/bpf.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/bpf_map.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "control/kernel/features_map.h"
#include "control/kernel/pinned_layout.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"
#include "gtest/gtest.h"
#include "tests/packet/prog_run.h"

namespace switchyard {
namespace {

namespace fs = std::filesystem;
using kernel::Datapath;
using kernel::DatapathConfig;
using kernel::DatapathMaps;
using packet::Bytes;
using packet::IpBe;
using packet::PacketBuilder;
using packet::PortBe;

constexpr char kBpffs[] = "/sys/fs/bpf";
constexpr char kPrefix[] = "switchyard-test-";
constexpr long kBpfFsMagic = 0xcafe4a11;  // BPF_FS_MAGIC

const char* const kMapNames[] = {
    YARD_MAP_SVC4, YARD_MAP_SLOTS,     YARD_MAP_BACKEND4, YARD_MAP_RNAT4,
    YARD_MAP_CT4,  YARD_MAP_SVC_STATS, YARD_MAP_REASONS,  YARD_MAP_LAYOUT,
};

bool ProcessExists(long pid) { return kill(pid, 0) == 0 || errno == EPERM; }

// Removes /sys/fs/bpf/switchyard-test-<pid> folders whose process is gone.
// Folders of live processes belong to tests running now: left alone.
void RemoveStaleDirs() {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(kBpffs, ec)) {
    const std::string name = entry.path().filename().string();
    if (!absl::StartsWith(name, kPrefix)) continue;
    long pid = 0;
    const char* digits = name.data() + sizeof(kPrefix) - 1;
    auto [end, err] = std::from_chars(digits, name.data() + name.size(), pid);
    if (err != std::errc() || end != name.data() + name.size()) continue;
    if (pid == getpid() || ProcessExists(pid)) continue;
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
}

// The pin folder of one test process, removed with everything in it when
// this goes out of scope (unlink works on pinned objects; the maps go when
// their last reference does).
class ScopedPinRoot {
 public:
  ScopedPinRoot()
      : root_(absl::StrCat(kBpffs, "/", kPrefix, static_cast<long>(getpid()))) {
  }
  ~ScopedPinRoot() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  ScopedPinRoot(const ScopedPinRoot&) = delete;
  ScopedPinRoot& operator=(const ScopedPinRoot&) = delete;

  const std::string& root() const { return root_; }
  std::string Node(absl::string_view node) const {
    return absl::StrCat(root_, "/", node);
  }

 private:
  std::string root_;
};

class PinningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    struct statfs st = {};
    ASSERT_EQ(statfs(kBpffs, &st), 0) << kBpffs << ": " << strerror(errno);
    ASSERT_EQ(static_cast<long>(st.f_type), kBpfFsMagic)
        << "bpffs is not mounted at " << kBpffs << " (scripts/setup.sh)";
    RemoveStaleDirs();
    pins_ = std::make_unique<ScopedPinRoot>();
    // Earlier tests of this process share the pid: start empty.
    std::error_code ignored;
    fs::remove_all(pins_->root(), ignored);
  }

  DatapathConfig Config(absl::string_view node) const {
    DatapathConfig config;
    config.pin_dir = pins_->Node(node);
    config.max_frontends = 32;
    config.max_slots = 64;
    config.max_backends = 16;
    config.max_ct_entries = 1024;
    return config;
  }

  std::unique_ptr<ScopedPinRoot> pins_;
};

#define ASSERT_OK(expr)                           \
  do {                                            \
    const absl::Status yard_status = (expr);      \
    ASSERT_TRUE(yard_status.ok()) << yard_status; \
  } while (0)

// One service port 10.96.0.10:80/TCP -> 10.244.1.2:8080, written in the
// datapath's add order.
void WriteService(DatapathMaps& maps) {
  yard_backend4 be = {};
  be.addr = IpBe("10.244.1.2");
  be.port = PortBe(8080);
  be.state = YARD_BACKEND_ACTIVE;
  ASSERT_OK(maps.PutBackend(1, be));
  ASSERT_OK(maps.PutSlot({1, 1}, {1}));
  yard_rnat4 rnat = {};
  rnat.addr = IpBe("10.96.0.10");
  rnat.port = PortBe(80);
  ASSERT_OK(maps.PutRevNat(1, rnat));
  yard_svc_value svc = {};
  svc.svc_id = 1;
  svc.rev_nat_id = 1;
  svc.count = 1;
  ASSERT_OK(maps.PutFrontend(
      kernel::ServiceKey(IpBe("10.96.0.10"), PortBe(80), packet::kProtoTcp),
      svc));
}

Bytes ToService(uint8_t flags) {
  return PacketBuilder()
      .Ipv4("10.244.0.5", "10.96.0.10")
      .Tcp(40000, 80)
      .Flags(flags)
      .Build();
}

Bytes AtBackend(uint8_t flags) {
  return PacketBuilder()
      .Ipv4("10.244.0.5", "10.244.1.2")
      .Tcp(40000, 8080)
      .Flags(flags)
      .Build();
}

yard_ct4_key ForwardKey() {
  yard_ct4_key key = {};
  key.saddr = IpBe("10.244.0.5");
  key.daddr = IpBe("10.96.0.10");
  key.sport = PortBe(40000);
  key.dport = PortBe(80);
  key.proto = packet::kProtoTcp;
  key.dir = YARD_CT_FORWARD;
  return key;
}

TEST_F(PinningTest, RestartAdoptsPinnedMapsAndTheirEntries) {
  const DatapathConfig config = Config("node-a");
  {
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    ASSERT_NO_FATAL_FAILURE(WriteService((*dp)->maps()));
    // A flow through the first instance leaves tracking state behind.
    absl::StatusOr<packet::ProgRun> run =
        packet::RunProg((*dp)->from_pod_fd(), ToService(packet::kTcpSyn));
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_EQ(run->verdict, 0);
    EXPECT_EQ(run->output, AtBackend(packet::kTcpSyn))
        << packet::DiffFrames(AtBackend(packet::kTcpSyn), run->output);
  }
  // The programs are gone; the pins, and so the maps, are not.
  for (const char* name : kMapNames) {
    EXPECT_TRUE(fs::exists(absl::StrCat(config.pin_dir, "/", name))) << name;
  }
  {
    absl::StatusOr<DatapathMaps> pinned =
        DatapathMaps::OpenPinned(config.pin_dir);
    ASSERT_TRUE(pinned.ok()) << pinned.status();
    auto svc = pinned->LookupFrontend(
        kernel::ServiceKey(IpBe("10.96.0.10"), PortBe(80), packet::kProtoTcp));
    ASSERT_TRUE(svc.ok()) << svc.status();
    EXPECT_TRUE(svc->has_value());
  }

  absl::StatusOr<std::unique_ptr<Datapath>> again = Datapath::Load(config);
  ASSERT_TRUE(again.ok()) << again.status();
  DatapathMaps& maps = (*again)->maps();
  absl::StatusOr<kernel::MapCapacity> capacity = maps.Capacity();
  ASSERT_TRUE(capacity.ok()) << capacity.status();
  EXPECT_EQ(capacity->frontends, config.max_frontends);
  EXPECT_EQ(capacity->ct_entries, config.max_ct_entries);

  auto svc = maps.LookupFrontend(
      kernel::ServiceKey(IpBe("10.96.0.10"), PortBe(80), packet::kProtoTcp));
  ASSERT_TRUE(svc.ok()) << svc.status();
  ASSERT_TRUE(svc->has_value());
  EXPECT_EQ((*svc)->count, 1);
  absl::StatusOr<yard_backend4> be = maps.LookupBackend(1);
  ASSERT_TRUE(be.ok()) << be.status();
  EXPECT_EQ(be->addr, IpBe("10.244.1.2"));
  absl::StatusOr<std::optional<yard_ct4_value>> ct =
      maps.LookupCt(ForwardKey());
  ASSERT_TRUE(ct.ok()) << ct.status();
  ASSERT_TRUE(ct->has_value());
  EXPECT_EQ((*ct)->packets, 1u);

  // The new programs use the adopted maps: the flow goes on, unchanged.
  absl::StatusOr<packet::ProgRun> run =
      packet::RunProg((*again)->from_pod_fd(), ToService(packet::kTcpAck));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->verdict, 0);
  EXPECT_EQ(run->output, AtBackend(packet::kTcpAck))
      << packet::DiffFrames(AtBackend(packet::kTcpAck), run->output);
  ct = maps.LookupCt(ForwardKey());
  ASSERT_TRUE(ct.ok() && ct->has_value());
  EXPECT_EQ((*ct)->packets, 2u);
}

TEST_F(PinningTest, OtherMapSizeOverTheSamePinsIsRefused) {
  const DatapathConfig config = Config("node-a");
  {
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    ASSERT_NO_FATAL_FAILURE(WriteService((*dp)->maps()));
  }
  for (auto resize : {+[](DatapathConfig& c) { c.max_ct_entries *= 2; },
                      +[](DatapathConfig& c) { c.max_frontends /= 2; },
                      +[](DatapathConfig& c) { c.max_backends += 1; }}) {
    DatapathConfig other = config;
    resize(other);
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(other);
    ASSERT_FALSE(dp.ok()) << "loaded over pins of another size";
    EXPECT_EQ(dp.status().code(), absl::StatusCode::kFailedPrecondition)
        << dp.status();
    // The error names where the mismatch is and what it is.
    EXPECT_TRUE(absl::StrContains(dp.status().message(), config.pin_dir))
        << dp.status();
    EXPECT_TRUE(absl::StrContains(dp.status().message(), "pinned map yard_"))
        << dp.status();
    EXPECT_TRUE(absl::StrContains(dp.status().message(), "does not match"))
        << dp.status();
    EXPECT_FALSE(absl::StrContains(dp.status().message(), "refused"))
        << dp.status();
  }

  // The refused loads changed nothing: the pins keep size and contents.
  absl::StatusOr<DatapathMaps> pinned =
      DatapathMaps::OpenPinned(config.pin_dir);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  absl::StatusOr<kernel::MapCapacity> capacity = pinned->Capacity();
  ASSERT_TRUE(capacity.ok()) << capacity.status();
  EXPECT_EQ(capacity->ct_entries, config.max_ct_entries);
  EXPECT_EQ(capacity->frontends, config.max_frontends);
  EXPECT_EQ(capacity->backends, config.max_backends);
  absl::StatusOr<yard_backend4> be = pinned->LookupBackend(1);
  ASSERT_TRUE(be.ok()) << be.status();
  EXPECT_EQ(be->addr, IpBe("10.244.1.2"));

  // The original size still loads.
  absl::StatusOr<std::unique_ptr<Datapath>> same = Datapath::Load(config);
  EXPECT_TRUE(same.ok()) << same.status();
}

// ---------------------------------------------------------------------------
// The layout version recorded with the pins (yard_layout).

std::optional<uint32_t> PinnedLayout(const std::string& pin_dir) {
  absl::StatusOr<std::optional<uint32_t>> layout =
      kernel::ReadPinnedLayout(pin_dir);
  EXPECT_TRUE(layout.ok()) << layout.status();
  return layout.ok() ? *layout : std::nullopt;
}

void WritePinnedLayout(const std::string& pin_dir, uint32_t version) {
  absl::StatusOr<kernel::BpfMap> map =
      kernel::BpfMap::OpenPinnedIn(pin_dir, YARD_MAP_LAYOUT);
  ASSERT_TRUE(map.ok()) << map.status();
  yard_layout_value value = {};
  value.version = version;
  ASSERT_OK(map->Update(uint32_t{0}, value));
}

TEST_F(PinningTest, SameLayoutIsAdopted) {
  const DatapathConfig config = Config("node-a");
  {
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    ASSERT_NO_FATAL_FAILURE(WriteService((*dp)->maps()));
  }
  EXPECT_EQ(PinnedLayout(config.pin_dir), kernel::kLayoutVersion);
  absl::StatusOr<std::unique_ptr<Datapath>> again = Datapath::Load(config);
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<yard_backend4> be = (*again)->maps().LookupBackend(1);
  ASSERT_TRUE(be.ok()) << be.status();
  EXPECT_EQ(be->addr, IpBe("10.244.1.2"));
  EXPECT_EQ(PinnedLayout(config.pin_dir), kernel::kLayoutVersion);
}

// Pins of an agent older than the record: adopted as before (libbpf
// checks each map's shape), and recorded from then on.
TEST_F(PinningTest, PinsWithoutALayoutAreAdoptedAndGetOne) {
  const DatapathConfig config = Config("node-a");
  {
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    ASSERT_NO_FATAL_FAILURE(WriteService((*dp)->maps()));
  }
  ASSERT_TRUE(fs::remove(absl::StrCat(config.pin_dir, "/", YARD_MAP_LAYOUT)));
  EXPECT_EQ(PinnedLayout(config.pin_dir), std::nullopt);
  // yardctl reads them as before.
  EXPECT_TRUE(DatapathMaps::OpenPinned(config.pin_dir).ok());

  absl::StatusOr<std::unique_ptr<Datapath>> again = Datapath::Load(config);
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<yard_backend4> be = (*again)->maps().LookupBackend(1);
  ASSERT_TRUE(be.ok()) << be.status();
  EXPECT_EQ(be->addr, IpBe("10.244.1.2"));
  EXPECT_EQ(PinnedLayout(config.pin_dir), kernel::kLayoutVersion);
}

TEST_F(PinningTest, PinsOfAnotherLayoutAreRefusedWithBothVersions) {
  const DatapathConfig config = Config("node-a");
  {
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    ASSERT_NO_FATAL_FAILURE(WriteService((*dp)->maps()));
  }
  const uint32_t other = kernel::kLayoutVersion + 1;
  ASSERT_NO_FATAL_FAILURE(WritePinnedLayout(config.pin_dir, other));

  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_FALSE(dp.ok()) << "adopted pins of another layout";
  EXPECT_EQ(dp.status().code(), absl::StatusCode::kFailedPrecondition)
      << dp.status();
  const std::string message(dp.status().message());
  EXPECT_TRUE(absl::StrContains(
      message, absl::StrCat("the maps pinned in ", config.pin_dir,
                            " were made by an agent of layout ", other,
                            "; this agent is layout ", kernel::kLayoutVersion)))
      << message;
  EXPECT_TRUE(
      absl::StrContains(message, absl::StrCat("remove ", config.pin_dir)))
      << message;
  EXPECT_TRUE(absl::StrContains(message,
                                absl::StrCat("run an agent of layout ", other)))
      << message;

  // yardctl's readers refuse them too, rather than misread them.
  absl::StatusOr<DatapathMaps> pinned =
      DatapathMaps::OpenPinned(config.pin_dir);
  ASSERT_FALSE(pinned.ok());
  EXPECT_TRUE(absl::StrContains(
      pinned.status().message(),
      absl::StrCat("are of layout ", other, "; this yardctl reads layout ",
                   kernel::kLayoutVersion)))
      << pinned.status();

  // Nothing was touched: the record and the entries are as they were.
  EXPECT_EQ(PinnedLayout(config.pin_dir), other);
  ASSERT_NO_FATAL_FAILURE(
      WritePinnedLayout(config.pin_dir, kernel::kLayoutVersion));
  absl::StatusOr<std::unique_ptr<Datapath>> same = Datapath::Load(config);
  ASSERT_TRUE(same.ok()) << same.status();
  absl::StatusOr<yard_backend4> be = (*same)->maps().LookupBackend(1);
  ASSERT_TRUE(be.ok()) << be.status();
  EXPECT_EQ(be->addr, IpBe("10.244.1.2"));
}

// ---------------------------------------------------------------------------
// Kernels that refuse a program. refuse_for_test makes the kernel refuse
// it for real (loaded as a socket filter, the verifier rejects it), so
// this runs on every kernel, whatever it allows.

kernel::FeatureSet PinnedFeatures(const std::string& pin_dir) {
  absl::StatusOr<std::optional<kernel::FeatureSet>> f =
      kernel::ReadPinnedFeatures(pin_dir);
  EXPECT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f.ok() && f->has_value()) << "no yard_features pinned";
  return f.ok() && f->has_value() ? **f : kernel::FeatureSet();
}

TEST_F(PinningTest, RefusedXdpTurnsXdpOffAndTheRestLoads) {
  DatapathConfig config = Config("node-a");
  config.refuse_for_test = {"yard_from_outside"};
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_TRUE(dp.ok()) << dp.status();
  const kernel::FeatureSet& f = (*dp)->features();
  EXPECT_EQ(f.state(kernel::Feature::kXdp), YARD_FEATURE_OFF_REFUSED);
  EXPECT_TRUE(
      absl::StartsWith(f.why(kernel::Feature::kXdp), "refused by the kernel: "))
      << f.why(kernel::Feature::kXdp);
  EXPECT_TRUE(f.on(kernel::Feature::kCoarseClock));
  EXPECT_TRUE(f.on(kernel::Feature::kNorthSouth));
  EXPECT_GE((*dp)->from_pod_fd(), 0);
  EXPECT_GE((*dp)->outside_ingress_fd(), 0);
  EXPECT_LT((*dp)->from_outside_fd(), 0) << "XDP loaded although refused";
  // yardctl status reads the same from the pins.
  const kernel::FeatureSet pinned = PinnedFeatures(config.pin_dir);
  EXPECT_EQ(pinned.state(kernel::Feature::kXdp), YARD_FEATURE_OFF_REFUSED);
  EXPECT_EQ(pinned.why(kernel::Feature::kXdp).substr(0, 60),
            f.why(kernel::Feature::kXdp).substr(0, 60));
  EXPECT_EQ(pinned.state(kernel::Feature::kNorthSouth), YARD_FEATURE_ON);
}

TEST_F(PinningTest, RefusedNorthSouthLeavesPodsServed) {
  DatapathConfig config = Config("node-a");
  config.refuse_for_test = {"yard_to_outside"};
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_TRUE(dp.ok()) << dp.status();
  const kernel::FeatureSet& f = (*dp)->features();
  EXPECT_EQ(f.state(kernel::Feature::kNorthSouth), YARD_FEATURE_OFF_REFUSED);
  EXPECT_FALSE(f.on(kernel::Feature::kXdp)) << "XDP needs tc beside it";
  EXPECT_GE((*dp)->from_pod_fd(), 0);
  EXPECT_GE((*dp)->to_pod_fd(), 0);
  absl::StatusOr<std::optional<kernel::XdpMode>> attached =
      (*dp)->AttachExternalDevice(1);
  ASSERT_FALSE(attached.ok());
  EXPECT_TRUE(absl::StrContains(attached.status().message(), "north-south"))
      << attached.status();
}

// A kernel that refuses the pod programs only with the bypass's helpers
// in them: the bypass goes, the pod programs load without it.
TEST_F(PinningTest, RefusedBypassTurnsTheBypassOffAndPodsAreServed) {
  DatapathConfig config = Config("node-a");
  config.refuse_for_test = {"yard_from_pod@stack_bypass"};
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_TRUE(dp.ok()) << dp.status();
  const kernel::FeatureSet& f = (*dp)->features();
  EXPECT_EQ(f.state(kernel::Feature::kStackBypass), YARD_FEATURE_OFF_REFUSED);
  EXPECT_TRUE(f.on(kernel::Feature::kXdp));
  EXPECT_TRUE(f.on(kernel::Feature::kCoarseClock));
  EXPECT_GE((*dp)->from_pod_fd(), 0);
  EXPECT_GE((*dp)->to_pod_fd(), 0);
  EXPECT_EQ(PinnedFeatures(config.pin_dir).state(kernel::Feature::kStackBypass),
            YARD_FEATURE_OFF_REFUSED);
}

TEST_F(PinningTest, RefusedMaglevTemplateTurnsMaglevMmapOffAndTablesWork) {
  DatapathConfig config = Config("node-a");
  config.max_maglev_tables = 4;
  config.refuse_for_test = {"yard_maglev.inner@maglev_mmap"};
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_TRUE(dp.ok()) << dp.status();
  const kernel::FeatureSet& f = (*dp)->features();
  EXPECT_EQ(f.state(kernel::Feature::kMaglevMmap), YARD_FEATURE_OFF_REFUSED);
  EXPECT_TRUE(
      absl::StrContains(f.why(kernel::Feature::kMaglevMmap), "yard_maglev"))
      << f.why(kernel::Feature::kMaglevMmap);
  EXPECT_TRUE(f.on(kernel::Feature::kStackBypass));
  // Plain tables, written and replaced.
  for (uint32_t backend : {3u, 4u}) {
    const std::vector<uint32_t> table = {2, backend, backend};
    ASSERT_OK((*dp)->maps().PutMaglevTable(1, table));
    absl::StatusOr<std::vector<uint32_t>> read =
        (*dp)->maps().ReadMaglevTable(1);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, table);
  }
}

TEST_F(PinningTest, RefusedPodProgramFailsWithTheKernelsReason) {
  DatapathConfig config = Config("node-a");
  config.refuse_for_test = {"yard_from_pod"};
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_FALSE(dp.ok());
  EXPECT_EQ(dp.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(dp.status().message(),
                                "the kernel refused program yard_from_pod: "))
      << dp.status();
  EXPECT_FALSE(absl::StrContains(dp.status().message(), "pinned map"))
      << dp.status();
  // Nothing was left pinned by the failed loads.
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(config.pin_dir, ec)) << config.pin_dir;
}

TEST_F(PinningTest, ForcedOffFeaturesAreOffAndSaySo) {
  DatapathConfig config = Config("node-a");
  config.features_off = {kernel::Feature::kXdp, kernel::Feature::kCoarseClock};
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_TRUE(dp.ok()) << dp.status();
  EXPECT_LT((*dp)->from_outside_fd(), 0);
  const kernel::FeatureSet pinned = PinnedFeatures(config.pin_dir);
  EXPECT_EQ(pinned.state(kernel::Feature::kXdp), YARD_FEATURE_OFF_FORCED);
  EXPECT_EQ(pinned.state(kernel::Feature::kCoarseClock),
            YARD_FEATURE_OFF_FORCED);
  EXPECT_EQ(pinned.why(kernel::Feature::kXdp), "turned off by configuration");
  EXPECT_EQ(pinned.state(kernel::Feature::kNorthSouth), YARD_FEATURE_ON);
  EXPECT_EQ(pinned.state(kernel::Feature::kStackBypass), YARD_FEATURE_ON);
  // The maps work as with every feature on.
  ASSERT_NO_FATAL_FAILURE(WriteService((*dp)->maps()));
}

// Pins from an agent whose yard_features had one entry per feature it
// knew (three): adopted, what fits recorded, the newer feature unknown.
TEST_F(PinningTest, FeaturesMapOfAnOlderAgentIsAdopted) {
  DatapathConfig config = Config("node-a");
  std::error_code ec;
  fs::create_directories(config.pin_dir, ec);
  ASSERT_FALSE(ec) << ec.message();
  ScopedFd old(bpf_map_create(BPF_MAP_TYPE_ARRAY, YARD_MAP_FEATURES,
                              sizeof(uint32_t), sizeof(yard_feature_value),
                              /*max_entries=*/3, nullptr));
  ASSERT_TRUE(old.valid()) << strerror(errno);
  const std::string path = absl::StrCat(config.pin_dir, "/", YARD_MAP_FEATURES);
  ASSERT_EQ(bpf_obj_pin(old.get(), path.c_str()), 0) << strerror(errno);

  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_TRUE(dp.ok()) << dp.status();
  EXPECT_TRUE((*dp)->features().on(kernel::Feature::kStackBypass));
  const kernel::FeatureSet pinned = PinnedFeatures(config.pin_dir);
  EXPECT_EQ(pinned.state(kernel::Feature::kNorthSouth), YARD_FEATURE_ON);
  EXPECT_EQ(pinned.state(kernel::Feature::kStackBypass), YARD_FEATURE_UNKNOWN);
}

TEST_F(PinningTest, PinFolderOffBpffsSaysWhatToDo) {
  DatapathConfig config = Config("node-a");
  config.pin_dir = absl::StrCat(testing::TempDir(), "/not-bpffs/node-a");
  absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
  ASSERT_FALSE(dp.ok());
  EXPECT_EQ(dp.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(dp.status().message(), "not on a bpffs mount"))
      << dp.status();
  EXPECT_TRUE(absl::StrContains(dp.status().message(), "mount -t bpf"))
      << dp.status();
  EXPECT_TRUE(absl::StrContains(dp.status().message(), "nsenter --net="))
      << dp.status();
}

TEST_F(PinningTest, NodesDoNotShareMaps) {
  absl::StatusOr<std::unique_ptr<Datapath>> a =
      Datapath::Load(Config("node-a"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_NO_FATAL_FAILURE(WriteService((*a)->maps()));
  absl::StatusOr<std::unique_ptr<Datapath>> b =
      Datapath::Load(Config("node-b"));
  ASSERT_TRUE(b.ok()) << b.status();
  auto svc = (*b)->maps().LookupFrontend(
      kernel::ServiceKey(IpBe("10.96.0.10"), PortBe(80), packet::kProtoTcp));
  ASSERT_TRUE(svc.ok()) << svc.status();
  EXPECT_FALSE(svc->has_value());
}

TEST_F(PinningTest, CleanupRemovesPinsAndStaleFolders) {
  std::string root;
  {
    ScopedPinRoot scoped;
    root = scoped.root();
    DatapathConfig config = Config("node-c");
    config.pin_dir = scoped.Node("node-c");
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    ASSERT_TRUE(fs::exists(absl::StrCat(config.pin_dir, "/", YARD_MAP_CT4)));
  }
  EXPECT_FALSE(fs::exists(root));

  // A folder left by a process that no longer exists: no pid reaches
  // pid_max, so one at pid_max is certainly gone.
  long pid_max = 4194304;
  if (FILE* f = fopen("/proc/sys/kernel/pid_max", "r")) {
    if (fscanf(f, "%ld", &pid_max) != 1) pid_max = 4194304;
    fclose(f);
  }
  const std::string stale = absl::StrCat(kBpffs, "/", kPrefix, pid_max);
  ASSERT_TRUE(fs::create_directories(stale + "/node-x"));
  RemoveStaleDirs();
  EXPECT_FALSE(fs::exists(stale));
}

}  // namespace
}  // namespace switchyard
