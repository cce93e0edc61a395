// SPDX-License-Identifier: Apache-2.0
// The `recsys` command-line tool: shared state, options, progress display and output.
#ifndef RECSYS_CLI_CLI_HPP
#define RECSYS_CLI_CLI_HPP

#include <recsys/recsys.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace recsys::cli {

using json = nlohmann::ordered_json;

/// Options shared by every subcommand.
struct common_options {
  bool json = false;     ///< print one JSON object on stdout
  bool quiet = false;    ///< no progress display
  std::uint64_t seed = 42;
  int threads = 0;       ///< 0: all cores
};

/// A progress line on stderr for long jobs; off when stderr is not a terminal or with --quiet.
/// Ctrl-C cancels the running job through its cancellation token (a second Ctrl-C kills).
class progress_display {
 public:
  explicit progress_display(bool enabled);
  ~progress_display();
  progress_display(const progress_display&) = delete;
  progress_display& operator=(const progress_display&) = delete;

  /// The job_control to pass to library calls.
  [[nodiscard]] const job_control& job() const noexcept { return job_; }

 private:
  void draw(const progress_event& e);
  job_control job_;
  bool enabled_;
  bool line_open_ = false;
  std::string closed_stage_;  ///< the stage whose complete line was drawn last
};

/// Splits "key=value" (the first '=' separates). @throws recsys::invalid_argument.
[[nodiscard]] param_map parse_sets(const std::vector<std::string>& sets);

/// Where the interactions come from and which ingestion rules apply.
struct data_options {
  std::string data;                      ///< --data: one file, split by --split
  std::string train, test;               ///< --train / --test: a ready split
  std::string format = "auto";           ///< personalize | movielens | rsc15 | auto
  std::string split = "personalize";     ///< --split spec
  std::vector<std::string> event_types;  ///< --event-types a,b
  double last_days = 0;                  ///< --last-days N (0: all)
  std::string dedupe = "none";           ///< --dedupe none|sum|max|latest|count
};

/// Adds --data (and, with `with_split`, --train/--test/--split) plus the format and rule options.
void add_data_options(CLI::App& cmd, data_options& d, bool with_split);

/// Reads one interactions file in the given (or detected) format.
/// @throws recsys::io_error, recsys::invalid_argument.
[[nodiscard]] interaction_log load_log(const std::string& path, const std::string& format);

/// --data with its ingestion rules applied (for train / recommend).
[[nodiscard]] interaction_log load_data(const data_options& d);

/// The train/test split the options describe (--data + --split, or --train + --test), rules applied.
[[nodiscard]] split load_split(const data_options& d, std::uint64_t seed, int threads);

/// A load report as JSON.
[[nodiscard]] json report_json(const load_report& r);

/// Options naming a recipe and its hyperparameters.
struct recipe_options {
  std::string recipe = "popularity";
  std::vector<std::string> sets;  ///< --set key=value
};
void add_recipe_options(CLI::App& cmd, recipe_options& r);

/// An unfitted model of the chosen recipe: --set values, plus --seed / --threads for recipes
/// that take `seed` / `num_threads` (unless --set gives them).
[[nodiscard]] std::unique_ptr<model> make_cli_model(const recipe_options& r, const common_options& c);

/// A model's effective parameters as a JSON object.
[[nodiscard]] json params_json(const model& m);

/// Adds --json, --quiet, --seed, --threads to a subcommand.
void add_common(CLI::App& cmd, common_options& o);

/// Wall-clock seconds since construction.
class stopwatch {
 public:
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Prints a JSON document on stdout (pretty, one object).
void print_json(const json& j);

/// The metrics a --metrics list names, after the `leading` ones (e.g. an objective): "default"
/// and "personalize" expand to those sets; a repeated metric keeps its first place.
/// @throws recsys::invalid_argument for an unknown metric.
[[nodiscard]] std::vector<metric> parse_metric_list(const std::vector<std::string>& names,
                                                    std::vector<metric> leading = {});

/// {"<metric>": value, ...} in the evaluation's order.
[[nodiscard]] json metrics_json(const evaluation_result& r);

/// What `recsys evaluate` passes on for a session recipe (model::supports_next_item()).
struct next_item_request {
  common_options common;
  std::vector<std::string> metrics;  ///< --metrics: default, recall@K, mrr@K
  std::string ties = "conservative"; ///< --ties: conservative | standard | median
  std::string split_method;          ///< for the JSON "split" object
  double fit_seconds = 0;
};

/// evaluate for session recipes: next-item Recall@K / MRR@K with GRU4Rec's protocol
/// (eval/next_item.hpp) on the test side's sessions, printed as text or JSON.
/// next_item_options_of checks --metrics / --ties (call it before loading data).
/// @throws recsys::invalid_argument.
[[nodiscard]] next_item_options next_item_options_of(const next_item_request& req);
void run_next_item_evaluation(const model& m, const split& s, const next_item_request& req, const next_item_options& no,
                              const job_control& job);
/// `recsys recommend`'s re-ranking flags (commands_rank.cpp).
struct rerank_options {
  std::string items;                ///< --items FILE: Items metadata
  std::string filter;               ///< --filter EXPR
  std::vector<std::string> params;  ///< --param NAME=VALUE (repeatable)
  std::string promote;              ///< --promote EXPR:PERCENT
  double explore = 0;               ///< --explore WEIGHT
  /// Whether any of --filter, --promote, --explore is given.
  [[nodiscard]] bool any() const noexcept;
};
void add_rerank_options(CLI::App& cmd, rerank_options& r);
/// Parses the expressions and checks --promote / --param before any data is loaded.
/// @throws recsys::invalid_argument (a syntax error gives the column and a caret excerpt).
void check_rerank_options(const rerank_options& r);
/// The top-k through a pipeline with the flags' filter, promotion and exploration (seeded).
[[nodiscard]] reranked_list recommend_reranked(const model& m, const interaction_log& log, index_t user, index_t k,
                                               const recommend_options& ro, const rerank_options& r,
                                               std::uint64_t seed);

/// The registered subcommand groups (one function per source file).
void add_core_commands(CLI::App& app);
void add_item_commands(CLI::App& app);
void add_rank_commands(CLI::App& app);
void add_lifecycle_commands(CLI::App& app);
void add_session_commands(CLI::App& app);

}  // namespace recsys::cli

#endif
