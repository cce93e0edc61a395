// SPDX-License-Identifier: Apache-2.0
// From an interaction log to a weighted matrix, sessions and a train/test split: the data layer
// in one page (docs/data.md walks through it). Builds a small log in memory; real programs read
// a Personalize CSV instead.
#include <recsys/data/ingest.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/data/split.hpp>
#include <recsys/random.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

int main() {
  // 1. A log in Personalize's schema: 200 users, 50 items, views / purchases over 200 days.
  recsys::interaction_log log;
  recsys::rng r(1, recsys::stream_tag("example.data_pipeline"));
  const recsys::timestamp_t day = 86400, start = 1'700'000'000;
  for (int e = 0; e < 5000; ++e) {
    const std::string user = "user" + std::to_string(r.uniform_index(200));
    const std::string item = "item" + std::to_string(r.uniform_index(1 + r.uniform_index(50)));  // skewed
    const bool purchase = r.bernoulli(0.2);
    const auto t = start + static_cast<recsys::timestamp_t>(r.uniform_index(200 * day));
    log.add(user, item, t, purchase ? "Purchase" : "View",
            purchase ? static_cast<float>(1 + r.uniform_index(5)) : 1.0f);
  }
  log.report.source = "in-memory example";

  // 2. Ingestion rules: the last 90 days, purchases weigh 5, repeated pairs summed,
  //    the 1% busiest users dropped.
  recsys::ingest_rules rules;
  rules.window.last_days = 90;
  rules.event_parameters = {{"purchase", 5.0f, {}}, {"view", 1.0f, {}}};
  rules.dedupe = recsys::dedupe_policy::sum;
  rules.pruning.max_user_history_length_percentile = 0.99;
  const recsys::interaction_log clean = recsys::apply_rules(log, rules);
  std::printf("%s\n", clean.report.summary().c_str());

  // 3. Personalize's split, then the training matrix: confidence 1 + 40 x with a 30-day half-life.
  const recsys::split s = recsys::make_split(clean, recsys::parse_split_spec("personalize"), /*seed=*/42);
  recsys::matrix_options o;
  o.scheme = recsys::weighting::confidence;
  o.alpha = 40.0f;
  o.half_life_seconds = 30.0 * static_cast<double>(day);
  const recsys::csr_matrix train = recsys::build_matrix(s.train, o);
  const recsys::csr_matrix test = recsys::build_matrix(s.test);  // same shape as train
  const auto test_lengths = recsys::user_history_lengths(test);
  const auto test_users = std::count_if(test_lengths.begin(), test_lengths.end(), [](int n) { return n > 0; });
  std::printf("train: %zu events -> %ld x %ld matrix, %ld entries; test: %zu events of %ld users\n", s.train.size(),
              static_cast<long>(train.rows()), static_cast<long>(train.cols()), static_cast<long>(train.nonZeros()),
              s.test.size(), static_cast<long>(test_users));
  const auto popularity = recsys::item_popularity(train);  // distinct users per item
  const auto top = std::max_element(popularity.begin(), popularity.end()) - popularity.begin();
  std::printf("most popular item in train: %s (%d users)\n",
              s.train.item_ids.id(static_cast<recsys::index_t>(top)).c_str(),
              popularity[static_cast<std::size_t>(top)]);

  // 4. Sessions: each user's events cut at 30 minutes of inactivity.
  const recsys::session_data sessions = recsys::build_sessions(log);
  std::printf("%zu sessions, %zu events\n", sessions.size(), sessions.num_events());
  return 0;
}
