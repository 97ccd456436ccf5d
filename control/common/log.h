// SPDX-License-Identifier: Apache-2.0
// LOG(INFO|WARNING|ERROR) << ...; to stderr, one line per statement.
//
// Debian 12's Abseil (20220623) predates absl/log; this keeps absl's
// spelling so moving to absl::log is a change of include, not of call sites.
#ifndef SWITCHYARD_CONTROL_COMMON_LOG_H_
#define SWITCHYARD_CONTROL_COMMON_LOG_H_

#include <sstream>

#include "absl/strings/string_view.h"

namespace switchyard::log_internal {

enum class Severity { kInfo, kWarning, kError };

// Collects one message and writes it, whole, when destroyed.
class LogLine {
 public:
  LogLine(Severity severity, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  Severity severity_;
  std::ostringstream stream_;
};

// Minimum severity written; set once from main (--quiet and the like).
void SetMinSeverity(Severity severity);

}  // namespace switchyard::log_internal

#define YARD_LOG_SEVERITY_INFO ::switchyard::log_internal::Severity::kInfo
#define YARD_LOG_SEVERITY_WARNING ::switchyard::log_internal::Severity::kWarning
#define YARD_LOG_SEVERITY_ERROR ::switchyard::log_internal::Severity::kError
#define LOG(severity)                                                         \
  ::switchyard::log_internal::LogLine(YARD_LOG_SEVERITY_##severity, __FILE__, \
                                      __LINE__)                               \
      .stream()

#endif  // SWITCHYARD_CONTROL_COMMON_LOG_H_
