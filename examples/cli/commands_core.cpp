// SPDX-License-Identifier: Apache-2.0
// recsys recipes | evaluate | train | recommend
#include "cli.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

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

void add_evaluate_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    recipe_options recipe;
    std::vector<std::string> metrics{"default"};
    std::string ties = "conservative";
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand("evaluate", "train a recipe on a split and report Personalize's metrics");
  add_data_options(*cmd, o->data, true);
  add_recipe_options(*cmd, o->recipe);
  cmd->add_option("--metrics", o->metrics, "metrics, e.g. ndcg@10,precision@10 (or default, personalize)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--ties", o->ties, "session recipes (next-item protocol): conservative | standard | median")
      ->capture_default_str();
  add_common(*cmd, o->common);
  cmd->callback([o] {
    auto model = make_cli_model(o->recipe, o->common);  // bad recipe / parameters fail before loading data
    if (model->supports_next_item()) {
      // Session recipes predict the next event of a session: GRU4Rec's next-item protocol.
      next_item_request req;
      req.common = o->common;
      req.metrics = o->metrics;
      req.ties = o->ties;
      req.split_method = o->data.train.empty() ? o->data.split : std::string("files");
      const next_item_options no = next_item_options_of(req);
      const split s = load_split(o->data, o->common.seed, o->common.threads);
      progress_display progress(!o->common.quiet);
      stopwatch fit_clock;
      model->fit(s.train, progress.job());
      req.fit_seconds = fit_clock.seconds();
      run_next_item_evaluation(*model, s, req, no, progress.job());
      return;
    }
    evaluation_options eo;
    eo.metrics = parse_metric_list(o->metrics);
    eo.num_threads = o->common.threads;
    const split s = load_split(o->data, o->common.seed, o->common.threads);
    progress_display progress(!o->common.quiet);
    stopwatch fit_clock;
    model->fit(s.train, progress.job());
    const double fit_seconds = fit_clock.seconds();
    const evaluation_result r = evaluate(*model, s, eo, progress.job());

    if (o->common.json) {
      json out;
      out["command"] = "evaluate";
      out["recipe"] = model->recipe();
      out["params"] = params_json(*model);
      out["data"] = report_json(s.train.report);
      out["split"] = {{"method", o->data.train.empty() ? o->data.split : std::string("files")},
                      {"seed", o->common.seed},
                      {"users", s.train.num_users()},
                      {"items", s.train.num_items()},
                      {"train_interactions", s.train.size()},
                      {"test_interactions", s.test.size()}};
      out["metrics"] = metrics_json(r);
      out["evaluation"] = {{"queries", r.queries},
                           {"cold_users", r.cold_users},
                           {"relevant_items", r.relevant_items},
                           {"unknown_item_pairs", r.unknown_item_pairs},
                           {"seen_in_training_pairs", r.seen_in_training_pairs},
                           {"users_without_relevant", r.users_without_relevant}};
      out["timings"] = {{"fit_seconds", fit_seconds}, {"evaluate_seconds", r.seconds}};
      print_json(out);
      return;
    }
    std::printf("recipe %s on %lld users x %lld items: %zu training and %zu test interactions\n", model->recipe().c_str(),
                static_cast<long long>(s.train.num_users()), static_cast<long long>(s.train.num_items()), s.train.size(),
                s.test.size());
    std::printf("%lld queries (%lld cold users); not relevant under the protocol: %lld unknown items, %lld seen in training\n",
                static_cast<long long>(r.queries), static_cast<long long>(r.cold_users),
                static_cast<long long>(r.unknown_item_pairs), static_cast<long long>(r.seen_in_training_pairs));
    for (const auto& v : r.metrics) std::printf("  %-14s %.4f\n", v.name.c_str(), v.value);
    std::printf("fit %.3f s, evaluate %.3f s\n", fit_seconds, r.seconds);
  });
}

void add_train_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    recipe_options recipe;
    std::string save;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand("train", "train a recipe on all the data and report what was fitted");
  add_data_options(*cmd, o->data, false);
  add_recipe_options(*cmd, o->recipe);
  cmd->add_option("--save", o->save, "write the trained model to this directory (replaced atomically; see docs/lifecycle.md)");
  add_common(*cmd, o->common);
  cmd->callback([o] {
    auto model = make_cli_model(o->recipe, o->common);
    if (!o->save.empty()) check_model_target(o->save);  // a bad --save fails before the fit, not after
    const interaction_log log = load_data(o->data);
    progress_display progress(!o->common.quiet);
    stopwatch clock;
    model->fit(log, progress.job());
    const double fit_seconds = clock.seconds();
    if (!o->save.empty()) model->save(o->save);
    if (o->common.json) {
      json out;
      out["command"] = "train";
      out["recipe"] = model->recipe();
      out["params"] = params_json(*model);
      out["data"] = report_json(log.report);
      out["model"] = {{"users", model->num_users()}, {"items", model->num_items()}, {"interactions", log.size()}};
      out["timings"] = {{"fit_seconds", fit_seconds}};
      if (!o->save.empty()) out["saved"] = o->save;
      print_json(out);
      return;
    }
    std::printf("%s\n", log.report.summary().c_str());
    std::printf("trained %s on %zu interactions (%lld users x %lld items) in %.3f s\n", model->recipe().c_str(), log.size(),
                static_cast<long long>(model->num_users()), static_cast<long long>(model->num_items()), fit_seconds);
    if (!o->save.empty()) std::printf("saved to %s\n", o->save.c_str());
  });
}

void add_recommend_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    recipe_options recipe;
    std::string model;
    std::string user;
    index_t k = 10;
    bool include_seen = false;
    rerank_options rerank;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand("recommend", "recommend items for a user, with scores (best first)");
  add_data_options(*cmd, o->data, false);
  add_recipe_options(*cmd, o->recipe);
  cmd->add_option("--model", o->model, "serve a model saved by `train --save` (instead of training on --data)");
  cmd->add_option("--user", o->user, "external USER_ID")->required();
  cmd->add_option("-k,--k", o->k, "number of items")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--include-seen", o->include_seen, "also return items the user already interacted with");
  add_rerank_options(*cmd, o->rerank);
  add_common(*cmd, o->common);
  cmd->callback([o] {
    std::unique_ptr<recsys::model> model;
    std::optional<interaction_log> log;  // the training log (not with --model)
    if (!o->model.empty()) {
      if (!o->data.data.empty()) throw invalid_argument("recommend: give either --model DIR or --data FILE, not both");
      if (o->rerank.any())
        throw invalid_argument("recommend: --filter, --promote and --explore bind to the interaction log: use --data, not --model");
      model = load_model(o->model);
    } else {
      model = make_cli_model(o->recipe, o->common);
      check_rerank_options(o->rerank);  // a filter syntax error fails before loading data
      log = load_data(o->data);
      progress_display progress(!o->common.quiet);
      model->fit(*log, progress.job());
    }
    const id_map<std::string>& item_ids = model->item_ids();
    const std::optional<index_t> user = model->user_ids().find(o->user);
    recommend_options ro;
    ro.exclude_seen = !o->include_seen;
    // Without --filter / --promote / --explore: the recipe's own top-k (every slot "ranked").
    reranked_list top;
    if (o->rerank.any()) {
      top = recommend_reranked(*model, *log, user.value_or(invalid_index), o->k, ro, o->rerank, o->common.seed);
    } else {
      const topk_result plain = model->recommend(user.value_or(invalid_index), o->k, ro);
      top.ids = plain.ids;
      top.scores = plain.scores;
      top.kinds.assign(plain.size(), slot_kind::ranked);
    }
    if (o->common.json) {
      json items = json::array();
      for (std::size_t j = 0; j < top.size(); ++j)
        items.push_back({{"item", item_ids.id(top.ids[j])}, {"score", top.scores[j]}, {"slot", to_string(top.kinds[j])}});
      json out = {{"command", "recommend"},
                  {"recipe", model->recipe()},
                  {"user", o->user},
                  {"known_user", user.has_value()},
                  {"items", items}};
      if (o->rerank.any()) {
        out["filter"] = o->rerank.filter.empty() ? json(nullptr) : json(o->rerank.filter);
        out["slots"] = {{"ranked", top.count(slot_kind::ranked)},
                        {"promoted", top.count(slot_kind::promoted)},
                        {"explored", top.count(slot_kind::explored)}};
      }
      print_json(out);
      return;
    }
    if (!user) std::fprintf(stderr, "recsys: user '%s' is not in the data: the recipe's fallback answers\n", o->user.c_str());
    for (std::size_t j = 0; j < top.size(); ++j)
      std::printf("%2zu  %-24s %.6g%s\n", j + 1, item_ids.id(top.ids[j]).c_str(), static_cast<double>(top.scores[j]),
                  top.kinds[j] == slot_kind::ranked ? "" : top.kinds[j] == slot_kind::promoted ? "  promoted" : "  explored");
  });
}

void add_generate_command(CLI::App& app) {
  struct opts {
    common_options common;
    std::string preset = "demo";
    std::string out;
    std::string baskets;
    std::string item_metadata;
    index_t users = 0, items = 0;
    std::int64_t interactions = 0;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand("generate", "write a deterministic synthetic dataset as a Personalize interactions CSV");
  cmd->add_option("--preset", o->preset, "demo (2k users, 1k items, 50k events) | benchmark (50k x 20k x 2M)")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "interactions CSV to write")->required();
  cmd->add_option("--baskets", o->baskets, "also write baskets (one per line, comma-separated) to this file");
  cmd->add_option("--item-metadata", o->item_metadata,
                  "also write Items metadata (ITEM_ID, CATEGORY, PRICE, CREATION_TIMESTAMP) to this CSV file");
  cmd->add_option("--users", o->users, "override the number of users")->check(CLI::PositiveNumber);
  cmd->add_option("--items", o->items, "override the number of items")->check(CLI::PositiveNumber);
  cmd->add_option("--interactions", o->interactions, "override the number of events")->check(CLI::NonNegativeNumber);
  add_common(*cmd, o->common);
  cmd->callback([o] {
    synthetic_config c = detail::parse_choice<synthetic_config>(
        "generate", "preset", o->preset, {{"demo", synthetic_config::demo()}, {"benchmark", synthetic_config::benchmark()}});
    if (o->users) c.num_users = o->users;
    if (o->items) c.num_items = o->items;
    if (o->interactions) c.num_interactions = o->interactions;
    c.seed = o->common.seed;
    c.num_threads = o->common.threads;
    stopwatch clock;
    const interaction_log log = generate_interactions(c);
    write_interactions_csv(log, o->out);
    std::int64_t baskets = 0;
    if (!o->baskets.empty()) {
      const basket_data b = generate_baskets(c);
      write_baskets(b, o->baskets);
      baskets = static_cast<std::int64_t>(b.size());
    }
    if (!o->item_metadata.empty()) write_items_csv(generate_item_metadata(c, log), o->item_metadata);
    if (o->common.json) {
      print_json({{"command", "generate"},
                  {"preset", o->preset},
                  {"seed", o->common.seed},
                  {"out", o->out},
                  {"interactions", log.size()},
                  {"users", log.num_users()},
                  {"items", log.num_items()},
                  {"baskets", baskets},
                  {"item_metadata", o->item_metadata.empty() ? json(nullptr) : json(o->item_metadata)},
                  {"seconds", clock.seconds()}});
      return;
    }
    std::printf("wrote %zu interactions (%lld users, %lld items) to %s", log.size(), static_cast<long long>(log.num_users()),
                static_cast<long long>(log.num_items()), o->out.c_str());
    if (baskets) std::printf(" and %lld baskets to %s", static_cast<long long>(baskets), o->baskets.c_str());
    if (!o->item_metadata.empty()) std::printf(", Items metadata to %s", o->item_metadata.c_str());
    std::printf("\n");
  });
}

}  // namespace

void add_core_commands(CLI::App& app) {
  add_recipes_command(app);
  add_evaluate_command(app);
  add_train_command(app);
  add_recommend_command(app);
  add_generate_command(app);
}

}  // namespace recsys::cli
