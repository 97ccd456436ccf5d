// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: control/translate on cluster states made from the
// fuzz bytes. The bytes choose a snapshot and a run of deltas (gaps
// included) over small pools of names, addresses, ports and spellings, so
// objects collide, reference each other and carry odd values (IPv6,
// "None", negative ports, unknown protocols) as a real API server can.
//
// What must hold, from translate.h and desired_state.h:
//   - nothing crashes (TranslateService, the cache, health checks);
//   - the cache kept up to date service by service (Update with the
//     services AffectedServices names) equals a Rebuild from scratch: the
//     desired state is a pure function of the cluster state;
//   - Update's DesiredChange names every frontend and set that changed;
//   - a frontend names a set that exists, "" only for a wildcard;
//   - a set's eligible backends are sorted without duplicates, draining
//     ones are not eligible, and every backend is an endpoint's address.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "control/common/log.h"
#include "control/translate/cluster_state.h"
#include "control/translate/translate.h"
#include "google/protobuf/stubs/logging.h"

namespace {

namespace v1 = switchyard::v1;
namespace tr = switchyard::translate;

template <typename T, size_t N>
const T& Pick(FuzzedDataProvider& in, const T (&pool)[N]) {
  return pool[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

const char* const kNamespaces[] = {"", "default", "kube-system"};
const char* const kNames[] = {"a", "b", "c"};
const char* const kNodes[] = {"n1", "n2", ""};
const char* const kTypes[] = {
    "", "ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "bogus"};
const char* const kServiceIps[] = {"10.96.0.1", "10.96.0.2",      "None",
                                   "",          "fd00::1",        "10.96.0",
                                   "0.0.0.0",   "255.255.255.255"};
const char* const kProtocols[] = {"", "TCP", "UDP", "SCTP", "tcp"};
const int32_t kPorts[] = {80, 443, 53, 0, -1, 65535, 65536, 8080};
const int32_t kNodePorts[] = {0, 30080, 30081, -5, 70000};
const char* const kPortNames[] = {"", "http", "dns"};
const char* const kPolicies[] = {"", "Cluster", "Local", "bogus"};
const char* const kRanges[] = {"10.0.0.0/8", "1.2.3.4/32", "10.0.0.1/8",
                               "0.0.0.0/0",  "fd00::/8",   "bad"};
const char* const kEndpointIps[] = {
    "10.1.0.1", "10.1.0.2", "10.1.0.3", "10.96.0.1", "fd00::2", "x", ""};
const char* const kAddressTypes[] = {"IPv4", "IPv6", "FQDN", ""};

void FillMeta(FuzzedDataProvider& in, v1::ObjectMeta& meta, bool namespaced) {
  meta.set_name(Pick(in, kNames));
  if (namespaced) meta.set_namespace_(Pick(in, kNamespaces));
}

void FillService(FuzzedDataProvider& in, v1::Service& service) {
  FillMeta(in, *service.mutable_metadata(), true);
  v1::ServiceSpec& spec = *service.mutable_spec();
  spec.set_type(Pick(in, kTypes));
  spec.set_cluster_ip(Pick(in, kServiceIps));
  for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
    spec.add_cluster_ips(Pick(in, kServiceIps));
  }
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    v1::ServicePort& port = *spec.add_ports();
    port.set_name(Pick(in, kPortNames));
    port.set_protocol(Pick(in, kProtocols));
    port.set_port(Pick(in, kPorts));
    switch (in.ConsumeIntegralInRange(0, 2)) {
      case 0:
        break;
      case 1:
        port.mutable_target_port()->set_number(Pick(in, kPorts));
        break;
      case 2:
        port.mutable_target_port()->set_name(Pick(in, kPortNames));
    }
    port.set_node_port(Pick(in, kNodePorts));
  }
  for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
    spec.add_external_ips(Pick(in, kServiceIps));
  }
  for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
    service.mutable_status()->add_load_balancer_ingress()->set_ip(
        Pick(in, kServiceIps));
  }
  for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
    spec.add_load_balancer_source_ranges(Pick(in, kRanges));
  }
  spec.set_external_traffic_policy(Pick(in, kPolicies));
  spec.set_internal_traffic_policy(Pick(in, kPolicies));
  spec.set_publish_not_ready_addresses(in.ConsumeBool());
  spec.set_health_check_node_port(Pick(in, kNodePorts));
  spec.set_session_affinity(in.ConsumeBool() ? "ClientIP" : "");
}

void FillSlice(FuzzedDataProvider& in, v1::EndpointSlice& slice) {
  FillMeta(in, *slice.mutable_metadata(), true);
  if (in.ConsumeBool()) {
    (*slice.mutable_metadata()->mutable_labels())[tr::kServiceNameLabel] =
        Pick(in, kNames);
  }
  slice.set_address_type(Pick(in, kAddressTypes));
  for (int n = in.ConsumeIntegralInRange(0, 4); n > 0; --n) {
    v1::Endpoint& endpoint = *slice.add_endpoints();
    for (int a = in.ConsumeIntegralInRange(0, 2); a > 0; --a) {
      endpoint.add_addresses(Pick(in, kEndpointIps));
    }
    uint8_t conditions = in.ConsumeIntegral<uint8_t>();
    v1::EndpointConditions& c = *endpoint.mutable_conditions();
    if (conditions & 1) c.set_ready(conditions & 2);
    if (conditions & 4) c.set_serving(conditions & 8);
    if (conditions & 16) c.set_terminating(conditions & 32);
    endpoint.set_node_name(Pick(in, kNodes));
  }
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    v1::EndpointPort& port = *slice.add_ports();
    port.set_name(Pick(in, kPortNames));
    port.set_protocol(Pick(in, kProtocols));
    port.set_port(Pick(in, kPorts));
  }
}

v1::WatchResponse MakeUpdate(FuzzedDataProvider& in, uint64_t version,
                             bool snapshot) {
  v1::WatchResponse update;
  update.set_version(version);
  update.set_snapshot(snapshot);
  for (int n = in.ConsumeIntegralInRange(0, 4); n > 0; --n) {
    v1::Object& object = *update.add_upserts();
    switch (in.ConsumeIntegralInRange(0, 2)) {
      case 0:
        FillService(in, *object.mutable_service());
        break;
      case 1:
        FillSlice(in, *object.mutable_endpoint_slice());
        break;
      case 2: {
        v1::Node& node = *object.mutable_node();
        node.mutable_metadata()->set_name(Pick(in, kNodes));
        v1::NodeAddress& address = *node.add_addresses();
        address.set_type("InternalIP");
        address.set_address(Pick(in, kEndpointIps));
      }
    }
  }
  if (!snapshot) {
    for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; --n) {
      v1::ObjectRef& ref = *update.add_deletes();
      ref.set_kind(static_cast<v1::Kind>(in.ConsumeIntegralInRange(1, 3)));
      ref.set_namespace_(Pick(in, kNamespaces));
      ref.set_name(Pick(in, kNames));
    }
  }
  return update;
}

[[noreturn]] void Fail(const char* what, const v1::WatchResponse& update) {
  std::fprintf(stderr, "invariant broken: %s\nlast update: %s\n", what,
               update.ShortDebugString().c_str());
  std::abort();
}

// Every IPv4 endpoint address the state holds, as translation parses them.
std::set<uint32_t> EndpointAddresses(const tr::ClusterState& state) {
  std::set<uint32_t> out;
  for (const auto& [key, slice] : state.endpoint_slices()) {
    for (const tr::SliceEndpoint& endpoint : slice.endpoints) {
      out.insert(endpoint.addr_be);
    }
  }
  return out;
}

void CheckShape(const tr::ClusterState& state, const tr::DesiredState& desired,
                const v1::WatchResponse& update) {
  for (const auto& [key, frontend] : desired.frontends) {
    if (frontend.set.empty() != key.is_wildcard()) {
      Fail("a frontend has no set but is not a wildcard, or the reverse",
           update);
    }
    if (!frontend.set.empty() && !desired.sets.contains(frontend.set)) {
      Fail("a frontend names a set that is not there", update);
    }
  }
  std::set<uint32_t> endpoints = EndpointAddresses(state);
  for (const auto& [name, set] : desired.sets) {
    for (size_t i = 1; i < set.eligible.size(); ++i) {
      if (!(set.eligible[i - 1] < set.eligible[i])) {
        Fail("eligible backends not sorted or duplicated", update);
      }
    }
    std::set<tr::BackendAddr> eligible(set.eligible.begin(),
                                       set.eligible.end());
    for (const tr::BackendAddr& backend : set.draining) {
      if (eligible.contains(backend))
        Fail("a draining backend is eligible", update);
    }
    for (const auto* list : {&set.eligible, &set.draining}) {
      for (const tr::BackendAddr& backend : *list) {
        if (!endpoints.contains(backend.addr_be)) {
          Fail("a backend is no endpoint's address", update);
        }
      }
    }
  }
}

// Whatever differs between `before` and `after` must be in `change`.
void CheckChange(const tr::DesiredState& before, const tr::DesiredState& after,
                 const tr::DesiredChange& change,
                 const v1::WatchResponse& update) {
  auto check = [&](const auto& old_map, const auto& new_map, const auto& named,
                   const char* what) {
    for (const auto& [key, value] : old_map) {
      auto it = new_map.find(key);
      if ((it == new_map.end() || !(it->second == value)) &&
          !named.contains(key)) {
        Fail(what, update);
      }
    }
    for (const auto& [key, value] : new_map) {
      if (!old_map.contains(key) && !named.contains(key)) Fail(what, update);
    }
  };
  check(before.frontends, after.frontends, change.frontends,
        "a frontend changed that the DesiredChange does not name");
  check(before.sets, after.sets, change.sets,
        "a set changed that the DesiredChange does not name");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  switchyard::log_internal::SetMinSeverity(
      switchyard::log_internal::Severity::kError);
  // protobuf logs each string field that is not UTF-8; parsing fails
  // either way, and the log is noise at this rate.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  tr::NodeContext node{"n1", {0x0100a8c0 /* 192.168.0.1 */}};
  tr::ClusterState state;
  tr::DesiredStateCache incremental;
  uint64_t version = 1 + in.ConsumeIntegralInRange(0, 3);
  v1::WatchResponse snapshot = MakeUpdate(in, version, true);
  if (!state.Apply(snapshot).ok()) Fail("a snapshot was refused", snapshot);
  incremental.Rebuild(state, node);
  CheckShape(state, incremental.desired(), snapshot);

  while (in.remaining_bytes() > 0) {
    // Mostly the next version; sometimes a gap or a repeat, which Apply
    // must refuse without changing anything.
    uint64_t next = version + 1;
    uint8_t skew = in.ConsumeIntegralInRange(0, 15);
    if (skew == 14) next = version + 2;
    if (skew == 15) next = version;
    v1::WatchResponse update = MakeUpdate(in, next, false);
    std::set<std::string> affected = state.AffectedServices(update);
    if (!state.Apply(update).ok()) {
      if (next == version + 1) Fail("a consecutive delta was refused", update);
      continue;
    }
    version = next;
    tr::DesiredState before = incremental.desired();
    tr::DesiredChange change = incremental.Update(state, node, affected);
    CheckChange(before, incremental.desired(), change, update);

    tr::DesiredStateCache full;
    full.Rebuild(state, node);
    if (!(full.desired() == incremental.desired())) {
      Fail("updating service by service differs from a rebuild", update);
    }
    CheckShape(state, full.desired(), update);
    (void)incremental.skipped();
    (void)tr::HealthChecks(state, node);
  }
  return 0;
}
