// SPDX-License-Identifier: Apache-2.0
// yard-cni: Switchyard's chained CNI plugin (plugin.h). The container
// runtime runs it with CNI_* in the environment and the network
// configuration on stdin; it answers on stdout and by its exit code.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <variant>

#include "control/cni/cni_config.h"
#include "control/cni/plugin.h"

int main() {
  using switchyard::cni::CniError;
  using switchyard::cni::CniRequest;
  std::variant<CniRequest, CniError> request = switchyard::cni::ReadRequest(
      [](const char* name) { return getenv(name); });
  if (auto* error = std::get_if<CniError>(&request)) {
    std::cout << switchyard::cni::ErrorJson("", *error) << std::endl;
    return 1;
  }
  std::string input(std::istreambuf_iterator<char>(std::cin), {});
  switchyard::cni::PluginOutput out =
      switchyard::cni::RunPlugin(std::get<CniRequest>(request), input);
  if (!out.stdout_text.empty()) std::cout << out.stdout_text << std::endl;
  return out.exit_code;
}
