// SPDX-License-Identifier: Apache-2.0
#include "control/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/common/log.h"

namespace switchyard::metrics {
namespace {

Labels Zip(const std::vector<std::string>& names,
           const std::vector<std::string>& values) {
  Labels labels;
  labels.reserve(names.size() + 1);
  for (size_t i = 0; i < names.size(); ++i) {
    labels.emplace_back(names[i], values[i]);
  }
  return labels;
}

void AppendSamples(const Counter& counter, Labels labels,
                   std::vector<Sample>& out) {
  out.push_back({"", std::move(labels), counter.value()});
}

void AppendSamples(const Gauge& gauge, Labels labels,
                   std::vector<Sample>& out) {
  out.push_back({"", std::move(labels), gauge.value()});
}

void AppendSamples(const Histogram& histogram, Labels labels,
                   std::vector<Sample>& out) {
  Histogram::Snapshot snapshot = histogram.Read();
  const std::vector<double>& bounds = histogram.bounds();
  for (size_t i = 0; i <= bounds.size(); ++i) {
    Labels with_le = labels;
    with_le.emplace_back("le",
                         i < bounds.size() ? FormatValue(bounds[i]) : "+Inf");
    out.push_back({"_bucket", std::move(with_le),
                   static_cast<double>(snapshot.cumulative[i])});
  }
  out.push_back({"_sum", labels, snapshot.sum});
  out.push_back(
      {"_count", std::move(labels), static_cast<double>(snapshot.count)});
}

absl::Status CheckNames(absl::string_view name,
                        const std::vector<std::string>& label_names) {
  if (!ValidMetricName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric name '", name, "' is not valid"));
  }
  std::set<std::string> seen;
  for (const std::string& label : label_names) {
    if (!ValidLabelName(label)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": label name '", label, "' is not valid"));
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": label '", label, "' given twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBounds(absl::string_view name,
                         const std::vector<double>& bounds,
                         const std::vector<std::string>& label_names) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": bucket bounds must be finite and strictly increasing"));
    }
  }
  if (std::find(label_names.begin(), label_names.end(), "le") !=
      label_names.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": 'le' is the bucket label of a histogram"));
  }
  return absl::OkStatus();
}

}  // namespace

void Counter::Increment(double by) {
  if (by > 0) value_.fetch_add(by, std::memory_order_relaxed);
}

void Gauge::Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  // A NaN would poison the sum for good; no caller means to observe one.
  if (std::isnan(value)) return;
  // The first bound >= value: `le` is inclusive.
  size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  absl::MutexLock lock(&mu_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  absl::MutexLock lock(&mu_);
  snapshot.cumulative.reserve(counts_.size());
  uint64_t running = 0;
  for (uint64_t n : counts_) {
    running += n;
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_;
  snapshot.count = count_;
  return snapshot;
}

template <typename M>
M& Family<M>::With(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    LOG(ERROR) << "metric " << name_ << " takes " << label_names_.size()
               << " label values, given " << values.size()
               << "; the update is not reported";
    return *mismatched_;
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<M>& child = children_[values];
  if (child == nullptr) child = factory_();
  return *child;
}

template <typename M>
void Family<M>::Remove(const std::vector<std::string>& values) {
  absl::MutexLock lock(&mu_);
  children_.erase(values);
}

template <typename M>
MetricFamily Family<M>::Collect() const {
  MetricFamily family{name_, help_, type_, {}};
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    AppendSamples(*child, Zip(label_names_, values), family.samples);
  }
  return family;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename M>
Family<M>& Registry::Add(std::string name, std::string help, MetricType type,
                         std::vector<std::string> label_names,
                         typename Family<M>::Factory factory,
                         absl::Status extra_check) {
  absl::Status status = CheckNames(name, label_names);
  status.Update(extra_check);
  const bool unlabelled = label_names.empty();
  auto family = std::make_unique<Family<M>>(
      name, std::move(help), type, std::move(label_names), std::move(factory));
  Family<M>& out = *family;
  absl::MutexLock lock(&mu_);
  if (status.ok() && ++names_[name] > 1) {
    status = absl::AlreadyExistsError(
        absl::StrCat("metric ", name, " registered twice"));
  }
  if (!status.ok()) {
    LOG(ERROR) << "metrics: " << status;
    status_.Update(status);
    rejected_.push_back(std::move(family));
    return out;
  }
  families_.push_back(std::move(family));
  if (unlabelled) out.Get();
  return out;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  return Add<Counter>(
      std::move(name), std::move(help), MetricType::kCounter,
      std::move(label_names), [] { return std::make_unique<Counter>(); },
      absl::OkStatus());
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  return Add<Gauge>(
      std::move(name), std::move(help), MetricType::kGauge,
      std::move(label_names), [] { return std::make_unique<Gauge>(); },
      absl::OkStatus());
}

Family<Histogram>& Registry::AddHistogram(
    std::string name, std::string help, std::vector<double> bounds,
    std::vector<std::string> label_names) {
  absl::Status check = CheckBounds(name, bounds, label_names);
  // A family with bad bounds is never rendered; its children still need
  // valid ones to observe into.
  if (!check.ok()) bounds.clear();
  return Add<Histogram>(
      std::move(name), std::move(help), MetricType::kHistogram,
      std::move(label_names),
      [bounds] { return std::make_unique<Histogram>(bounds); },
      std::move(check));
}

void Registry::AddCollector(Collector collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

absl::Status Registry::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::string Registry::Render() const {
  std::vector<const FamilyBase*> families;
  std::vector<Collector> collectors;
  {
    // Families and collectors are only ever added, and live as long as the
    // registry; collectors run unlocked since they may take a while (they
    // read the kernel).
    absl::MutexLock lock(&mu_);
    for (const auto& family : families_) families.push_back(family.get());
    collectors = collectors_;
  }
  std::vector<MetricFamily> all;
  all.reserve(families.size());
  for (const FamilyBase* family : families) all.push_back(family->Collect());
  for (const Collector& collector : collectors) collector(all);
  std::stable_sort(all.begin(), all.end(),
                   [](const MetricFamily& a, const MetricFamily& b) {
                     return a.name < b.name;
                   });
  std::string out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!ValidMetricName(all[i].name)) {
      LOG(ERROR) << "metrics: a collector produced the invalid name '"
                 << all[i].name << "'; left out";
      continue;
    }
    if (i > 0 && all[i].name == all[i - 1].name) {
      LOG(ERROR) << "metrics: family " << all[i].name
                 << " produced twice; the second is left out";
      continue;
    }
    AppendFamily(all[i], out);
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3,
          50e-3, 100e-3, 250e-3, 500e-3, 1,    2.5,    5,    10};
}

}  // namespace switchyard::metrics
