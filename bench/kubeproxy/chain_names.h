// SPDX-License-Identifier: Apache-2.0
// Chain names in kube-proxy's style: a prefix and a base32 digest of the
// service port (and endpoint), so names are stable, short and unique.
// kube-proxy digests with SHA-256; any well-mixed digest gives the same
// rule shapes and lengths, which is all the benchmark depends on.
#ifndef SWITCHYARD_BENCH_KUBEPROXY_CHAIN_NAMES_H_
#define SWITCHYARD_BENCH_KUBEPROXY_CHAIN_NAMES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace switchyard::bench::kubeproxy {

// `length` base32 characters (A-Z, 2-7) digesting `text`; at most 24.
std::string Digest(absl::string_view text, int length);

// The protocol as kube-proxy writes it into rules ("-p tcp", "tcp dport")
// and into the text its chain names digest: Kubernetes' name in lower case.
std::string RuleProtoName(uint8_t proto);

}  // namespace switchyard::bench::kubeproxy

#endif  // SWITCHYARD_BENCH_KUBEPROXY_CHAIN_NAMES_H_
