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

}  // namespace recsys::cli

#endif
