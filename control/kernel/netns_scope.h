// SPDX-License-Identifier: Apache-2.0
// Runs a stretch of code in another network namespace: the calling thread
// enters /run/netns/NAME and returns to its own namespace when the scope
// ends. Nodes of the test lab and the demo are namespaces on one machine,
// and their interfaces (with the tc filters on them) are only visible from
// inside.
#ifndef SWITCHYARD_CONTROL_KERNEL_NETNS_SCOPE_H_
#define SWITCHYARD_CONTROL_KERNEL_NETNS_SCOPE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/common/scoped_fd.h"

namespace switchyard::kernel {

class NetnsScope {
 public:
  // `name` is a name under /run/netns (as `ip netns` makes them) or a path
  // to a namespace file; "" stays in the current namespace.
  static absl::StatusOr<std::unique_ptr<NetnsScope>> Enter(
      absl::string_view name);
  ~NetnsScope();  // back to the namespace the thread was in
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  explicit NetnsScope(ScopedFd original) : original_(std::move(original)) {}

  ScopedFd original_;  // invalid: never left
};

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_NETNS_SCOPE_H_
