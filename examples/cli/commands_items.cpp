// SPDX-License-Identifier: Apache-2.0
// recsys similar | rules — item-to-item queries and market-basket association rules.
#include "cli.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace recsys::cli {

namespace {

void add_similar_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    recipe_options recipe;
    std::string item;
    index_t k = 10;
  };
  auto o = std::make_shared<opts>();
  // item-knn by default: `sims` mirrors Personalize's SIMS pruning, which drops the 10% most
  // interacted items, so a head item's "similar items" would be the popularity fallback.
  o->recipe.recipe = "item-knn";
  auto* cmd = app.add_subcommand(
      "similar", "items similar to an item (item-knn by default; sims = Personalize's SIMS; bpr/warp: factor cosine)");
  add_data_options(*cmd, o->data, false);
  add_recipe_options(*cmd, o->recipe);
  cmd->add_option("--item", o->item, "external ITEM_ID")->required();
  cmd->add_option("-k,--k", o->k, "number of items")->capture_default_str()->check(CLI::NonNegativeNumber);
  add_common(*cmd, o->common);
  cmd->callback([o] {
    auto model = make_cli_model(o->recipe, o->common);
    if (!model->supports_similar_items())
      throw invalid_argument("recipe '" + model->recipe() + "' has no item similarity (use sims, item-knn, bpr or warp)");
    const interaction_log log = load_data(o->data);
    progress_display progress(!o->common.quiet);
    model->fit(log, progress.job());
    const std::optional<index_t> item = log.item_ids.find(o->item);
    topk_result top;
    try {
      top = model->similar_items(item.value_or(invalid_index), o->k);
    } catch (const invalid_argument&) {
      if (item) throw;
      throw invalid_argument("item '" + o->item + "' is not in the data and recipe '" + model->recipe() +
                             "' has no fallback for unknown items (sims and item-knn return popular items)");
    }
    if (o->common.json) {
      json items = json::array();
      for (std::size_t j = 0; j < top.size(); ++j)
        items.push_back({{"item", log.item_ids.id(top.ids[j])}, {"score", top.scores[j]}});
      print_json({{"command", "similar"},
                  {"recipe", model->recipe()},
                  {"item", o->item},
                  {"known_item", item.has_value()},
                  {"items", items}});
      return;
    }
    if (!item) std::fprintf(stderr, "recsys: item '%s' is not in the data: popular items instead\n", o->item.c_str());
    for (std::size_t j = 0; j < top.size(); ++j)
      std::printf("%2zu  %-24s %.6g\n", j + 1, log.item_ids.id(top.ids[j]).c_str(), static_cast<double>(top.scores[j]));
  });
}

/// Why no rule met the thresholds, for `recsys rules`: the strongest pair by support and, when
/// pairs do reach --min-support / --min-count, the best confidence and lift among them, naming the
/// option to lower. `mine` runs association_rules with the given options on the same data.
std::string no_rules_hint(const std::function<std::vector<association_rule>(const rule_options&)>& mine,
                          const rule_options& asked, const id_map<std::string>& items, const std::string& source) {
  rule_options any = asked;
  any.min_support = 0;
  any.min_count = 1;
  any.min_confidence = 0;
  any.min_lift = 0;
  any.order = rule_order::support;
  any.max_rules = 1;
  const std::vector<association_rule> top = mine(any);
  if (top.empty()) return "no two items ever occur in the same " + source.substr(0, source.size() - 1) + ": there is no pair to mine";
  const association_rule& t = top.front();
  const std::string pair = "(" + items.id(t.antecedent) + ", " + items.id(t.consequent) + ")";
  if (t.support < asked.min_support || t.count < asked.min_count) {
    // A suggested --min-support that this pair does meet: its support rounded down to three
    // significant digits (rounding to the nearest could land just above it).
    const double scale = std::pow(10.0, 2 - std::floor(std::log10(t.support)));
    const double suggest = std::floor(t.support * scale) / scale;
    char buf[160];
    std::snprintf(buf, sizeof buf, "the most frequent pair %s is in %lld %s (support %.3g)", pair.c_str(),
                  static_cast<long long>(t.count), source.c_str(), t.support);
    std::string below, lower;
    if (t.support < asked.min_support) {
      below = "--min-support " + detail::str(asked.min_support);
      lower = "--min-support to " + detail::str(suggest) + " or less";
    }
    if (t.count < asked.min_count) {
      below += (below.empty() ? "" : " and ") + std::string("--min-count ") + std::to_string(asked.min_count);
      lower += (lower.empty() ? "" : " and ") + std::string("--min-count to ") + std::to_string(t.count);
    }
    return std::string(buf) + ", under " + below + ": lower " + lower;
  }
  // Pairs reach the support and count thresholds: confidence or lift is what removed them.
  rule_options frequent = asked;
  frequent.min_confidence = 0;
  frequent.min_lift = 0;
  frequent.max_rules = 1;
  frequent.order = rule_order::confidence;
  const double best_confidence = mine(frequent).front().confidence;
  frequent.order = rule_order::lift;
  const double best_lift = mine(frequent).front().lift;
  std::string what;
  char buf[256];
  if (best_confidence < asked.min_confidence) {
    std::snprintf(buf, sizeof buf, "the highest confidence is %.6g, below --min-confidence %g", best_confidence,
                  asked.min_confidence);
    what = buf;
  }
  if (best_lift < asked.min_lift) {
    std::snprintf(buf, sizeof buf, "the highest lift is %.6g, below --min-lift %g", best_lift, asked.min_lift);
    what += (what.empty() ? "" : "; ") + std::string(buf);
  }
  if (what.empty()) what = "no single pair meets --min-confidence and --min-lift together";
  return "pairs reach --min-support, but " + what + ": lower that option";
}

void add_rules_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    std::string baskets;
    char delimiter = ',';
    rule_options rules;
    std::string order = "lift";
    std::size_t top = 20;
    std::string out;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand(
      "rules", "association rules A -> B with support, confidence, lift and count, strongest first (market baskets)");
  cmd->add_option("--baskets", o->baskets, "basket file: one basket per line, items separated by --delimiter");
  cmd->add_option("--delimiter", o->delimiter, "item separator of --baskets")->capture_default_str();
  add_data_options(*cmd, o->data, false);
  cmd->add_option("--min-support", o->rules.min_support, "minimum support (fraction of baskets)")->capture_default_str();
  cmd->add_option("--min-confidence", o->rules.min_confidence, "minimum confidence P(B | A)")->capture_default_str();
  cmd->add_option("--min-lift", o->rules.min_lift, "minimum lift")->capture_default_str();
  cmd->add_option("--min-count", o->rules.min_count, "minimum number of baskets with both items")->capture_default_str();
  cmd->add_option("--order", o->order, "rank by lift | confidence | support")->capture_default_str();
  cmd->add_option("--top", o->top, "print the strongest N rules (0: all)")->capture_default_str();
  cmd->add_option("--out", o->out, "also write all kept rules as CSV");
  add_common(*cmd, o->common);
  cmd->callback([o] {
    if (o->baskets.empty() == o->data.data.empty())
      throw invalid_argument("give either --baskets FILE or --data FILE (whose sessions are the baskets)");
    o->rules.order = detail::parse_choice<rule_order>(
        "rules", "order", o->order,
        {{"lift", rule_order::lift}, {"confidence", rule_order::confidence}, {"support", rule_order::support}});
    o->rules.num_threads = o->common.threads;
    progress_display progress(!o->common.quiet);
    id_map<std::string> items;
    std::int64_t transactions = 0;
    std::string source;
    std::function<std::vector<association_rule>(const rule_options&)> mine;
    std::optional<basket_data> baskets;
    std::optional<session_data> sessions;
    if (!o->baskets.empty()) {
      baskets = read_baskets(o->baskets, o->delimiter);
      mine = [&](const rule_options& ro) { return association_rules(*baskets, ro, progress.job()); };
      items = baskets->item_ids;
      transactions = static_cast<std::int64_t>(baskets->size());
      source = "baskets";
    } else {
      const interaction_log log = load_data(o->data);
      sessions = build_sessions(log);
      mine = [&](const rule_options& ro) { return association_rules(*sessions, ro, progress.job()); };
      items = log.item_ids;
      transactions = static_cast<std::int64_t>(sessions->size());
      source = "sessions";
    }
    const std::vector<association_rule> rules = mine(o->rules);
    // No rule kept: say what the strongest pairs reached and which threshold to lower.
    const std::string hint = rules.empty() ? no_rules_hint(mine, o->rules, items, source) : std::string();
    if (!o->out.empty()) {
      std::ofstream f(o->out);
      if (!f) throw io_error(o->out, "cannot open for writing");
      write_rules_csv(f, rules, items);
      if (!f.flush()) throw io_error(o->out, "write failed");
    }
    const std::size_t shown = o->top == 0 ? rules.size() : std::min(o->top, rules.size());
    if (o->common.json) {
      json list = json::array();
      for (std::size_t j = 0; j < shown; ++j) {
        const auto& r = rules[j];
        list.push_back({{"antecedent", items.id(r.antecedent)},
                        {"consequent", items.id(r.consequent)},
                        {"support", r.support},
                        {"confidence", r.confidence},
                        {"lift", r.lift},
                        {"count", r.count}});
      }
      json out = {{"command", "rules"},
                  {"transactions", transactions},
                  {"source", source},
                  {"rules_kept", rules.size()},
                  {"rules", list}};
      if (!hint.empty()) out["hint"] = hint;
      print_json(out);
      return;
    }
    std::printf("%lld %s, %zu rules kept (showing %zu)\n", static_cast<long long>(transactions), source.c_str(), rules.size(),
                shown);
    if (!hint.empty()) {
      std::printf("%s\n", hint.c_str());
      return;
    }
    std::printf("%-28s %-28s %9s %10s %7s %7s\n", "antecedent", "consequent", "support", "confidence", "lift", "count");
    for (std::size_t j = 0; j < shown; ++j) {
      const auto& r = rules[j];
      std::printf("%-28s %-28s %9.5f %10.4f %7.3f %7lld\n", items.id(r.antecedent).c_str(), items.id(r.consequent).c_str(),
                  r.support, r.confidence, r.lift, static_cast<long long>(r.count));
    }
  });
}

}  // namespace

void add_item_commands(CLI::App& app) {
  add_similar_command(app);
  add_rules_command(app);
}

}  // namespace recsys::cli
