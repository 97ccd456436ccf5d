// SPDX-License-Identifier: Apache-2.0
// Kubernetes YAML/JSON -> v1::Object. yaml-cpp parses; everything here is
// the mapping of camelCase fields onto the messages and the type checks
// Kubernetes' own decoder would make, with messages that name the field.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/format/json.h"
#include "control/manifest/known_fields.h"
#include "control/manifest/manifest.h"
#include "control/manifest/object.h"
#include "control/manifest/yaml_limits.h"
#include "control/names/kind_names.h"

namespace switchyard::manifest {
namespace {

using format::QuoteString;

using FieldFn = absl::FunctionRef<absl::Status(
    const std::string& key, const YAML::Node& value, const std::string& path)>;
using ItemFn = absl::FunctionRef<absl::Status(const YAML::Node& item,
                                              const std::string& path)>;

// ---- Paths and messages ----------------------------------------------

std::string Child(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Index(const std::string& path, size_t i) {
  return absl::StrCat(path, "[", i, "]");
}

// Label and annotation keys hold dots and slashes of their own, so they
// are shown bracketed: metadata.labels["app.kubernetes.io/name"].
std::string Entry(const std::string& path, absl::string_view key) {
  return absl::StrCat(path, "[", QuoteString(key), "]");
}

// A field error's position is within its document, whose first line only
// ParseManifests knows. It travels as a payload, not as text, and becomes
// " (line N, column M)" at the message's end once the document's offset is
// added (WithStreamPosition): rewriting the text instead would also rewrite
// whatever a user's key or value spells "(line 5".
constexpr absl::string_view kPositionPayload =
    "type.switchyard.dev/manifest.DocumentPosition";

absl::Status FieldError(const std::string& path, const YAML::Node& node,
                        absl::string_view message) {
  std::string text =
      path.empty() ? std::string(message) : absl::StrCat(path, ": ", message);
  absl::Status status = absl::InvalidArgumentError(text);
  // The line is what makes a message actionable in a 500-line file.
  if (node.IsDefined() && !node.Mark().is_null()) {
    status.SetPayload(
        kPositionPayload,
        absl::Cord(absl::StrCat(node.Mark().line, ",", node.Mark().column)));
  }
  return status;
}

// `status` with its document-relative position, if it has one, written out
// as the stream's line and column.
absl::Status WithStreamPosition(const absl::Status& status, int first_line) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPositionPayload);
  if (!payload.has_value()) return status;
  std::pair<std::string, std::string> parts =
      absl::StrSplit(std::string(*payload), ',');
  int line = 0;
  int column = 0;
  if (!absl::SimpleAtoi(parts.first, &line) ||
      !absl::SimpleAtoi(parts.second, &column)) {
    return status;  // never written that way by FieldError
  }
  return absl::Status(
      status.code(),
      absl::StrCat(status.message(), " (line ",
                   static_cast<int64_t>(line) + first_line + 1, ", column ",
                   static_cast<int64_t>(column) + 1, ")"));
}

bool IsAbsent(const YAML::Node& node) {
  return !node.IsDefined() || node.IsNull();
}

absl::string_view NodeKind(const YAML::Node& node) {
  if (IsAbsent(node)) return "nothing";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "a scalar";
}

// Plain scalars are untagged ("?"), or tagged !!int/!!bool explicitly;
// quoted ones carry "!" and !!str ones the str tag. Kubernetes types a
// quoted "80" as a string, and so must this, or a manifest would load here
// and be refused by kubectl.
bool IsPlainScalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag == "?" || tag == "tag:yaml.org,2002:int" ||
         tag == "tag:yaml.org,2002:bool";
}

// ---- Scalars ----------------------------------------------------------

// The text is UTF-8 (checked before parsing), but an escape can still
// make a scalar that is not: yaml-cpp turns "\N" and "\_" into the single
// bytes 0x85 and 0xA0, not those characters' UTF-8. Every string goes on
// to the controller as protobuf, which refuses such bytes.
absl::Status CheckDecodedUtf8(const std::string& value, const std::string& path,
                              const YAML::Node& node) {
  if (!FirstInvalidUtf8(value).has_value()) return absl::OkStatus();
  return FieldError(path, node,
                    "not valid UTF-8 once its escapes are read (YAML's \\N "
                    "and \\_ escapes are not supported; write the "
                    "character itself or \\u0085, \\u00a0)");
}

absl::Status ReadString(const YAML::Node& node, const std::string& path,
                        std::string* out) {
  if (IsAbsent(node)) {
    out->clear();
    return absl::OkStatus();
  }
  if (!node.IsScalar()) {
    return FieldError(path, node,
                      absl::StrCat("expected a string, got ", NodeKind(node)));
  }
  if (absl::Status s = CheckDecodedUtf8(node.Scalar(), path, node); !s.ok()) {
    return s;
  }
  *out = node.Scalar();
  return absl::OkStatus();
}

// Decimal only: Kubernetes manifests never write ports in hex, and a
// leading zero is more likely a typo than octal.
bool ParseDecimal(absl::string_view text, int64_t* out) {
  absl::string_view digits = text;
  if (absl::StartsWith(digits, "-")) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 18) return false;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(text, out);
}

absl::Status ReadInt32(const YAML::Node& node, const std::string& path,
                       absl::FunctionRef<void(int32_t)> set) {
  if (IsAbsent(node)) return absl::OkStatus();
  if (!node.IsScalar()) {
    return FieldError(
        path, node, absl::StrCat("expected an integer, got ", NodeKind(node)));
  }
  const std::string& text = node.Scalar();
  int64_t value = 0;
  bool numeric = ParseDecimal(text, &value);
  if (numeric && !IsPlainScalar(node)) {
    return FieldError(path, node,
                      absl::StrCat(QuoteString(text),
                                   " is a string, not an integer (remove the "
                                   "quotes)"));
  }
  if (!numeric) {
    return FieldError(path, node,
                      absl::StrCat(QuoteString(text), " is not an integer"));
  }
  if (value < std::numeric_limits<int32_t>::min() ||
      value > std::numeric_limits<int32_t>::max()) {
    return FieldError(path, node, absl::StrCat(text, " is out of range"));
  }
  set(static_cast<int32_t>(value));
  return absl::OkStatus();
}

// `set` is not called for null, so optional fields stay unset.
absl::Status ReadBool(const YAML::Node& node, const std::string& path,
                      absl::FunctionRef<void(bool)> set) {
  if (IsAbsent(node)) return absl::OkStatus();
  if (!node.IsScalar()) {
    return FieldError(
        path, node,
        absl::StrCat("expected true or false, got ", NodeKind(node)));
  }
  // YAML 1.1's spellings too: Kubernetes reads manifests with Go's
  // yaml.v2, which takes `yes` and `on` for true.
  static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
  static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No",
                                       "NO",    "off",   "Off",   "OFF"};
  const std::string& text = node.Scalar();
  if (IsPlainScalar(node)) {
    for (const char* word : kTrue) {
      if (text == word) {
        set(true);
        return absl::OkStatus();
      }
    }
    for (const char* word : kFalse) {
      if (text == word) {
        set(false);
        return absl::OkStatus();
      }
    }
  }
  return FieldError(
      path, node,
      absl::StrCat(QuoteString(text),
                   IsPlainScalar(node) ? " is not a boolean (true or false)"
                                       : " is a string, not a boolean (remove "
                                         "the quotes)"));
}

// Kubernetes' IntOrString: a plain integer is a number, anything else (a
// quoted "8080" included) a name.
absl::Status ReadIntOrString(const YAML::Node& node, const std::string& path,
                             v1::IntOrString* out) {
  if (!node.IsScalar()) {
    return FieldError(
        path, node,
        absl::StrCat("expected an integer or a name, got ", NodeKind(node)));
  }
  int64_t value = 0;
  if (IsPlainScalar(node) && ParseDecimal(node.Scalar(), &value)) {
    if (value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max()) {
      return FieldError(path, node,
                        absl::StrCat(node.Scalar(), " is out of range"));
    }
    out->set_number(static_cast<int32_t>(value));
  } else {
    out->set_name(node.Scalar());
  }
  return absl::OkStatus();
}

// ---- Collections ------------------------------------------------------

// Calls `fn` for every field of a map, in document order. Duplicate keys
// are an error: yaml-cpp keeps both silently, Kubernetes refuses them, and
// a silently ignored second `port:` is a nasty thing to debug.
absl::Status ForEachField(const YAML::Node& node, const std::string& path,
                          FieldFn fn) {
  if (IsAbsent(node)) return absl::OkStatus();
  if (!node.IsMap()) {
    return FieldError(path, node,
                      absl::StrCat("expected a map, got ", NodeKind(node)));
  }
  absl::flat_hash_set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      return FieldError(path, key, "a field name must be a string");
    }
    std::string child = Child(path, key.Scalar());
    if (!seen.insert(key.Scalar()).second) {
      return FieldError(child, key, "field set twice");
    }
    if (absl::Status s = fn(key.Scalar(), it->second, child); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ForEachItem(const YAML::Node& node, const std::string& path,
                         ItemFn fn) {
  if (IsAbsent(node)) return absl::OkStatus();
  if (!node.IsSequence()) {
    return FieldError(path, node,
                      absl::StrCat("expected a list, got ", NodeKind(node)));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    if (absl::Status s = fn(node[i], Index(path, i)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ReadStringList(
    const YAML::Node& node, const std::string& path,
    google::protobuf::RepeatedPtrField<std::string>* out) {
  return ForEachItem(node, path,
                     [out](const YAML::Node& item, const std::string& path) {
                       return ReadString(item, path, out->Add());
                     });
}

absl::Status ReadStringMap(
    const YAML::Node& node, const std::string& path,
    google::protobuf::Map<std::string, std::string>* out) {
  if (IsAbsent(node)) return absl::OkStatus();
  if (!node.IsMap()) {
    return FieldError(path, node,
                      absl::StrCat("expected a map, got ", NodeKind(node)));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      return FieldError(path, it->first, "a key must be a string");
    }
    const std::string& key = it->first.Scalar();
    std::string child = Entry(path, key);
    if (absl::Status s = CheckDecodedUtf8(key, child, it->first); !s.ok()) {
      return s;
    }
    if (out->contains(key)) return FieldError(child, it->first, "set twice");
    if (absl::Status s = ReadString(it->second, child, &(*out)[key]); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// ---- Kinds ------------------------------------------------------------

absl::Status ReadMeta(const YAML::Node& node, const std::string& path,
                      v1::ObjectMeta* meta) {
  bool generate_name = false;
  absl::Status s = ForEachField(
      node, path,
      [&](const std::string& key, const YAML::Node& value,
          const std::string& path) -> absl::Status {
        if (key == "name") return ReadString(value, path, meta->mutable_name());
        if (key == "namespace") {
          return ReadString(value, path, meta->mutable_namespace_());
        }
        if (key == "labels") {
          return ReadStringMap(value, path, meta->mutable_labels());
        }
        if (key == "annotations") {
          return ReadStringMap(value, path, meta->mutable_annotations());
        }
        if (key == "generateName") generate_name = true;
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (meta->name().empty()) {
    // Objects are keyed by name; the controller has no name generator.
    return FieldError(
        Child(path, "name"), node,
        generate_name ? "missing (generateName is not supported)" : "missing");
  }
  return absl::OkStatus();
}

absl::Status ReadServicePort(const YAML::Node& node, const std::string& path,
                             v1::ServicePort* port) {
  return ForEachField(
      node, path,
      [port](const std::string& key, const YAML::Node& value,
             const std::string& path) -> absl::Status {
        if (key == "name") return ReadString(value, path, port->mutable_name());
        if (key == "protocol") {
          return ReadString(value, path, port->mutable_protocol());
        }
        if (key == "port") {
          return ReadInt32(value, path,
                           [port](int32_t v) { port->set_port(v); });
        }
        if (key == "targetPort") {
          if (IsAbsent(value)) return absl::OkStatus();
          return ReadIntOrString(value, path, port->mutable_target_port());
        }
        if (key == "nodePort") {
          return ReadInt32(value, path,
                           [port](int32_t v) { port->set_node_port(v); });
        }
        if (key == "appProtocol") {
          return ReadString(value, path, port->mutable_app_protocol());
        }
        return absl::OkStatus();
      });
}

absl::Status ReadSessionAffinityConfig(const YAML::Node& node,
                                       const std::string& path,
                                       v1::ServiceSpec* spec) {
  // Present even when empty: Kubernetes refuses the block itself, not
  // only its timeout, on a Service without ClientIP affinity.
  if (!IsAbsent(node)) spec->mutable_session_affinity_config();
  return ForEachField(
      node, path,
      [spec](const std::string& key, const YAML::Node& value,
             const std::string& path) -> absl::Status {
        if (key != "clientIP") return absl::OkStatus();
        return ForEachField(
            value, path,
            [spec](const std::string& key, const YAML::Node& value,
                   const std::string& path) -> absl::Status {
              if (key != "timeoutSeconds") return absl::OkStatus();
              return ReadInt32(value, path, [spec](int32_t v) {
                spec->mutable_session_affinity_config()
                    ->set_client_ip_timeout_seconds(v);
              });
            });
      });
}

absl::Status ReadServiceSpec(const YAML::Node& node, const std::string& path,
                             v1::ServiceSpec* spec) {
  return ForEachField(
      node, path,
      [spec](const std::string& key, const YAML::Node& value,
             const std::string& path) -> absl::Status {
        if (key == "type") return ReadString(value, path, spec->mutable_type());
        if (key == "clusterIP") {
          return ReadString(value, path, spec->mutable_cluster_ip());
        }
        if (key == "clusterIPs") {
          return ReadStringList(value, path, spec->mutable_cluster_ips());
        }
        if (key == "ports") {
          return ForEachItem(
              value, path,
              [spec](const YAML::Node& item, const std::string& path) {
                return ReadServicePort(item, path, spec->add_ports());
              });
        }
        if (key == "selector") {
          return ReadStringMap(value, path, spec->mutable_selector());
        }
        if (key == "externalIPs") {
          return ReadStringList(value, path, spec->mutable_external_ips());
        }
        if (key == "sessionAffinity") {
          return ReadString(value, path, spec->mutable_session_affinity());
        }
        if (key == "sessionAffinityConfig") {
          return ReadSessionAffinityConfig(value, path, spec);
        }
        if (key == "externalTrafficPolicy") {
          return ReadString(value, path,
                            spec->mutable_external_traffic_policy());
        }
        if (key == "internalTrafficPolicy") {
          return ReadString(value, path,
                            spec->mutable_internal_traffic_policy());
        }
        if (key == "loadBalancerSourceRanges") {
          return ReadStringList(value, path,
                                spec->mutable_load_balancer_source_ranges());
        }
        if (key == "loadBalancerIP") {
          return ReadString(value, path, spec->mutable_load_balancer_ip());
        }
        if (key == "publishNotReadyAddresses") {
          return ReadBool(value, path, [spec](bool v) {
            spec->set_publish_not_ready_addresses(v);
          });
        }
        if (key == "healthCheckNodePort") {
          return ReadInt32(value, path, [spec](int32_t v) {
            spec->set_health_check_node_port(v);
          });
        }
        if (key == "externalName") {
          return ReadString(value, path, spec->mutable_external_name());
        }
        if (key == "ipFamilies") {
          return ReadStringList(value, path, spec->mutable_ip_families());
        }
        if (key == "ipFamilyPolicy") {
          return ReadString(value, path, spec->mutable_ip_family_policy());
        }
        if (key == "trafficDistribution") {
          return ReadString(value, path, spec->mutable_traffic_distribution());
        }
        if (key == "loadBalancerClass") {
          return ReadString(value, path, spec->mutable_load_balancer_class());
        }
        if (key == "allocateLoadBalancerNodePorts") {
          return ReadBool(value, path, [spec](bool v) {
            spec->set_allocate_load_balancer_node_ports(v);
          });
        }
        return absl::OkStatus();
      });
}

absl::Status ReadServiceStatus(const YAML::Node& node, const std::string& path,
                               v1::ServiceStatus* status) {
  return ForEachField(
      node, path,
      [status](const std::string& key, const YAML::Node& value,
               const std::string& path) -> absl::Status {
        if (key != "loadBalancer") return absl::OkStatus();
        return ForEachField(
            value, path,
            [status](const std::string& key, const YAML::Node& value,
                     const std::string& path) -> absl::Status {
              if (key != "ingress") return absl::OkStatus();
              return ForEachItem(
                  value, path,
                  [status](const YAML::Node& item, const std::string& path) {
                    v1::LoadBalancerIngress* ingress =
                        status->add_load_balancer_ingress();
                    return ForEachField(
                        item, path,
                        [ingress](const std::string& key,
                                  const YAML::Node& value,
                                  const std::string& path) -> absl::Status {
                          if (key == "ip") {
                            return ReadString(value, path,
                                              ingress->mutable_ip());
                          }
                          if (key == "hostname") {
                            return ReadString(value, path,
                                              ingress->mutable_hostname());
                          }
                          return absl::OkStatus();
                        });
                  });
            });
      });
}

absl::Status ReadConditions(const YAML::Node& node, const std::string& path,
                            v1::EndpointConditions* conditions) {
  return ForEachField(
      node, path,
      [conditions](const std::string& key, const YAML::Node& value,
                   const std::string& path) -> absl::Status {
        if (key == "ready") {
          return ReadBool(value, path,
                          [conditions](bool v) { conditions->set_ready(v); });
        }
        if (key == "serving") {
          return ReadBool(value, path,
                          [conditions](bool v) { conditions->set_serving(v); });
        }
        if (key == "terminating") {
          return ReadBool(value, path, [conditions](bool v) {
            conditions->set_terminating(v);
          });
        }
        return absl::OkStatus();
      });
}

// hints.forZones[].name (forNodes, newer, is not used yet).
absl::Status ReadHints(const YAML::Node& node, const std::string& path,
                       v1::EndpointHints* hints) {
  return ForEachField(
      node, path,
      [hints](const std::string& key, const YAML::Node& value,
              const std::string& path) -> absl::Status {
        if (key != "forZones") return absl::OkStatus();
        return ForEachItem(
            value, path,
            [hints](const YAML::Node& item, const std::string& path) {
              v1::ForZone* zone = hints->add_for_zones();
              return ForEachField(
                  item, path,
                  [zone](const std::string& key, const YAML::Node& value,
                         const std::string& path) -> absl::Status {
                    if (key != "name") return absl::OkStatus();
                    return ReadString(value, path, zone->mutable_name());
                  });
            });
      });
}

absl::Status ReadEndpoint(const YAML::Node& node, const std::string& path,
                          v1::Endpoint* endpoint) {
  return ForEachField(
      node, path,
      [endpoint](const std::string& key, const YAML::Node& value,
                 const std::string& path) -> absl::Status {
        if (key == "addresses") {
          return ReadStringList(value, path, endpoint->mutable_addresses());
        }
        if (key == "conditions") {
          return ReadConditions(value, path, endpoint->mutable_conditions());
        }
        if (key == "hostname") {
          return ReadString(value, path, endpoint->mutable_hostname());
        }
        if (key == "nodeName") {
          return ReadString(value, path, endpoint->mutable_node_name());
        }
        if (key == "zone")
          return ReadString(value, path, endpoint->mutable_zone());
        if (key == "hints") {
          return ReadHints(value, path, endpoint->mutable_hints());
        }
        if (key == "targetRef") {
          // Only what identifies the target: uid and resourceVersion change
          // on every rollout and mean nothing to a dataplane.
          return ForEachField(
              value, path,
              [endpoint](const std::string& key, const YAML::Node& value,
                         const std::string& path) -> absl::Status {
                if (key != "kind" && key != "namespace" && key != "name") {
                  return absl::OkStatus();
                }
                std::string text;
                if (absl::Status s = ReadString(value, path, &text); !s.ok()) {
                  return s;
                }
                if (!text.empty())
                  (*endpoint->mutable_target_ref())[key] = text;
                return absl::OkStatus();
              });
        }
        return absl::OkStatus();
      });
}

absl::Status ReadEndpointPort(const YAML::Node& node, const std::string& path,
                              v1::EndpointPort* port) {
  return ForEachField(
      node, path,
      [port](const std::string& key, const YAML::Node& value,
             const std::string& path) -> absl::Status {
        if (key == "name") return ReadString(value, path, port->mutable_name());
        if (key == "protocol") {
          return ReadString(value, path, port->mutable_protocol());
        }
        if (key == "port") {
          return ReadInt32(value, path,
                           [port](int32_t v) { port->set_port(v); });
        }
        if (key == "appProtocol") {
          return ReadString(value, path, port->mutable_app_protocol());
        }
        return absl::OkStatus();
      });
}

absl::Status ReadNodeAddress(const YAML::Node& node, const std::string& path,
                             v1::NodeAddress* address) {
  return ForEachField(
      node, path,
      [address](const std::string& key, const YAML::Node& value,
                const std::string& path) -> absl::Status {
        if (key == "type")
          return ReadString(value, path, address->mutable_type());
        if (key == "address") {
          return ReadString(value, path, address->mutable_address());
        }
        return absl::OkStatus();
      });
}

// The body of each kind: every top-level field but apiVersion, kind and
// metadata, which the caller has read already.
absl::Status ReadService(const YAML::Node& doc, v1::Service* service) {
  return ForEachField(
      doc, "",
      [service](const std::string& key, const YAML::Node& value,
                const std::string& path) -> absl::Status {
        if (key == "spec") {
          return ReadServiceSpec(value, path, service->mutable_spec());
        }
        if (key == "status") {
          return ReadServiceStatus(value, path, service->mutable_status());
        }
        return absl::OkStatus();
      });
}

absl::Status ReadEndpointSlice(const YAML::Node& doc,
                               v1::EndpointSlice* slice) {
  return ForEachField(
      doc, "",
      [slice](const std::string& key, const YAML::Node& value,
              const std::string& path) -> absl::Status {
        if (key == "addressType") {
          return ReadString(value, path, slice->mutable_address_type());
        }
        if (key == "endpoints") {
          return ForEachItem(
              value, path,
              [slice](const YAML::Node& item, const std::string& path) {
                return ReadEndpoint(item, path, slice->add_endpoints());
              });
        }
        if (key == "ports") {
          return ForEachItem(
              value, path,
              [slice](const YAML::Node& item, const std::string& path) {
                return ReadEndpointPort(item, path, slice->add_ports());
              });
        }
        return absl::OkStatus();
      });
}

absl::Status ReadNode(const YAML::Node& doc, v1::Node* node) {
  return ForEachField(
      doc, "",
      [node](const std::string& key, const YAML::Node& value,
             const std::string& path) -> absl::Status {
        if (key == "spec") {
          return ForEachField(
              value, path,
              [node](const std::string& key, const YAML::Node& value,
                     const std::string& path) -> absl::Status {
                if (key == "podCIDR") {
                  return ReadString(value, path, node->mutable_pod_cidr());
                }
                if (key == "podCIDRs") {
                  return ReadStringList(value, path, node->mutable_pod_cidrs());
                }
                return absl::OkStatus();
              });
        }
        if (key == "status") {
          return ForEachField(
              value, path,
              [node](const std::string& key, const YAML::Node& value,
                     const std::string& path) -> absl::Status {
                if (key != "addresses") return absl::OkStatus();
                return ForEachItem(
                    value, path,
                    [node](const YAML::Node& item, const std::string& path) {
                      return ReadNodeAddress(item, path, node->add_addresses());
                    });
              });
        }
        return absl::OkStatus();
      });
}

// ---- Documents --------------------------------------------------------

// Where a document sits, for the prefix of every message about it.
struct Where {
  absl::string_view source;
  int document = 0;
  int first_line = 0;  // of the document in the stream, 0-based
  UnknownFields unknown_fields = UnknownFields::kWarn;
  std::string item;    // "items[2]" inside a List
  std::string object;  // "Service default/web" once known

  std::string Prefix() const {
    std::string prefix = absl::StrCat(source, ": document ", document);
    if (!item.empty()) absl::StrAppend(&prefix, ": ", item);
    if (!object.empty()) absl::StrAppend(&prefix, " (", object, ")");
    return prefix;
  }
  // Keeps the status's position payload (see FieldError).
  absl::Status Error(const absl::Status& status) const {
    absl::Status out = absl::InvalidArgumentError(
        absl::StrCat(Prefix(), ": ", status.message()));
    status.ForEachPayload(
        [&](absl::string_view type_url, const absl::Cord& payload) {
          out.SetPayload(type_url, payload);
        });
    return out;
  }
};

// `status: {loadBalancer: {}}` (as kubectl prints every ClusterIP Service)
// or `conditions: {}` carry nothing, but reading them created the
// sub-message; clear those again so equal content gives equal messages.
void DropEmptyMessages(v1::Object* object) {
  if (object->has_service()) {
    v1::Service* service = object->mutable_service();
    if (service->has_spec() && service->spec().ByteSizeLong() == 0) {
      service->clear_spec();
    }
    if (service->has_status() && service->status().ByteSizeLong() == 0) {
      service->clear_status();
    }
  }
  if (object->has_endpoint_slice()) {
    for (v1::Endpoint& endpoint :
         *object->mutable_endpoint_slice()->mutable_endpoints()) {
      if (endpoint.has_conditions() &&
          endpoint.conditions().ByteSizeLong() == 0) {
        endpoint.clear_conditions();
      }
    }
  }
}

// kubectl's wording ("unknown field \"spec.ports[0].protocoll\""), with
// the file, document and object in front as for every other message.
absl::Status ReportUnknownFields(const std::vector<UnknownField>& unknown,
                                 const Where& where, ManifestSet* out) {
  if (where.unknown_fields == UnknownFields::kIgnore) return absl::OkStatus();
  for (const UnknownField& field : unknown) {
    const bool strict = where.unknown_fields == UnknownFields::kStrict;
    std::string text = absl::StrCat(where.Prefix(), ": unknown field ",
                                    QuoteString(field.path), " (line ",
                                    field.mark.line + 1 + where.first_line,
                                    ", column ", field.mark.column + 1, ")");
    if (strict) {
      return absl::InvalidArgumentError(
          absl::StrCat(text, "; --validate=strict refuses unknown fields"));
    }
    out->warnings.push_back(std::move(text));
  }
  return absl::OkStatus();
}

// Reads a scalar for a message without failing on odd shapes.
std::string Peek(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return "";
  const YAML::Node value = map[key];
  return value.IsDefined() && value.IsScalar() ? value.Scalar() : "";
}

absl::Status DecodeObject(const YAML::Node& doc, Where where, bool in_list,
                          ManifestSet* out) {
  if (IsAbsent(doc)) return absl::OkStatus();  // `---` alone, comments only
  if (!doc.IsMap()) {
    return where.Error(FieldError(
        "", doc,
        absl::StrCat("expected an object (a map with apiVersion and kind), "
                     "got ",
                     NodeKind(doc))));
  }
  std::string api_version;
  std::string kind;
  if (absl::Status s =
          ReadString(doc["apiVersion"], "apiVersion", &api_version);
      !s.ok()) {
    return where.Error(s);
  }
  if (absl::Status s = ReadString(doc["kind"], "kind", &kind); !s.ok()) {
    return where.Error(s);
  }
  if (kind.empty()) {
    return where.Error(FieldError(
        "kind", doc, "missing (every object needs apiVersion and kind)"));
  }
  if (api_version.empty()) {
    return where.Error(FieldError(
        "apiVersion", doc,
        absl::StrCat("missing (", kind, " needs one, such as ",
                     kind == "EndpointSlice" ? "discovery.k8s.io/v1" : "v1",
                     ")")));
  }

  // kubectl prints `kind: List`; the API server answers ServiceList and
  // friends, whose items carry no kind of their own.
  if (kind == "List" || (absl::EndsWith(kind, "List") && doc["items"])) {
    if (in_list) {
      return where.Error(FieldError("kind", doc, "a List inside a List"));
    }
    if (absl::Status s =
            ReportUnknownFields(FindUnknownListFields(doc), where, out);
        !s.ok()) {
      return s;
    }
    std::string item_kind =
        kind == "List" ? "" : kind.substr(0, kind.size() - strlen("List"));
    const YAML::Node items = doc["items"];
    if (IsAbsent(items)) return absl::OkStatus();
    if (!items.IsSequence()) {
      return where.Error(
          FieldError("items", items,
                     absl::StrCat("expected a list, got ", NodeKind(items))));
    }
    for (size_t i = 0; i < items.size(); ++i) {
      const YAML::Node original = items[i];
      YAML::Node item = original;
      if (!item_kind.empty() && original.IsMap() && !original["kind"]) {
        // A copy: the parsed tree is shared and must stay as read.
        item = YAML::Clone(item);
        item["kind"] = item_kind;
        if (!original["apiVersion"]) item["apiVersion"] = api_version;
      }
      Where item_where = where;
      item_where.item = absl::StrCat("items[", i, "]");
      if (absl::Status s = DecodeObject(item, item_where, true, out); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  const std::optional<v1::Kind> named = names::KindByName(kind);
  if (!named.has_value()) {
    std::string name = Peek(doc["metadata"], "name");
    out->warnings.push_back(
        absl::StrCat(where.Prefix(), ": skipped ", api_version, " ", kind,
                     name.empty() ? "" : absl::StrCat(" \"", name, "\""),
                     " (yardctl handles Service, EndpointSlice and Node)"));
    return absl::OkStatus();
  }
  const v1::Kind known = *named;
  if (api_version != ApiVersionOf(known)) {
    return where.Error(FieldError(
        "apiVersion", doc["apiVersion"],
        absl::StrCat(QuoteString(api_version), " is not a known version of ",
                     kind, " (use ", ApiVersionOf(known), ")")));
  }

  where.object = kind;
  v1::Object object;
  v1::ObjectMeta meta;
  if (absl::Status s = ReadMeta(doc["metadata"], "metadata", &meta); !s.ok()) {
    return where.Error(s);
  }
  // Nodes are cluster-scoped; Kubernetes ignores a namespace on them.
  if (known == v1::KIND_NODE) meta.clear_namespace_();
  absl::Status s;
  switch (known) {
    case v1::KIND_SERVICE:
      *object.mutable_service()->mutable_metadata() = std::move(meta);
      where.object = Describe(object);
      s = ReadService(doc, object.mutable_service());
      break;
    case v1::KIND_ENDPOINT_SLICE:
      *object.mutable_endpoint_slice()->mutable_metadata() = std::move(meta);
      where.object = Describe(object);
      s = ReadEndpointSlice(doc, object.mutable_endpoint_slice());
      break;
    default:
      *object.mutable_node()->mutable_metadata() = std::move(meta);
      where.object = Describe(object);
      s = ReadNode(doc, object.mutable_node());
      break;
  }
  if (!s.ok()) return where.Error(s);
  if (absl::Status s =
          ReportUnknownFields(FindUnknownFields(known, doc), where, out);
      !s.ok()) {
    return s;
  }
  DropEmptyMessages(&object);
  where.object.clear();
  out->origins.push_back(where.Prefix());
  out->objects.push_back(std::move(object));
  return absl::OkStatus();
}

// One YAML document of a stream, and the line (0-based) it starts on.
struct Document {
  std::string text;
  int first_line;
};

bool IsBlankOrComment(absl::string_view line) {
  absl::string_view content = absl::StripLeadingAsciiWhitespace(line);
  return content.empty() || content[0] == '#' || content[0] == '%';
}

// Splits a YAML stream at `---` lines (and `...` ends), as kubectl's reader
// does, rather than with YAML::LoadAll: Debian's yaml-cpp 0.7 LoadAll never
// returns on some malformed documents (it keeps producing empty ones until
// memory runs out; found by tests/fuzz), while Load of one document does.
// Content before the first marker is document 1 unless it is only blank
// lines and comments.
std::vector<Document> SplitDocuments(absl::string_view text) {
  std::vector<Document> docs;
  Document current{"", 0};
  bool has_content = false;
  bool seen_marker = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const bool start =
        absl::StartsWith(line, "---") && (line.size() == 3 || line[3] == ' ' ||
                                          line[3] == '\t' || line[3] == '\r');
    const bool end = absl::StartsWith(line, "...") &&
                     absl::StripAsciiWhitespace(line.substr(3)).empty();
    if (start || end) {
      if (seen_marker || has_content) docs.push_back(std::move(current));
      seen_marker = true;
      current = Document{"", line_number + 1};
      has_content = false;
      // "--- {a: 1}": content on the marker's own line stays in the
      // document, which then starts on that line.
      if (start && line.size() > 4 && !IsBlankOrComment(line.substr(4))) {
        current.first_line = line_number;
        absl::StrAppend(&current.text, line.substr(4), "\n");
        has_content = true;
      }
    } else {
      absl::StrAppend(&current.text, line, "\n");
      has_content |= !IsBlankOrComment(line);
    }
    ++line_number;
  }
  if (has_content) docs.push_back(std::move(current));
  return docs;
}

}  // namespace

absl::StatusOr<ManifestSet> ParseManifests(absl::string_view text,
                                           absl::string_view source,
                                           const DecodeOptions& options) {
  if (static_cast<int64_t>(text.size()) > kMaxManifestBytes) {
    return ManifestTooLarge(source);
  }
  // Every string ends up in a protobuf string field, which must be UTF-8:
  // caught here it names the place; caught by protobuf on the controller it
  // was a refusal with no message at all.
  if (std::optional<TextPosition> bad = FirstInvalidUtf8(text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": line ", bad->line, ", column ", bad->column,
        ": not valid UTF-8 (manifests must be UTF-8 text; was the file "
        "saved in another encoding?)"));
  }
  std::vector<Document> docs = SplitDocuments(text);
  ManifestSet set;
  for (size_t i = 0; i < docs.size(); ++i) {
    const int document = static_cast<int>(i + 1);
    const std::string prefix = absl::StrCat(source, ": document ", document);
    YAML::Node doc;
    try {
      // Limits first: they need no tree, and a hostile document must not
      // get one built.
      if (absl::Status s = CheckYamlDocument(docs[i].text, docs[i].first_line);
          !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, ": ", s.message()));
      }
      doc = YAML::Load(docs[i].text);
    } catch (const YAML::ParserException& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, ": line ", e.mark.line + docs[i].first_line + 1, ", column ",
          e.mark.column + 1, ": YAML syntax error: ", e.msg));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, ": YAML error: ", e.what()));
    }
    Where where{.source = source,
                .document = document,
                .first_line = docs[i].first_line,
                .unknown_fields = options.unknown_fields};
    // yaml-cpp throws on a few shapes it cannot walk; no exception leaves
    // this module.
    try {
      if (absl::Status s = DecodeObject(doc, where, false, &set); !s.ok()) {
        return WithStreamPosition(s, docs[i].first_line);
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(where.Prefix(), ": YAML error: ", e.what()));
    }
  }
  return set;
}

}  // namespace switchyard::manifest
