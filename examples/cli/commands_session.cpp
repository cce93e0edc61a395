// SPDX-License-Identifier: Apache-2.0
// recsys next, and the next-item evaluation that `recsys evaluate` runs for session recipes (gru4rec).
#include "cli.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

namespace recsys::cli {

namespace {

// The cutoffs of --metrics for a next-item evaluation: "default" is 1, 5, 10, 20 (GRU4Rec's -m);
// otherwise recall@K / mrr@K entries, whose cutoffs are all reported for both metrics.
std::vector<index_t> next_item_cutoffs(const std::vector<std::string>& names) {
  std::vector<index_t> ks;
  for (const auto& n : names) {
    if (n == "default") {
      for (index_t k : {1, 5, 10, 20}) ks.push_back(k);
      continue;
    }
    const metric m = parse_metric(n);
    if (m.kind != metric_kind::recall && m.kind != metric_kind::mrr)
      throw invalid_argument("--metrics " + n +
                             ": a session recipe is evaluated on next items, which report recall@K and mrr@K only");
    ks.push_back(m.k);
  }
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

}  // namespace

next_item_options next_item_options_of(const next_item_request& req) {
  next_item_options no;
  no.cutoffs = next_item_cutoffs(req.metrics);
  no.ties = detail::parse_choice<tie_mode>(
      "--ties", "ties", req.ties,
      {{"conservative", tie_mode::conservative}, {"standard", tie_mode::standard}, {"median", tie_mode::median}});
  no.num_threads = req.common.threads;
  return no;
}

void run_next_item_evaluation(const model& m, const split& s, const next_item_request& req, const next_item_options& no,
                              const job_control& job) {
  stopwatch clock;
  const next_item_metrics r = m.evaluate_next_item(s.test, no, job);
  const double evaluate_seconds = clock.seconds();
  const session_data train_sessions = build_sessions(s.train);
  // Training throughput as GRU4Rec reports it (events of the training sessions per second).
  double events_per_second = 0;
  if (const auto* g = dynamic_cast<const session_gru_model*>(&m)) {
    double seconds = 0, events = 0;
    for (const auto& e : g->get().training_log()) {
      seconds += e.seconds;
      events += static_cast<double>(e.events);
    }
    if (seconds > 0) events_per_second = events / seconds;
  }
  if (req.common.json) {
    json out;
    out["command"] = "evaluate";
    out["recipe"] = m.recipe();
    out["params"] = params_json(m);
    out["data"] = report_json(s.train.report);
    out["split"] = {{"method", req.split_method},
                    {"seed", req.common.seed},
                    {"items", s.train.num_items()},
                    {"train_interactions", s.train.size()},
                    {"test_interactions", s.test.size()},
                    {"train_sessions", train_sessions.size()}};
    json metrics = json::object();
    for (const auto& [name, value] : r.named()) metrics[name] = value;
    out["metrics"] = metrics;
    out["evaluation"] = {{"protocol", "next-item"},
                         {"ties", to_string(r.ties)},
                         {"predictions", r.predictions},
                         {"sessions", r.sessions},
                         {"events_dropped", r.events_dropped},
                         {"sessions_dropped", r.sessions_dropped}};
    out["timings"] = {{"fit_seconds", req.fit_seconds},
                      {"evaluate_seconds", evaluate_seconds},
                      {"train_events_per_second", events_per_second}};
    print_json(out);
    return;
  }
  std::printf("recipe %s on %zu training sessions (%zu events, %lld items); %zu test events\n", m.recipe().c_str(),
              train_sessions.size(), s.train.size(), static_cast<long long>(s.train.num_items()), s.test.size());
  std::printf("next-item protocol, %s ties: %lld predictions in %lld test sessions; dropped %lld events with items "
              "unknown to the model and %lld sessions left shorter than 2\n",
              to_string(r.ties), static_cast<long long>(r.predictions), static_cast<long long>(r.sessions),
              static_cast<long long>(r.events_dropped), static_cast<long long>(r.sessions_dropped));
  for (const auto& [name, value] : r.named()) std::printf("  %-14s %.4f\n", name.c_str(), value);
  std::printf("fit %.3f s", req.fit_seconds);
  if (events_per_second > 0) std::printf(" (%.0f events/s)", events_per_second);
  std::printf(", evaluate %.3f s\n", evaluate_seconds);
}

namespace {

void add_next_command(CLI::App& app) {
  struct opts {
    common_options common;
    data_options data;
    recipe_options recipe;
    std::vector<std::string> session;
    std::string model_dir, save_dir;
    index_t k = 10;
    bool include_seen = false;
  };
  auto o = std::make_shared<opts>();
  o->recipe.recipe = "gru4rec";
  auto* cmd = app.add_subcommand("next", "the next items for a session of events given in order, with scores");
  cmd->add_option("--session", o->session, "the session's items in order, comma-separated (e.g. a,b,c)")
      ->delimiter(',')
      ->required();
  add_data_options(*cmd, o->data, false);
  add_recipe_options(*cmd, o->recipe);
  cmd->add_option("--model", o->model_dir, "a gru4rec model directory written by --save (instead of --data)");
  cmd->add_option("--save", o->save_dir, "with --data and --recipe gru4rec: also write the trained model to this directory");
  cmd->add_option("-k,--k", o->k, "number of items")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--include-seen", o->include_seen, "also return items already in the session");
  add_common(*cmd, o->common);
  cmd->callback([o] {
    recommend_options ro;
    ro.exclude_seen = !o->include_seen;
    std::vector<std::string> unknown;
    topk_result top;
    std::string recipe_name;
    const id_map<std::string>* ids = nullptr;
    id_map<std::string> loaded_ids;
    interaction_log log;
    if (!o->model_dir.empty()) {
      if (!o->data.data.empty() || !o->save_dir.empty()) throw invalid_argument("--model cannot be combined with --data or --save");
      const model_reader reader(o->model_dir, "gru4rec");
      const session_gru g = session_gru::load(reader);
      loaded_ids = reader.ids("item_ids", g.num_items());
      ids = &loaded_ids;
      recipe_name = reader.recipe();
      session_gru_state state = g.start_session();
      for (const auto& id : o->session) {
        const std::optional<index_t> i = loaded_ids.find(id);
        if (!i || !g.put_event(state, *i)) unknown.push_back(id);
      }
      top = g.recommend(state, o->k, ro);
    } else {
      auto model = make_cli_model(o->recipe, o->common);
      if (!model->supports_history())
        throw invalid_argument("recipe '" + model->recipe() + "' cannot recommend for a session given at query time");
      if (!o->save_dir.empty() && !dynamic_cast<const session_gru_model*>(model.get()))
        throw invalid_argument("--save writes gru4rec models only (recipe is '" + model->recipe() + "')");
      if (!o->save_dir.empty()) check_model_target(o->save_dir);
      log = load_data(o->data);
      progress_display progress(!o->common.quiet);
      model->fit(log, progress.job());
      ids = &log.item_ids;
      recipe_name = model->recipe();
      std::vector<index_t> items;
      for (const auto& id : o->session) {
        const std::optional<index_t> i = log.item_ids.find(id);
        if (i)
          items.push_back(*i);
        else
          unknown.push_back(id);
      }
      top = model->recommend_for_history(items, {}, o->k, ro);
      if (!o->save_dir.empty()) {
        model->save(o->save_dir);  // the generic model directory: `recommend --model` reads it too
      }
    }
    if (o->common.json) {
      json items = json::array();
      for (std::size_t j = 0; j < top.size(); ++j) items.push_back({{"item", ids->id(top.ids[j])}, {"score", top.scores[j]}});
      json out = {{"command", "next"}, {"recipe", recipe_name}, {"session", o->session}, {"unknown_items", unknown}, {"items", items}};
      if (!o->save_dir.empty()) out["saved"] = o->save_dir;
      print_json(out);
      return;
    }
    for (const auto& id : unknown)
      std::fprintf(stderr, "recsys: item '%s' is unknown to the model: left out of the session\n", id.c_str());
    for (std::size_t j = 0; j < top.size(); ++j)
      std::printf("%2zu  %-24s %.6g\n", j + 1, ids->id(top.ids[j]).c_str(), static_cast<double>(top.scores[j]));
    if (!o->save_dir.empty()) std::printf("saved the model to %s\n", o->save_dir.c_str());
  });
}

}  // namespace

void add_session_commands(CLI::App& app) { add_next_command(app); }

}  // namespace recsys::cli
