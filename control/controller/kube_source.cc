// SPDX-License-Identifier: Apache-2.0
#include "control/controller/kube_source.h"

#include <string>
#include <utility>

#include "control/common/log.h"
#include "control/controller/objects.h"
#include "control/controller/service_warnings.h"
#include "control/kube/resources.h"

namespace switchyard::controller {

KubeSource::KubeSource(ClusterStore* store,
                       std::shared_ptr<kube::ApiTransport> api,
                       KubeSourceOptions options)
    : store_(store),
      api_(std::move(api)),
      on_written_(std::move(options.on_written)) {
  for (const kube::Resource& resource : kube::kResources) {
    reflectors_.push_back(std::make_unique<kube::Reflector>(
        resource, api_.get(), this, options.rules, options.reflector));
  }
  for (auto& reflector : reflectors_) {
    threads_.emplace_back([r = reflector.get()] { r->Run(); });
  }
}

KubeSource::~KubeSource() { Stop(); }

void KubeSource::Stop() {
  if (stopped_.exchange(true)) return;
  for (auto& reflector : reflectors_) reflector->Stop();
  api_->Cancel();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

KubeSourceStats KubeSource::stats() const {
  KubeSourceStats stats;
  for (const auto& reflector : reflectors_) {
    stats.resources.push_back(reflector->stats());
  }
  absl::MutexLock lock(&mu_);
  stats.skipped = skipped_;
  stats.rejected = rejected_;
  return stats;
}

void KubeSource::Write(MirrorWrite write) {
  const absl::Time arrived = absl::Now();
  absl::StatusOr<MirrorResult> result = store_->Mirror(std::move(write));
  if (!result.ok()) {
    LOG(ERROR) << "kubernetes: " << result.status().message();
    return;
  }
  if (on_written_ && result->changed > 0) {
    on_written_(result->version, arrived);
  }
  for (const std::string& why : result->rejected) {
    LOG(WARNING) << "kubernetes: not served: " << why;
  }
  absl::MutexLock lock(&mu_);
  rejected_ += result->rejected.size();
}

namespace {

// Said once per mirrored write of a Service: what it asks for that is
// not served (service_warnings.h) or was left out in conversion.
void LogWarnings(const kube::Converted& item) {
  for (const std::string& warning : item.warnings) {
    LOG(WARNING) << "kubernetes: Service " << item.ref.namespace_() << "/"
                 << item.ref.name() << ": " << warning;
  }
  if (!item.object.has_value() || !item.object->has_service()) return;
  for (const std::string& warning : ServiceWarnings(item.object->service())) {
    LOG(WARNING) << "kubernetes: " << warning;
  }
}

}  // namespace

void KubeSource::Replace(v1::Kind kind, std::vector<kube::Converted> items) {
  MirrorWrite write;
  write.replace_kind = kind;
  uint64_t skipped = 0;
  for (kube::Converted& item : items) {
    LogWarnings(item);
    if (item.object.has_value()) {
      write.upserts.push_back(*std::move(item.object));
    } else {
      ++skipped;  // absent from upserts, so removed if it was served
    }
  }
  Write(std::move(write));
  bool synced = false;
  {
    absl::MutexLock lock(&mu_);
    skipped_ += skipped;
    listed_kinds_.insert(kind);
    synced = listed_kinds_.size() == kube::kResources.size();
  }
  if (synced && !store_->synced()) {
    LOG(INFO) << "kubernetes: services, endpointslices and nodes listed; "
                 "serving agents at version "
              << store_->version();
    store_->MarkSynced();
  }
}

void KubeSource::Upsert(kube::Converted item) {
  LogWarnings(item);
  MirrorWrite write;
  if (item.object.has_value()) {
    write.upserts.push_back(*std::move(item.object));
  } else {
    write.deletes.push_back(std::move(item.ref));
    absl::MutexLock lock(&mu_);
    ++skipped_;
  }
  Write(std::move(write));
}

void KubeSource::Remove(const v1::ObjectRef& ref) {
  MirrorWrite write;
  write.deletes.push_back(ref);
  Write(std::move(write));
}

}  // namespace switchyard::controller
