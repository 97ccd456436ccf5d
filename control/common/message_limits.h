// SPDX-License-Identifier: Apache-2.0
// How large one control-plane gRPC message may be, for the controller and
// every client of it (yardctl, the agents' watch streams): a large apply,
// or a snapshot for an agent, is one message. Every end uses this one
// number, so a message one side is willing to send is one the other is
// willing to read. Lists are paged so that no reply outgrows it
// (controller.proto, ListRequest).
#ifndef SWITCHYARD_CONTROL_COMMON_MESSAGE_LIMITS_H_
#define SWITCHYARD_CONTROL_COMMON_MESSAGE_LIMITS_H_

namespace switchyard {

inline constexpr int kMaxControlMessageBytes = 512 << 20;

}  // namespace switchyard

#endif  // SWITCHYARD_CONTROL_COMMON_MESSAGE_LIMITS_H_
