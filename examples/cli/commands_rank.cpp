// SPDX-License-Identifier: Apache-2.0
// recsys rank, and the filter / promotion / exploration flags of recsys recommend.
#include "cli.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace recsys::cli {

namespace {

// "EXPR:PERCENT" -> (EXPR, PERCENT); the last ':' separates (expressions may contain ':').
std::pair<std::string, int> split_promote(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw invalid_argument("--promote needs EXPR:PERCENT, e.g. 'INCLUDE ItemID WHERE Items.BRAND IN (\"velo\")':20 (got '" +
                           text + "')");
  const auto percent = detail::parse_int("--promote", "PERCENT", text.substr(colon + 1), 1, 100);
  return {text.substr(0, colon), static_cast<int>(percent)};
}

// --param NAME=VALUE entries; VALUE is Personalize's filterValues text ("a","b" or one bare value).
std::vector<std::pair<std::string, std::vector<std::string>>> parse_filter_params(const std::vector<std::string>& params) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& p : params) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) throw invalid_argument("--param needs NAME=VALUE (got '" + p + "')");
    std::string name = p.substr(0, eq);
    if (name[0] == '$') name.erase(0, 1);
    std::vector<std::string> values = parse_filter_values(p.substr(eq + 1));
    bool merged = false;
    for (auto& [n, v] : out)
      if (n == name) {
        v.insert(v.end(), values.begin(), values.end());
        merged = true;
      }
    if (!merged) out.emplace_back(std::move(name), std::move(values));
  }
  return out;
}

// The values of the parameters `expression` uses.
filter_params params_for(const filter_expression& expression,
                         const std::vector<std::pair<std::string, std::vector<std::string>>>& all) {
  filter_params out;
  const std::vector<std::string> used = expression.parameters();
  for (const auto& [name, values] : all)
    if (std::find(used.begin(), used.end(), name) != used.end()) out.set(name, values);
  return out;
}

json score_json(score_t s) { return std::isnan(s) ? json(nullptr) : json(s); }

void add_rank_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    recipe_options recipe;
    std::string user;
    std::vector<std::string> candidates;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand(
      "rank", "re-rank a list of candidate items for a user (Personalized-Ranking): by score, unknown items last");
  add_data_options(*cmd, o->data, false);
  add_recipe_options(*cmd, o->recipe);
  cmd->add_option("--user", o->user, "external USER_ID")->required();
  cmd->add_option("--candidates", o->candidates, "external ITEM_IDs, comma-separated (e.g. a,b,c)")
      ->required()
      ->delimiter(',');
  add_common(*cmd, o->common);
  cmd->callback([o] {
    auto model = make_cli_model(o->recipe, o->common);
    const interaction_log log = load_data(o->data);
    progress_display progress(!o->common.quiet);
    model->fit(log, progress.job());
    const std::optional<index_t> user = log.user_ids.find(o->user);
    std::vector<index_t> ids;
    ids.reserve(o->candidates.size());
    for (const auto& c : o->candidates) ids.push_back(log.item_ids.find(c).value_or(invalid_index));
    const ranked_candidates ranked = rank_candidates(*model, user.value_or(invalid_index), ids);
    if (o->common.json) {
      json items = json::array();
      for (std::size_t j = 0; j < ranked.size(); ++j)
        items.push_back({{"item", o->candidates[ranked.positions[j]]},
                         {"score", score_json(ranked.scores[j])},
                         {"known_item", ranked.ids[j] != invalid_index}});
      print_json({{"command", "rank"},
                  {"recipe", model->recipe()},
                  {"user", o->user},
                  {"known_user", user.has_value()},
                  {"items", items}});
      return;
    }
    if (!user) std::fprintf(stderr, "recsys: user '%s' is not in the data: the recipe's fallback scores\n", o->user.c_str());
    for (std::size_t j = 0; j < ranked.size(); ++j) {
      const std::string& name = o->candidates[ranked.positions[j]];
      if (j < ranked.num_scored)
        std::printf("%2zu  %-24s %.6g\n", j + 1, name.c_str(), static_cast<double>(ranked.scores[j]));
      else
        std::printf("%2zu  %-24s -  (%s)\n", j + 1, name.c_str(),
                    ranked.ids[j] == invalid_index ? "not in the data" : "no score");
    }
  });
}

}  // namespace

void add_rerank_options(CLI::App& cmd, rerank_options& r) {
  cmd.add_option("--items", r.items, "Items metadata CSV (ITEM_ID, fields, CREATION_TIMESTAMP) for filters and exploration");
  cmd.add_option("--filter", r.filter, "filter expression (Personalize syntax), applied before truncation to k");
  cmd.add_option("--param", r.params, "value of a filter $PARAMETER: NAME=VALUE or NAME=\"a\",\"b\" (repeatable)");
  cmd.add_option("--promote", r.promote, "EXPR:PERCENT: PERCENT% of the slots for items EXPR allows, ranked by the model");
  cmd.add_option("--explore", r.explore, "share of the slots for new items (Personalize's exploration_weight)")
      ->check(CLI::Range(0.0, 1.0));
}

bool rerank_options::any() const noexcept { return !filter.empty() || !promote.empty() || explore > 0; }

void check_rerank_options(const rerank_options& r) {
  std::vector<std::string> used;
  if (!r.filter.empty()) {
    const filter_expression e = filter_expression::parse(r.filter);
    for (const auto& p : e.parameters()) used.push_back(p);
  }
  if (!r.promote.empty()) {
    const filter_expression e = filter_expression::parse(split_promote(r.promote).first);
    for (const auto& p : e.parameters()) used.push_back(p);
  }
  for (const auto& [name, values] : parse_filter_params(r.params))
    if (std::find(used.begin(), used.end(), name) == used.end())
      throw invalid_argument("--param " + name + ": neither --filter nor --promote uses $" + name);
}

reranked_list recommend_reranked(const model& m, const interaction_log& log, index_t user, index_t k,
                                 const recommend_options& ro, const rerank_options& r, std::uint64_t seed) {
  std::optional<metadata_table> items;
  if (!r.items.empty()) items = read_items_csv(r.items);
  const filter_data data{.log = &log, .items = items ? &*items : nullptr};
  const auto params = parse_filter_params(r.params);
  pipeline p(m);
  if (!r.filter.empty()) {
    item_filter f(r.filter, data);
    const filter_params values = params_for(f.expression(), params);
    p.set_filter(std::move(f), values);
  }
  if (!r.promote.empty()) {
    const auto [expr, percent] = split_promote(r.promote);
    item_filter f(expr, data);
    const filter_params values = params_for(f.expression(), params);
    promotion promo;
    promo.name = "cli";
    promo.percent = percent;
    promo.seed = seed;
    p.set_promotion(std::move(f), promo, values);
  }
  if (r.explore > 0) {
    exploration_config ec;
    ec.weight = r.explore;
    ec.seed = seed;
    p.set_exploration(new_item_explorer(log, items ? &*items : nullptr, ec));
  }
  pipeline_request req;
  req.user = user;
  req.k = k;
  req.options = ro;
  return p.run(req);
}

void add_rank_commands(CLI::App& app) { add_rank_command(app); }

}  // namespace recsys::cli
