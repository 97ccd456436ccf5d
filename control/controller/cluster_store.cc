// SPDX-License-Identifier: Apache-2.0
#include "control/controller/cluster_store.h"

#include <arpa/inet.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "control/common/ipv4.h"
#include "control/common/log.h"
#include "control/controller/lb_annotations.h"
#include "control/controller/service_warnings.h"
#include "control/controller/slice_relations.h"
#include "control/controller/state_id.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"

namespace switchyard::controller {
namespace {

bool NeedsNodePorts(const v1::ServiceSpec& spec) {
  return spec.type() == kTypeNodePort || spec.type() == kTypeLoadBalancer;
}

// Only load balancers probe nodes, so only they get one (Kubernetes does
// not allocate one for a NodePort Service with policy Local either).
bool NeedsHealthCheckPort(const v1::ServiceSpec& spec) {
  return spec.type() == kTypeLoadBalancer &&
         spec.external_traffic_policy() == kPolicyLocal;
}

// The clusterIP in host order, when it is an address (not "", "None").
std::optional<uint32_t> ClusterIPHost(const v1::ServiceSpec& spec) {
  absl::StatusOr<uint32_t> addr = ParseIpv4(spec.cluster_ip());
  if (!addr.ok()) return std::nullopt;
  return ntohl(*addr);
}

// Every value `service` holds in the two allocators, each once.
template <typename Fn>
void ForEachAllocation(const v1::Service& service, RangeAllocator& ips,
                       RangeAllocator& ports, Fn fn) {
  if (std::optional<uint32_t> ip = ClusterIPHost(service.spec())) fn(ips, *ip);
  absl::flat_hash_set<int> seen;
  for (const v1::ServicePort& port : service.spec().ports()) {
    if (port.node_port() != 0 && seen.insert(port.node_port()).second) {
      fn(ports, static_cast<uint32_t>(port.node_port()));
    }
  }
  int health = service.spec().health_check_node_port();
  if (health != 0 && seen.insert(health).second) {
    fn(ports, static_cast<uint32_t>(health));
  }
}

// The stored port an update's port `port` continues: same name, else same
// port number and protocol (Kubernetes' matching for kept nodePorts).
const v1::ServicePort* MatchOldPort(const v1::ServiceSpec& old_spec,
                                    const v1::ServicePort& port) {
  for (const v1::ServicePort& old : old_spec.ports()) {
    if (old.name() == port.name()) return &old;
  }
  for (const v1::ServicePort& old : old_spec.ports()) {
    if (old.port() == port.port() && old.protocol() == port.protocol()) {
      return &old;
    }
  }
  return nullptr;
}

bool SamePortNames(const v1::Service& a, const v1::Service& b) {
  const auto& x = a.spec().ports();
  const auto& y = b.spec().ports();
  return std::equal(x.begin(), x.end(), y.begin(), y.end(),
                    [](const v1::ServicePort& p, const v1::ServicePort& q) {
                      return p.name() == q.name();
                    });
}

// Logs what a write left unused, a few lines at most: a write of thousands
// of slices ahead of their Services would otherwise flood the log.
void LogUnusedSliceParts(const std::vector<std::string>& lines) {
  constexpr size_t kMaxLines = 5;
  for (size_t i = 0; i < lines.size() && i < kMaxLines; ++i) {
    LOG(WARNING) << "cluster store: " << lines[i];
  }
  if (lines.size() > kMaxLines) {
    LOG(WARNING) << "cluster store: ... and " << lines.size() - kMaxLines
                 << " more unused EndpointSlice parts in this write";
  }
}

void AddUpsert(v1::WatchResponse& response, const v1::Object& object,
               ClusterStore::Upserts upserts) {
  if (upserts == ClusterStore::Upserts::kObjects) {
    *response.add_upserts() = object;
    return;
  }
  google::protobuf::UnknownFieldSet& raw =
      *response.GetReflection()->MutableUnknownFields(&response);
  object.SerializeToString(
      raw.AddLengthDelimited(v1::WatchResponse::kUpsertsFieldNumber));
}

std::string NoObjectMessage(int index) {
  return absl::StrCat("objects[", index,
                      "]: no object set (service, endpoint_slice or node)");
}

}  // namespace

// One Apply in progress: the batch, normalized, and the allocator changes
// made for it, undone unless Commit() is called. Allocators are changed in
// place (with an undo log) rather than copied, because a copy of the
// ClusterIP bitmap per write would cost more than the write itself.
class ClusterStore::Write {
 public:
  struct Item {
    ObjectKey key;
    v1::Object object;
    const v1::Object* stored = nullptr;  // the version it replaces
    bool changed = true;
  };

  Write(ClusterStore& store, std::vector<Item>& items,
        const absl::flat_hash_map<ObjectKey, size_t>& index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(store.mu_)
      : store_(store), items_(items), index_(index) {}
  ~Write() {
    if (committed_) return;
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      if (it->was_taken) {
        it->allocator->Take(it->value);
      } else {
        it->allocator->Release(it->value);
      }
    }
  }
  void Commit() { committed_ = true; }

  // Finds what each object replaces, then allocates and checks clusterIPs
  // and nodePorts for every Service in the batch, in three passes so the result
  // does not depend on batch order more than it must: free what the batch's
  // services held, claim every value a writer asked for (or an update keeps),
  // then hand out the lowest free value for the rest. A service asking for
  // 30000 thus never loses it to another service's automatic pick in the same
  // write.
  absl::Status AllocateServices() ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_.mu_) {
    for (Item& item : items_) {
      auto stored = store_.objects_.find(item.key);
      if (stored != store_.objects_.end()) item.stored = &stored->second;
    }
    for (Item& item : items_) {
      if (item.key.kind != v1::KIND_SERVICE || item.stored == nullptr) continue;
      ForEachAllocation(item.stored->service(), store_.cluster_ips_,
                        store_.node_ports_,
                        [&](RangeAllocator& a, uint32_t v) { Release(a, v); });
    }
    for (Item& item : items_) {
      if (item.key.kind != v1::KIND_SERVICE) continue;
      if (absl::Status s = Claim(item); !s.ok()) return s;
    }
    for (Item& item : items_) {
      if (item.key.kind != v1::KIND_SERVICE) continue;
      if (absl::Status s = AllocateRest(item); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The parts of EndpointSlices this write leaves unused (slice_relations.h),
  // judged against the state it produces: those of each slice in the
  // write, and those of stored slices whose Service changes its port names
  // (a renamed port orphans the slice ports that used the old name). Not
  // refused, as Kubernetes does not refuse them: told, so a typo does not
  // go unnoticed.
  std::vector<std::string> UnusedSliceParts() const
      ABSL_SHARED_LOCKS_REQUIRED(store_.mu_) {
    std::vector<std::string> out;
    auto append = [&out](std::vector<std::string> lines) {
      for (std::string& line : lines) out.push_back(std::move(line));
    };
    for (const Item& item : items_) {
      if (item.key.kind != v1::KIND_ENDPOINT_SLICE || !item.changed) continue;
      const v1::EndpointSlice& slice = item.object.endpoint_slice();
      append(controller::UnusedSliceParts(
          item.key, slice, ServiceAfter(ServiceKeyOf(item.key, slice))));
    }
    for (const Item& item : items_) {
      if (item.key.kind != v1::KIND_SERVICE || item.stored == nullptr ||
          SamePortNames(item.stored->service(), item.object.service())) {
        continue;
      }
      for (auto it = store_.objects_.lower_bound(
               ObjectKey{v1::KIND_ENDPOINT_SLICE, item.key.ns, ""});
           it != store_.objects_.end() &&
           it->first.kind == v1::KIND_ENDPOINT_SLICE &&
           it->first.ns == item.key.ns;
           ++it) {
        const v1::EndpointSlice& slice = it->second.endpoint_slice();
        if (index_.contains(it->first) ||
            ServiceKeyOf(it->first, slice) != item.key) {
          continue;  // a slice in the write was looked at above
        }
        append(controller::UnusedSliceParts(it->first, slice,
                                            &item.object.service()));
      }
    }
    return out;
  }

 private:
  // The Service stored under `key` once this write is done, or null.
  const v1::Service* ServiceAfter(const ObjectKey& key) const
      ABSL_SHARED_LOCKS_REQUIRED(store_.mu_) {
    if (auto in_batch = index_.find(key); in_batch != index_.end()) {
      return &items_[in_batch->second].object.service();
    }
    if (auto stored = store_.objects_.find(key);
        stored != store_.objects_.end()) {
      return &stored->second.service();
    }
    return nullptr;
  }

  struct Undo {
    RangeAllocator* allocator;
    uint32_t value;
    bool was_taken;
  };

  void Take(RangeAllocator& allocator, uint32_t value) {
    if (!allocator.Contains(value) || allocator.IsTaken(value)) return;
    allocator.Take(value);
    undo_.push_back({&allocator, value, false});
  }
  void Release(RangeAllocator& allocator, uint32_t value) {
    if (!allocator.IsTaken(value)) return;
    allocator.Release(value);
    undo_.push_back({&allocator, value, true});
  }

  absl::Status Claim(Item& item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_.mu_) {
    v1::ServiceSpec& spec = *item.object.mutable_service()->mutable_spec();
    const v1::ServiceSpec* old =
        item.stored != nullptr ? &item.stored->service().spec() : nullptr;
    v1::ObjectRef ref = item.key.ToRef();

    // ClusterIP: immutable once allocated, as in Kubernetes, except that
    // switching to or from ExternalName drops or allocates it.
    if (spec.type() != kTypeExternalName) {
      bool had_ip = old != nullptr && old->type() != kTypeExternalName &&
                    !old->cluster_ip().empty();
      if (spec.cluster_ip().empty() && had_ip) {
        spec.set_cluster_ip(old->cluster_ip());
      } else if (had_ip && spec.cluster_ip() != old->cluster_ip()) {
        return FieldError(
            ref, "spec.clusterIP",
            absl::StrCat("is immutable: stored ", old->cluster_ip(),
                         ", requested ", spec.cluster_ip()));
      }
      if (spec.cluster_ip() == kClusterIPNone &&
          spec.type() != kTypeClusterIP) {
        return FieldError(ref, "spec.clusterIP",
                          absl::StrCat("the service is headless (\"None\", "
                                       "immutable), which is not allowed for ",
                                       spec.type(), " services"));
      }
      if (std::optional<uint32_t> ip = ClusterIPHost(spec)) {
        if (store_.cluster_ips_.IsTaken(*ip)) {
          const std::string& wanted = spec.cluster_ip();
          return FieldError(
              ref, "spec.clusterIP",
              absl::StrCat(wanted, " is already allocated to ",
                           Owner(item, [&](const v1::ServiceSpec& other) {
                             return other.cluster_ip() == wanted;
                           })));
        }
        Take(store_.cluster_ips_, *ip);
      }
    }

    if (!NeedsNodePorts(spec)) return absl::OkStatus();
    bool old_had_ports = old != nullptr && NeedsNodePorts(*old);
    for (v1::ServicePort& port : *spec.mutable_ports()) {
      if (port.node_port() != 0 || !old_had_ports) continue;
      if (const v1::ServicePort* match = MatchOldPort(*old, port)) {
        port.set_node_port(match->node_port());
      }
    }
    // A kept value may now collide with one the writer gave another port.
    absl::flat_hash_map<std::pair<int, std::string>, int> seen;
    absl::flat_hash_set<int> mine;
    for (int i = 0; i < spec.ports_size(); ++i) {
      const v1::ServicePort& port = spec.ports(i);
      if (port.node_port() == 0) continue;
      std::string field = absl::StrCat("spec.ports[", i, "].nodePort");
      auto [it, inserted] = seen.try_emplace(
          std::make_pair(port.node_port(), port.protocol()), i);
      if (!inserted) {
        return FieldError(
            ref, field,
            absl::StrCat(port.node_port(), "/", port.protocol(),
                         " is also used by spec.ports[", it->second,
                         "] (its value kept from the stored service)"));
      }
      if (!mine.insert(port.node_port()).second) continue;
      if (absl::Status s = ClaimNodePort(item, field, port.node_port());
          !s.ok()) {
        return s;
      }
    }
    if (!NeedsHealthCheckPort(spec)) return absl::OkStatus();
    if (spec.health_check_node_port() == 0 && old != nullptr &&
        NeedsHealthCheckPort(*old)) {
      spec.set_health_check_node_port(old->health_check_node_port());
    }
    int health = spec.health_check_node_port();
    if (health == 0) return absl::OkStatus();
    if (mine.contains(health)) {
      return FieldError(ref, "spec.healthCheckNodePort",
                        absl::StrCat(health,
                                     " is also one of the service's "
                                     "nodePorts"));
    }
    return ClaimNodePort(item, "spec.healthCheckNodePort", health);
  }

  absl::Status ClaimNodePort(const Item& item, absl::string_view field,
                             int port)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_.mu_) {
    uint32_t value = static_cast<uint32_t>(port);
    if (store_.node_ports_.IsTaken(value)) {
      std::string owner = Owner(item, [&](const v1::ServiceSpec& other) {
        return other.health_check_node_port() == port ||
               std::any_of(other.ports().begin(), other.ports().end(),
                           [&](const v1::ServicePort& p) {
                             return p.node_port() == port;
                           });
      });
      return FieldError(item.key.ToRef(), field,
                        absl::StrCat(port, " is already allocated to ", owner));
    }
    Take(store_.node_ports_, value);
    return absl::OkStatus();
  }

  // Which service holds a value, for error messages: a service earlier in
  // this write (later ones have claimed nothing yet; the values they held
  // before were released), else a stored one the write leaves alone. A
  // scan, paid only when a write is rejected.
  template <typename Uses>
  std::string Owner(const Item& asking, Uses uses)
      ABSL_SHARED_LOCKS_REQUIRED(store_.mu_) {
    for (const Item* item = items_.data(); item != &asking; ++item) {
      if (item->key.kind == v1::KIND_SERVICE &&
          uses(item->object.service().spec())) {
        return Describe(item->key.ToRef());
      }
    }
    for (const auto& [key, object] : store_.objects_) {
      if (key.kind == v1::KIND_SERVICE && !index_.contains(key) &&
          uses(object.service().spec())) {
        return Describe(key.ToRef());
      }
    }
    return "another service";
  }

  absl::StatusOr<uint32_t> TakeLowest(RangeAllocator& allocator,
                                      const v1::ObjectRef& ref,
                                      absl::string_view field,
                                      absl::string_view range) {
    std::optional<uint32_t> value = allocator.LowestFree();
    if (!value) {
      return absl::ResourceExhaustedError(absl::StrCat(
          Describe(ref), ": ", field, ": no free value left in ", range));
    }
    Take(allocator, *value);
    return *value;
  }

  absl::Status AllocateRest(Item& item)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_.mu_) {
    v1::ServiceSpec& spec = *item.object.mutable_service()->mutable_spec();
    v1::ObjectRef ref = item.key.ToRef();
    if (spec.type() != kTypeExternalName && spec.cluster_ip().empty()) {
      absl::StatusOr<uint32_t> ip = TakeLowest(
          store_.cluster_ips_, ref, "spec.clusterIP",
          absl::StrCat("service CIDR ", store_.rules_.service_cidr_text));
      if (!ip.ok()) return ip.status();
      spec.set_cluster_ip(FormatIpv4(htonl(*ip)));
    }
    spec.clear_cluster_ips();
    if (!spec.cluster_ip().empty()) spec.add_cluster_ips(spec.cluster_ip());
    if (!NeedsNodePorts(spec)) return absl::OkStatus();
    std::string range =
        absl::StrCat("node port range ", store_.rules_.node_port_min, "-",
                     store_.rules_.node_port_max);
    for (int i = 0; i < spec.ports_size(); ++i) {
      v1::ServicePort& port = *spec.mutable_ports(i);
      if (port.node_port() != 0) continue;
      // Ports with one number (DNS on 53/TCP and 53/UDP) share a nodePort,
      // as Kubernetes allocates them.
      for (const v1::ServicePort& sibling : spec.ports()) {
        if (sibling.port() == port.port() && sibling.node_port() != 0) {
          port.set_node_port(sibling.node_port());
          break;
        }
      }
      if (port.node_port() != 0) continue;
      absl::StatusOr<uint32_t> value =
          TakeLowest(store_.node_ports_, ref,
                     absl::StrCat("spec.ports[", i, "].nodePort"), range);
      if (!value.ok()) return value.status();
      port.set_node_port(static_cast<int32_t>(*value));
    }
    if (NeedsHealthCheckPort(spec) && spec.health_check_node_port() == 0) {
      absl::StatusOr<uint32_t> value = TakeLowest(
          store_.node_ports_, ref, "spec.healthCheckNodePort", range);
      if (!value.ok()) return value.status();
      spec.set_health_check_node_port(static_cast<int32_t>(*value));
    }
    return absl::OkStatus();
  }

  ClusterStore& store_;
  std::vector<Item>& items_;
  const absl::flat_hash_map<ObjectKey, size_t>& index_;
  std::vector<Undo> undo_;
  bool committed_ = false;
};

ClusterStore::ClusterStore(StoreConfig config, ServiceRules rules,
                           std::unique_ptr<StateFiles> files)
    : config_(std::move(config)),
      rules_(std::move(rules)),
      cluster_ips_(rules_.service_cidr.network() + 1,
                   static_cast<uint32_t>(rules_.service_cidr.size() - 2)),
      node_ports_(static_cast<uint32_t>(rules_.node_port_min),
                  static_cast<uint32_t>(rules_.node_port_max -
                                        rules_.node_port_min + 1)),
      files_(std::move(files)) {}

absl::StatusOr<std::unique_ptr<ClusterStore>> ClusterStore::Open(
    StoreConfig config) {
  ServiceRules rules;
  absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr(config.service_cidr);
  if (!cidr.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("service CIDR: ", cidr.status().message()));
  }
  if (cidr->prefix_len < 12 || cidr->prefix_len > 30) {
    return absl::InvalidArgumentError(absl::StrCat(
        "service CIDR ", config.service_cidr,
        ": the prefix must be /12 (Kubernetes' limit of 2^20 addresses) to "
        "/30 (two usable addresses)"));
  }
  if (cidr->address != cidr->network()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "service CIDR ", config.service_cidr,
        " has host bits set; did you mean ", FormatIpv4(htonl(cidr->network())),
        "/", cidr->prefix_len, "?"));
  }
  if (config.node_port_min < 1 || config.node_port_max > 65535 ||
      config.node_port_min > config.node_port_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("node port range ", config.node_port_min, "-",
                     config.node_port_max, " is not within 1-65535"));
  }
  rules.service_cidr = *cidr;
  rules.service_cidr_text = config.service_cidr;
  rules.node_port_min = config.node_port_min;
  rules.node_port_max = config.node_port_max;

  if (!config.mirror_of.empty() && !config.state_dir.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a store mirroring ", config.mirror_of,
                     " keeps no state on disk; state_dir must be empty"));
  }
  std::unique_ptr<StateFiles> files;
  std::optional<StateFiles::Contents> contents;
  if (!config.state_dir.empty()) {
    absl::StatusOr<std::unique_ptr<StateFiles>> opened =
        StateFiles::Open(config.state_dir);
    if (!opened.ok()) return opened.status();
    files = *std::move(opened);
    absl::StatusOr<StateFiles::Contents> loaded = files->Load(
        config.recover_readable_state ? StateFiles::Damage::kKeepReadable
                                      : StateFiles::Damage::kRefuse);
    if (!loaded.ok()) return loaded.status();
    contents = *std::move(loaded);
  }
  std::unique_ptr<ClusterStore> store(
      new ClusterStore(std::move(config), std::move(rules), std::move(files)));
  if (store->config_.mirror_of.empty()) store->MarkSynced();
  if (!contents.has_value()) {
    // Nothing outlives this store: its history starts and ends with it.
    store->state_id_ = NewStateId();
  } else {
    absl::MutexLock lock(&store->mu_);
    // Recovery always rewrites, so the next start is clean.
    bool rewrite = contents->rewrite || store->config_.recover_readable_state;
    if (absl::Status s = store->Restore(*std::move(contents)); !s.ok()) {
      return s;
    }
    if (rewrite) {
      // Format-1 files are converted, and recovered ones made whole, before
      // the first write, so appends go to sound format-2 files.
      if (absl::Status s = store->WriteSnapshot(); !s.ok()) return s;
    } else {
      store->MaybeCompact();
    }
    absl::StatusOr<bool> clean = store->files_->TakeStoppedCleanly();
    if (!clean.ok()) return clean.status();
    std::string renew;
    if (store->config_.recover_readable_state) {
      renew = "recovered state";
    } else if (!*clean) {
      renew =
          "the last run did not close cleanly: versions it streamed may be "
          "missing";
    }
    if (absl::Status s = store->AdoptStateId(renew); !s.ok()) return s;
    // Only a store that opened may mark a clean close: one that failed
    // half way would otherwise hide the crash TakeStoppedCleanly found.
    store->opened_ = true;
  }
  // Nothing watches yet; set so the first stream waits for what is new.
  store->PublishVersion(store->version());
  return store;
}

ClusterStore::~ClusterStore() {
  if (files_ == nullptr || !opened_) return;
  absl::Status status = MakeDurable(written_records_.load());
  if (status.ok()) {
    absl::MutexLock lock(&mu_);
    status = disk_error_.ok() ? files_->MarkStoppedCleanly() : disk_error_;
  }
  if (!status.ok()) {
    LOG(WARNING) << "cluster store: " << config_.state_dir
                 << " not marked as closed cleanly, so the next start begins "
                 << "a new history: " << status.message();
  }
}

absl::Status ClusterStore::AdoptStateId(absl::string_view renew) {
  absl::StatusOr<std::string> kept = files_->ReadStateId();
  if (!kept.ok()) return kept.status();
  if (!kept->empty() && renew.empty()) {
    state_id_ = *std::move(kept);
    return absl::OkStatus();
  }
  state_id_ = NewStateId();
  // A directory that never had an id is simply new: no reason to give.
  LOG(INFO) << "new state id " << state_id_ << " for " << config_.state_dir
            << " at version " << version_
            << (kept->empty()
                    ? ""
                    : absl::StrCat(" (", renew, "): agents get a snapshot"));
  return files_->WriteStateId(state_id_);
}

absl::Status ClusterStore::Restore(StateFiles::Contents contents) {
  version_ = contents.snapshot_version;
  for (v1::Object& object : contents.objects) {
    ObjectKey key = ObjectKey::Of(RefOf(object));
    objects_.insert_or_assign(std::move(key), std::move(object));
  }
  for (v1::WatchResponse& record : contents.journal) {
    if (record.version() != version_ + 1) {
      std::string problem = absl::StrCat(
          config_.state_dir, "/journal: record for version ", record.version(),
          " follows version ", version_, "; writes in between are missing");
      if (!config_.recover_readable_state) {
        return absl::DataLossError(absl::StrCat(
            problem, ". The last good version is ", version_,
            "; --recover_readable_state starts from it and drops the rest."));
      }
      LOG(WARNING) << "recovering: " << problem << "; dropping version "
                   << record.version() << " and after";
      break;
    }
    Delta delta{record.version(), {}};
    for (v1::Object& object : *record.mutable_upserts()) {
      ObjectKey key = ObjectKey::Of(RefOf(object));
      bool existed = objects_.contains(key);
      delta.changes.emplace_back(key, existed);
      objects_.insert_or_assign(std::move(key), std::move(object));
    }
    for (const v1::ObjectRef& ref : record.deletes()) {
      ObjectKey key = ObjectKey::Of(NormalizeRef(ref));
      bool existed = objects_.erase(key) > 0;
      delta.changes.emplace_back(std::move(key), existed);
    }
    version_ = record.version();
    RecordDelta(std::move(delta));
  }
  size_t outside = 0;
  for (const auto& [key, object] : objects_) {
    if (key.kind != v1::KIND_SERVICE) continue;
    ForEachAllocation(object.service(), cluster_ips_, node_ports_,
                      [&](RangeAllocator& a, uint32_t v) {
                        if (a.Contains(v)) {
                          a.Take(v);
                        } else {
                          ++outside;
                        }
                      });
  }
  if (outside > 0) {
    // The configured CIDR or port range changed since these were handed
    // out. They stay (clusterIP is immutable) but are not tracked, which is
    // harmless: new allocations come only from the configured ranges.
    LOG(WARNING) << outside << " stored clusterIPs/nodePorts lie outside the "
                 << "configured service CIDR " << config_.service_cidr
                 << " or node port range " << config_.node_port_min << "-"
                 << config_.node_port_max;
  }
  LOG(INFO) << "cluster store: loaded " << objects_.size()
            << " objects at version " << version_ << " from "
            << config_.state_dir << " (snapshot version "
            << contents.snapshot_version << ", " << contents.journal.size()
            << " journal records)";
  return absl::OkStatus();
}

void ClusterStore::ReleaseAllocations(const v1::Service& service) {
  ForEachAllocation(service, cluster_ips_, node_ports_,
                    [](RangeAllocator& a, uint32_t v) { a.Release(v); });
}

absl::Status ClusterStore::Journal(uint64_t version,
                                   absl::Span<const v1::Object* const> upserts,
                                   absl::Span<const v1::ObjectRef> deletes) {
  if (files_ == nullptr) return absl::OkStatus();
  return JournalRecord(
      EncodeWatchResponse(version, /*snapshot=*/false, upserts, deletes));
}

absl::Status ClusterStore::JournalRecord(std::string record) {
  if (files_ == nullptr) return absl::OkStatus();
  absl::Status status = files_->Append(record);
  if (!status.ok()) {
    disk_error_ = absl::UnavailableError(absl::StrCat(
        "cluster store: writes are refused until the controller restarts "
        "because the journal failed: ",
        status.message()));
    LOG(ERROR) << disk_error_.message();
    return disk_error_;
  }
  written_records_.fetch_add(1, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status ClusterStore::MakeDurable(uint64_t mark) {
  if (files_ == nullptr) return absl::OkStatus();
  absl::Status failed;
  {
    absl::MutexLock lock(&durable_mu_);
    if (!sync_error_.ok()) return sync_error_;
    if (durable_records_ >= mark) return absl::OkStatus();
    // Every record counted here was written before it was counted, so one
    // flush covers them all: writers queued behind this one find their
    // record durable and return without a flush of their own.
    const uint64_t written = written_records_.load(std::memory_order_acquire);
    failed = files_->Sync();
    if (failed.ok()) {
      durable_records_ = written;
      return absl::OkStatus();
    }
    sync_error_ = absl::UnavailableError(absl::StrCat(
        "cluster store: writes are refused until the controller restarts "
        "because the journal failed: ",
        failed.message(),
        ". The latest changes may have reached agents without being "
        "durable; the restart begins a new history and agents resync"));
    failed = sync_error_;
  }
  LOG(ERROR) << failed.message();
  absl::MutexLock lock(&mu_);
  if (disk_error_.ok()) disk_error_ = failed;
  return failed;
}

void ClusterStore::RecordDelta(Delta delta) {
  if (!deltas_.empty()) {
    std::vector<std::string>().swap(deltas_.back().encoded);
  }
  deltas_.push_back(std::move(delta));
  while (deltas_.size() > config_.retained_deltas) deltas_.pop_front();
}

absl::Status ClusterStore::WriteSnapshot() {
  std::vector<const v1::Object*> all;
  all.reserve(objects_.size());
  for (const auto& [key, object] : objects_) all.push_back(&object);
  absl::Time start = absl::Now();
  // No flush may run while the journal is replaced; once the snapshot is
  // in place it holds every record written so far.
  absl::MutexLock durable(&durable_mu_);
  if (!sync_error_.ok()) return sync_error_;
  if (absl::Status s = files_->WriteSnapshot(version_, all); !s.ok()) {
    return s;
  }
  durable_records_ = written_records_.load(std::memory_order_acquire);
  LOG(INFO) << "cluster store: snapshot of " << all.size()
            << " objects at version " << version_ << " in "
            << absl::ToDoubleMilliseconds(absl::Now() - start) << " ms";
  return absl::OkStatus();
}

void ClusterStore::MaybeCompact() {
  if (files_ == nullptr) return;
  if (files_->journal_records() <= config_.journal_max_records &&
      files_->journal_bytes() <= config_.journal_max_bytes) {
    return;
  }
  if (absl::Status s = WriteSnapshot(); !s.ok()) {
    // The journal still has every write, so nothing is lost; the next
    // write tries again.
    LOG(WARNING) << "cluster store: snapshot at version " << version_
                 << " failed, keeping the journal: " << s.message();
  }
}

absl::StatusOr<ApplyResult> ClusterStore::Apply(
    const std::vector<v1::Object>& objects) {
  return Apply(std::vector<v1::Object>(objects));
}

absl::StatusOr<ApplyResult> ClusterStore::Apply(
    std::vector<v1::Object>&& objects, ApplyOutput output) {
  if (!config_.mirror_of.empty()) return MirrorRefusesWrites();
  // Per-object checks need no lock, so readers are not held up by them.
  std::vector<Write::Item> items(objects.size());
  absl::flat_hash_map<ObjectKey, size_t> index;
  index.reserve(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    Write::Item& item = items[i];
    item.object = std::move(objects[i]);
    if (item.object.kind_case() == v1::Object::KIND_NOT_SET) {
      return absl::InvalidArgumentError(NoObjectMessage(static_cast<int>(i)));
    }
    if (absl::Status s = NormalizeObject(rules_, item.object); !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckLbAnnotations(item.object); !s.ok()) return s;
    item.key = ObjectKey::Of(RefOf(item.object));
    auto [it, inserted] = index.try_emplace(item.key, i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(item.key.ToRef()), ": appears twice in one write (objects[",
          it->second, "] and objects[", i, "])"));
    }
  }
  // Only Services change under the lock (allocations): the rest is
  // encoded here, outside it.
  const bool encoded = output == ApplyOutput::kEncoded;
  ApplyResult result;
  if (encoded) {
    result.encoded.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].key.kind == v1::KIND_SERVICE) continue;
      items[i].object.SerializeToString(&result.encoded[i]);
    }
  }

  absl::ReleasableMutexLock lock(&mu_);
  if (!disk_error_.ok()) return disk_error_;
  Write write(*this, items, index);
  if (absl::Status s = write.AllocateServices(); !s.ok()) return s;

  std::vector<const v1::Object*> upserts;
  upserts.reserve(items.size());
  result.outcomes.reserve(items.size());
  for (Write::Item& item : items) {
    item.changed = item.stored == nullptr ||
                   !google::protobuf::util::MessageDifferencer::Equals(
                       item.object, *item.stored);
    if (item.changed) upserts.push_back(&item.object);
    result.outcomes.push_back(item.stored == nullptr ? v1::ApplyResult::CREATED
                              : item.changed ? v1::ApplyResult::CONFIGURED
                                             : v1::ApplyResult::UNCHANGED);
  }
  // Each object as the writer gets it back: copied (the store keeps its
  // own) or encoded. Encoded, the journal record is those same bytes.
  if (!encoded) result.objects.reserve(items.size());
  result.refs.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const Write::Item& item = items[i];
    result.refs.push_back(item.key.ToRef());
    if (item.key.kind == v1::KIND_SERVICE) {
      for (std::string& warning : ServiceWarnings(item.object.service())) {
        result.warnings.push_back(std::move(warning));
      }
    }
    if (!encoded) {
      result.objects.push_back(item.object);
    } else if (item.key.kind == v1::KIND_SERVICE) {
      item.object.SerializeToString(&result.encoded[i]);
    }
  }
  if (upserts.empty()) {
    write.Commit();  // the allocators hold what they held before
    result.version = version_;
    // "Unchanged" speaks of the state as it is: durable first.
    const uint64_t mark = written_records_.load(std::memory_order_relaxed);
    lock.Release();
    if (absl::Status s = MakeDurable(mark); !s.ok()) return s;
    return result;
  }
  std::vector<std::string> unused = write.UnusedSliceParts();
  absl::Status journaled;
  if (encoded) {
    std::vector<absl::string_view> changed;
    changed.reserve(upserts.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].changed) changed.push_back(result.encoded[i]);
    }
    journaled = JournalRecord(EncodeWatchResponse(version_ + 1, changed));
  } else {
    journaled = Journal(version_ + 1, upserts, {});
  }
  if (!journaled.ok()) return journaled;
  write.Commit();
  LogUnusedSliceParts(unused);
  Delta delta{version_ + 1, {}, {}};
  delta.changes.reserve(upserts.size());
  if (encoded) delta.encoded.reserve(upserts.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const Write::Item& item = items[i];
    if (!item.changed) continue;
    delta.changes.emplace_back(item.key, item.stored != nullptr);
    if (encoded) delta.encoded.push_back(result.encoded[i]);
  }
  // `stored` pointers die from here: inserting moves btree nodes.
  for (Write::Item& item : items) {
    if (!item.changed) continue;
    objects_.insert_or_assign(std::move(item.key), std::move(item.object));
  }
  ++version_;
  result.version = version_;
  RecordDelta(std::move(delta));
  MaybeCompact();
  const uint64_t mark = written_records_.load(std::memory_order_relaxed);
  lock.Release();
  PublishVersion(result.version);
  // Watch streams are sending the version already; the writer hears of it
  // once it is durable.
  if (absl::Status s = MakeDurable(mark); !s.ok()) return s;
  return result;
}

absl::StatusOr<uint64_t> ClusterStore::Delete(
    const std::vector<v1::ObjectRef>& refs, bool ignore_not_found,
    std::vector<v1::ObjectRef>* deleted) {
  if (!config_.mirror_of.empty()) return MirrorRefusesWrites();
  std::vector<v1::ObjectRef> normalized;
  normalized.reserve(refs.size());
  absl::flat_hash_map<ObjectKey, size_t> seen;
  for (size_t i = 0; i < refs.size(); ++i) {
    v1::ObjectRef ref = NormalizeRef(refs[i]);
    if (ref.kind() != v1::KIND_SERVICE &&
        ref.kind() != v1::KIND_ENDPOINT_SLICE && ref.kind() != v1::KIND_NODE) {
      return absl::InvalidArgumentError(
          absl::StrCat("refs[", i, "].kind: is required"));
    }
    if (ref.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("refs[", i, "].name: is required"));
    }
    auto [it, inserted] = seen.try_emplace(ObjectKey::Of(ref), i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(ref), ": appears twice in one write (refs[",
                       it->second, "] and refs[", i, "])"));
    }
    normalized.push_back(std::move(ref));
  }

  absl::ReleasableMutexLock lock(&mu_);
  if (!disk_error_.ok()) return disk_error_;
  std::vector<v1::ObjectRef> deletes;
  for (v1::ObjectRef& ref : normalized) {
    if (objects_.contains(ObjectKey::Of(ref))) {
      deletes.push_back(std::move(ref));
    } else if (!ignore_not_found) {
      return absl::NotFoundError(absl::StrCat(Describe(ref), " not found"));
    }
  }
  if (deleted != nullptr) deleted->clear();
  if (deletes.empty()) {
    const uint64_t version = version_;
    const uint64_t mark = written_records_.load(std::memory_order_relaxed);
    lock.Release();
    if (absl::Status s = MakeDurable(mark); !s.ok()) return s;
    return version;
  }
  AddSlicesOfDeletedServices(deletes);
  if (absl::Status s = Journal(version_ + 1, {}, deletes); !s.ok()) return s;

  Delta delta{version_ + 1, {}};
  delta.changes.reserve(deletes.size());
  for (const v1::ObjectRef& ref : deletes) {
    ObjectKey key = ObjectKey::Of(ref);
    auto it = objects_.find(key);
    if (key.kind == v1::KIND_SERVICE) ReleaseAllocations(it->second.service());
    objects_.erase(it);
    delta.changes.emplace_back(std::move(key), true);
  }
  ++version_;
  RecordDelta(std::move(delta));
  MaybeCompact();
  if (deleted != nullptr) *deleted = std::move(deletes);
  const uint64_t version = version_;
  const uint64_t mark = written_records_.load(std::memory_order_relaxed);
  lock.Release();
  PublishVersion(version);
  if (absl::Status s = MakeDurable(mark); !s.ok()) return s;
  return version;
}

void ClusterStore::AddSlicesOfDeletedServices(
    std::vector<v1::ObjectRef>& deletes) const {
  // Per namespace, the Services going; then one pass over each such
  // namespace's slices, so deleting many Services costs one scan, not one
  // per Service.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> gone;
  absl::flat_hash_set<ObjectKey> listed;
  for (const v1::ObjectRef& ref : deletes) {
    ObjectKey key = ObjectKey::Of(ref);
    if (key.kind == v1::KIND_SERVICE) gone[key.ns].insert(key.name);
    listed.insert(std::move(key));
  }
  for (const auto& [ns, services] : gone) {
    for (auto it =
             objects_.lower_bound(ObjectKey{v1::KIND_ENDPOINT_SLICE, ns, ""});
         it != objects_.end() && it->first.kind == v1::KIND_ENDPOINT_SLICE &&
         it->first.ns == ns;
         ++it) {
      ObjectKey service = ServiceKeyOf(it->first, it->second.endpoint_slice());
      if (services.contains(service.name) && !listed.contains(it->first)) {
        deletes.push_back(it->first.ToRef());
      }
    }
  }
}

absl::StatusOr<v1::Object> ClusterStore::Get(const v1::ObjectRef& ref) const {
  v1::ObjectRef normalized = NormalizeRef(ref);
  if (normalized.kind() == v1::KIND_UNSPECIFIED || normalized.name().empty()) {
    return absl::InvalidArgumentError("ref: kind and name are required");
  }
  absl::ReaderMutexLock lock(&mu_);
  auto it = objects_.find(ObjectKey::Of(normalized));
  if (it == objects_.end()) {
    return absl::NotFoundError(
        absl::StrCat(Describe(normalized), " not found"));
  }
  return it->second;
}

uint64_t ClusterStore::version() const {
  absl::ReaderMutexLock lock(&mu_);
  return version_;
}

v1::WatchResponse ClusterStore::Snapshot(Upserts upserts) const {
  v1::WatchResponse response;
  response.set_snapshot(true);
  response.set_state_id(state_id_);
  absl::ReaderMutexLock lock(&mu_);
  response.set_version(version_);
  if (upserts == Upserts::kObjects) {
    response.mutable_upserts()->Reserve(static_cast<int>(objects_.size()));
  }
  for (const auto& [key, object] : objects_) {
    AddUpsert(response, object, upserts);
  }
  return response;
}

std::optional<v1::WatchResponse> ClusterStore::ChangesSince(
    uint64_t version, Upserts upserts) const {
  absl::ReaderMutexLock lock(&mu_);
  if (version > version_ || version < version_ - deltas_.size()) {
    return std::nullopt;
  }
  v1::WatchResponse response;
  response.set_version(version_);
  response.set_state_id(state_id_);
  if (upserts == Upserts::kEncoded && version + 1 == version_ &&
      !deltas_.back().encoded.empty()) {
    // One write's upserts, as it journaled them (in the writer's order,
    // not key order: receivers treat upserts as a set).
    google::protobuf::UnknownFieldSet& raw =
        *response.GetReflection()->MutableUnknownFields(&response);
    for (const std::string& bytes : deltas_.back().encoded) {
      *raw.AddLengthDelimited(v1::WatchResponse::kUpsertsFieldNumber) = bytes;
    }
    return response;
  }
  // First sighting wins: it says whether the object existed at `version`.
  absl::btree_map<ObjectKey, bool> existed;
  size_t first = deltas_.size() - (version_ - version);
  for (size_t i = first; i < deltas_.size(); ++i) {
    for (const auto& [key, before] : deltas_[i].changes) {
      existed.try_emplace(key, before);
    }
  }
  for (const auto& [key, before] : existed) {
    auto it = objects_.find(key);
    if (it != objects_.end()) {
      AddUpsert(response, it->second, upserts);
    } else if (before) {
      // Only what the watcher may hold: an object created and deleted
      // since `version` was never sent, so needs no delete either.
      *response.add_deletes() = key.ToRef();
    }
  }
  return response;
}

uint64_t ClusterStore::WaitForChange(uint64_t seen,
                                     absl::Duration timeout) const {
  // A condition variable on a mutex of its own, not an absl::Condition on
  // mu_: with a thousand streams waiting, every release of mu_ (each
  // stream's own read included) would evaluate every waiter's condition.
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&published_mu_);
  while (published_version_ <= seen) {
    if (published_cv_.WaitWithDeadline(&published_mu_, deadline)) break;
  }
  return published_version_;
}

void ClusterStore::PublishVersion(uint64_t version) {
  absl::MutexLock lock(&published_mu_);
  // Two writers may publish out of order; the later version stands.
  if (version <= published_version_) return;
  published_version_ = version;
  published_cv_.SignalAll();
}

}  // namespace switchyard::controller
