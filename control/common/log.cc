// SPDX-License-Identifier: Apache-2.0
#include "control/common/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace switchyard::log_internal {
namespace {

// The one process-wide setting: written by main before threads start.
std::atomic<Severity> min_severity{Severity::kInfo};

char Letter(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return 'I';
    case Severity::kWarning:
      return 'W';
    case Severity::kError:
      return 'E';
  }
  return '?';
}

}  // namespace

void SetMinSeverity(Severity severity) { min_severity = severity; }

LogLine::LogLine(Severity severity, const char* file, int line)
    : severity_(severity) {
  absl::string_view path(file);
  if (size_t slash = path.rfind('/'); slash != path.npos) {
    path.remove_prefix(slash + 1);
  }
  stream_ << Letter(severity) << " "
          << absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::LocalTimeZone())
          << " " << path << ":" << line << "] ";
}

LogLine::~LogLine() {
  if (severity_ < min_severity.load()) return;
  stream_ << '\n';
  std::string text = stream_.str();
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace switchyard::log_internal
