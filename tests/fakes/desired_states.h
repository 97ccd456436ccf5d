// SPDX-License-Identifier: Apache-2.0
// Shapes of desired state the programmer's tests share.
#ifndef SWITCHYARD_TESTS_FAKES_DESIRED_STATES_H_
#define SWITCHYARD_TESTS_FAKES_DESIRED_STATES_H_

#include <cstdint>

#include "control/translate/desired_state.h"
#include "yard_abi.h"

namespace switchyard::testing {

// `d` with every port frontend choosing by Maglev over a table of
// `table_size` entries (a prime) per set.
inline translate::DesiredState WithMaglev(translate::DesiredState d,
                                          uint32_t table_size) {
  for (auto& [key, fe] : d.frontends) {
    if (!key.is_wildcard()) fe.policy = YARD_POLICY_MAGLEV;
  }
  for (auto& [name, set] : d.sets) set.maglev_table_size = table_size;
  return d;
}

}  // namespace switchyard::testing

#endif  // SWITCHYARD_TESTS_FAKES_DESIRED_STATES_H_
