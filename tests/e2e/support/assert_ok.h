// SPDX-License-Identifier: Apache-2.0
// ASSERT_OK for absl::Status in gtest: the e2e tests build their setup out
// of Status-returning steps, and a failing step must print its message.
#ifndef SWITCHYARD_TESTS_E2E_SUPPORT_ASSERT_OK_H_
#define SWITCHYARD_TESTS_E2E_SUPPORT_ASSERT_OK_H_

#include "absl/status/status.h"
#include "gtest/gtest.h"

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const absl::Status assert_ok_status = (expr);           \
    ASSERT_TRUE(assert_ok_status.ok()) << assert_ok_status; \
  } while (0)

#endif  // SWITCHYARD_TESTS_E2E_SUPPORT_ASSERT_OK_H_
