// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_MODEL_INL_HPP
#define RECSYS_MODELS_SESSION_GRU_MODEL_INL_HPP

/// @file
/// Definitions of models/session_gru_model.hpp (header-only mode includes this file; the
/// compiled library instantiates it in src/recipes.cpp).

#include <recsys/data/sessions.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/detail/recipe_model.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/next_item.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/session_gru_model.hpp>

#include <chrono>
#include <limits>

namespace recsys {

template <class T>
void basic_session_gru_model<T>::fit(const interaction_log& train, const job_control& job) {
  fitted_ = false;
  const auto start = std::chrono::steady_clock::now();
  const session_data sessions = build_sessions(train);
  gru_.fit(sessions, job);
  user_ids_ = train.user_ids;
  item_ids_ = train.item_ids;
  summary_ = training_summary::of(train);
  // Each user's most recent session (sessions are in start-time order).
  const index_t users = train.num_users();
  std::vector<std::int64_t> last(static_cast<std::size_t>(users), -1);
  for (std::size_t s = 0; s < sessions.size() && s < sessions.users.size(); ++s)
    if (sessions.users[s] >= 0 && sessions.users[s] < users) last[static_cast<std::size_t>(sessions.users[s])] = static_cast<std::int64_t>(s);
  last_offsets_.assign(1, 0);
  last_items_.clear();
  for (std::int64_t s : last) {
    if (s >= 0) {
      const auto its = sessions.session(static_cast<std::size_t>(s));
      last_items_.insert(last_items_.end(), its.begin(), its.end());
    }
    last_offsets_.push_back(static_cast<std::int64_t>(last_items_.size()));
  }
  summary_.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fitted_ = true;
}

template <class T>
std::vector<score_t> basic_session_gru_model<T>::score(index_t user, std::span<const index_t> items) const {
  session_gru_state s = state_for(user);
  const auto all = gru_.scores(s);
  std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
  for (std::size_t j = 0; j < items.size(); ++j)
    if (items[j] >= 0 && items[j] < gru_.num_items()) out[j] = all[static_cast<std::size_t>(items[j])];
  return out;
}

template <class T>
next_item_metrics basic_session_gru_model<T>::evaluate_next_item(const interaction_log& test, const next_item_options& opts,
                                                                 const job_control& job) const {
  return recsys::evaluate_next_item(gru_, build_sessions(test), opts, job);
}

template <class T>
void basic_session_gru_model<T>::save(const std::filesystem::path& dir) const {
  RECSYS_REQUIRE(fitted_, "model::save", "the '", name_,
                 "' model is not fitted (or its last fit did not complete): nothing to save");
  model_writer out(dir, name_);
  gru_.save(out);  // the network's own hyperparameters (GRU4Rec's names) as "params"
  detail::json::object recipe_params;
  for (const auto& [k, v] : params_) detail::json::add(recipe_params, k, v);
  out.set_field("recipe_params", detail::json::value(std::move(recipe_params)));
  out.set_field("data", detail::to_json(summary_));
  out.add_vector("last_session_offsets", last_offsets_);
  out.add_vector("last_session_items", last_items_);
  out.add_ids("user_ids", user_ids_);
  out.add_ids("item_ids", item_ids_);
  out.commit();
}

template <class T>
void basic_session_gru_model<T>::load(const model_reader& in) {
  detail::require_recipe(in, name_);
  training_summary summary;
  param_map recipe_params;
  in.in_manifest([&] {
    summary = detail::summary_from_json(in.require_field("data"));
    for (const auto& [k, v] : in.require_field("recipe_params").as_object("recipe_params"))
      recipe_params.emplace_back(k, v.as_string("a recipe parameter"));
  });
  session_gru loaded = session_gru::load(in);
  std::vector<std::int64_t> offsets = in.vector<std::int64_t>("last_session_offsets");
  std::vector<index_t> items = in.vector<index_t>("last_session_items");
  const std::string off_file = in.array_file("last_session_offsets");
  model_reader::check(!offsets.empty() && offsets.front() == 0 &&
                          offsets.back() == static_cast<std::int64_t>(items.size()),
                      off_file, "does not delimit last_session_items");
  for (std::size_t u = 1; u < offsets.size(); ++u)
    model_reader::check(offsets[u] >= offsets[u - 1], off_file, "is not ascending");
  for (index_t i : items)
    model_reader::check(i >= 0 && i < loaded.num_items(), in.array_file("last_session_items"),
                        detail::str("holds item ", i, ", the model has ", loaded.num_items(), " items"));
  detail::saved_ids ids =
      detail::read_saved_ids(in, summary, static_cast<std::int64_t>(offsets.size()) - 1, loaded.num_items());
  gru_ = std::move(loaded);
  last_offsets_ = std::move(offsets);
  last_items_ = std::move(items);
  params_ = std::move(recipe_params);
  user_ids_ = std::move(ids.users);
  item_ids_ = std::move(ids.items);
  summary_ = std::move(summary);
  fitted_ = true;
}

template <class T>
session_gru_state basic_session_gru_model<T>::state_for(index_t user) const {
  const bool known = user >= 0 && user < num_users();
  if (gru_.config().hrnn) return gru_.start_session(known ? user : invalid_index);
  session_gru_state s = gru_.start_session();
  if (known) {
    const auto b = last_offsets_[static_cast<std::size_t>(user)], e = last_offsets_[static_cast<std::size_t>(user) + 1];
    gru_.put_events(s, std::span<const index_t>(last_items_.data() + b, static_cast<std::size_t>(e - b)));
  }
  return s;
}

}  // namespace recsys

#endif  // RECSYS_MODELS_SESSION_GRU_MODEL_INL_HPP
