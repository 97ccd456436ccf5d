// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/tc_attachments.h"

#include <bpf/libbpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/kernel/netns_scope.h"

namespace switchyard::kernel {
namespace {

struct Interface {
  std::string name;
  int ifindex;
};

// The interfaces of the current network namespace.
absl::StatusOr<std::vector<Interface>> Interfaces() {
  // `struct`: the type and the function share the name if_nameindex.
  std::unique_ptr<struct if_nameindex, void (*)(struct if_nameindex*)> list(
      if_nameindex(), if_freenameindex);
  if (list == nullptr) return ErrnoStatus(errno, "list interfaces");
  std::vector<Interface> out;
  for (const struct if_nameindex* i = list.get(); i->if_index != 0; ++i) {
    out.push_back({i->if_name, static_cast<int>(i->if_index)});
  }
  std::sort(out.begin(), out.end(), [](const Interface& a, const Interface& b) {
    return a.name < b.name;
  });
  return out;
}

// libbpf's printer while hooks are queried: an interface without a clsact
// qdisc makes the kernel answer "Parent Qdisc doesn't exists", which libbpf
// prints as a warning; here it only means "nothing attached". Everything
// else goes on to the printer that was set before.
libbpf_print_fn_t g_outer_print = nullptr;

int QueryPrint(enum libbpf_print_level level, const char* format,
               va_list args) {
  va_list copy;
  va_copy(copy, args);
  char buf[512];
  vsnprintf(buf, sizeof(buf), format, copy);
  va_end(copy);
  if (strstr(buf, "Parent Qdisc doesn") != nullptr) return 0;
  return g_outer_print != nullptr ? g_outer_print(level, format, args) : 0;
}

// Installs QueryPrint for a scope. libbpf's printer is process-wide, so
// this assumes no other thread loads programs meanwhile (true of yardctl).
class QuietQdiscErrors {
 public:
  QuietQdiscErrors() { g_outer_print = libbpf_set_print(QueryPrint); }
  ~QuietQdiscErrors() { libbpf_set_print(g_outer_print); }
  QuietQdiscErrors(const QuietQdiscErrors&) = delete;
  QuietQdiscErrors& operator=(const QuietQdiscErrors&) = delete;
};

// The program id of Switchyard's filter on one hook; 0 when there is none.
absl::StatusOr<uint32_t> QueryHook(int ifindex, TcDirection direction) {
  DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                      .attach_point = direction == TcDirection::kIngress
                                          ? BPF_TC_INGRESS
                                          : BPF_TC_EGRESS);
  DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kSwitchyardTcHandle,
                      .priority = kSwitchyardTcPriority);
  int err = bpf_tc_query(&hook, &opts);
  // ENOENT: no such filter; EINVAL: no clsact qdisc on the interface at
  // all. Both mean "not attached here".
  if (err == -ENOENT || err == -EINVAL) return 0;
  if (err != 0) {
    return ErrnoStatus(err,
                       absl::StrCat("query tc filter on ifindex ", ifindex));
  }
  return opts.prog_id;
}

}  // namespace

absl::StatusOr<std::vector<TcAttachment>> ListTcAttachments(
    absl::string_view netns, absl::string_view pin_dir) {
  absl::StatusOr<std::vector<uint32_t>> node_maps = NodeMapIds(pin_dir);
  if (!node_maps.ok()) return node_maps.status();

  // Only the netlink part runs inside the namespace; program ids are
  // global, so they are read after returning.
  std::vector<std::pair<Interface, std::pair<TcDirection, uint32_t>>> found;
  std::vector<std::pair<Interface, uint32_t>> xdp;
  {
    absl::StatusOr<std::unique_ptr<NetnsScope>> scope =
        NetnsScope::Enter(netns);
    if (!scope.ok()) return scope.status();
    QuietQdiscErrors quiet;
    absl::StatusOr<std::vector<Interface>> interfaces = Interfaces();
    if (!interfaces.ok()) return interfaces.status();
    for (const Interface& interface : *interfaces) {
      for (TcDirection direction :
           {TcDirection::kIngress, TcDirection::kEgress}) {
        absl::StatusOr<uint32_t> prog_id =
            QueryHook(interface.ifindex, direction);
        if (!prog_id.ok()) return prog_id.status();
        if (*prog_id != 0) {
          found.push_back({interface, {direction, *prog_id}});
        }
      }
      // Whatever XDP program is attached, in any mode; only Switchyard's
      // are kept below, by name.
      uint32_t xdp_id = 0;
      if (bpf_xdp_query_id(interface.ifindex, 0, &xdp_id) == 0 && xdp_id != 0) {
        xdp.push_back({interface, xdp_id});
      }
    }
  }

  std::vector<TcAttachment> out;
  for (const auto& [interface, hook] : found) {
    TcAttachment attachment;
    attachment.interface = interface.name;
    attachment.ifindex = interface.ifindex;
    attachment.direction = hook.first;
    absl::StatusOr<ProgramInfo> program = ReadProgramInfo(hook.second);
    if (absl::IsNotFound(program.status())) continue;  // replaced meanwhile
    if (!program.ok()) return program.status();
    attachment.program = *std::move(program);
    attachment.this_node = UsesNodeMaps(attachment.program, *node_maps);
    out.push_back(std::move(attachment));
  }
  for (const auto& [interface, prog_id] : xdp) {
    absl::StatusOr<ProgramInfo> program = ReadProgramInfo(prog_id);
    if (absl::IsNotFound(program.status())) continue;
    if (!program.ok()) return program.status();
    if (program->name != kFromOutsideProgram) continue;  // not ours
    TcAttachment attachment;
    attachment.interface = interface.name;
    attachment.ifindex = interface.ifindex;
    attachment.xdp = true;
    attachment.program = *std::move(program);
    attachment.this_node = UsesNodeMaps(attachment.program, *node_maps);
    out.push_back(std::move(attachment));
  }
  // By interface, then in the order a frame meets them: XDP, tc ingress,
  // tc egress.
  auto order = [](const TcAttachment& a) {
    return std::make_tuple(a.ifindex, !a.xdp,
                           a.direction == TcDirection::kEgress);
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const TcAttachment& a, const TcAttachment& b) {
                     return order(a) < order(b);
                   });
  return out;
}

}  // namespace switchyard::kernel
