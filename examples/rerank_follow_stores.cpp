// SPDX-License-Identifier: Apache-2.0
// Case study: a shopping-mall app recommends stores a user does not follow yet, learned from
// weekend access logs only.
//
// - The log has "access" events (a user opened a store's page) and "follow" events.
// - Training data: the accesses of the last 28 days (ingest rules: time window, event type),
//   weekends only (interaction_log::subset).
// - Model: item-to-item co-occurrence over each user's weekend accesses (the item-knn recipe).
// - Filter (Personalize syntax): EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("follow"),
//   bound to the whole log (every follow counts, not only the 200 most recent events);
//   exclude_seen drops the stores the user already accessed on those weekends.
//
// Co-occurrence scores only stores that share weekend visitors with the user's stores, so a list
// can be shorter than k (never padded with unrelated stores). The program checks what it prints
// (no followed or accessed store, ranked lists) and exits 1 if a check fails.
//
//   ./example_rerank_follow_stores
#include <recsys/data/ingest.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/ranking/filter.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

namespace {
// 1970-01-01 was a Thursday: day d since the epoch is a Saturday when (d + 4) % 7 == 6 and a
// Sunday when it is 0 (UTC).
bool on_weekend(recsys::timestamp_t t) {
  const auto weekday = (t / 86400 + 4) % 7;  // 0 = Sunday ... 6 = Saturday
  return weekday == 0 || weekday == 6;
}
}  // namespace

int main() {
  recsys::synthetic_config c;
  c.num_users = 800;
  c.num_items = 150;  // stores
  c.num_interactions = 40000;
  c.time_span_days = 90;
  c.event_types = {{"access", 0.85, recsys::value_distribution::constant, 1.0, 0.0},
                   {"follow", 0.15, recsys::value_distribution::constant, 1.0, 0.0}};
  const recsys::interaction_log log = recsys::generate_interactions(c);

  // Weekend accesses of the last four weeks.
  recsys::ingest_rules rules;
  rules.event_types = {"access"};
  rules.window.last_days = 28;
  const recsys::interaction_log recent = recsys::apply_rules(log, rules);
  std::vector<bool> weekend(recent.size());
  for (std::size_t r = 0; r < recent.size(); ++r) weekend[r] = on_weekend(recent.timestamps[r]);
  const recsys::interaction_log train = recent.subset(weekend, "weekday");
  std::printf("%zu events -> %zu weekend accesses in the last 28 days\n", log.size(), train.size());

  recsys::item_to_item model;  // the item-knn recipe's defaults
  model.fit(train);

  // Followed stores come from the whole log (same dense ids: rules and subset keep the id maps).
  recsys::filter_options fo;
  fo.max_history_events = 0;  // every event of the user, not only the 200 most recent
  const recsys::item_filter not_followed(R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("follow"))",
                                         {.log = &log}, fo);
  recsys::recommend_options opts;
  opts.exclude_seen = true;  // stores accessed on those weekends

  int failures = 0;
  const recsys::index_t k = 5;
  for (recsys::index_t u = 0; u < 200; ++u) {
    const recsys::topk_result top = recsys::recommend_filtered(model, u, k, not_followed, {}, opts);
    std::set<recsys::index_t> followed, accessed;
    for (std::size_t r = 0; r < log.size(); ++r)
      if (log.users[r] == u && log.event_type_names.id(log.event_types[r]) == "follow") followed.insert(log.items[r]);
    for (std::size_t r = 0; r < train.size(); ++r)
      if (train.users[r] == u) accessed.insert(train.items[r]);
    for (const recsys::index_t s : top.ids)
      if (followed.count(s) || accessed.count(s)) {
        std::printf("FAIL: user %s got store %s which they follow or accessed\n", log.user_ids.id(u).c_str(),
                    log.item_ids.id(s).c_str());
        ++failures;
      }
    if (top.size() > static_cast<std::size_t>(k) || !top.is_sorted()) {
      std::printf("FAIL: user %s got %zu stores (or out of order)\n", log.user_ids.id(u).c_str(), top.size());
      ++failures;
    }
    if (u < 3) {
      std::printf("user %s (follows %zu, accessed %zu on weekends):", log.user_ids.id(u).c_str(), followed.size(),
                  accessed.size());
      for (std::size_t j = 0; j < top.size(); ++j)
        std::printf(" %s (%.3f)", log.item_ids.id(top.ids[j]).c_str(), static_cast<double>(top.scores[j]));
      std::printf("\n");
    }
  }
  // A user who never came on a weekend gets the popular stores they do not follow.
  const recsys::topk_result cold = recsys::recommend_filtered(model, recsys::invalid_index, k, not_followed, {}, opts);
  std::printf("a new user: %zu popular stores\n", cold.size());
  if (cold.size() != static_cast<std::size_t>(k)) ++failures;
  std::printf("%s\n", failures == 0 ? "all checks passed" : "CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}
