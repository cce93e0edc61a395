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

#include <recsys/data/interaction_log.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/rank.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {
/// Binary user x item matrix of every (user, item) pair in the log: what "seen" means.
[[nodiscard]] inline csr_matrix seen_matrix(const interaction_log& log) {
  std::vector<Eigen::Triplet<score_t, index_t>> t;
  t.reserve(log.size());
  for (std::size_t r = 0; r < log.size(); ++r) t.emplace_back(log.users[r], log.items[r], 1.0f);
  csr_matrix m(log.num_users(), log.num_items());
  m.setFromTriplets(t.begin(), t.end(), [](score_t a, score_t) { return a; });
  m.makeCompressed();
  return m;
}

/// Shortest text that parse_double reads back to exactly `x`.
[[nodiscard]] inline std::string exact_text(double x) {
  char buf[40];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc() ? std::string(buf, end) : std::string();
}

/// Restores a binary "seen" matrix saved by a baseline model: shape, structure and values
/// (every stored value is 1).
[[nodiscard]] inline csr_matrix load_seen_matrix(const model_reader& in, index_t num_items) {
  csr_matrix seen = in.sparse("seen");
  const std::string file = in.array_file("seen_data");
  model_reader::check(seen.cols() == num_items, file,
                      str("seen matrix has ", seen.cols(), " columns, the model has ", num_items, " items"));
  for (Eigen::Index n = 0; n < seen.nonZeros(); ++n)
    model_reader::check(seen.valuePtr()[n] == 1.0f, file, "seen matrix values must all be 1");
  return seen;
}

/// Reads a float vector of `size` finite entries.
[[nodiscard]] inline std::vector<score_t> load_finite_scores(const model_reader& in, const std::string& name,
                                                             std::optional<std::int64_t> size = {}) {
  std::vector<score_t> v = in.vector<score_t>(name, size);
  for (std::size_t i = 0; i < v.size(); ++i)
    model_reader::check(std::isfinite(v[i]), in.array_file(name), str("entry ", i, " is not finite"));
  return v;
}

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
/// Scores are the counts. Unknown users get the full list.
class popularity_count {
 public:
  popularity_count() = default;
  explicit popularity_count(popularity_config config) : config_(std::move(config)) { validate(); }

  [[nodiscard]] const popularity_config& config() const noexcept { return config_; }

  /// Counts from a log (honours the time window). Every training (user, item) pair counts as seen.
  void fit(const interaction_log& log, const job_control& job = {}) {
    validate();
    progress_reporter rep(job, "popularity: count", static_cast<std::int64_t>(log.size()));
    timestamp_t lo = config_.from.value_or(std::numeric_limits<timestamp_t>::min());
    const timestamp_t hi = config_.to.value_or(std::numeric_limits<timestamp_t>::max());
    if (config_.last_days > 0 && !log.empty()) {
      const timestamp_t newest = log.time_range().second;
      lo = std::max(lo, newest - static_cast<timestamp_t>(std::llround(config_.last_days * 86400.0)));
    }
    std::vector<score_t> counts(static_cast<std::size_t>(log.num_items()), 0.0f);
    if (config_.distinct_users) {
      std::vector<std::uint64_t> pairs;
      pairs.reserve(log.size());
      for (std::size_t r = 0; r < log.size(); ++r)
        if (log.timestamps[r] >= lo && log.timestamps[r] < hi)
          pairs.push_back((static_cast<std::uint64_t>(log.items[r]) << 32) | static_cast<std::uint32_t>(log.users[r]));
      std::sort(pairs.begin(), pairs.end());
      pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
      for (std::uint64_t p : pairs) counts[static_cast<std::size_t>(p >> 32)] += 1.0f;
    } else {
      for (std::size_t r = 0; r < log.size(); ++r)
        if (log.timestamps[r] >= lo && log.timestamps[r] < hi) counts[static_cast<std::size_t>(log.items[r])] += log.weights[r];
    }
    rep.advance(static_cast<std::int64_t>(log.size()));
    install(std::move(counts), detail::seen_matrix(log));
    rep.finish();
  }

  /// Counts from a user x item matrix: distinct users = non-zeros per column (or the sum of
  /// values when distinct_users is false). A time window needs a log.
  /// @throws recsys::invalid_argument if the config sets a time window.
  void fit(const csr_matrix& user_items, const job_control& job = {}) {
    validate();
    RECSYS_REQUIRE(!config_.from && !config_.to && config_.last_days <= 0, "popularity_count::fit",
                   "a time window needs timestamps: fit on an interaction_log");
    progress_reporter rep(job, "popularity: count", user_items.nonZeros());
    std::vector<score_t> counts(static_cast<std::size_t>(user_items.cols()), 0.0f);
    csr_matrix seen = user_items;
    seen.makeCompressed();
    for (Eigen::Index n = 0; n < seen.nonZeros(); ++n) {
      counts[static_cast<std::size_t>(seen.innerIndexPtr()[n])] += config_.distinct_users ? 1.0f : seen.valuePtr()[n];
      seen.valuePtr()[n] = 1.0f;
    }
    rep.advance(user_items.nonZeros());
    install(std::move(counts), std::move(seen));
    rep.finish();
  }

  [[nodiscard]] index_t num_users() const noexcept { return static_cast<index_t>(seen_.rows()); }
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(counts_.size()); }
  [[nodiscard]] bool is_fitted() const noexcept { return fitted_; }

  /// The same ranking for every user, minus the user's training items when exclude_seen.
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const {
    check("popularity_count::recommend", k);
    return detail::rank_items(num_items(), k, opts, detail::row_items(seen_, user),
                              [&](index_t i) { return counts_[static_cast<std::size_t>(i)]; });
  }

  /// For a history given at query time (its items are excluded when exclude_seen). The ranking
  /// does not depend on the weights, but they are checked as every recipe checks them.
  /// @throws recsys::invalid_argument if k < 0, the model is not fitted, or weights is neither
  ///         empty nor of items.size() entries.
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const {
    check("popularity_count::recommend_for_history", k);
    check_weights("popularity_count::recommend_for_history", items, weights);
    return detail::rank_items(num_items(), k, opts, items,
                              [&](index_t i) { return counts_[static_cast<std::size_t>(i)]; });
  }

  /// Counts of the given items (NaN for items outside the catalogue); the same for every user.
  [[nodiscard]] std::vector<score_t> score(index_t /*user*/, std::span<const index_t> items) const {
    check("popularity_count::score", 0);
    std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
    for (std::size_t j = 0; j < items.size(); ++j)
      if (items[j] >= 0 && items[j] < num_items()) out[j] = counts_[static_cast<std::size_t>(items[j])];
    return out;
  }

  /// Per-item counts (the scores), indexed by dense item index.
  [[nodiscard]] std::span<const score_t> item_scores() const noexcept { return counts_; }
  /// The training interactions (binary) used for exclude_seen.
  [[nodiscard]] const csr_matrix& seen() const noexcept { return seen_; }

  /// Writes the fitted model into a model directory being written (docs/lifecycle.md): field
  /// "model" = "popularity_count", the config, `counts.npy` (float32 [items]) and the binary
  /// seen matrix (`seen_indptr/indices/data.npy`).
  /// @throws recsys::invalid_argument if the model is not fitted; recsys::io_error on write errors.
  void save(model_writer& out) const {
    check("popularity_count::save", 0);
    out.set_field("model", "popularity_count");
    out.set_config(to_params(config_));
    out.add_vector("counts", counts_);
    out.add_sparse("seen", seen_);
  }

  /// Restores a model written by save(): config and fitted state. Afterwards it recommends
  /// exactly as the saved model did.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in) {
    in.require_model_type("popularity_count");
    popularity_config c;
    in.in_manifest([&] {
      for (const auto& [k, v] : in.config())
        if (!v.empty()) set_param(c, k, v);
      popularity_count(c).validate();
    });
    std::vector<score_t> counts = detail::load_finite_scores(in, "counts");
    csr_matrix seen = detail::load_seen_matrix(in, static_cast<index_t>(counts.size()));
    config_ = std::move(c);
    install(std::move(counts), std::move(seen));
  }

 private:
  void validate() const {
    RECSYS_REQUIRE(std::isfinite(config_.last_days) && config_.last_days >= 0, "popularity_count",
                   "last_days must be finite and >= 0 (got ", config_.last_days, ")");
    RECSYS_REQUIRE(!config_.from || !config_.to || *config_.from < *config_.to, "popularity_count",
                   "empty time window: from (", config_.from.value_or(0), ") must be < to (", config_.to.value_or(0), ")");
  }
  void check(const char* where, index_t k) const {
    RECSYS_REQUIRE(fitted_, where, "the model is not fitted yet (call fit first)");
    RECSYS_REQUIRE(k >= 0, where, "k must be >= 0 (got ", k, ")");
  }
  static void check_weights(const char* where, std::span<const index_t> items, std::span<const score_t> weights) {
    RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), where, "got ", weights.size(), " weights for ",
                   items.size(), " items");
  }
  void install(std::vector<score_t> counts, csr_matrix seen) {
    counts_ = std::move(counts);
    seen_ = std::move(seen);
    fitted_ = true;
  }

  popularity_config config_;
  std::vector<score_t> counts_;
  csr_matrix seen_;
  bool fitted_ = false;
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
class trending_now {
 public:
  trending_now() = default;
  explicit trending_now(trending_config config) : config_(std::move(config)) { validate(); }

  [[nodiscard]] const trending_config& config() const noexcept { return config_; }

  void fit(const interaction_log& log, const job_control& job = {}) {
    validate();
    progress_reporter rep(job, "trending: count", static_cast<std::int64_t>(log.size()));
    const timestamp_t now = config_.now.value_or(log.empty() ? 0 : log.time_range().second);
    const timestamp_t w = config_.window_seconds;
    std::vector<double> current(static_cast<std::size_t>(log.num_items()), 0.0);
    std::vector<double> before(current.size(), 0.0);
    std::int64_t in_windows = 0;
    for (std::size_t r = 0; r < log.size(); ++r) {
      const timestamp_t age = now - log.timestamps[r];
      if (age < 0 || age >= 2 * w) continue;
      ++in_windows;
      (age < w ? current : before)[static_cast<std::size_t>(log.items[r])] += 1.0;
    }
    rep.advance(static_cast<std::int64_t>(log.size()));
    popularity_count popular;
    popular.fit(log);
    std::vector<score_t> scores(current.size());
    fallback_ = in_windows == 0;
    if (fallback_) {
      std::copy(popular.item_scores().begin(), popular.item_scores().end(), scores.begin());
    } else {
      for (std::size_t i = 0; i < scores.size(); ++i)
        scores[i] = static_cast<score_t>((current[i] - before[i]) / (before[i] + config_.smoothing));
    }
    scores_ = std::move(scores);
    current_ = std::move(current);
    before_ = std::move(before);
    seen_ = popular.seen();
    reference_time_ = now;
    fitted_ = true;
    rep.finish();
  }

  [[nodiscard]] index_t num_users() const noexcept { return static_cast<index_t>(seen_.rows()); }
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(scores_.size()); }
  [[nodiscard]] bool is_fitted() const noexcept { return fitted_; }
  /// True when the last two windows were empty and the scores are all-time popularity.
  [[nodiscard]] bool is_fallback() const noexcept { return fallback_; }
  /// The end of the current window used by the last fit.
  [[nodiscard]] timestamp_t reference_time() const noexcept { return reference_time_; }
  /// Events per item in the current / previous window (indexed by dense item index).
  [[nodiscard]] std::span<const double> current_counts() const noexcept { return current_; }
  [[nodiscard]] std::span<const double> previous_counts() const noexcept { return before_; }

  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const {
    check("trending_now::recommend", k);
    return detail::rank_items(num_items(), k, opts, detail::row_items(seen_, user),
                              [&](index_t i) { return scores_[static_cast<std::size_t>(i)]; });
  }

  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const {
    check("trending_now::recommend_for_history", k);
    check_weights("trending_now::recommend_for_history", items, weights);
    return detail::rank_items(num_items(), k, opts, items,
                              [&](index_t i) { return scores_[static_cast<std::size_t>(i)]; });
  }

  [[nodiscard]] std::vector<score_t> score(index_t /*user*/, std::span<const index_t> items) const {
    check("trending_now::score", 0);
    std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
    for (std::size_t j = 0; j < items.size(); ++j)
      if (items[j] >= 0 && items[j] < num_items()) out[j] = scores_[static_cast<std::size_t>(items[j])];
    return out;
  }

  [[nodiscard]] std::span<const score_t> item_scores() const noexcept { return scores_; }

  /// Writes the fitted model into a model directory being written: field "model" =
  /// "trending_now", the config, field "trending" {reference_time, fallback}, `scores.npy`
  /// (float32 [items]), `current_counts.npy` / `previous_counts.npy` (float64 [items]) and the
  /// binary seen matrix.
  /// @throws recsys::invalid_argument if the model is not fitted; recsys::io_error on write errors.
  void save(model_writer& out) const {
    check("trending_now::save", 0);
    out.set_field("model", "trending_now");
    out.set_config(to_params(config_));
    detail::json::object state;
    detail::json::add(state, "reference_time", static_cast<std::int64_t>(reference_time_));
    detail::json::add(state, "fallback", fallback_);
    out.set_field("trending", detail::json::value(std::move(state)));
    out.add_vector("scores", scores_);
    out.add_vector("current_counts", current_);
    out.add_vector("previous_counts", before_);
    out.add_sparse("seen", seen_);
  }

  /// Restores a model written by save() (config and fitted state).
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in) {
    in.require_model_type("trending_now");
    trending_config c;
    timestamp_t reference = 0;
    bool fallback = false;
    in.in_manifest([&] {
      for (const auto& [k, v] : in.config())
        if (!v.empty()) set_param(c, k, v);
      trending_now(c).validate();
      const auto& state = in.require_field("trending");
      reference = state.at("reference_time").as_int("trending.reference_time");
      fallback = state.at("fallback").as_bool("trending.fallback");
    });
    std::vector<score_t> scores = detail::load_finite_scores(in, "scores");
    const auto n = static_cast<std::int64_t>(scores.size());
    std::vector<double> current = in.vector<double>("current_counts", n);
    std::vector<double> before = in.vector<double>("previous_counts", n);
    for (std::size_t i = 0; i < current.size(); ++i) {
      model_reader::check(std::isfinite(current[i]) && current[i] >= 0, in.array_file("current_counts"),
                          detail::str("entry ", i, " is not a count"));
      model_reader::check(std::isfinite(before[i]) && before[i] >= 0, in.array_file("previous_counts"),
                          detail::str("entry ", i, " is not a count"));
    }
    csr_matrix seen = detail::load_seen_matrix(in, static_cast<index_t>(n));
    config_ = std::move(c);
    scores_ = std::move(scores);
    current_ = std::move(current);
    before_ = std::move(before);
    seen_ = std::move(seen);
    reference_time_ = reference;
    fallback_ = fallback;
    fitted_ = true;
  }

 private:
  void validate() const {
    RECSYS_REQUIRE(config_.window_seconds > 0, "trending_now", "window_seconds must be > 0 (got ",
                   config_.window_seconds, ")");
    RECSYS_REQUIRE(std::isfinite(config_.smoothing) && config_.smoothing > 0, "trending_now",
                   "smoothing must be finite and > 0 (got ", config_.smoothing, ")");
  }
  void check(const char* where, index_t k) const {
    RECSYS_REQUIRE(fitted_, where, "the model is not fitted yet (call fit first)");
    RECSYS_REQUIRE(k >= 0, where, "k must be >= 0 (got ", k, ")");
  }
  static void check_weights(const char* where, std::span<const index_t> items, std::span<const score_t> weights) {
    RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), where, "got ", weights.size(), " weights for ",
                   items.size(), " items");
  }

  trending_config config_;
  std::vector<score_t> scores_;
  std::vector<double> current_, before_;
  csr_matrix seen_;
  timestamp_t reference_time_ = 0;
  bool fallback_ = false;
  bool fitted_ = false;
};

static_assert(recommender<popularity_count> && log_trainable<popularity_count> && matrix_trainable<popularity_count> &&
              history_recommender<popularity_count>);
static_assert(recommender<trending_now> && log_trainable<trending_now> && history_recommender<trending_now>);

}  // namespace recsys

#endif  // RECSYS_MODELS_POPULARITY_HPP
