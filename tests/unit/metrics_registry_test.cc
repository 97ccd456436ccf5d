// SPDX-License-Identifier: Apache-2.0
// The metrics registry and the text exposition format, checked against the
// exact text Prometheus would parse: HELP/TYPE lines, label escaping,
// histogram buckets with +Inf, _sum and _count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "control/metrics/exposition.h"
#include "control/metrics/registry.h"

namespace switchyard::metrics {
namespace {

TEST(Registry, RendersCountersGaugesAndHistogramsExactly) {
  Registry registry;
  Family<Counter>& requests = registry.AddCounter(
      "switchyard_test_requests_total", "Requests served.", {"code", "path"});
  requests.With({"404", "/x\"y\\z\nw"}).Increment();
  requests.With({"200", "/metrics"}).Increment(3);
  registry
      .AddGauge("switchyard_test_version",
                "Help with a \\ backslash,\na newline and \"quotes\".")
      .Get()
      .Set(42);
  Family<Histogram>& latency = registry.AddHistogram(
      "switchyard_test_latency_seconds", "Latency.", {0.25, 1, 2.5}, {"op"});
  latency.With({"apply"}).Observe(0.25);  // `le` is inclusive
  latency.With({"apply"}).Observe(0.5);
  latency.With({"apply"}).Observe(4);
  latency.With({"delete"});  // exists, nothing observed
  ASSERT_TRUE(registry.status().ok()) << registry.status();

  EXPECT_EQ(registry.Render(),
            R"(# HELP switchyard_test_latency_seconds Latency.
# TYPE switchyard_test_latency_seconds histogram
switchyard_test_latency_seconds_bucket{op="apply",le="0.25"} 1
switchyard_test_latency_seconds_bucket{op="apply",le="1"} 2
switchyard_test_latency_seconds_bucket{op="apply",le="2.5"} 2
switchyard_test_latency_seconds_bucket{op="apply",le="+Inf"} 3
switchyard_test_latency_seconds_sum{op="apply"} 4.75
switchyard_test_latency_seconds_count{op="apply"} 3
switchyard_test_latency_seconds_bucket{op="delete",le="0.25"} 0
switchyard_test_latency_seconds_bucket{op="delete",le="1"} 0
switchyard_test_latency_seconds_bucket{op="delete",le="2.5"} 0
switchyard_test_latency_seconds_bucket{op="delete",le="+Inf"} 0
switchyard_test_latency_seconds_sum{op="delete"} 0
switchyard_test_latency_seconds_count{op="delete"} 0
# HELP switchyard_test_requests_total Requests served.
# TYPE switchyard_test_requests_total counter
switchyard_test_requests_total{code="200",path="/metrics"} 3
switchyard_test_requests_total{code="404",path="/x\"y\\z\nw"} 1
# HELP switchyard_test_version Help with a \\ backslash,\na newline and "quotes".
# TYPE switchyard_test_version gauge
switchyard_test_version 42
)");
}

TEST(Registry, UnlabelledFamiliesRenderZeroAndUnusedLabelledOnesNothing) {
  Registry registry;
  registry.AddCounter("switchyard_test_events_total", "Events.");
  registry.AddGauge("switchyard_test_by_node", "Per node.", {"node"});
  registry.AddHistogram("switchyard_test_seconds", "Time.", {1});
  EXPECT_EQ(registry.Render(), R"(# HELP switchyard_test_events_total Events.
# TYPE switchyard_test_events_total counter
switchyard_test_events_total 0
# HELP switchyard_test_seconds Time.
# TYPE switchyard_test_seconds histogram
switchyard_test_seconds_bucket{le="1"} 0
switchyard_test_seconds_bucket{le="+Inf"} 0
switchyard_test_seconds_sum 0
switchyard_test_seconds_count 0
)");
}

TEST(Registry, CollectorFamiliesAreSortedInAndNeverRepeated) {
  Registry registry;
  registry.AddGauge("switchyard_b", "Registered.").Get().Set(1);
  registry.AddCollector([](std::vector<MetricFamily>& out) {
    MetricFamily a{"switchyard_a", "Collected.", MetricType::kCounter, {}};
    a.Add({{"node", "n1"}}, 7);
    a.Add({{"node", "n2"}}, 0.5);
    out.push_back(std::move(a));
    // The same name as a registered family: left out, not written twice.
    MetricFamily b{"switchyard_b", "Again.", MetricType::kGauge, {}};
    b.Add({}, 99);
    out.push_back(std::move(b));
    // An invalid name from a collector is left out too.
    MetricFamily bad{"switchyard-c", "Bad.", MetricType::kGauge, {}};
    bad.Add({}, 1);
    out.push_back(std::move(bad));
  });
  EXPECT_EQ(registry.Render(), R"(# HELP switchyard_a Collected.
# TYPE switchyard_a counter
switchyard_a{node="n1"} 7
switchyard_a{node="n2"} 0.5
# HELP switchyard_b Registered.
# TYPE switchyard_b gauge
switchyard_b 1
)");
}

TEST(Registry, LabelsRenderInDeclaredOrderAndChildrenAreStable) {
  Registry registry;
  Family<Gauge>& family =
      registry.AddGauge("switchyard_test_lag", "Lag.", {"zone", "node"});
  Gauge& first = family.With({"z1", "n1"});
  first.Set(1);
  for (int i = 0; i < 100; ++i) family.With({"z2", absl::StrCat("n", i)});
  EXPECT_EQ(&family.With({"z1", "n1"}), &first);  // same child, no copy
  first.Add(-3);
  EXPECT_TRUE(absl::StrContains(registry.Render(),
                                "switchyard_test_lag{zone=\"z1\",node=\"n1\"} "
                                "-2\n"));
  family.Remove({"z1", "n1"});
  EXPECT_FALSE(absl::StrContains(registry.Render(), "zone=\"z1\""));
}

TEST(Registry, WrongNumberOfLabelValuesIsNotRendered) {
  Registry registry;
  Family<Counter>& family =
      registry.AddCounter("switchyard_test_total", "Total.", {"op"});
  family.With({"apply", "extra"}).Increment();
  family.Get().Increment();
  EXPECT_EQ(registry.Render(), "");
  EXPECT_TRUE(registry.status().ok());  // a call-site bug, logged
}

TEST(Registry, BadRegistrationsAreReportedAndLeftOut) {
  struct Case {
    const char* description;
    std::function<void(Registry&)> add;
    const char* message;
  };
  const Case cases[] = {
      {"dash in name", [](Registry& r) { r.AddCounter("switchyard-x", "x"); },
       "switchyard-x"},
      {"digit first", [](Registry& r) { r.AddGauge("1x", "x"); }, "1x"},
      {"empty name", [](Registry& r) { r.AddGauge("", "x"); }, "''"},
      {"reserved label",
       [](Registry& r) { r.AddGauge("switchyard_x", "x", {"__name"}); },
       "__name"},
      {"label with colon",
       [](Registry& r) { r.AddGauge("switchyard_x", "x", {"a:b"}); }, "a:b"},
      {"label twice",
       [](Registry& r) {
         r.AddGauge("switchyard_x", "x", {"a", "a"});
       },
       "twice"},
      {"le on a histogram",
       [](Registry& r) { r.AddHistogram("switchyard_x", "x", {1}, {"le"}); },
       "'le'"},
      {"bounds not increasing",
       [](Registry& r) {
         r.AddHistogram("switchyard_x", "x", {1, 1});
       },
       "strictly increasing"},
      {"infinite bound",
       [](Registry& r) {
         r.AddHistogram("switchyard_x", "x",
                        {1, std::numeric_limits<double>::infinity()});
       },
       "finite"},
      {"same name twice",
       [](Registry& r) {
         r.AddGauge("switchyard_x", "x").Get().Set(1);
         r.AddCounter("switchyard_x", "x").Get().Increment();
       },
       "registered twice"},
  };
  for (const Case& c : cases) {
    Registry registry;
    c.add(registry);
    EXPECT_FALSE(registry.status().ok()) << c.description;
    EXPECT_TRUE(absl::StrContains(registry.status().message(), c.message))
        << c.description << ": " << registry.status();
    // Nothing broken is rendered; a good first registration stays.
    std::string text = registry.Render();
    EXPECT_FALSE(absl::StrContains(text, "counter")) << c.description;
  }
}

TEST(Metrics, CounterOnlyGoesUpGaugeBothWays) {
  Counter counter;
  counter.Increment(2);
  counter.Increment(-5);
  counter.Increment();
  EXPECT_EQ(counter.value(), 3);
  Gauge gauge;
  gauge.Set(10);
  gauge.Add(-12.5);
  EXPECT_EQ(gauge.value(), -2.5);
}

TEST(Metrics, HistogramBucketsAreInclusiveAndCumulative) {
  Histogram histogram({1, 2, 3});
  for (double v : {0.0, 1.0, 1.0000001, 2.0, 3.0, 3.5, -1.0}) {
    histogram.Observe(v);
  }
  histogram.Observe(absl::Milliseconds(2500));
  Histogram::Snapshot s = histogram.Read();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{3, 5, 7, 8}));
  EXPECT_EQ(s.count, 8u);
  EXPECT_NEAR(s.sum, 12.0000001, 1e-9);
}

TEST(Metrics, LatencyBucketsRunFrom50MicrosecondsTo10Seconds) {
  std::vector<double> buckets = LatencyBuckets();
  ASSERT_GE(buckets.size(), 2u);
  EXPECT_EQ(buckets.front(), 50e-6);
  EXPECT_EQ(buckets.back(), 10);
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
  Registry registry;
  registry.AddHistogram("switchyard_test_seconds", "t", buckets);
  ASSERT_TRUE(registry.status().ok()) << registry.status();
  EXPECT_TRUE(absl::StrContains(registry.Render(),
                                "switchyard_test_seconds_bucket{le=\"5e-05\"} "
                                "0\n"
                                "switchyard_test_seconds_bucket{le=\"0.0001\"} "
                                "0\n"));
}

TEST(Metrics, UpdatesFromManyThreadsWhileRendering) {
  Registry registry;
  Family<Counter>& counter =
      registry.AddCounter("switchyard_test_total", "t", {"thread"});
  Family<Histogram>& histogram =
      registry.AddHistogram("switchyard_test_seconds", "t", {0.5});
  Counter& shared =
      registry.AddCounter("switchyard_test_shared_total", "t").Get();
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        shared.Increment();
        counter.With({absl::StrCat(t % 2)}).Increment();
        histogram.Get().Observe(i % 2 == 0 ? 0.25 : 1);
      }
    });
  }
  for (int i = 0; i < 20; ++i) registry.Render();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(shared.value(), kThreads * kEach);
  EXPECT_EQ(counter.With({"0"}).value() + counter.With({"1"}).value(),
            kThreads * kEach);
  Histogram::Snapshot s = histogram.Get().Read();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(s.cumulative[0], s.count / 2);
}

TEST(Exposition, FormatsValues) {
  struct Case {
    double value;
    const char* want;
  };
  const Case cases[] = {
      {0, "0"},
      {42, "42"},
      {-3, "-3"},
      {1234567890123, "1234567890123"},
      {0.5, "0.5"},
      {2.5, "2.5"},
      {5e-05, "5e-05"},
      {1.0 / 3, "0.3333333333333333"},
      {1e20, "1e+20"},
      {0.0001, "0.0001"},
      {1234567.5, "1.2345675e+06"},
      {-0.25, "-0.25"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::nan(""), "NaN"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatValue(c.value), c.want) << c.want;
  }
}

TEST(Exposition, Escapes) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("default/web:80/TCP"), "default/web:80/TCP");
  EXPECT_EQ(EscapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");
}

TEST(Exposition, Names) {
  EXPECT_TRUE(ValidMetricName("switchyard_agent_applied_version"));
  EXPECT_TRUE(ValidMetricName("job:rate5m"));
  EXPECT_TRUE(ValidMetricName("_x"));
  EXPECT_FALSE(ValidMetricName("9x"));
  EXPECT_FALSE(ValidMetricName("a b"));
  EXPECT_TRUE(ValidLabelName("node"));
  EXPECT_FALSE(ValidLabelName("__reserved"));
  EXPECT_FALSE(ValidLabelName("a:b"));
  EXPECT_FALSE(ValidLabelName(""));
}

}  // namespace
}  // namespace switchyard::metrics
