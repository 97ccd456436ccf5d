// SPDX-License-Identifier: Apache-2.0
// Typed access to the datapath's maps. Every write is one bpf(2) syscall on
// one entry, or on many entries of one map (the batch calls), or (Maglev
// tables) stores through a table's mapping; ordering several writes safely
// is the caller's job (see the sync layer), this class only makes each one
// type-checked and reported.
#ifndef SWITCHYARD_CONTROL_KERNEL_DATAPATH_MAPS_H_
#define SWITCHYARD_CONTROL_KERNEL_DATAPATH_MAPS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "control/kernel/abi.h"
#include "control/kernel/bpf_map.h"
#include "control/kernel/service_address_bits.h"

namespace switchyard::kernel {

// Capacity of each map, as created.
struct MapCapacity {
  uint32_t frontends = 0;
  uint32_t slots = 0;
  uint32_t backends = 0;
  uint32_t ct_entries = 0;
  uint32_t source_ranges = 0;
  uint32_t maglev_tables = 0;
};

class DatapathMaps {
 public:
  // One handle per map of the datapath.
  struct Handles {
    BpfMap svc4, slots, be4, rnat4, ct4, svc_stats, reasons, lb_src4, maglev,
        lc4;
    BpfMap affinity4;  // sessionAffinity: ClientIP (lib/affinity.h)
    // Which addresses pods may reach a frontend on (yard_abi.h). Absent
    // (no map) in pins of agents that had none: nothing reads it there.
    BpfMap svc_addrs;
    // How yard_maglev's tables are written (maglev_tables.h), as the
    // loader chose: made BPF_F_MMAPABLE (they must be whenever the
    // outer map's template is), and rewritten in place when their size is
    // unchanged (feature maglev_mmap). Both false for OpenPinned, whose
    // users only read.
    bool maglev_tables_mappable = false;
    bool maglev_in_place = false;
  };
  explicit DatapathMaps(Handles maps);
  DatapathMaps(DatapathMaps&&) = default;
  DatapathMaps& operator=(DatapathMaps&&) = default;

  // Opens the maps pinned under pin_dir, without loading any program: how
  // a CLI reads a node's state while its agent is down. Pins recorded as
  // another layout are refused (pinned_layout.h).
  static absl::StatusOr<DatapathMaps> OpenPinned(absl::string_view pin_dir);

  absl::StatusOr<MapCapacity> Capacity() const;

  // Rewrites yard_svc_addrs from the frontends yard_svc4 holds. Every
  // frontend write keeps it right from then on (bits set before a frontend
  // is written, cleared after the last of an address is deleted); a loader
  // calls this before attaching programs over adopted maps, and the first
  // frontend write does if nobody has.
  absl::Status SyncServiceAddresses();
  // Whether yard_svc_addrs has addr_be's bit set (pods' packets to it take
  // the services lookups); true where the pins have no such map.
  absl::StatusOr<bool> MayBeServiceAddress(uint32_t addr_be) const;

  absl::Status PutFrontend(const yard_svc4_key& key,
                           const yard_svc_value& value);
  absl::Status DeleteFrontend(const yard_svc4_key& key);
  absl::StatusOr<std::optional<yard_svc_value>> LookupFrontend(
      const yard_svc4_key& key) const;

  absl::Status PutSlot(const yard_slot_key& key, const yard_slot_value& value);
  absl::Status DeleteSlot(const yard_slot_key& key);

  // Backends and reverse-NAT entries live in arrays: "delete" zeroes the
  // entry, which the datapath reads as unused.
  absl::Status PutBackend(uint32_t id, const yard_backend4& backend);
  absl::Status ClearBackend(uint32_t id);
  absl::StatusOr<yard_backend4> LookupBackend(uint32_t id) const;
  absl::Status PutRevNat(uint32_t id, const yard_rnat4& frontend);
  absl::Status ClearRevNat(uint32_t id);

  // Many entries of one service map in one syscall (BpfMap::UpdateBatchRaw
  // and DeleteBatchRaw: packed keys and values of the map's own types).
  enum class ServiceMap { kFrontends, kSlots, kBackends, kRevNat, kLbSrc };
  absl::Status UpdateBatch(ServiceMap map, const void* keys, const void* values,
                           uint32_t count, uint32_t& done);
  absl::Status DeleteBatch(ServiceMap map, const void* keys, uint32_t count,
                           uint32_t& done);

  // Whole-map reads, for adoption by a restarted agent and for the CLI.
  // Arrays skip their empty (zeroed) entries.
  absl::StatusOr<std::vector<std::pair<yard_svc4_key, yard_svc_value>>>
  DumpFrontends() const;
  absl::StatusOr<std::vector<std::pair<yard_slot_key, yard_slot_value>>>
  DumpSlots() const;
  absl::StatusOr<std::vector<std::pair<uint32_t, yard_backend4>>> DumpBackends()
      const;
  absl::StatusOr<std::vector<std::pair<uint32_t, yard_rnat4>>> DumpRevNat()
      const;

  // loadBalancerSourceRanges (an LPM trie: a key is its own entry).
  absl::Status PutSourceRange(const yard_lb_src4_key& key);
  absl::Status DeleteSourceRange(const yard_lb_src4_key& key);
  absl::StatusOr<std::vector<yard_lb_src4_key>> DumpSourceRanges() const;

  // Maglev lookup tables (yard_maglev), by backend set id. `table` is the
  // table's array as the datapath reads it: [0] the size M, [1..M] backend
  // ids. Put rewrites the set's table in place when it can (same size,
  // maglev_in_place: each entry the old backend or the new, yard_abi.h);
  // otherwise it builds a new array and swaps that in with one update.
  absl::Status PutMaglevTable(uint32_t svc_id,
                              const std::vector<uint32_t>& table);
  absl::Status DeleteMaglevTable(uint32_t svc_id);
  // Many tables in one call: the kernel waits for running programs (an
  // RCU grace period, 17 ms on the bench VM) after each write to a map of
  // maps, so one call per table made a cold sync of 10,000 Maglev
  // services take minutes. tables[i] becomes ids[i]'s, in order, stopping
  // at the first refused; `done` says how many were swapped in. It may
  // stop short with OK: new tables are built before the one swap, each an
  // open fd until then, and a call builds at most kMaglevBatchTables of
  // them and kMaglevBatchBytes (a batch of replacements never holds much
  // more than the tables it replaces, nor many fds). A call that rewrites
  // tables in place does only that (a leading run of them: no swap, no
  // wait). Unimplemented (done 0): the kernel has no batch calls for maps
  // of maps.
  static constexpr size_t kMaglevBatchTables = 256;
  static constexpr size_t kMaglevBatchBytes = size_t{64} << 20;
  absl::Status PutMaglevTables(absl::Span<const uint32_t> svc_ids,
                               absl::Span<const std::vector<uint32_t>> tables,
                               uint32_t& done);
  // Deletes sets' tables likewise; NotFound when svc_ids[done] has none.
  absl::Status DeleteMaglevTables(absl::Span<const uint32_t> svc_ids,
                                  uint32_t& done);
  absl::StatusOr<std::vector<uint32_t>> MaglevTableIds() const;
  // The table as the datapath reads it; empty when the set has none.
  absl::StatusOr<std::vector<uint32_t>> ReadMaglevTable(uint32_t svc_id) const;
  // The kernel's id of the array that holds svc_id's table (nullopt when
  // none): kept by a rewrite in place, new after a swap.
  absl::StatusOr<std::optional<uint32_t>> MaglevTableMapId(
      uint32_t svc_id) const;

  absl::StatusOr<std::optional<yard_ct4_value>> LookupCt(
      const yard_ct4_key& key) const;
  absl::Status PutCt(const yard_ct4_key& key, const yard_ct4_value& value);
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> DumpCt()
      const;
  absl::Status ClearCt();
  // Deletes one entry; one already gone is not an error.
  absl::Status DeleteCt(const yard_ct4_key& key);

  // Least-connection counts by backend id (yard_lc4), the ones not zero.
  absl::StatusOr<std::vector<std::pair<uint32_t, yard_lc_count>>>
  DumpLeastConnCounts() const;
  absl::StatusOr<yard_lc_count> LeastConnCount(uint32_t backend_id) const;
  // A plain write, not an add: a change the datapath makes between the
  // caller's read and this write is lost (see agent/lc_recount.h).
  absl::Status PutLeastConnCount(uint32_t backend_id,
                                 const yard_lc_count& count);
  // Session affinity entries: read by tests and people, written only by
  // the datapath (tests age an entry to see it expire).
  absl::StatusOr<std::optional<yard_aff4_value>> LookupAffinity(
      const yard_aff4_key& key) const;
  absl::Status PutAffinity(const yard_aff4_key& key,
                           const yard_aff4_value& value);
  absl::StatusOr<std::vector<std::pair<yard_aff4_key, yard_aff4_value>>>
  DumpAffinity() const;

  // Per-CPU counters, summed over every possible CPU.
  absl::StatusOr<yard_counter> ReasonCounter(yard_reason reason) const;
  absl::StatusOr<yard_svc_stats> ServiceStats(uint32_t rev_nat_id) const;
  // Zeroes every counter (tests and benchmarks start from a clean slate).
  absl::Status ResetCounters();

  int svc4_fd() const { return maps_.svc4.fd(); }
  int ct4_fd() const { return maps_.ct4.fd(); }

 private:
  BpfMap& Service(ServiceMap map);
  absl::Status AddressesBeforePut(absl::Span<const yard_svc4_key> keys);
  absl::Status AddressesAfterDelete(absl::Span<const yard_svc4_key> keys);
  absl::Status WriteAddressWords(const ServiceAddressBits::Words& words);

  Handles maps_;
  ServiceAddressBits addr_bits_;
  // False until SyncServiceAddresses has run, and again after a failed
  // write of yard_svc_addrs: addr_bits_ no longer says what the map holds.
  bool addr_bits_synced_ = false;
};

// The key of a service port; `addr_be` and `port_be` in network order.
// Scope: whose view of the service (enum yard_scope).
yard_svc4_key ServiceKey(uint32_t addr_be, uint16_t port_be, uint8_t proto,
                         uint8_t scope = YARD_SCOPE_INTERNAL);
// The wildcard entry's key that marks addr_be as a service address.
yard_svc4_key WildcardKey(uint32_t addr_be,
                          uint8_t scope = YARD_SCOPE_INTERNAL);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_DATAPATH_MAPS_H_
