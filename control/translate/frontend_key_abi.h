// SPDX-License-Identifier: Apache-2.0
// FrontendKey and the map key it becomes, yard_svc4_key: the one place
// either is made from the other.
//
// FrontendKey stays a C++ type on purpose: the translator orders and
// compares it (std::map keys, operator<=>), it has no padding for anyone
// to forget to zero, and translate/ needs nothing of the C struct but
// this. The checks below keep the two from drifting apart: a field of
// another type, or a field yard_svc4_key gains, fails the build here
// rather than being dropped on the way to the map.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_FRONTEND_KEY_ABI_H_
#define SWITCHYARD_CONTROL_TRANSLATE_FRONTEND_KEY_ABI_H_

#include <type_traits>

#include "control/translate/desired_state.h"
#include "yard_abi.h"

namespace switchyard::translate {

static_assert(std::is_same_v<decltype(FrontendKey::addr_be),
                             decltype(yard_svc4_key::addr)>);
static_assert(std::is_same_v<decltype(FrontendKey::port_be),
                             decltype(yard_svc4_key::port)>);
static_assert(std::is_same_v<decltype(FrontendKey::proto),
                             decltype(yard_svc4_key::proto)>);
static_assert(std::is_same_v<decltype(FrontendKey::scope),
                             decltype(yard_svc4_key::scope)>);
static_assert(sizeof(yard_svc4_key) ==
                  sizeof(FrontendKey::addr_be) + sizeof(FrontendKey::port_be) +
                      sizeof(FrontendKey::proto) + sizeof(FrontendKey::scope),
              "yard_svc4_key has a field FrontendKey does not carry");

inline yard_svc4_key ToSvc4Key(const FrontendKey& k) {
  yard_svc4_key key = {};  // hash keys compare bytewise: no stray bytes
  key.addr = k.addr_be;
  key.port = k.port_be;
  key.proto = k.proto;
  key.scope = k.scope;
  return key;
}

inline FrontendKey FromSvc4Key(const yard_svc4_key& key) {
  return FrontendKey{key.addr, key.port, key.proto, key.scope};
}

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_FRONTEND_KEY_ABI_H_
