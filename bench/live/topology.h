// SPDX-License-Identifier: Apache-2.0
// The namespaces one benchmark case runs in, created fresh for every case
// so that rules, conntrack entries and attached programs never carry over.
// Endpoints on this node (Site::kLocal):
//
//   client  eth0 10.192.0.2/24 ══ vcl    ┐ node (ip_forward, rp_filter off)
//   out     eth0 192.168.77.2/24 ══ vext ┤   vcl 10.192.0.1/24
//   be<b>   eth0 10.126.<b>.2/30 ══ vb<b> ┘   vext 192.168.77.1/24
//           local 10.<128+b>.0.0/16           vb<b> 10.126.<b>.1/30
//
// The node routes 10.<128+b>.0.0/16 (backend b's endpoint addresses) to
// backend b, 10.192.0.0/10 (the generator's pod sources) to the client pod
// and 100.64.0.0/10 (its outside sources) to `out`. A backend owns its
// whole /16 through a local route, so one server socket there accepts for
// every endpoint address. ClusterIP frames are injected on vcl: to the
// node they arrive from a pod, exactly like the client's own packets.
// NodePort frames are injected on vext, the node's external device: they
// arrive from outside, to the node's address 192.168.77.1.
//
// Endpoints on another node (Site::kRemote), one-armed:
//
//   node  vext 192.168.77.1 ══ eth0 out vn2 10.127.0.1/30 ══ eth0 n2
//                                                   n2 vb<b> ══ eth0 be<b>
//
// The node has no backends: it routes 10.128.0.0/9 back out vext to
// `out`, which routes it on to node n2, which holds the backends as above.
#ifndef SWITCHYARD_BENCH_LIVE_TOPOLOGY_H_
#define SWITCHYARD_BENCH_LIVE_TOPOLOGY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/live/frame_recipe.h"
#include "tests/netns/netns.h"

namespace switchyard::bench::live {

inline constexpr char kInjectDev[] = "vcl";
inline constexpr char kExternalDev[] = "vext";
// The node's external address: its NodePorts, and the source of flows it
// sends on to other nodes (Switchyard's SNAT address).
inline constexpr char kNodeAddr[] = "192.168.77.1";
inline constexpr char kOutsideAddr[] = "192.168.77.2";
// Outside clients' sources: a /10 the node routes to `out`.
inline constexpr char kOutsideSourceBase[] = "100.64.0.0";
inline constexpr char kClientAddr[] = "10.192.0.2";
// The generator's sources: a /10 the node routes to the client.
inline constexpr char kSourceBase[] = "10.192.0.0";
// Pod addresses, clients and endpoints alike: traffic from here to a
// ClusterIP is not masqueraded (kube-proxy's --cluster-cidr).
inline constexpr char kClusterCidr[] = "10.128.0.0/9";
inline constexpr char kServiceCidr[] = "10.96.0.0/12";

// Where the endpoints are.
enum class Site { kLocal, kRemote };

class Topology {
 public:
  // `tag` keeps names of successive cases apart ("sw", "ipt", ...);
  // backends is 1..64.
  static absl::StatusOr<std::unique_ptr<Topology>> Create(
      const std::string& tag, int backends, Site site = Site::kLocal);

  Site site() const { return site_; }
  const netns::Namespace& node() const { return *node_; }
  // The client pod: kLocal only.
  const netns::Namespace& client() const { return *client_; }
  const netns::Namespace& outside() const { return *outside_; }
  // Where the backends' veths end: the node, or n2.
  const netns::Namespace& backend_host() const {
    return node2_ ? *node2_ : *node_;
  }
  const netns::Namespace& backend(int i) const { return *backends_[i]; }
  int backend_count() const { return static_cast<int>(backends_.size()); }

  int inject_ifindex() const { return inject_ifindex_; }      // vcl (kLocal)
  const Mac& inject_mac() const { return inject_mac_; }       // node side, vcl
  const Mac& client_mac() const { return client_mac_; }       // client's eth0
  int client_ifindex() const { return client_ifindex_; }      // client's eth0
  int external_ifindex() const { return external_ifindex_; }  // vext
  const Mac& external_mac() const { return external_mac_; }   // node, vext
  const Mac& outside_mac() const { return outside_mac_; }     // out's eth0
  int outside_ifindex() const { return outside_ifindex_; }    // out's eth0
  // Ifindex of eth0 in backend i (where the sink goes).
  int backend_ifindex(int i) const { return backend_ifindex_[i]; }

  // The first address of backend b's endpoint range, host order.
  static uint32_t EndpointBase(int b);

 private:
  Topology() = default;

  // The steps of Create; each adds namespaces, links and routes.
  absl::Status MakeNamespace(const std::string& suffix,
                             std::unique_ptr<netns::Namespace>& slot);
  absl::Status AddNodeAndOutside();
  absl::Status AddLocalClient();
  absl::Status AddSecondNode();
  absl::Status AddBackend(const netns::Namespace& host, int b);
  absl::Status ReadAddresses();

  std::string tag_;  // in every namespace's name
  // Destroyed in reverse: backends first, the node last.
  Site site_ = Site::kLocal;
  std::unique_ptr<netns::Namespace> node_;
  std::unique_ptr<netns::Namespace> client_;
  std::unique_ptr<netns::Namespace> outside_;
  std::unique_ptr<netns::Namespace> node2_;
  std::vector<std::unique_ptr<netns::Namespace>> backends_;
  int inject_ifindex_ = 0;
  Mac inject_mac_ = {};
  Mac client_mac_ = {};
  int client_ifindex_ = 0;
  int external_ifindex_ = 0;
  Mac external_mac_ = {};
  Mac outside_mac_ = {};
  int outside_ifindex_ = 0;
  std::vector<int> backend_ifindex_;
};

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_TOPOLOGY_H_
