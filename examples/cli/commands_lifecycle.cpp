// SPDX-License-Identifier: Apache-2.0
// recsys batch | automl | windows (the model lifecycle; docs/lifecycle.md)
#include "cli.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace recsys::cli {

namespace {

json param_object(const param_map& p) {
  json out = json::object();
  for (const auto& [k, v] : p) out[k] = v;
  return out;
}

// NaN (a row that could not be computed) as JSON null.
json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

std::string param_text(const param_map& p) {
  std::string out;
  for (const auto& [k, v] : p) {
    if (!out.empty()) out += " ";
    out += k + "=" + (v.empty() ? std::string("\"\"") : v);
  }
  return out;
}

void add_batch_command(CLI::App& app) {
  struct opts {
    common_options common;
    std::string model, out, ids, format;
    index_t k = 25;
    bool segments = false;
    bool include_seen = false;
    std::int64_t block = 4096;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand(
      "batch", "batch inference: recommendations for every (or each listed) user of a saved model, or user segments");
  cmd->add_option("--model", o->model, "model directory written by `train --save` or `automl --save`")->required();
  cmd->add_option("--out", o->out, "output file (.csv: CSV, otherwise JSON Lines; written atomically)")->required();
  cmd->add_option("--users", o->ids,
                  "input file: one USER_ID per line or Personalize JSON lines {\"userId\": ...} (default: every user); "
                  "with --segments: ITEM_IDs / {\"itemId\": ...}");
  cmd->add_flag("--segments", o->segments, "item -> users: for each item the k users most likely to interact with it");
  cmd->add_option("-k,--k", o->k, "results per input")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--format", o->format, "jsonl | csv (default: from the --out extension)");
  cmd->add_flag("--include-seen", o->include_seen, "keep what the user (segment: the item) already had in training");
  cmd->add_option("--block", o->block, "inputs per block")->capture_default_str()->check(CLI::PositiveNumber);
  add_common(*cmd, o->common);
  cmd->callback([o] {
    const auto model = load_model(o->model);
    batch_options bo;
    bo.k = o->k;
    bo.format = o->format.empty() ? batch_format_for(o->out) : parse_batch_format(o->format);
    bo.exclude_seen = !o->include_seen;
    bo.block_size = o->block;
    bo.num_threads = o->common.threads;
    if (!o->ids.empty()) bo.ids = read_batch_ids(o->ids, o->segments ? "itemId" : "userId");
    progress_display progress(!o->common.quiet);
    const batch_report r =
        o->segments ? batch_segments(*model, o->out, bo, progress.job()) : batch_recommend(*model, o->out, bo, progress.job());
    if (o->common.json) {
      print_json({{"command", "batch"},
                  {"model", o->model},
                  {"recipe", model->recipe()},
                  {"mode", o->segments ? "segments" : "recommendations"},
                  {"out", r.output.string()},
                  {"format", bo.format == batch_format::csv ? "csv" : "jsonl"},
                  {"k", o->k},
                  {"inputs", r.inputs},
                  {"unknown", r.unknown},
                  {"results", r.results},
                  {"bytes", r.bytes},
                  {"seconds", r.seconds},
                  {"inputs_per_second", r.seconds > 0 ? static_cast<double>(r.inputs) / r.seconds : 0.0}});
      return;
    }
    std::printf("%s: %lld %s (%lld unknown), %lld results, %lld bytes to %s in %.3f s\n", model->recipe().c_str(),
                static_cast<long long>(r.inputs), o->segments ? "items" : "users", static_cast<long long>(r.unknown),
                static_cast<long long>(r.results), static_cast<long long>(r.bytes), r.output.string().c_str(), r.seconds);
  });
}

void add_automl_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    std::vector<std::string> recipes;
    std::string metric = "ndcg@10";
    std::vector<std::string> metrics{"default"};
    int trials = 6;
    int tune_top = 2;
    bool no_refit = false;
    std::string save;
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand("automl",
                                 "choose the best recipe and hyperparameters: defaults of every recipe, then seeded "
                                 "random search on the best, on a validation split (leaderboard)");
  add_data_options(*cmd, o->data, false);
  cmd->add_option("--recipes", o->recipes, "candidate recipes (comma-separated; default: all)")->delimiter(',');
  cmd->add_option("--metric", o->metric, "objective that chooses (higher is better)")->capture_default_str();
  cmd->add_option("--metrics", o->metrics, "also report these metrics on the test split")->delimiter(',')->capture_default_str();
  cmd->add_option("--trials", o->trials, "random configurations per tuned recipe")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--tune-top", o->tune_top, "recipes tuned after the default stage")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-refit", o->no_refit, "keep the winner fitted on the search side instead of refitting on all data");
  cmd->add_option("--save", o->save, "save the winning model to this directory");
  add_common(*cmd, o->common);
  cmd->callback([o] {
    automl_options ao;
    ao.objective = parse_metric(o->metric);
    ao.metrics = parse_metric_list(o->metrics, {parse_metric(o->metric)});
    ao.recipes = o->recipes;
    for (const auto& r : ao.recipes) (void)find_recipe(r);  // unknown names fail before loading data
    ao.trials = o->trials;
    ao.tune_top = o->tune_top;
    ao.refit = !o->no_refit;
    ao.seed = o->common.seed;
    ao.num_threads = o->common.threads;
    if (!o->save.empty()) check_model_target(o->save);  // a bad --save fails before the search, not after
    const interaction_log log = load_data(o->data);
    progress_display progress(!o->common.quiet);
    const automl_result r = automl(log, ao, progress.job());
    if (!o->save.empty()) r.winner->save(o->save);
    const automl_trial& win = r.leaderboard.front();
    if (o->common.json) {
      json board = json::array();
      for (std::size_t i = 0; i < r.leaderboard.size(); ++i) {
        const auto& t = r.leaderboard[i];
        json row = {{"rank", i + 1},
                    {"recipe", t.recipe},
                    {"stage", t.stage},
                    {"tuned", param_object(t.tuned)},
                    {"params", param_object(t.params)},
                    {"validation", number_or_null(t.validation)},
                    {"test", metrics_json(t.test)},
                    {"fit_seconds", t.fit_seconds},
                    {"evaluate_seconds", t.evaluate_seconds}};
        if (!t.ok()) row["error"] = t.error;
        board.push_back(row);
      }
      json out = {{"command", "automl"},
                  {"objective", r.objective},
                  {"data", report_json(log.report)},
                  {"split",
                   {{"seed", o->common.seed},
                    {"search_train_interactions", r.search_train_events},
                    {"validation_interactions", r.validation_events},
                    {"test_interactions", r.test_events}}},
                  {"leaderboard", board},
                  {"winner",
                   {{"recipe", win.recipe},
                    {"params", param_object(win.params)},
                    {"validation", win.validation},
                    {"refitted", r.refitted},
                    {"fit_seconds", r.winner_fit_seconds}}},
                  {"seconds", r.seconds}};
      if (!o->save.empty()) out["saved"] = o->save;
      print_json(out);
      return;
    }
    std::printf("%s\n", log.report.summary().c_str());
    std::printf("automl on %lld search-train, %lld validation and %lld test interactions; objective %s (validation)\n",
                static_cast<long long>(r.search_train_events), static_cast<long long>(r.validation_events),
                static_cast<long long>(r.test_events), r.objective.c_str());
    std::printf("%4s  %-11s %-8s %10s %10s %8s  %s\n", "rank", "recipe", "stage", "validation", "test", "fit s",
                "hyperparameters");
    for (std::size_t i = 0; i < r.leaderboard.size(); ++i) {
      const auto& t = r.leaderboard[i];
      if (!t.ok()) {
        std::printf("%4zu  %-11s %-8s failed: %s\n", i + 1, t.recipe.c_str(), t.stage.c_str(), t.error.c_str());
        continue;
      }
      std::printf("%4zu  %-11s %-8s %10.4f %10.4f %8.3f  %s\n", i + 1, t.recipe.c_str(), t.stage.c_str(), t.validation,
                  t.test.value(r.objective), t.fit_seconds,
                  param_text(t.stage == "tuned" ? t.tuned : param_map{}).c_str());
    }
    std::printf("winner: %s %s (%s %.4f)", win.recipe.c_str(), param_text(win.tuned).c_str(), r.objective.c_str(),
                win.validation);
    if (r.refitted) std::printf(", refitted on all data in %.1f s", r.winner_fit_seconds);
    std::printf("; automl took %.1f s\n", r.seconds);
    if (!o->save.empty()) std::printf("saved to %s\n", o->save.c_str());
  });
}

void add_windows_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    recipe_options recipe;
    std::vector<double> windows{30, 91, 182, 365};
    std::vector<double> half_lives;
    bool combine = false;
    bool no_all_time = false;
    std::string metric = "ndcg@10";
    std::vector<std::string> metrics{"default"};
  };
  auto o = std::make_shared<opts>();
  auto* cmd = app.add_subcommand("windows",
                                 "how much history to train on: the recipe on the last N days (and with time decay), "
                                 "each evaluated on the same test targets");
  add_data_options(*cmd, o->data, true);
  add_recipe_options(*cmd, o->recipe);
  cmd->add_option("--windows", o->windows, "training windows in days before the newest training event")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--half-lives", o->half_lives, "time-decay half-lives in days (recipes with decay: item-knn, sims)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--combine", o->combine, "cross every window with every half-life");
  cmd->add_flag("--no-all-time", o->no_all_time, "skip the row trained on all the data");
  cmd->add_option("--metric", o->metric, "objective that picks the best row")->capture_default_str();
  cmd->add_option("--metrics", o->metrics, "also report these metrics")->delimiter(',')->capture_default_str();
  add_common(*cmd, o->common);
  cmd->callback([o] {
    if (!o->data.train.empty() || !o->data.test.empty())
      throw invalid_argument("windows: use --data FILE with --split (the windows are cut from the training side)");
    window_search_options wo;
    wo.window_days = o->windows;
    wo.all_time = !o->no_all_time;
    wo.half_life_days = o->half_lives;
    wo.combine = o->combine;
    wo.objective = parse_metric(o->metric);
    wo.metrics = parse_metric_list(o->metrics, {parse_metric(o->metric)});
    wo.params = parse_sets(o->recipe.sets);
    wo.split = parse_split_spec(o->data.split);
    wo.seed = o->common.seed;
    wo.num_threads = o->common.threads;
    (void)find_recipe(o->recipe.recipe);
    const interaction_log log = load_data(o->data);
    progress_display progress(!o->common.quiet);
    const window_search_result r = search_time_windows(log, o->recipe.recipe, wo, progress.job());
    const window_trial& best = r.trials[r.best];
    if (o->common.json) {
      json rows = json::array();
      for (const auto& t : r.trials)
        rows.push_back({{"label", t.label},
                        {"window_days", t.window_days ? json(*t.window_days) : json(nullptr)},
                        {"half_life_days", t.half_life_days ? json(*t.half_life_days) : json(nullptr)},
                        {"train_interactions", t.train_events},
                        {"train_users", t.train_users},
                        {"first_timestamp", t.first_timestamp},
                        {"same_as_all_time", t.same_as_all_time},
                        {"objective", number_or_null(t.objective)},
                        {"metrics", metrics_json(t.result)},
                        {"fit_seconds", t.fit_seconds}});
      print_json({{"command", "windows"},
                  {"recipe", r.recipe},
                  {"objective", r.objective},
                  {"data", report_json(log.report)},
                  {"split", {{"method", o->data.split}, {"seed", o->common.seed}, {"test_interactions", r.test_events}}},
                  {"newest_timestamp", r.newest},
                  {"windows", rows},
                  {"best", {{"label", best.label}, {"objective", number_or_null(best.objective)}}},
                  {"seconds", r.seconds}});
      return;
    }
    std::printf("%s\n", log.report.summary().c_str());
    std::printf("%s on %lld test interactions (split %s); objective %s\n", r.recipe.c_str(),
                static_cast<long long>(r.test_events), o->data.split.c_str(), r.objective.c_str());
    std::printf("%-36s %12s %10s %8s\n", "training data", "interactions", r.objective.c_str(), "fit s");
    for (std::size_t i = 0; i < r.trials.size(); ++i) {
      const auto& t = r.trials[i];
      std::string label = t.label + (t.same_as_all_time ? " (= all time)" : "");
      std::printf("%-36s %12lld %10.4f %8.3f%s\n", label.c_str(), static_cast<long long>(t.train_events), t.objective,
                  t.fit_seconds, i == r.best ? "  <- best" : "");
    }
  });
}

}  // namespace

void add_lifecycle_commands(CLI::App& app) {
  add_batch_command(app);
  add_automl_command(app);
  add_windows_command(app);
}

}  // namespace recsys::cli
