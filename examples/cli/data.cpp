// SPDX-License-Identifier: Apache-2.0
// Loading interactions for the CLI: format detection, ingestion rules, splits, recipe models;
// the metric lists and metric JSON every evaluating command shares.
#include "cli.hpp"

#include <algorithm>
#include <fstream>
#include <utility>

namespace recsys::cli {

namespace {


std::string detect_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path, "cannot open file");
  std::string line;
  std::getline(in, line);
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  std::string lower;
  for (char c : line) lower += detail::ascii_lower(c);
  if (lower.find("user_id") != std::string::npos) return "personalize";
  if (lower.rfind("sessionid", 0) == 0) return "rsc15";
  // MovieLens u.data: four tab-separated integers
  int fields = 1;
  bool digits_only = !line.empty();
  for (char c : line) {
    if (c == '\t') ++fields;
    else if (!(c >= '0' && c <= '9') && c != '\r') digits_only = false;
  }
  if (fields == 4 && digits_only) return "movielens";
  throw invalid_argument("cannot tell the format of " + path +
                         ": pass --format personalize (header with USER_ID, ITEM_ID, TIMESTAMP), movielens or rsc15");
}

}  // namespace

void add_data_options(CLI::App& cmd, data_options& d, bool with_split) {
  cmd.add_option("--data", d.data, "interactions file (Personalize CSV; MovieLens u.data and RSC15 are detected)");
  if (with_split) {
    cmd.add_option("--train", d.train, "training interactions (a ready split, with --test)");
    cmd.add_option("--test", d.test, "test interactions (a ready split, with --train)");
    cmd.add_option("--split", d.split, "personalize[:USER_FRACTION] | leave-last:N | temporal:TS | random:FRAC | session-time[:SECONDS]")
        ->capture_default_str();
  }
  cmd.add_option("--format", d.format, "auto | personalize | movielens | rsc15")->capture_default_str();
  cmd.add_option("--event-types", d.event_types, "keep only these event types (comma-separated)")->delimiter(',');
  cmd.add_option("--last-days", d.last_days, "keep only the last N days before the newest event")->check(CLI::NonNegativeNumber);
  cmd.add_option("--dedupe", d.dedupe, "repeated (user, item) pairs: none | sum | max | latest | count")->capture_default_str();
}

interaction_log load_log(const std::string& path, const std::string& format) {
  const std::string f = format == "auto" ? detect_format(path) : format;
  if (f == "personalize") return read_interactions_csv(path);
  if (f == "movielens") return read_delimited(path, raw_format::movielens());
  if (f == "rsc15") return read_delimited(path, raw_format::rsc15());
  throw invalid_argument("unknown --format '" + format + "' (personalize, movielens, rsc15 or auto)");
}

namespace {
ingest_rules rules_of(const data_options& d) {
  ingest_rules r;
  r.event_types = d.event_types;
  if (d.last_days > 0) r.window.last_days = d.last_days;
  r.dedupe = detail::parse_choice<dedupe_policy>("--dedupe", "dedupe", d.dedupe,
                                                 {{"none", dedupe_policy::none},
                                                  {"sum", dedupe_policy::sum},
                                                  {"max", dedupe_policy::max},
                                                  {"latest", dedupe_policy::latest},
                                                  {"count", dedupe_policy::count}});
  return r;
}
}  // namespace

interaction_log load_data(const data_options& d) {
  if (d.data.empty()) throw invalid_argument("--data FILE is required");
  return apply_rules(load_log(d.data, d.format), rules_of(d));
}

split load_split(const data_options& d, std::uint64_t seed, int threads) {
  const bool ready = !d.train.empty() || !d.test.empty();
  if (ready && !d.data.empty()) throw invalid_argument("give either --data (with --split) or --train and --test, not both");
  if (ready) {
    if (d.train.empty() || d.test.empty()) throw invalid_argument("--train and --test go together");
    const ingest_rules rules = rules_of(d);
    return join_split(apply_rules(load_log(d.train, d.format), rules), apply_rules(load_log(d.test, d.format), rules));
  }
  split_spec spec = parse_split_spec(d.split);
  spec.num_threads = threads;
  return make_split(load_data(d), spec, seed);
}

std::vector<metric> parse_metric_list(const std::vector<std::string>& names, std::vector<metric> leading) {
  std::vector<metric> out = std::move(leading);
  for (const auto& n : names) {
    if (n == "default") {
      for (const auto& m : default_metrics()) out.push_back(m);
    } else if (n == "personalize") {
      for (const auto& m : personalize_metrics()) out.push_back(m);
    } else {
      out.push_back(parse_metric(n));
    }
  }
  std::vector<metric> unique;
  for (const auto& m : out)
    if (std::find(unique.begin(), unique.end(), m) == unique.end()) unique.push_back(m);
  return unique;
}

json metrics_json(const evaluation_result& r) {
  json m = json::object();
  for (const auto& v : r.metrics) m[v.name] = v.value;
  return m;
}

json report_json(const load_report& r) {
  json removed = json::object();
  for (const auto& [rule, n] : r.removed) removed[rule] = n;
  return {{"source", r.source},     {"rows_read", r.rows_read},     {"rows_kept", r.rows_kept},
          {"rows_bad", r.rows_bad}, {"rows_merged", r.rows_merged}, {"removed", removed}};
}

void add_recipe_options(CLI::App& cmd, recipe_options& r) {
  cmd.add_option("--recipe", r.recipe, "recipe name (see `recsys recipes`)")->capture_default_str();
  cmd.add_option("--set", r.sets, "hyperparameter key=value (repeatable; see `recsys recipes`)");
}

std::unique_ptr<model> make_cli_model(const recipe_options& r, const common_options& c) {
  const recipe& info = find_recipe(r.recipe);
  param_map params = parse_sets(r.sets);
  auto has = [&](const std::string& key) {
    for (const auto& [k, v] : params)
      if (k == key) return true;
    return false;
  };
  for (const auto& p : info.params) {
    if (p.name == "seed" && !has("seed")) params.emplace_back("seed", std::to_string(c.seed));
    if (p.name == "num_threads" && !has("num_threads")) params.emplace_back("num_threads", std::to_string(c.threads));
  }
  return info.make(params);
}

json params_json(const model& m) {
  json p = json::object();
  for (const auto& [k, v] : m.params()) p[k] = v;
  return p;
}

}  // namespace recsys::cli
