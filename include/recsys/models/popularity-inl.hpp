// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_POPULARITY_INL_HPP
#define RECSYS_MODELS_POPULARITY_INL_HPP

/// @file
/// Definitions of models/popularity.hpp (header-only mode includes this file; the compiled
/// library instantiates it in src/popularity.cpp).

#include <recsys/data/matrix.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/ranking/candidates.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/popularity.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace recsys {

namespace detail {

/// Restores a binary "seen" matrix saved by a baseline model: shape, structure and values
/// (every stored value is 1).
template <class = void>
[[nodiscard]] csr_matrix load_seen_matrix(const model_reader& in, index_t num_items) {
  csr_matrix seen = in.sparse("seen");
  const std::string file = in.array_file("seen_data");
  model_reader::check(seen.cols() == num_items, file,
                      str("seen matrix has ", seen.cols(), " columns, the model has ", num_items, " items"));
  for (Eigen::Index n = 0; n < seen.nonZeros(); ++n)
    model_reader::check(seen.valuePtr()[n] == 1.0f, file, "seen matrix values must all be 1");
  return seen;
}

/// Reads a float vector of `size` finite entries.
template <class = void>
[[nodiscard]] std::vector<score_t> load_finite_scores(const model_reader& in, const std::string& name,
                                                             std::optional<std::int64_t> size = {}) {
  std::vector<score_t> v = in.vector<score_t>(name, size);
  for (std::size_t i = 0; i < v.size(); ++i)
    model_reader::check(std::isfinite(v[i]), in.array_file(name), str("entry ", i, " is not finite"));
  return v;
}

// ---------------------------------------------------------------------------------------------
// basic_global_ranking

template <class T>
topk_result basic_global_ranking<T>::recommend(index_t user, index_t k, const recommend_options& opts) const {
  check("recommend", k);
  return rank_items(num_items(), k, opts, row_items(seen_, user),
                    [&](index_t i) { return scores_[static_cast<std::size_t>(i)]; });
}

template <class T>
topk_result basic_global_ranking<T>::recommend_for_history(std::span<const index_t> items,
                                                           std::span<const score_t> weights, index_t k,
                                                           const recommend_options& opts) const {
  check("recommend_for_history", k);
  RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), str(name_, "::recommend_for_history"), "got ",
                 weights.size(), " weights for ", items.size(), " items");
  return rank_items(num_items(), k, opts, items, [&](index_t i) { return scores_[static_cast<std::size_t>(i)]; });
}

template <class T>
std::vector<score_t> basic_global_ranking<T>::score(index_t /*user*/, std::span<const index_t> items) const {
  check("score", 0);
  std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
  for (std::size_t j = 0; j < items.size(); ++j)
    if (items[j] >= 0 && items[j] < num_items()) out[j] = scores_[static_cast<std::size_t>(items[j])];
  return out;
}

template <class T>
void basic_global_ranking<T>::check(const char* what, index_t k) const {
  RECSYS_REQUIRE(fitted_, str(name_, "::", what), "the model is not fitted yet (call fit first)");
  RECSYS_REQUIRE(k >= 0, str(name_, "::", what), "k must be >= 0 (got ", k, ")");
}

template <class T>
void basic_global_ranking<T>::install(std::vector<score_t> scores, csr_matrix seen) {
  scores_ = std::move(scores);
  seen_ = std::move(seen);
  fitted_ = true;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// basic_popularity_count

template <class T>
basic_popularity_count<T>::basic_popularity_count(popularity_config config)
    : detail::basic_global_ranking<T>("popularity_count"), config_(std::move(config)) {
  validate();
}

template <class T>
void basic_popularity_count<T>::fit(const interaction_log& log, const job_control& job) {
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
  this->install(std::move(counts), detail::seen_matrix(log));
  rep.finish();
}

template <class T>
void basic_popularity_count<T>::fit(const csr_matrix& user_items, const job_control& job) {
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
  this->install(std::move(counts), std::move(seen));
  rep.finish();
}

template <class T>
void basic_popularity_count<T>::save(model_writer& out) const {
  this->check("save", 0);
  out.set_field("model", "popularity_count");
  out.set_config(to_params(config_));
  out.add_vector("counts", this->scores_);
  out.add_sparse("seen", this->seen_);
}

template <class T>
void basic_popularity_count<T>::load(const model_reader& in) {
  in.require_model_type("popularity_count");
  popularity_config c;
  in.in_manifest([&] {
    for (const auto& [k, v] : in.config())
      if (!v.empty()) set_param(c, k, v);
    basic_popularity_count(c).validate();
  });
  std::vector<score_t> counts = detail::load_finite_scores(in, "counts");
  csr_matrix seen = detail::load_seen_matrix(in, static_cast<index_t>(counts.size()));
  config_ = std::move(c);
  this->install(std::move(counts), std::move(seen));
}

template <class T>
void basic_popularity_count<T>::validate() const {
  RECSYS_REQUIRE(std::isfinite(config_.last_days) && config_.last_days >= 0, "popularity_count",
                 "last_days must be finite and >= 0 (got ", config_.last_days, ")");
  RECSYS_REQUIRE(!config_.from || !config_.to || *config_.from < *config_.to, "popularity_count",
                 "empty time window: from (", config_.from.value_or(0), ") must be < to (", config_.to.value_or(0), ")");
}

// ---------------------------------------------------------------------------------------------
// basic_trending_now

template <class T>
basic_trending_now<T>::basic_trending_now(trending_config config)
    : detail::basic_global_ranking<T>("trending_now"), config_(std::move(config)) {
  validate();
}

template <class T>
void basic_trending_now<T>::fit(const interaction_log& log, const job_control& job) {
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
  current_ = std::move(current);
  before_ = std::move(before);
  reference_time_ = now;
  this->install(std::move(scores), popular.seen());
  rep.finish();
}

template <class T>
void basic_trending_now<T>::save(model_writer& out) const {
  this->check("save", 0);
  out.set_field("model", "trending_now");
  out.set_config(to_params(config_));
  detail::json::object state;
  detail::json::add(state, "reference_time", static_cast<std::int64_t>(reference_time_));
  detail::json::add(state, "fallback", fallback_);
  out.set_field("trending", detail::json::value(std::move(state)));
  out.add_vector("scores", this->scores_);
  out.add_vector("current_counts", current_);
  out.add_vector("previous_counts", before_);
  out.add_sparse("seen", this->seen_);
}

template <class T>
void basic_trending_now<T>::load(const model_reader& in) {
  in.require_model_type("trending_now");
  trending_config c;
  timestamp_t reference = 0;
  bool fallback = false;
  in.in_manifest([&] {
    for (const auto& [k, v] : in.config())
      if (!v.empty()) set_param(c, k, v);
    basic_trending_now(c).validate();
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
  current_ = std::move(current);
  before_ = std::move(before);
  reference_time_ = reference;
  fallback_ = fallback;
  this->install(std::move(scores), std::move(seen));
}

template <class T>
void basic_trending_now<T>::validate() const {
  RECSYS_REQUIRE(config_.window_seconds > 0, "trending_now", "window_seconds must be > 0 (got ",
                 config_.window_seconds, ")");
  RECSYS_REQUIRE(std::isfinite(config_.smoothing) && config_.smoothing > 0, "trending_now",
                 "smoothing must be finite and > 0 (got ", config_.smoothing, ")");
}

}  // namespace recsys

#endif  // RECSYS_MODELS_POPULARITY_INL_HPP
