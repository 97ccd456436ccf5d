// SPDX-License-Identifier: Apache-2.0
// What one node's datapath should hold, before any id is assigned: the
// translator's output and the programmer's input. Ids (backend, backend
// set, reverse NAT) are the programmer's business, so that this stays a
// pure function of cluster state and equal states compare equal.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_DESIRED_STATE_H_
#define SWITCHYARD_CONTROL_TRANSLATE_DESIRED_STATE_H_

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace switchyard::translate {

// Addresses and ports in network byte order, as the maps hold them.
struct BackendAddr {
  uint32_t addr_be = 0;
  uint16_t port_be = 0;
  auto operator<=>(const BackendAddr&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const BackendAddr& a) {
    return H::combine(std::move(h), a.addr_be, a.port_be);
  }
};

struct FrontendKey {
  uint32_t addr_be = 0;
  uint16_t port_be = 0;  // 0 with proto 0: the address's wildcard entry
  uint8_t proto = 0;
  uint8_t scope = 0;  // enum yard_scope: pods' view or outside clients'
  auto operator<=>(const FrontendKey&) const = default;
  bool is_wildcard() const { return port_be == 0 && proto == 0; }
};

// The endpoints of one service port as this node should use them.
struct BackendSet {
  // New flows choose among these (sorted, no duplicates).
  std::vector<BackendAddr> eligible;
  // Terminating endpoints that are not eligible: kept in the backend map so
  // connections already on them finish, never chosen for new flows.
  std::vector<BackendAddr> draining;
  // Maglev (the set's frontends use YARD_POLICY_MAGLEV): the size of its
  // lookup table, a prime; 0 for every other policy. The table itself is
  // built when the set is programmed, from `eligible` and `weights`.
  uint32_t maglev_table_size = 0;
  // Maglev weights, one per entry of `eligible`; empty: all 1.
  std::vector<uint32_t> weights;
  bool operator==(const BackendSet&) const = default;
};

// A source prefix a frontend admits (loadBalancerSourceRanges).
struct SourceRange {
  uint32_t addr_be = 0;  // network bits only
  uint8_t prefix_len = 0;
  auto operator<=>(const SourceRange&) const = default;
};

struct Frontend {
  std::string set;      // key in DesiredState::sets; "" for a wildcard
  uint8_t flags = 0;    // enum yard_svc_flags
  uint8_t policy = 0;   // enum yard_policy
  std::string service;  // "namespace/name:port/PROTO", for people
  // With YARD_SVC_F_SOURCE_RANGES: the only sources admitted (sorted).
  std::vector<SourceRange> source_ranges;
  // With YARD_SVC_F_AFFINITY: sessionAffinity's timeout, 1..86400 s.
  // Last, so positional initializers of the fields above stay valid.
  uint32_t aff_timeout_s = 0;
  bool operator==(const Frontend&) const = default;
};

struct DesiredState {
  std::map<FrontendKey, Frontend> frontends;
  std::map<std::string, BackendSet> sets;
  bool operator==(const DesiredState&) const = default;
};

// Which parts of a DesiredState may differ from what was programmed: the
// programmer reconciles only these, so one endpoint change costs work in
// proportion to that service, not to the cluster.
struct DesiredChange {
  bool everything = false;  // reconcile all; also removes adopted leftovers
  std::set<FrontendKey> frontends;
  std::set<std::string> sets;
};

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_DESIRED_STATE_H_
