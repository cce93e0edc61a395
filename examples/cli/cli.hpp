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

/// The registered subcommand groups (one function per source file).
void add_core_commands(CLI::App& app);
void add_item_commands(CLI::App& app);
void add_lifecycle_commands(CLI::App& app);

}  // namespace recsys::cli

#endif
