// SPDX-License-Identifier: Apache-2.0
// recsys recipes | evaluate | train | recommend
#include "cli.hpp"

#include <cstdio>
#include <memory>

namespace recsys::cli {

namespace {

void add_recipes_command(CLI::App& app) {
  struct opts {
    common_options common;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand("recipes", "list the recipes and their hyperparameters (--set key=value)");
  add_common(*cmd, o->common);
  cmd->callback([o] {
    if (o->common.json) {
      json out = json::array();
      for (const auto& r : recipes()) {
        json params = json::array();
        for (const auto& p : r.params) params.push_back({{"name", p.name}, {"default", p.default_value}, {"help", p.help}});
        out.push_back({{"name", r.name}, {"personalize", r.personalize}, {"description", r.description}, {"params", params}});
      }
      print_json(out);
      return;
    }
    for (const auto& r : recipes()) {
      std::printf("%-12s %s  (Personalize: %s)\n", r.name.c_str(), r.description.c_str(), r.personalize.c_str());
      for (const auto& p : r.params)
        std::printf("    --set %s=%s\n        %s\n", p.name.c_str(), p.default_value.empty() ? "<unset>" : p.default_value.c_str(),
                    p.help.c_str());
    }
  });
}

}  // namespace

void add_core_commands(CLI::App& app) { add_recipes_command(app); }

}  // namespace recsys::cli
