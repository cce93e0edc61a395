// SPDX-License-Identifier: Apache-2.0
// recsys: train, evaluate and query recommenders from the command line.
#include "cli.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <unistd.h>

namespace recsys::cli {

namespace {
cancellation_token* g_cancel = nullptr;  // the running job's token, for Ctrl-C
extern "C" void on_sigint(int) {
  if (g_cancel) g_cancel->cancel();
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C terminates
}
}  // namespace

progress_display::progress_display(bool enabled) : enabled_(enabled && isatty(fileno(stderr))) {
  job_.report_interval = 0.1;
  if (enabled_) job_.progress = [this](const progress_event& e) { draw(e); };
  g_cancel = &job_.cancel;
  std::signal(SIGINT, on_sigint);
}

progress_display::~progress_display() {
  if (line_open_) std::fputs("\n", stderr);
  g_cancel = nullptr;
  std::signal(SIGINT, SIG_DFL);
}

void progress_display::draw(const progress_event& e) {
  // A stage reports its completion once per epoch end and once when it finishes; its line is
  // drawn complete once.
  const bool complete = e.total > 0 && e.done >= e.total;
  if (complete && !line_open_ && e.stage == closed_stage_) return;
  if (!complete) closed_stage_.clear();
  const double f = e.fraction();
  std::string bar;
  if (f == f) {  // known total
    const int width = 24, full = static_cast<int>(f * width + 0.5);
    bar = "[" + std::string(static_cast<std::size_t>(full), '=') + std::string(static_cast<std::size_t>(width - full), ' ') + "]";
  }
  std::fprintf(stderr, "\r%s", e.stage.c_str());
  if (e.steps > 0) std::fprintf(stderr, " %lld/%lld", static_cast<long long>(e.step + 1), static_cast<long long>(e.steps));
  if (!bar.empty()) std::fprintf(stderr, " %s %5.1f%%", bar.c_str(), 100.0 * f);
  std::fprintf(stderr, " %.1fs", e.elapsed_seconds);
  if (e.eta_seconds == e.eta_seconds && e.done < e.total) std::fprintf(stderr, " ETA %.1fs", e.eta_seconds);
  if (!e.metric_name.empty() && e.metric == e.metric) std::fprintf(stderr, " %s %.5g", e.metric_name.c_str(), e.metric);
  std::fputs("\x1b[K", stderr);
  line_open_ = true;
  if (complete) {
    std::fputs("\n", stderr);
    line_open_ = false;
    closed_stage_ = e.stage;
  }
  std::fflush(stderr);
}

param_map parse_sets(const std::vector<std::string>& sets) {
  param_map out;
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw invalid_argument("--set needs key=value (got '" + s + "')");
    out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

void add_common(CLI::App& cmd, common_options& o) {
  cmd.add_flag("--json", o.json, "print one JSON object on stdout");
  cmd.add_flag("--quiet,-q", o.quiet, "no progress display on stderr");
  cmd.add_option("--seed", o.seed, "random seed (splits, initialisation, sampling)")->capture_default_str();
  cmd.add_option("--threads", o.threads, "worker threads (0: all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
}

void print_json(const json& j) { std::printf("%s\n", j.dump(2).c_str()); }

}  // namespace recsys::cli

int main(int argc, char** argv) {
  CLI::App app{"recsys: train, evaluate and query recommenders (the library's command-line tool)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("recsys ") + recsys::version_string);
  recsys::cli::add_core_commands(app);
  recsys::cli::add_item_commands(app);
  recsys::cli::add_rank_commands(app);
  recsys::cli::add_lifecycle_commands(app);
  recsys::cli::add_session_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const recsys::cancelled&) {
    std::fprintf(stderr, "recsys: cancelled\n");
    return 130;
  } catch (const recsys::error& e) {
    std::fprintf(stderr, "recsys: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recsys: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
