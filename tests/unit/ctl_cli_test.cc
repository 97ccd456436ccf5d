// SPDX-License-Identifier: Apache-2.0
// yardctl's command line: kubectl's flag shapes in, config structs out.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/ctl/cli.h"

namespace switchyard::ctl {
namespace {

TEST(ParseCommandLine, Defaults) {
  absl::StatusOr<CommandLine> line = ParseCommandLine({"get", "svc"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->global.controller, "unix:///run/switchyard/controller.sock");
  EXPECT_EQ(line->global.timeout, absl::Seconds(10));
  EXPECT_EQ(line->command, "get");
  EXPECT_EQ(line->options.args, std::vector<std::string>{"svc"});
  EXPECT_EQ(line->options.flags_set, 0u);
  EXPECT_FALSE(line->help);
}

TEST(ParseCommandLine, FlagsBeforeAndAfterTheCommand) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(
      {"--controller", "10.0.0.1:9400", "apply", "-f", "a.yaml",
       "--filename=dir/", "-f", "-", "-nshop", "--timeout=500ms"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->global.controller, "10.0.0.1:9400");
  EXPECT_EQ(line->global.timeout, absl::Milliseconds(500));
  EXPECT_EQ(line->command, "apply");
  EXPECT_EQ(line->options.filenames,
            (std::vector<std::string>{"a.yaml", "dir/", "-"}));
  EXPECT_EQ(line->options.namespace_, "shop");
  EXPECT_EQ(line->options.flags_set, kFlagFilename | kFlagNamespace);
}

TEST(ParseCommandLine, ShortFormsAndBooleans) {
  absl::StatusOr<CommandLine> line =
      ParseCommandLine({"get", "-A", "svc", "-oyaml", "--ignore-not-found"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(line->options.all_namespaces);
  EXPECT_EQ(line->options.output, "yaml");
  EXPECT_TRUE(line->options.ignore_not_found);
  EXPECT_EQ(line->options.args, std::vector<std::string>{"svc"});

  line = ParseCommandLine({"get", "svc", "-o=json", "--all-namespaces=false"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->options.output, "json");
  EXPECT_FALSE(line->options.all_namespaces);

  line = ParseCommandLine({"get", "--", "-weird-name"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->options.args, std::vector<std::string>{"-weird-name"});

  line = ParseCommandLine({"apply", "-h"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(line->help);
}

TEST(ParseCommandLine, Errors) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
  };
  const Case cases[] = {
      {{"get", "--bogus"}, "unknown flag: --bogus"},
      {{"get", "-x"}, "unknown flag: -x"},
      {{"apply", "-f"}, "flag needs an argument: -f"},
      {{"--timeout", "soon", "get"}, "invalid --timeout \"soon\""},
      {{"--timeout", "-1s", "get"}, "must be zero (none) or positive"},
      {{"get", "-Ax"}, "unknown shorthand flag in \"-Ax\""},
      {{"get", "--all-namespaces=maybe"}, "expected true or false"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<CommandLine> line = ParseCommandLine(c.args);
    ASSERT_FALSE(line.ok()) << c.error;
    EXPECT_NE(line.status().message().find(c.error), std::string::npos)
        << line.status();
  }
}

TEST(ParseTimeout, SecondsDurationsAndZero) {
  EXPECT_EQ(*ParseTimeout("5"), absl::Seconds(5));
  EXPECT_EQ(*ParseTimeout("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseTimeout("0"), absl::ZeroDuration());
}

TEST(ChannelTarget, BarePathsAreUnixSockets) {
  EXPECT_EQ(ChannelTarget("/run/switchyard/controller.sock"),
            "unix:/run/switchyard/controller.sock");
  EXPECT_EQ(ChannelTarget("unix:///run/x.sock"), "unix:///run/x.sock");
  EXPECT_EQ(ChannelTarget("10.0.0.1:9400"), "10.0.0.1:9400");
}

}  // namespace
}  // namespace switchyard::ctl
