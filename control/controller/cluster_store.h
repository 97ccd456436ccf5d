// SPDX-License-Identifier: Apache-2.0
// yard-controller's cluster state: every Service, EndpointSlice and Node,
// validated as Kubernetes' API server would, with ClusterIPs and nodePorts
// allocated, versioned so agents can resume a watch, and durable.
//
// Writes. Apply and Delete take a batch and apply it all or nothing: the
// whole batch is validated against the state it would produce (two
// services may trade nodePorts) before anything changes. A rejected write
// answers InvalidArgument "<Kind> <ns>/<name>: <field>: <problem>", e.g.
// "Service default/web: spec.ports[1].port: 70000 is outside 1-65535".
//
// Versions. An empty store is at version 0; every write that changes
// something adds 1 (a write that changes nothing keeps the version). A
// version is visible to readers, and streamed to agents, once its journal
// record is written, before the record's fdatasync: an agent's ack does
// not wait for the disk (one flush here is 0.2 ms at the median and
// milliseconds at the tail). The writer's Apply or Delete returns only
// once the version is durable. A streamed version can still be lost (the
// machine stops before the flush) and its number reused for other
// contents, so a start that does not follow a clean close begins a new
// history (below): agents then get a snapshot, never a wrong delta.
//
// Stored form. Objects are stored with Kubernetes' defaults filled (see
// validation.h) and allocations made: spec.clusterIP / clusterIPs for
// ClusterIP, NodePort and LoadBalancer services unless headless ("None");
// a nodePort on every port of NodePort and LoadBalancer services (ports
// with the same number share one, as for DNS over TCP and UDP);
// healthCheckNodePort for NodePort/LoadBalancer services with
// externalTrafficPolicy Local. Allocation takes the lowest free value, so
// it is deterministic. An update that omits an allocated value keeps it
// (ports matched by name, else by port and protocol); clusterIP cannot
// change, as in Kubernetes, except by going to or from ExternalName.
// spec.allocateLoadBalancerNodePorts is ignored: proto3 cannot tell "false"
// from unset, and Kubernetes' default is to allocate.
//
// EndpointSlices and their Service (the kubernetes.io/service-name label,
// same namespace), as in Kubernetes:
// - A slice may be written before its Service, or without one: it is
//   stored and not used (no Service, no frontend) until the Service
//   exists. Writes in any order thus reach the same state.
// - A slice port whose name matches no port of its Service is stored and
//   not used; a Service update may rename or drop ports that slices still
//   name. Kubernetes refuses neither (its EndpointSlice controller rewrites
//   the slices it owns, and kube-proxy skips ports it cannot match). Each
//   write that leaves such parts logs them (slice_relations.h).
// - Deleting a Service deletes its slices in the same write and version
//   (Kubernetes' garbage collector does it for the slices the Service
//   owns; here the label is the owner), so a Service created again under
//   the same name starts with no endpoints, never the old ones.
// - Mirror mode holds whatever the source says: the source's own
//   collector deletes the slices, and the mirror follows.
//
// Identity. Versions mean something only within one history, named by
// state_id() (state_id.h) and sent on every watch response. With a
// state_dir the id is kept there, so a restarted controller continues its
// history; without one (memory only, or state rebuilt from elsewhere at
// each start) every Open begins a new history with a new id. Recovery
// (recover_readable_state) also takes a new id: the writes it drops could
// otherwise be reissued under the same versions with other contents. So
// does a start after a crash or a failed disk (no clean close): the last
// versions streamed may be missing from the files.
//
// Durability. With StoreConfig::state_dir set, each write is appended to a
// journal and fdatasync()ed before Apply/Delete return; the journal is
// folded into a snapshot when it grows large (state_files.h). If the disk
// fails a write, the store rejects every later write until restarted:
// after a failed fdatasync the kernel may have dropped the unsynced pages,
// so what the file holds is unknown and a retry could silently lose data.
// Destroying the store flushes and marks the directory as closed cleanly.
//
// Thread safety: every method may be called from any thread. The fdatasync
// happens outside the state lock, so readers and watch streams never wait
// for the disk; concurrent writers share one flush when they can.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_CLUSTER_STORE_H_
#define SWITCHYARD_CONTROL_CONTROLLER_CLUSTER_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/common/message_limits.h"
#include "control/controller/list_continue.h"
#include "control/controller/objects.h"
#include "control/controller/range_allocator.h"
#include "control/controller/state_files.h"
#include "control/controller/validation.h"
#include "switchyard/v1/cluster.pb.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::controller {

struct StoreConfig {
  // Durable state lives here (created if missing); "" keeps everything in
  // memory only, for tests.
  std::string state_dir;
  // ClusterIPs come from here. At most 2^20 addresses (prefix /12 or
  // longer), Kubernetes' limit, which bounds the allocation bitmap.
  std::string service_cidr = "10.96.0.0/12";
  int node_port_min = 30000;
  int node_port_max = 32767;
  // How many versions back a watcher can resume with ChangesSince.
  size_t retained_deltas = 4096;
  // The journal is folded into a snapshot past either limit; a snapshot
  // rewrites the whole state, so this bounds both replay time at Open and
  // how often that cost is paid.
  size_t journal_max_records = 1000;
  uint64_t journal_max_bytes = 16u << 20;
  // Damaged or missing state files normally stop Open with DataLoss. Set,
  // the store starts from what is readable (the snapshot's readable
  // chunks, journal records up to the first damage), logs what it drops
  // and rewrites the files so the next start is clean. For an operator who
  // has decided the lost writes are gone.
  bool recover_readable_state = false;
  // Mirror mode: set to the source of truth (the Kubernetes API server's
  // URL), the store holds what that source says and nothing else. It
  // allocates nothing (the source did), keeps nothing on disk (the source
  // is durable; state_dir must be empty), accepts any clusterIP and
  // nodePort the source assigned, takes EndpointSlices whose Service it
  // has not seen (the watches of the two kinds are not ordered), and
  // refuses Apply and Delete with FailedPrecondition naming kubectl.
  // Changes arrive through Mirror(); agents are served once MarkSynced().
  std::string mirror_of;
};

// One change from the source of truth. Objects are checked one by one: an
// object Switchyard cannot serve is left out (and any earlier version of it
// removed) without holding up the rest, since the source has accepted it
// and will not take it back.
struct MirrorWrite {
  // Set: `upserts` are the whole of this kind, and stored objects of the
  // kind not among them are deleted (a list after a watch gap).
  v1::Kind replace_kind = v1::KIND_UNSPECIFIED;
  std::vector<v1::Object> upserts;
  std::vector<v1::ObjectRef> deletes;
};

struct MirrorResult {
  uint64_t version = 0;
  size_t changed = 0;  // objects added, replaced or removed
  // "Service default/web: spec.ports[0].port: ..." for each object left out.
  std::vector<std::string> rejected;
};

// What Apply hands back of each object as stored.
enum class ApplyOutput {
  kObjects,  // ApplyResult::objects
  // ApplyResult::encoded, the objects' wire form, for a server that only
  // sends them on: encoding an object costs a fraction of copying it, and
  // the same bytes are the journal's, so a large write is encoded once and
  // copied never. ApplyResult::objects is then empty.
  kEncoded,
};

struct ApplyResult {
  uint64_t version = 0;              // the store's version after the write
  std::vector<v1::Object> objects;   // as stored, in the order given
  std::vector<std::string> encoded;  // the same encoded (kEncoded only)
  std::vector<v1::ObjectRef> refs;   // each object's, in the order given
  // What the write did to each object, in the order given: created,
  // configured (changed, defaults and allocations included) or unchanged.
  std::vector<v1::ApplyResult::Outcome> outcomes;
  // What the Services ask for that is accepted but not done
  // (service_warnings.h), in the order given, for the writer. Made from
  // the objects as stored, in both outputs: with kEncoded, copying 10,000
  // Services back out only to read them cost a fifth of a cold write.
  std::vector<std::string> warnings;
};

// The most one List page's objects may take encoded: a message's limit,
// less room for the reply's other fields.
inline constexpr size_t kMaxListPageBytes =
    static_cast<size_t>(kMaxControlMessageBytes) - (64u << 10);

// One page of a listing; controller.proto's ListRequest says how paging
// and its consistency work.
struct ListQuery {
  v1::Kind kind = v1::KIND_UNSPECIFIED;  // KIND_UNSPECIFIED: every kind
  std::string ns;                        // "": every namespace
  int64_t limit = 0;                     // 0: as many as max_bytes allows
  std::string continue_token;            // "": the first page
  // The first object of a page goes in whatever its size, so a listing
  // always moves on.
  size_t max_bytes = kMaxListPageBytes;
};

struct ListPage {
  std::vector<v1::Object> objects;
  uint64_t version = 0;        // the listing's, the same on every page
  std::string continue_token;  // "": this was the last page
  int64_t remaining = 0;       // objects of the listing after this page
};

class ClusterStore {
 public:
  // Checks `config` and, with a state_dir, loads the snapshot and replays
  // the journal: same objects, allocations and version as before, and
  // ChangesSince works for every version the journal holds.
  static absl::StatusOr<std::unique_ptr<ClusterStore>> Open(StoreConfig config);
  // Flushes and marks the state dir as closed cleanly (see Identity).
  ~ClusterStore();
  ClusterStore(const ClusterStore&) = delete;
  ClusterStore& operator=(const ClusterStore&) = delete;

  // Creates or replaces each object (keyed by kind, namespace, name).
  absl::StatusOr<ApplyResult> Apply(const std::vector<v1::Object>& objects);
  // The same, taking the objects over rather than copying them: for a
  // write of 10,000 services and their slices the copy is a fifth of the
  // time. A server can move them out of its request message.
  absl::StatusOr<ApplyResult> Apply(std::vector<v1::Object>&& objects,
                                    ApplyOutput output = ApplyOutput::kObjects);
  // Removes each object; a missing one is NotFound unless
  // `ignore_not_found`. Returns the version after the write. `deleted`,
  // if given, receives the refs that existed (and are gone), in the order
  // given.
  absl::StatusOr<uint64_t> Delete(
      const std::vector<v1::ObjectRef>& refs, bool ignore_not_found,
      std::vector<v1::ObjectRef>* deleted = nullptr);

  absl::StatusOr<v1::Object> Get(const v1::ObjectRef& ref) const;
  // Objects of `kind` (KIND_UNSPECIFIED: all) in namespace `ns` ("": all;
  // ignored for nodes), sorted by kind, namespace, name. All at once: for
  // the controller's own use and tests; clients get pages.
  std::vector<v1::Object> List(v1::Kind kind, const std::string& ns) const;
  // One page of the same listing (cluster_store_list.cc). InvalidArgument
  // for a negative limit or a token that is not one of this store's for
  // the same kind and namespace; Aborted when the listing cannot go on
  // consistently and must start again.
  absl::StatusOr<ListPage> List(const ListQuery& query) const;
  // How many objects of `kind` there are, without copying them.
  size_t Count(v1::Kind kind) const;
  uint64_t version() const;
  // The id of this store's history (see Identity above); fixed from Open.
  const std::string& state_id() const { return state_id_; }

  // Mirror mode only (StoreConfig::mirror_of): applies one change from the
  // source as one version, or none when nothing differs, so a relist that
  // finds the same objects costs agents nothing.
  absl::StatusOr<MirrorResult> Mirror(MirrorWrite write);
  // The URL mirrored; "" for a store that is written through Apply.
  const std::string& mirror_of() const { return config_.mirror_of; }
  // A mirror is synced once every kind has been read from the source:
  // before that its state is partial (Services without their endpoints),
  // and an agent given it would drop working frontends. Written stores are
  // synced from Open.
  void MarkSynced();
  bool synced() const;
  // Waits up to `timeout` for MarkSynced; returns synced().
  bool WaitSynced(absl::Duration timeout) const;

  // Every object at the current version, with snapshot = true. Both this
  // and ChangesSince set the response's state_id.
  v1::WatchResponse Snapshot() const { return Snapshot(Upserts::kObjects); }
  // What changed after `version` up to now, merged: each changed object
  // once, as it is now (upserts), or its ref if it is gone (deletes), in
  // key order. Empty when `version` is current; nullopt when the deltas
  // since `version` are no longer retained or `version` is in the future
  // (the caller then sends a Snapshot).
  std::optional<v1::WatchResponse> ChangesSince(uint64_t version) const {
    return ChangesSince(version, Upserts::kObjects);
  }
  // How a watch response carries its upserts. kEncoded is for sending
  // only: each object is encoded once, here, and carried as its wire bytes
  // in the message's unknown fields under the upserts field's number, so
  // upserts() is empty, and what goes on the wire (and what a receiver
  // parses) is the same as with kObjects. A stream's Write then copies
  // bytes: copying the objects instead cost a deep copy of each under the
  // read lock (2.1 s for 20,000 on a loaded machine) and their encoding
  // once more in Write.
  enum class Upserts { kObjects, kEncoded };
  v1::WatchResponse Snapshot(Upserts upserts) const;
  std::optional<v1::WatchResponse> ChangesSince(uint64_t version,
                                                Upserts upserts) const;
  // Blocks until version() > seen or `timeout` passes; returns version().
  uint64_t WaitForChange(uint64_t seen, absl::Duration timeout) const;

 private:
  // One version's changed keys, each with whether it existed before; that
  // is enough to merge: the objects themselves are read from the map.
  struct Delta {
    uint64_t version;
    std::vector<std::pair<ObjectKey, bool>> changes;
    // The newest delta of an encoded Apply (upserts only) keeps its
    // objects' wire bytes, as journaled: the watch update that takes
    // agents from the version before is then those bytes, not 20,000
    // objects looked up and encoded again (~0.2 s at 10,000 services).
    // Older deltas drop them, so at most one write's worth is held.
    std::vector<std::string> encoded;
  };
  class Write;  // one Apply in progress (cluster_store.cc)

  ClusterStore(StoreConfig config, ServiceRules rules,
               std::unique_ptr<StateFiles> files);

  absl::Status Restore(StateFiles::Contents contents)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes every object as a snapshot at version_, emptying the journal.
  absl::Status WriteSnapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees `service`'s clusterIP and nodePorts.
  void ReleaseAllocations(const v1::Service& service)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Durably records one version's change (no-op in memory-only mode).
  absl::Status Journal(uint64_t version,
                       absl::Span<const v1::Object* const> upserts,
                       absl::Span<const v1::ObjectRef> deletes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The same, with the record already encoded.
  absl::Status JournalRecord(std::string record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns once the journal record numbered `mark` (written_records_
  // after it was written) is durable, flushing unless another writer's
  // flush already covered it. Called without mu_: the disk's wait holds
  // up no reader.
  absl::Status MakeDurable(uint64_t mark) ABSL_LOCKS_EXCLUDED(mu_);
  void RecordDelta(Delta delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeCompact() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes WaitForChange callers: `version` (or a later one published
  // first by a concurrent writer) is now theirs to read. Called after mu_
  // is released: a stream woken while the writer still held it would only
  // block on mu_ again, one more sleep and wake on an endpoint change's way.
  void PublishVersion(uint64_t version) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status MirrorRefusesWrites() const;
  // Adds to `deletes` every stored slice whose Service `deletes` names and
  // that it does not name itself: a Service's slices go with it.
  void AddSlicesOfDeletedServices(std::vector<v1::ObjectRef>& deletes) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether a listing that began at `token`'s version can go on from its
  // last key as if it were still at that version: nothing after that key
  // in its scope changed since (cluster_store_list.cc).
  absl::Status CheckContinuable(const ListContinue& token) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Takes the id kept in the state dir, or makes (and keeps) a new one;
  // `renew` (non-empty: why) always makes a new one.
  absl::Status AdoptStateId(absl::string_view renew)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StoreConfig config_;
  const ServiceRules rules_;
  // Set by Open before the store is shared, then only read: no lock.
  std::string state_id_;
  bool opened_ = false;  // Open succeeded with a state_dir: may close cleanly

  mutable absl::Mutex mu_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  absl::btree_map<ObjectKey, v1::Object> objects_ ABSL_GUARDED_BY(mu_);
  // Usable service-CIDR addresses (network and broadcast excluded), host
  // byte order, and the node-port range. Values outside (left by an older
  // configuration) are simply not tracked.
  RangeAllocator cluster_ips_ ABSL_GUARDED_BY(mu_);
  RangeAllocator node_ports_ ABSL_GUARDED_BY(mu_);
  // Deltas for versions (version_ - deltas_.size(), version_], contiguous.
  std::deque<Delta> deltas_ ABSL_GUARDED_BY(mu_);
  // Fixed from construction. Appends and snapshots happen under mu_,
  // flushes (Sync) under durable_mu_ only; a snapshot holds both.
  const std::unique_ptr<StateFiles> files_;
  // Set when the disk failed a write; every later write answers it.
  absl::Status disk_error_ ABSL_GUARDED_BY(mu_);
  // Journal records written by this store, counted from Open; written
  // under mu_, read by flushes that do not hold it.
  std::atomic<uint64_t> written_records_{0};
  mutable absl::Mutex durable_mu_ ABSL_ACQUIRED_AFTER(mu_);
  // written_records_ as of the last flush (or snapshot) that succeeded.
  uint64_t durable_records_ ABSL_GUARDED_BY(durable_mu_) = 0;
  // A failed flush: every later one answers it, not a retry, which could
  // report success for pages the kernel already dropped.
  absl::Status sync_error_ ABSL_GUARDED_BY(durable_mu_);
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  // version_ as WaitForChange sees it; taken after mu_, never before.
  mutable absl::Mutex published_mu_ ABSL_ACQUIRED_AFTER(mu_);
  mutable absl::CondVar published_cv_;
  uint64_t published_version_ ABSL_GUARDED_BY(published_mu_) = 0;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_CLUSTER_STORE_H_
