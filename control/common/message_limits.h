// SPDX-License-Identifier: Apache-2.0
// How large one control-plane gRPC message may be, for the controller and
// every client of it: a list of a large cluster's objects, or a snapshot
// for an agent, is one message. Both ends use this one number, so a reply
// the controller is willing to send is one yardctl is willing to read.
#ifndef SWITCHYARD_CONTROL_COMMON_MESSAGE_LIMITS_H_
#define SWITCHYARD_CONTROL_COMMON_MESSAGE_LIMITS_H_

namespace switchyard {

inline constexpr int kMaxControlMessageBytes = 512 << 20;

}  // namespace switchyard

#endif  // SWITCHYARD_CONTROL_COMMON_MESSAGE_LIMITS_H_
