// SPDX-License-Identifier: Apache-2.0
// The BPF ABI as C++ sees it: the C header itself, plus size checks so a
// layout change on one side cannot go unnoticed on the other.
#ifndef SWITCHYARD_CONTROL_KERNEL_ABI_H_
#define SWITCHYARD_CONTROL_KERNEL_ABI_H_

#include "yard_abi.h"

static_assert(sizeof(yard_config) == 28);
static_assert(sizeof(yard_svc4_key) == 8);
static_assert(sizeof(yard_svc_value) == 16);
static_assert(sizeof(yard_slot_key) == 8);
static_assert(sizeof(yard_slot_value) == 4);
static_assert(sizeof(yard_backend4) == 8);
static_assert(sizeof(yard_rnat4) == 8);
static_assert(sizeof(yard_ct4_key) == 16);
static_assert(sizeof(yard_ct4_value) == 56);
static_assert(sizeof(yard_lb_src4_key) == 12);
static_assert(sizeof(yard_counter) == 16);
static_assert(sizeof(yard_svc_stats) == 32);
static_assert(sizeof(yard_feature_value) == 128);
static_assert(sizeof(yard_layout_value) == 4);

#endif  // SWITCHYARD_CONTROL_KERNEL_ABI_H_
