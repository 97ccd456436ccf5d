// SPDX-License-Identifier: Apache-2.0
#include "control/kube/api_decode.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "switchyard/kubejson/objects.pb.h"

namespace switchyard::kube {
namespace {

constexpr size_t kQuoteBytes = 120;

std::string Quote(absl::string_view text) {
  if (text.size() <= kQuoteBytes) return std::string(text);
  return absl::StrCat(text.substr(0, kQuoteBytes), "...");
}

absl::Status Parse(absl::string_view json, google::protobuf::Message* message,
                   absl::string_view what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not the JSON expected (",
                     std::string(status.message()), "): ", Quote(json)));
  }
  return absl::OkStatus();
}

template <typename List>
absl::StatusOr<ListPage> DecodeListAs(absl::string_view body,
                                      const ServingRules& rules,
                                      absl::string_view what) {
  List list;
  if (absl::Status s = Parse(body, &list, what); !s.ok()) return s;
  ListPage page;
  page.resource_version = list.metadata().resource_version();
  page.continue_token = list.metadata().continue_();
  page.items.reserve(list.items_size());
  for (const auto& item : list.items()) {
    page.items.push_back(Convert(item, rules));
  }
  return page;
}

template <typename Event>
absl::Status DecodeObjectEvent(absl::string_view line,
                               const ServingRules& rules, WatchEvent& event) {
  Event parsed;
  if (absl::Status s = Parse(line, &parsed, "watch event"); !s.ok()) return s;
  event.item = Convert(parsed.object(), rules);
  event.resource_version = event.item.resource_version;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ListPage> DecodeList(v1::Kind kind, absl::string_view body,
                                    const ServingRules& rules) {
  switch (kind) {
    case v1::KIND_SERVICE:
      return DecodeListAs<kubejson::ServiceList>(body, rules, "ServiceList");
    case v1::KIND_ENDPOINT_SLICE:
      return DecodeListAs<kubejson::EndpointSliceList>(body, rules,
                                                       "EndpointSliceList");
    case v1::KIND_NODE:
      return DecodeListAs<kubejson::NodeList>(body, rules, "NodeList");
    default:
      return absl::InvalidArgumentError("DecodeList: no such kind");
  }
}

absl::StatusOr<WatchEvent> DecodeWatchEvent(v1::Kind kind,
                                            absl::string_view line,
                                            const ServingRules& rules) {
  kubejson::EventType header;
  if (absl::Status s = Parse(line, &header, "watch event"); !s.ok()) return s;
  WatchEvent event;
  const std::string& type = header.type();
  if (type == "ERROR") {
    kubejson::StatusEvent parsed;
    if (absl::Status s = Parse(line, &parsed, "watch ERROR event"); !s.ok()) {
      return s;
    }
    event.type = WatchEvent::Type::kError;
    event.error_code = parsed.object().code();
    event.error_message = parsed.object().message();
    return event;
  }
  if (type == "ADDED") {
    event.type = WatchEvent::Type::kAdded;
  } else if (type == "MODIFIED") {
    event.type = WatchEvent::Type::kModified;
  } else if (type == "DELETED") {
    event.type = WatchEvent::Type::kDeleted;
  } else if (type == "BOOKMARK") {
    event.type = WatchEvent::Type::kBookmark;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "watch event of unknown type \"", type, "\": ", Quote(line)));
  }
  absl::Status status;
  switch (kind) {
    case v1::KIND_SERVICE:
      status = DecodeObjectEvent<kubejson::ServiceEvent>(line, rules, event);
      break;
    case v1::KIND_ENDPOINT_SLICE:
      status =
          DecodeObjectEvent<kubejson::EndpointSliceEvent>(line, rules, event);
      break;
    case v1::KIND_NODE:
      status = DecodeObjectEvent<kubejson::NodeEvent>(line, rules, event);
      break;
    default:
      return absl::InvalidArgumentError("DecodeWatchEvent: no such kind");
  }
  if (!status.ok()) return status;
  if (event.resource_version.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        type, " event without metadata.resourceVersion: ", Quote(line)));
  }
  return event;
}

std::string DescribeFailure(int http_status, absl::string_view body) {
  kubejson::Status status;
  if (Parse(body, &status, "Status").ok() && !status.message().empty()) {
    if (status.reason().empty()) {
      return absl::StrCat("HTTP ", http_status, ": ", status.message());
    }
    return absl::StrCat("HTTP ", http_status, " ", status.reason(), ": ",
                        status.message());
  }
  return absl::StrCat("HTTP ", http_status, ": ", Quote(body));
}

}  // namespace switchyard::kube
