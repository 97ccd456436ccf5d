// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/commands.h"

#include <algorithm>
#include <istream>
#include <iterator>
#include <ostream>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/common/apply_limits.h"
#include "control/ctl/format.h"
#include "control/ctl/list_all.h"
#include "control/ctl/node_commands.h"
#include "control/ctl/wait_programmed.h"
#include "control/manifest/manifest.h"
#include "control/manifest/object.h"

namespace switchyard::ctl {
namespace {

// Every -f: files, directories, "-" for stdin. Warnings go out as
// kubectl's do, on stderr, and do not stop the command; they are also
// added to `warnings` when given. With `apply_limits`, the objects of all
// files together must fit in one apply (apply_limits.h), checked here so
// the message names the file that crossed the limit.
absl::StatusOr<std::vector<v1::Object>> LoadObjects(
    const CommandOptions& options, Context& context,
    const manifest::DecodeOptions& decode, bool apply_limits = false,
    std::vector<std::string>* warnings = nullptr,
    std::vector<std::string>* origins = nullptr) {
  std::vector<v1::Object> objects;
  int64_t bytes = 0;
  for (const std::string& name : options.filenames) {
    absl::StatusOr<manifest::ManifestSet> set;
    const std::string source = name == "-" ? "<stdin>" : name;
    if (name == "-") {
      std::string text(std::istreambuf_iterator<char>(*context.in), {});
      set = manifest::ParseManifests(text, source, decode);
    } else {
      set = manifest::LoadManifestPath(name, decode);
    }
    if (!set.ok()) return set.status();
    for (std::string& warning : set->warnings) {
      *context.err << "Warning: " << warning << "\n";
      if (warnings != nullptr) warnings->push_back(std::move(warning));
    }
    for (v1::Object& object : set->objects) {
      bytes += static_cast<int64_t>(object.ByteSizeLong());
      objects.push_back(std::move(object));
    }
    if (origins != nullptr) {
      origins->insert(origins->end(), set->origins.begin(), set->origins.end());
    }
    if (!apply_limits) continue;
    if (objects.size() > static_cast<size_t>(kMaxObjectsPerApply)) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": brings this apply to ", objects.size(),
                       " objects, more than the limit of ", kMaxObjectsPerApply,
                       " objects per apply; apply the files in parts"));
    }
    if (bytes > kMaxApplyBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": brings this apply to ", bytes,
          " bytes (encoded), more than the limit of ", kMaxApplyBytes,
          " bytes per apply; apply the files in parts"));
    }
  }
  return objects;
}

// The controller names the object it refuses ("Service default/web:
// ..."); the file and document it came from are only known here.
absl::Status WithOrigin(const absl::Status& status,
                        const v1::ApplyRequest& request,
                        const std::vector<std::string>& origins) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return status;
  for (int i = 0;
       i < request.objects_size() && static_cast<size_t>(i) < origins.size();
       ++i) {
    if (absl::StartsWith(
            status.message(),
            absl::StrCat(manifest::Describe(request.objects(i)), ": "))) {
      return absl::Status(status.code(),
                          absl::StrCat(origins[i], ": ", status.message()));
    }
  }
  return status;
}

// -n fills in objects that name no namespace and must agree with those
// that do: applying a manifest for "prod" with -n staging is a mistake
// better caught here than discovered later.
absl::Status ApplyNamespace(const std::string& namespace_,
                            std::vector<v1::Object>* objects) {
  if (namespace_.empty()) return absl::OkStatus();
  for (v1::Object& object : *objects) {
    if (!manifest::IsNamespaced(manifest::KindOf(object))) continue;
    v1::ObjectMeta* meta = manifest::MutableMetaOf(&object);
    if (meta->namespace_().empty()) {
      meta->set_namespace_(namespace_);
    } else if (meta->namespace_() != namespace_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the namespace of ", manifest::Describe(object), " does not match \"",
          namespace_, "\" given by -n; drop -n or pass -n ",
          meta->namespace_()));
    }
  }
  return absl::OkStatus();
}

// kubectl's words. A controller that does not say (older than
// ApplyResponse.results) has still written the object.
absl::string_view ApplyVerb(v1::ApplyResult::Outcome outcome) {
  switch (outcome) {
    case v1::ApplyResult::CREATED:
      return "created";
    case v1::ApplyResult::UNCHANGED:
      return "unchanged";
    default:
      return "configured";
  }
}

absl::Status RunApply(const CommandOptions& options, Context& context) {
  if (options.filenames.empty()) {
    return absl::InvalidArgumentError(
        "must specify -f FILE|DIR (see yardctl apply --help)");
  }
  if (!options.args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument \"", options.args[0], "\"; manifests go in -f"));
  }
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(options.output);
  if (!format.ok()) return format.status();
  if (*format == OutputFormat::kTable || *format == OutputFormat::kWide) {
    if (!options.output.empty()) {
      return absl::InvalidArgumentError(
          "apply prints json, yaml or name (-o wide is for get)");
    }
  }
  std::vector<std::string> warnings;
  std::vector<std::string> origins;
  absl::StatusOr<std::vector<v1::Object>> objects =
      LoadObjects(options, context, {.unknown_fields = options.unknown_fields},
                  /*apply_limits=*/true, &warnings, &origins);
  if (!objects.ok()) return objects.status();
  if (absl::Status s = ApplyNamespace(options.namespace_, &*objects); !s.ok()) {
    return s;
  }
  if (objects->empty()) {
    return absl::InvalidArgumentError("no objects passed to apply");
  }
  std::vector<v1::ObjectRef> refs;
  for (const v1::Object& object : *objects) {
    refs.push_back(manifest::RefOf(object));
  }

  v1::ApplyRequest request;
  for (v1::Object& object : *objects) {
    *request.add_objects() = std::move(object);
  }
  // Without -o only the outcomes are printed: the stored objects need not
  // come back (at 10,000 services they are half the write's time).
  request.set_omit_objects(options.output.empty());
  // For the controller's log; a few tell the story.
  constexpr size_t kMaxSentWarnings = 100;
  for (size_t i = 0; i < std::min(warnings.size(), kMaxSentWarnings); ++i) {
    request.add_warnings(warnings[i]);
  }
  absl::StatusOr<v1::ApplyResponse> response = context.client->Apply(request);
  if (!response.ok()) return WithOrigin(response.status(), request, origins);
  // As kubectl prints the API server's warnings: on stderr, before the
  // results, so `-o yaml` output stays a clean document.
  if (context.err != nullptr) {
    for (const std::string& warning : response->warnings()) {
      *context.err << "Warning: " << warning << "\n";
    }
  }

  if (!options.output.empty()) {
    std::vector<v1::Object> stored(response->objects().begin(),
                                   response->objects().end());
    PrintOptions print{.format = *format, .single = stored.size() == 1};
    *context.out << FormatObjects(v1::KIND_UNSPECIFIED, stored, print);
    return options.wait ? WaitProgrammed(response->version(),
                                         response->received_unix_us(), context)
                        : absl::OkStatus();
  }
  // The controller says what the write did to each object, decided in the
  // same transaction: no list of the kinds written (which grows with the
  // namespace, not with the apply), and no race with other writers.
  // "unchanged" means the stored object, defaults and allocations
  // included, is exactly what it was.
  for (size_t i = 0; i < refs.size(); ++i) {
    *context.out << ObjectName(refs[i]) << " "
                 << ApplyVerb(
                        i < static_cast<size_t>(response->results_size())
                            ? response->results(static_cast<int>(i)).outcome()
                            : v1::ApplyResult::OUTCOME_UNSPECIFIED)
                 << "\n";
  }
  return options.wait ? WaitProgrammed(response->version(),
                                       response->received_unix_us(), context)
                      : absl::OkStatus();
}

absl::Status RunDelete(const CommandOptions& options, Context& context) {
  std::vector<v1::ObjectRef> refs;
  if (!options.filenames.empty()) {
    if (!options.args.empty()) {
      return absl::InvalidArgumentError(
          "give either -f or TYPE NAME..., not both");
    }
    // Only names matter to a delete, as for kubectl delete -f.
    absl::StatusOr<std::vector<v1::Object>> objects = LoadObjects(
        options, context, {.unknown_fields = manifest::UnknownFields::kIgnore});
    if (!objects.ok()) return objects.status();
    if (absl::Status s = ApplyNamespace(options.namespace_, &*objects);
        !s.ok()) {
      return s;
    }
    for (const v1::Object& object : *objects) {
      refs.push_back(manifest::RefOf(object));
    }
  } else {
    if (options.args.size() < 2) {
      return absl::InvalidArgumentError(
          "must specify -f FILE|DIR or TYPE NAME... (see yardctl delete "
          "--help)");
    }
    absl::StatusOr<v1::Kind> kind = ParseResourceType(options.args[0]);
    if (!kind.ok()) return kind.status();
    for (size_t i = 1; i < options.args.size(); ++i) {
      v1::ObjectRef ref;
      ref.set_kind(*kind);
      ref.set_name(options.args[i]);
      if (manifest::IsNamespaced(*kind)) {
        ref.set_namespace_(options.namespace_.empty()
                               ? std::string(manifest::kDefaultNamespace)
                               : options.namespace_);
      }
      refs.push_back(std::move(ref));
    }
  }
  if (refs.empty()) {
    return absl::InvalidArgumentError("no objects passed to delete");
  }
  v1::DeleteRequest request;
  for (const v1::ObjectRef& ref : refs) *request.add_refs() = ref;
  request.set_ignore_not_found(options.ignore_not_found);
  absl::StatusOr<v1::DeleteResponse> response = context.client->Delete(request);
  if (!response.ok()) return response.status();
  if (!options.ignore_not_found) {
    // All or nothing: the call succeeded, so every one is gone.
    for (const v1::ObjectRef& ref : refs) {
      *context.out << ObjectName(ref) << " deleted\n";
    }
    return absl::OkStatus();
  }
  // Only what existed, as the controller reports it from the same write.
  for (const v1::ObjectRef& ref : response->deleted()) {
    *context.out << ObjectName(ref) << " deleted\n";
  }
  return absl::OkStatus();
}

absl::Status RunGet(const CommandOptions& options, Context& context) {
  if (options.args.empty()) {
    return absl::InvalidArgumentError(
        "must specify the type of resource to get: services (svc), "
        "endpointslices (eps) or nodes (no)");
  }
  absl::StatusOr<v1::Kind> kind = ParseResourceType(options.args[0]);
  if (!kind.ok()) return kind.status();
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(options.output);
  if (!format.ok()) return format.status();
  std::vector<std::string> names(options.args.begin() + 1, options.args.end());
  bool namespaced = manifest::IsNamespaced(*kind);
  if (options.all_namespaces && !names.empty() && namespaced) {
    return absl::InvalidArgumentError(
        "a resource cannot be retrieved by name across all namespaces");
  }
  std::string namespace_;
  if (namespaced && !options.all_namespaces) {
    namespace_ = options.namespace_.empty()
                     ? std::string(manifest::kDefaultNamespace)
                     : options.namespace_;
  }

  std::vector<v1::Object> objects;
  PrintOptions print{.format = *format,
                     .all_namespaces = options.all_namespaces,
                     .single = names.size() == 1};
  if (names.empty()) {
    // Page by page, but printed once at the end: the output is the same
    // whatever --chunk-size (table columns are sized over every row).
    absl::StatusOr<Listing> list =
        ListAll(*context.client, *kind, namespace_, options.chunk_size);
    if (!list.ok()) return list.status();
    objects = std::move(list->objects);
    // kubectl's order, whatever order the controller keeps.
    std::sort(objects.begin(), objects.end(),
              [](const v1::Object& a, const v1::Object& b) {
                v1::ObjectRef ra = manifest::RefOf(a), rb = manifest::RefOf(b);
                return std::tie(ra.namespace_(), ra.name()) <
                       std::tie(rb.namespace_(), rb.name());
              });
    print.resource_version = absl::StrCat(list->version);
  } else {
    for (const std::string& name : names) {
      v1::ObjectRef ref;
      ref.set_kind(*kind);
      ref.set_namespace_(namespace_);
      ref.set_name(name);
      absl::StatusOr<v1::GetResponse> got = context.client->Get(ref);
      if (!got.ok()) return got.status();
      objects.push_back(got->object());
    }
  }
  if (objects.empty() && *format != OutputFormat::kJson &&
      *format != OutputFormat::kYaml) {
    *context.err << (namespace_.empty()
                         ? std::string("No resources found\n")
                         : absl::StrCat("No resources found in ", namespace_,
                                        " namespace.\n"));
    return absl::OkStatus();
  }
  *context.out << FormatObjects(*kind, objects, print);
  return absl::OkStatus();
}

absl::Status RunHelp(const CommandOptions& options, Context& context);

constexpr Command kCommands[] = {
    {"apply",
     "apply -f FILE|DIR|- [-f ...] [-n NS] [-o json|yaml|name] "
     "[--validate=strict|warn|ignore] [--wait]",
     "Create or update Services, EndpointSlices and Nodes from manifests "
     "(--wait: until every connected node has programmed them)",
     kFlagFilename | kFlagNamespace | kFlagOutput | kFlagValidate | kFlagWait,
     RunApply},
    {"delete",
     "delete (-f FILE|DIR|- [-f ...] | TYPE NAME...) [-n NS] "
     "[--ignore-not-found]",
     "Delete the objects named in manifests, or by type and name",
     kFlagFilename | kFlagNamespace | kFlagIgnoreNotFound, RunDelete},
    {"get",
     "get TYPE [NAME...] [-n NS | -A] [-o json|yaml|wide|name] "
     "[--chunk-size N]",
     "Show services (svc), endpointslices (eps) or nodes (no)",
     kFlagNamespace | kFlagAllNamespaces | kFlagOutput | kFlagChunkSize,
     RunGet},
    {"bpf",
     "bpf services|backends|revnat|ct|nat|stats [--node N] [--bpffs-root DIR] "
     "[-o json]",
     "Show a node's maps from bpffs (works with the agent down)",
     kFlagNode | kFlagBpffsRoot | kFlagOutput, RunBpf},
    {"status",
     "status [--node N] [--bpffs-root DIR] [--netns NAME] [-o json] | status "
     "--cluster [-o json]",
     "Show a node's map fill, programs and sync lag (--cluster: every node)",
     kFlagNode | kFlagBpffsRoot | kFlagNetns | kFlagCluster | kFlagOutput,
     RunStatus},
    {"trace",
     "trace SRC[:SPORT] DST:PORT[/tcp|udp] [--from-pod|--to-pod] [--node N] "
     "[--bpffs-root DIR] [-o json]",
     "Show where one packet goes on a node and why; changes nothing",
     kFlagNode | kFlagBpffsRoot | kFlagFromPod | kFlagToPod | kFlagOutput,
     RunTrace},
    {"help", "help [COMMAND]", "Show help for yardctl or one command", 0,
     RunHelp},
};

absl::Status RunHelp(const CommandOptions& options, Context& context) {
  if (options.args.empty()) {
    *context.out << Usage();
    return absl::OkStatus();
  }
  const Command* command = FindCommand(options.args[0]);
  if (command == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command \"", options.args[0], "\""));
  }
  *context.out << command->summary << "\n\nUsage:\n  yardctl " << command->usage
               << "\n";
  return absl::OkStatus();
}

std::string FlagNames(uint32_t flags) {
  std::vector<absl::string_view> names;
  if (flags & kFlagFilename) names.push_back("-f");
  if (flags & kFlagNamespace) names.push_back("-n");
  if (flags & kFlagAllNamespaces) names.push_back("-A");
  if (flags & kFlagOutput) names.push_back("-o");
  if (flags & kFlagIgnoreNotFound) names.push_back("--ignore-not-found");
  if (flags & kFlagChunkSize) names.push_back("--chunk-size");
  if (flags & kFlagNode) names.push_back("--node");
  if (flags & kFlagBpffsRoot) names.push_back("--bpffs-root");
  if (flags & kFlagNetns) names.push_back("--netns");
  if (flags & kFlagCluster) names.push_back("--cluster");
  if (flags & kFlagFromPod) names.push_back("--from-pod");
  if (flags & kFlagToPod) names.push_back("--to-pod");
  if (flags & kFlagValidate) names.push_back("--validate");
  if (flags & kFlagWait) names.push_back("--wait");
  std::string out;
  for (absl::string_view name : names) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", name);
  }
  return out;
}

}  // namespace

absl::Span<const Command> Commands() { return kCommands; }

const Command* FindCommand(absl::string_view name) {
  for (const Command& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::string Usage() {
  std::string out =
      "yardctl talks to yard-controller, Switchyard's cluster state, and\n"
      "reads a node's datapath from bpffs (bpf, status, trace).\n\n"
      "Usage:\n  yardctl [--controller ADDR] [--timeout DURATION] COMMAND "
      "...\n\nCommands:\n";
  for (const Command& command : kCommands) {
    absl::StrAppend(&out, "  ", command.usage, "\n      ", command.summary,
                    "\n");
  }
  absl::StrAppend(
      &out,
      "\nGlobal flags:\n"
      "  --controller ADDR   yard-controller's address: unix:///path, a "
      "socket path,\n"
      "                      or host:port (default ",
      kDefaultController,
      ")\n"
      "  --timeout DURATION  deadline for each call, e.g. 10s, 500ms; 0 for "
      "none\n"
      "                      (default 10s)\n"
      "  --tls-cert FILE     mutual TLS to a host:port controller: a writer's\n"
      "  --tls-key FILE      certificate (CN=yard-writer:<who>), its key and\n"
      "  --tls-ca FILE       the CA that signed the controller's\n");
  return out;
}

absl::Status RunCommand(const CommandLine& line, Context& context) {
  const Command* command = FindCommand(line.command);
  if (command == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown command \"", line.command, "\" (try yardctl help)"));
  }
  if (line.help) {
    CommandOptions options;
    options.args.push_back(std::string(command->name));
    return RunHelp(options, context);
  }
  if (uint32_t extra = line.options.flags_set & ~command->flags; extra != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(command->name, " does not take ", FlagNames(extra)));
  }
  return command->run(line.options, context);
}

}  // namespace switchyard::ctl
