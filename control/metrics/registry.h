// SPDX-License-Identifier: Apache-2.0
// A small metrics registry: counters, gauges and fixed-bucket histograms,
// each in a family with named labels, plus collectors that produce whole
// families at scrape time (values read from the kernel, tables whose rows
// come and go). Thread-safe: metrics are updated from any thread while a
// scrape renders them.
//
//   Registry registry;
//   Family<Counter>& writes = registry.AddCounter(
//       "switchyard_controller_writes_applied_total", "Writes applied.",
//       {"op"});
//   writes.With({"apply"}).Increment();
//   std::string text = registry.Render();  // exposition format 0.0.4
//
// Registration happens at startup with names fixed in the code, so a bad
// name is a programming error; rather than make every registration return
// a status, the registry keeps the first error in status(), which the
// caller checks once, and leaves the offending family out of the output.
#ifndef SWITCHYARD_CONTROL_METRICS_REGISTRY_H_
#define SWITCHYARD_CONTROL_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/metrics/exposition.h"

namespace switchyard::metrics {

// Only goes up (a negative increment is ignored).
class Counter {
 public:
  void Increment(double by = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets, by upper bound (inclusive, as
// Prometheus' `le`); +Inf is implicit.
class Histogram {
 public:
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };

  // `bounds` strictly increasing and finite (the registry checks).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  void Observe(absl::Duration duration) {
    Observe(absl::ToDoubleSeconds(duration));
  }
  // Consistent: the +Inf bucket always equals count.
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // per bucket
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

// What a Registry holds; each family renders itself.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  virtual MetricFamily Collect() const = 0;
};

// One metric family: a child per combination of label values, made at
// first use and kept for the registry's life, so a reference to it can be
// kept and updated without a lookup.
template <typename M>
class Family final : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<M>()>;

  Family(std::string name, std::string help, MetricType type,
         std::vector<std::string> label_names, Factory factory)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)),
        factory_(std::move(factory)),
        mismatched_(factory_()) {}

  // The child with these label values, given in the order of the label
  // names. A wrong number of values is a programming error: it is logged
  // and answered with a child that is never rendered.
  M& With(const std::vector<std::string>& values);
  // The family's only child, when it has no labels.
  M& Get() { return With({}); }
  // Forgets a child (a node that left, say); references to it dangle.
  void Remove(const std::vector<std::string>& values);

  MetricFamily Collect() const override;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const Factory factory_;
  const std::unique_ptr<M> mismatched_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_
      ABSL_GUARDED_BY(mu_);
};

class Registry {
 public:
  // Appends whole families, read at scrape time, to `out`.
  using Collector = std::function<void(std::vector<MetricFamily>& out)>;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // A family without label names has its one child from the start, so it
  // is rendered (as 0) before anything happened.
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<double> bounds,
                                  std::vector<std::string> label_names = {});
  void AddCollector(Collector collector);

  // The first registration error, if any.
  absl::Status status() const;

  // Every family, sorted by name, in the text exposition format. A name
  // produced twice (a collector repeating a registered one) is written
  // once and logged.
  std::string Render() const;

 private:
  template <typename M>
  Family<M>& Add(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names,
                 typename Family<M>::Factory factory, absl::Status extra_check);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
  // Bad registrations live here: usable, never rendered.
  std::vector<std::unique_ptr<FamilyBase>> rejected_ ABSL_GUARDED_BY(mu_);
  std::vector<Collector> collectors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> names_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

// Latency buckets in seconds, 1-2.5-5 per decade from 50 µs to 10 s: an
// endpoint change takes the agent ~100 µs, a 10,000-service snapshot ~1.5 s.
std::vector<double> LatencyBuckets();

}  // namespace switchyard::metrics

#endif  // SWITCHYARD_CONTROL_METRICS_REGISTRY_H_
