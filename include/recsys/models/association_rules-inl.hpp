// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ASSOCIATION_RULES_INL_HPP
#define RECSYS_MODELS_ASSOCIATION_RULES_INL_HPP

/// @file
/// Definitions of models/association_rules.hpp (included by it in header-only mode, compiled
/// into recsys::compiled by src/item_to_item.cpp otherwise).

#include <recsys/models/association_rules.hpp>

#include <recsys/data/baskets.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/cooccurrence.hpp>
#include <recsys/parallel.hpp>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <utility>

namespace recsys {

namespace detail {
/// Pair rules of a 0/1 transactions x items incidence (N = non-empty transactions).
template <class = void>
std::vector<association_rule> mine_rules(incidence x, const rule_options& o, const job_control& job) {
  o.validate();
  job.cancel.throw_if_cancelled();
  for (float& v : x.val) v = 1.0f;
  std::int64_t n = 0;
  for (std::size_t r = 0; r < x.rows(); ++r) n += x.length(r) > 0 ? 1 : 0;
  if (n == 0) return {};
  const double nd = static_cast<double>(n);
  // exact pre-filter: count >= min_support N implies count >= floor(min_support N)
  const std::int64_t threshold = std::max(o.min_count, static_cast<std::int64_t>(std::floor(o.min_support * nd)));
  const std::vector<std::int64_t> n_item = x.column_counts();  // before the apriori pruning
  prune_options po;
  po.min_item_rows = threshold;  // an item rarer than the threshold is in no kept pair
  prune(x, nullptr, nullptr, po);
  const incidence xt = transpose(x);
  product_input in;
  in.left_t = &xt;
  in.right = &x;
  in.self = true;
  in.left_items = x.cols;
  in.right_items = x.cols;
  std::vector<std::vector<association_rule>> per_item(static_cast<std::size_t>(x.cols));
  parallel_options par;
  par.num_threads = o.num_threads;
  par.chunk = 4;
  progress_reporter progress(job, "association_rules: pairs", x.cols);
  cooccurrence_rows<false, false>(in, par, &progress, [&](const product_row<count_slot>& row, int) {
    auto& out = per_item[static_cast<std::size_t>(row.item)];
    const double na = static_cast<double>(n_item[static_cast<std::size_t>(row.item)]);
    for (index_t j : row.touched) {
      const std::int32_t c = row.count(j);
      if (j == row.item || c < threshold) continue;
      association_rule r;
      r.antecedent = row.item;
      r.consequent = j;
      r.count = c;
      r.support = static_cast<double>(c) / nd;
      r.confidence = static_cast<double>(c) / na;
      r.lift = static_cast<double>(c) * nd / (na * static_cast<double>(n_item[static_cast<std::size_t>(j)]));
      if (r.support >= o.min_support && r.confidence >= o.min_confidence && r.lift >= o.min_lift) out.push_back(r);
    }
  });
  progress.finish();
  std::vector<association_rule> rules;
  for (const auto& v : per_item) rules.insert(rules.end(), v.begin(), v.end());
  auto key = [&](const association_rule& r) {
    switch (o.order) {
      case rule_order::confidence:
        return std::array<double, 3>{r.confidence, r.lift, static_cast<double>(r.count)};
      case rule_order::support:
        return std::array<double, 3>{r.support, r.confidence, r.lift};
      case rule_order::lift:
        break;
    }
    return std::array<double, 3>{r.lift, r.confidence, static_cast<double>(r.count)};
  };
  std::sort(rules.begin(), rules.end(), [&](const association_rule& a, const association_rule& b) {
    const auto ka = key(a), kb = key(b);
    if (ka != kb) return ka > kb;
    if (a.antecedent != b.antecedent) return a.antecedent < b.antecedent;
    return a.consequent < b.consequent;
  });
  if (o.max_rules > 0 && rules.size() > o.max_rules) rules.resize(o.max_rules);
  return rules;
}

inline bool csv_needs_quotes(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t') return true;
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

inline void write_csv_field(std::ostream& os, std::string_view s) {
  if (!csv_needs_quotes(s)) {
    os << s;
    return;
  }
  os << '"';
  for (char ch : s) {
    if (ch == '"') os << '"';
    os << ch;
  }
  os << '"';
}

/// The 0/1 transactions x items incidence of `n` transactions whose items `items_of(t)` lists
/// (repeats count once). @throws recsys::invalid_argument naming `what` and the transaction for
/// an item index out of range.
template <class ItemsOf>
incidence transactions_incidence(index_t cols, std::size_t n, const char* what, ItemsOf items_of) {
  incidence x;
  x.cols = cols;
  std::vector<std::pair<index_t, float>> row;
  for (std::size_t t = 0; t < n; ++t) {
    row.clear();
    for (index_t i : items_of(t)) {
      RECSYS_REQUIRE(i >= 0 && i < x.cols, "association_rules", what, t, ": item index ", i, " out of range");
      row.emplace_back(i, 1.0f);
    }
    x.push_row(row);
  }
  return x;
}
}  // namespace detail

template <class>
std::vector<association_rule> association_rules(const basket_data& baskets, const rule_options& options, const job_control& job) {
  return detail::mine_rules(
      detail::transactions_incidence(baskets.num_items(), baskets.size(), "basket ",
                                     [&](std::size_t b) { return baskets.basket(b); }),
      options, job);
}

template <class>
std::vector<association_rule> association_rules(const session_data& sessions, const rule_options& options, const job_control& job) {
  return detail::mine_rules(
      detail::transactions_incidence(sessions.num_items, sessions.size(), "session ",
                                     [&](std::size_t s) { return sessions.session(s); }),
      options, job);
}

template <class>
std::vector<association_rule> association_rules(const csr_matrix& transactions, const rule_options& options, const job_control& job) {
  detail::incidence x;
  x.cols = static_cast<index_t>(transactions.cols());
  std::vector<std::pair<index_t, float>> row;
  for (Eigen::Index r = 0; r < transactions.rows(); ++r) {
    row.clear();
    for (csr_matrix::InnerIterator it(transactions, r); it; ++it) {
      RECSYS_REQUIRE(std::isfinite(it.value()) && it.value() >= 0.0f, "association_rules", "entry (", r, ", ", it.col(),
                     ") is ", it.value());
      if (it.value() > 0.0f) row.emplace_back(static_cast<index_t>(it.col()), 1.0f);
    }
    x.push_row(row);
  }
  return detail::mine_rules(std::move(x), options, job);
}

template <class>
void write_rules_csv(std::ostream& os, std::span<const association_rule> rules, const id_map<std::string>& items) {
  const auto precision = os.precision(9);
  os << "antecedent,consequent,support,confidence,lift,count\n";
  for (const association_rule& r : rules) {
    detail::write_csv_field(os, items.id(r.antecedent));
    os << ',';
    detail::write_csv_field(os, items.id(r.consequent));
    os << ',' << r.support << ',' << r.confidence << ',' << r.lift << ',' << r.count << '\n';
  }
  os.precision(precision);
}

template <class>
void write_rules_csv(const std::string& path, std::span<const association_rule> rules, const id_map<std::string>& items) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw io_error(path, "cannot open for writing");
  write_rules_csv(f, rules, items);
  f.flush();
  if (!f) throw io_error(path, "write failed");
}

}  // namespace recsys

#endif  // RECSYS_MODELS_ASSOCIATION_RULES_INL_HPP
