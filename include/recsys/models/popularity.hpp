// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_POPULARITY_HPP
#define RECSYS_MODELS_POPULARITY_HPP

/// @file
/// Baselines that are the same for every user (Amazon Personalize's non-personalised recipes):
///
/// - recsys::popularity_count (Popularity-Count): items ranked by the number of distinct users who
///   interacted with them, optionally only counting events inside a time window. Personalize
///   recommends it as the baseline every recipe must beat.
/// - recsys::trending_now (Trending-Now): items whose interaction counts rise fastest between two
///   consecutive windows of a configurable length (30 min, 1 h, 3 h, 1 day); when the last two
///   windows hold no interactions at all it returns popular items instead, as Personalize does.
///
/// Both exclude each user's training items on request (recommend_options::exclude_seen) and
/// treat unknown users as users with no history (the same ranking, nothing to exclude).
///
/// @code
///   recsys::popularity_count pop;            // all-time, distinct users per item
///   pop.fit(train_log);
///   recsys::topk_result top = pop.recommend(user, 10);   // ids + scores (user counts)
///
///   recsys::trending_config tc;
///   tc.window_seconds = 3600;                 // compare the last hour with the hour before
///   recsys::trending_now trending(tc);
///   trending.fit(train_log);
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <charconv>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {
/// Shortest text that parse_double reads back to exactly `x`.
[[nodiscard]] inline std::string exact_text(double x) {
  char buf[40];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc() ? std::string(buf, end) : std::string();
}

/// What the baselines that rank every item the same way for every user share: per-item scores,
/// each user's training items ("seen", binary user x item), and the queries over them. The
/// same list for every user, minus the user's training items when exclude_seen; unknown users
/// get the full list.
template <class T>
class basic_global_ranking {
 public:
  [[nodiscard]] index_t num_users() const noexcept { return static_cast<index_t>(seen_.rows()); }
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(scores_.size()); }
  [[nodiscard]] bool is_fitted() const noexcept { return fitted_; }

  /// The same ranking for every user, minus the user's training items when exclude_seen.
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const;

  /// For a history given at query time (its items are excluded when exclude_seen). The ranking
  /// does not depend on the weights, but they are checked as every recipe checks them.
  /// @throws recsys::invalid_argument if k < 0, the model is not fitted, or weights is neither
  ///         empty nor of items.size() entries.
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const;

  /// Scores of the given items (NaN for items outside the catalogue); the same for every user.
  [[nodiscard]] std::vector<score_t> score(index_t user, std::span<const index_t> items) const;

  /// Per-item scores, indexed by dense item index.
  [[nodiscard]] std::span<const score_t> item_scores() const noexcept { return scores_; }
  /// The training interactions (binary) used for exclude_seen.
  [[nodiscard]] const csr_matrix& seen() const noexcept { return seen_; }

 protected:
  /// `name` prefixes error messages ("popularity_count::recommend: ...").
  explicit basic_global_ranking(const char* name) noexcept : name_(name) {}

  /// Throws recsys::invalid_argument unless fitted and k >= 0 (`what` names the call).
  void check(const char* what, index_t k) const;
  void install(std::vector<score_t> scores, csr_matrix seen);

  std::vector<score_t> scores_;
  csr_matrix seen_;
  bool fitted_ = false;

 private:
  const char* name_;
};
}  // namespace detail

/// Popularity-Count settings.
struct popularity_config {
  /// Count only events with from <= TIMESTAMP < to (unset: no bound).
  std::optional<timestamp_t> from;
  std::optional<timestamp_t> to;
  /// When > 0: count only events in the last `last_days` days before the newest event of the
  /// training log (applied after from/to).
  double last_days = 0;
  /// true (Personalize): distinct users per item; false: sum of event weights.
  bool distinct_users = true;
};

/// Sets one Popularity-Count hyperparameter from text (the CLI's `--set key=value`):
/// `last_days` (number), `from` / `to` (Unix seconds), `distinct_users` (true|false).
/// @throws recsys::invalid_argument for an unknown key or a bad value.
inline void set_param(popularity_config& c, std::string_view key, std::string_view value) {
  constexpr const char* where = "popularity_count::set_param";
  if (key == "last_days") c.last_days = detail::parse_double(where, key, value);
  else if (key == "from") c.from = detail::parse_int(where, key, value);
  else if (key == "to") c.to = detail::parse_int(where, key, value);
  else if (key == "distinct_users") c.distinct_users = detail::parse_bool(where, key, value);
  else detail::unknown_param(where, key, {"last_days", "from", "to", "distinct_users"});
}

/// Every popularity_config setting as the text set_param() reads back exactly (unset bounds
/// as empty strings, which set_param callers skip): what save() stores as the model's config.
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> to_params(const popularity_config& c) {
  return {{"last_days", detail::exact_text(c.last_days)},
          {"from", c.from ? std::to_string(*c.from) : std::string()},
          {"to", c.to ? std::to_string(*c.to) : std::string()},
          {"distinct_users", c.distinct_users ? "true" : "false"}};
}

/// Items ranked by distinct users (or event weight) — the same list for everyone.
/// Scores are the counts. Unknown users get the full list. (`popularity_count` is
/// `basic_popularity_count<>`; see config.hpp.)
template <class T>
class basic_popularity_count : public detail::basic_global_ranking<T> {
 public:
  basic_popularity_count() : detail::basic_global_ranking<T>("popularity_count") {}
  explicit basic_popularity_count(popularity_config config);

  [[nodiscard]] const popularity_config& config() const noexcept { return config_; }

  /// Counts from a log (honours the time window). Every training (user, item) pair counts as seen.
  void fit(const interaction_log& log, const job_control& job = {});

  /// Counts from a user x item matrix: distinct users = non-zeros per column (or the sum of
  /// values when distinct_users is false). A time window needs a log.
  /// @throws recsys::invalid_argument if the config sets a time window.
  void fit(const csr_matrix& user_items, const job_control& job = {});

  /// Writes the fitted model into a model directory being written (docs/lifecycle.md): field
  /// "model" = "popularity_count", the config, `counts.npy` (float32 [items]) and the binary
  /// seen matrix (`seen_indptr/indices/data.npy`).
  /// @throws recsys::invalid_argument if the model is not fitted; recsys::io_error on write errors.
  void save(model_writer& out) const;

  /// Restores a model written by save(): config and fitted state. Afterwards it recommends
  /// exactly as the saved model did.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in);

 private:
  void validate() const;

  popularity_config config_;
};

/// Trending-Now settings.
struct trending_config {
  /// Length of each of the two compared windows, in seconds (Personalize offers 30 min, 1 h, 3 h
  /// and 1 day; any positive length works).
  timestamp_t window_seconds = 3600;
  /// End of the current window (inclusive); unset: the newest event of the training log.
  std::optional<timestamp_t> now;
  /// s in the growth score (c_now - c_before) / (c_before + s): larger values favour items with
  /// more volume over items that rose from almost nothing. Must be > 0.
  double smoothing = 5.0;
};

/// Sets one Trending-Now hyperparameter from text: `window` (e.g. 30m, 1h, 3h, 1d or seconds),
/// `smoothing` (number > 0), `now` (Unix seconds).
inline void set_param(trending_config& c, std::string_view key, std::string_view value) {
  constexpr const char* where = "trending_now::set_param";
  if (key == "window") c.window_seconds = detail::parse_duration(where, key, value);
  else if (key == "smoothing") c.smoothing = detail::parse_double(where, key, value);
  else if (key == "now") c.now = detail::parse_int(where, key, value);
  else detail::unknown_param(where, key, {"window", "smoothing", "now"});
}

/// Every trending_config setting as the text set_param() reads back exactly (an unset `now` as
/// an empty string): what save() stores as the model's config.
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> to_params(const trending_config& c) {
  return {{"window", std::to_string(c.window_seconds)},
          {"smoothing", detail::exact_text(c.smoothing)},
          {"now", c.now ? std::to_string(*c.now) : std::string()}};
}

/// Items whose interaction counts rise fastest between the previous window (now-2W, now-W] and
/// the current window (now-W, now]: score = (c_now - c_before) / (c_before + smoothing), counting
/// events. When both windows are empty it falls back to all-time popularity (distinct users),
/// as Personalize does; is_fallback() tells which happened. The same list for every user.
/// (`trending_now` is `basic_trending_now<>`; see config.hpp.)
template <class T>
class basic_trending_now : public detail::basic_global_ranking<T> {
 public:
  basic_trending_now() : detail::basic_global_ranking<T>("trending_now") {}
  explicit basic_trending_now(trending_config config);

  [[nodiscard]] const trending_config& config() const noexcept { return config_; }

  void fit(const interaction_log& log, const job_control& job = {});

  /// True when the last two windows were empty and the scores are all-time popularity.
  [[nodiscard]] bool is_fallback() const noexcept { return fallback_; }
  /// The end of the current window used by the last fit.
  [[nodiscard]] timestamp_t reference_time() const noexcept { return reference_time_; }
  /// Events per item in the current / previous window (indexed by dense item index).
  [[nodiscard]] std::span<const double> current_counts() const noexcept { return current_; }
  [[nodiscard]] std::span<const double> previous_counts() const noexcept { return before_; }

  /// Writes the fitted model into a model directory being written: field "model" =
  /// "trending_now", the config, field "trending" {reference_time, fallback}, `scores.npy`
  /// (float32 [items]), `current_counts.npy` / `previous_counts.npy` (float64 [items]) and the
  /// binary seen matrix.
  /// @throws recsys::invalid_argument if the model is not fitted; recsys::io_error on write errors.
  void save(model_writer& out) const;

  /// Restores a model written by save() (config and fitted state).
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in);

 private:
  void validate() const;

  trending_config config_;
  std::vector<double> current_, before_;
  timestamp_t reference_time_ = 0;
  bool fallback_ = false;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/popularity-inl.hpp>
#else
namespace recsys {
namespace detail {
extern template class basic_global_ranking<void>;
}  // namespace detail
extern template class basic_popularity_count<void>;
extern template class basic_trending_now<void>;
}  // namespace recsys
#endif

namespace recsys {
static_assert(recommender<popularity_count> && log_trainable<popularity_count> && matrix_trainable<popularity_count> &&
              history_recommender<popularity_count>);
static_assert(recommender<trending_now> && log_trainable<trending_now> && history_recommender<trending_now>);

}  // namespace recsys

#endif  // RECSYS_MODELS_POPULARITY_HPP
