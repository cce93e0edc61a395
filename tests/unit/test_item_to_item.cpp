// SPDX-License-Identifier: Apache-2.0
// Item-to-item mining: the sparse row-by-row product against a dense X^T X reference for every
// score and every source mode, hand-computed LLR / lift, planted pairs, pruning, determinism,
// queries and fallbacks, association rules, settings and the registry entries.
#include <recsys/data/matrix.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/cooccurrence.hpp>  // the mining kernels tested directly
#include <recsys/data/synthetic.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/random.hpp>
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using recsys::index_t;
using recsys::item_similarity;
using recsys::timestamp_t;
using recsys::test::Approx;

static_assert(recsys::recommender<recsys::item_to_item>);
static_assert(recsys::history_recommender<recsys::item_to_item>);
static_assert(recsys::matrix_trainable<recsys::item_to_item>);
static_assert(recsys::log_trainable<recsys::item_to_item>);

namespace {

// "u" + std::to_string(i) without GCC 12's -Wrestrict false positive on operator+(const char*, string&&)
std::string name(const char* prefix, std::size_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// ---------------------------------------------------------------------------------------------
// A small random log: users, items (skewed popularity), timestamps on a coarse grid, two event
// types, weights 1 or 2.
recsys::interaction_log random_log(int users, int items, int events, std::uint64_t seed) {
  recsys::interaction_log log;
  for (int u = 0; u < users; ++u) log.user_ids.insert(name("u", u));
  for (int i = 0; i < items; ++i) log.item_ids.insert(name("i", i));
  const index_t view = log.event_type_names.insert("view");
  const index_t purchase = log.event_type_names.insert("purchase");
  log.has_event_type = true;
  recsys::rng g(seed, recsys::stream_tag("test.item_to_item.log"));
  for (int e = 0; e < events; ++e) {
    const auto u = static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(users)));
    const auto a = g.uniform_index(static_cast<std::uint32_t>(items));
    const auto b = g.uniform_index(static_cast<std::uint32_t>(items));
    const auto i = static_cast<index_t>(std::min(a, b));  // skew towards low ids
    // 6-hour slots over ten days: equal timestamps and gaps of exactly a window are common
    const auto t = static_cast<timestamp_t>(g.uniform_index(40)) * 6 * 3600;
    const index_t type = g.bernoulli(0.3) ? purchase : view;
    const float w = g.bernoulli(0.5) ? 2.0f : 1.0f;
    log.add_indexed(u, i, t, type, std::numeric_limits<float>::quiet_NaN(), recsys::invalid_index, w);
  }
  return log;
}

// ---------------------------------------------------------------------------------------------
// The dense reference: every pair of every user, dense item x item tables, the formulas
// written out independently of the library.
struct ref_options {
  item_similarity sim = item_similarity::count;
  bool cross = false;      // left = view, right = purchase
  timestamp_t window = 0;  // timed when window > 0 or forward_only
  bool forward_only = false;
  std::int64_t min_count = 1;
  double discount = 0.5, k1 = 1.2, b = 0.75;
};

struct ref_event {
  index_t item;
  timestamp_t t;
  double w;
  bool left, right;
};

using dense = std::vector<std::vector<double>>;

// Weights of a users x items value table, as implicit weighs counts.T (items are the documents).
dense weigh(const dense& v, item_similarity sim, double k1, double b) {
  const std::size_t users = v.size(), items = users ? v[0].size() : 0;
  dense w = v;
  if (sim != item_similarity::bm25 && sim != item_similarity::tfidf) return w;
  std::vector<double> idf(users);
  for (std::size_t u = 0; u < users; ++u) {
    double nz = 0;
    for (double x : v[u]) nz += x > 0 ? 1 : 0;
    idf[u] = std::log(static_cast<double>(items) / (1.0 + nz));
  }
  if (sim == item_similarity::bm25) {
    std::vector<double> s(items, 0.0);
    double total = 0;
    for (std::size_t u = 0; u < users; ++u)
      for (std::size_t i = 0; i < items; ++i) {
        s[i] += v[u][i];
        total += v[u][i];
      }
    const double mean = total / static_cast<double>(items);
    for (std::size_t u = 0; u < users; ++u)
      for (std::size_t i = 0; i < items; ++i)
        if (v[u][i] > 0) w[u][i] = v[u][i] * (k1 + 1) / (k1 * ((1 - b) + b * s[i] / mean) + v[u][i]) * idf[u];
    return w;
  }
  for (std::size_t u = 0; u < users; ++u)
    for (std::size_t i = 0; i < items; ++i)
      if (v[u][i] > 0) w[u][i] = std::sqrt(v[u][i]) * idf[u];
  for (std::size_t i = 0; i < items; ++i) {
    double n = 0;
    for (std::size_t u = 0; u < users; ++u) n += w[u][i] * w[u][i];
    n = std::sqrt(n);
    for (std::size_t u = 0; u < users; ++u) w[u][i] = n > 0 ? w[u][i] / n : 0.0;
  }
  return w;
}

// The textbook G^2 in long double (the library uses a different, cancellation-free form).
double naive_g2(double k11, double k12, double k21, double k22) {
  const long double k[2][2] = {{k11, k12}, {k21, k22}};
  const long double n = k[0][0] + k[0][1] + k[1][0] + k[1][1];
  const long double r[2] = {k[0][0] + k[0][1], k[1][0] + k[1][1]};
  const long double c[2] = {k[0][0] + k[1][0], k[0][1] + k[1][1]};
  long double s = 0;
  for (int a = 0; a < 2; ++a)
    for (int bb = 0; bb < 2; ++bb)
      if (k[a][bb] > 0) s += k[a][bb] * std::log(k[a][bb] * n / (r[a] * c[bb]));
  return static_cast<double>(2 * s);
}

struct ref_result {
  dense score;  // NaN: not a neighbour
  std::vector<std::vector<std::int64_t>> count;
};

// events[u]: the selected events of transaction u. Dense tables of every qualifying pair.
ref_result reference(const std::vector<std::vector<ref_event>>& events, int items, const ref_options& o) {
  const std::size_t users = events.size(), m = static_cast<std::size_t>(items);
  dense lv(users, std::vector<double>(m, 0.0)), rv(users, std::vector<double>(m, 0.0));
  double n_rows = 0;
  for (std::size_t u = 0; u < users; ++u) {
    if (!events[u].empty()) n_rows += 1;
    for (const ref_event& e : events[u]) {
      if (e.left) lv[u][static_cast<std::size_t>(e.item)] += e.w;
      if (e.right) rv[u][static_cast<std::size_t>(e.item)] += e.w;
    }
  }
  const dense wl = weigh(lv, o.sim, o.k1, o.b);
  const dense wr = weigh(rv, o.sim, o.k1, o.b);
  std::vector<double> nl(m, 0), nr(m, 0), norm_l(m, 0), norm_r(m, 0);
  for (std::size_t u = 0; u < users; ++u)
    for (std::size_t i = 0; i < m; ++i) {
      nl[i] += lv[u][i] > 0 ? 1 : 0;
      nr[i] += rv[u][i] > 0 ? 1 : 0;
      norm_l[i] += wl[u][i] * wl[u][i];
      norm_r[i] += wr[u][i] * wr[u][i];
    }
  for (std::size_t i = 0; i < m; ++i) {
    norm_l[i] = std::sqrt(norm_l[i]);
    norm_r[i] = std::sqrt(norm_r[i]);
  }
  const bool timed = o.window > 0 || o.forward_only;
  ref_result r;
  r.count.assign(m, std::vector<std::int64_t>(m, 0));
  dense w(m, std::vector<double>(m, 0.0));
  for (std::size_t u = 0; u < users; ++u) {
    std::set<std::pair<index_t, index_t>> q;
    const auto& ev = events[u];
    for (std::size_t a = 0; a < ev.size(); ++a)
      for (std::size_t bb = 0; bb < ev.size(); ++bb) {
        if (!ev[a].left || !ev[bb].right) continue;
        if (!o.cross && (a == bb || ev[a].item == ev[bb].item)) continue;
        if (timed) {
          const timestamp_t dt = ev[bb].t - ev[a].t;
          if (o.forward_only && dt < 0) continue;
          if (o.window > 0 && (dt > o.window || -dt > o.window)) continue;
        }
        q.insert({ev[a].item, ev[bb].item});
      }
    for (const auto& [i, j] : q) {
      r.count[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] += 1;
      w[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] +=
          wl[u][static_cast<std::size_t>(i)] * wr[u][static_cast<std::size_t>(j)];
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.score.assign(m, std::vector<double>(m, nan));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < m; ++j) {
      const double c = static_cast<double>(r.count[i][j]);
      if (c < static_cast<double>(o.min_count) || c == 0) continue;
      const double ni = nl[i], nj = nr[j], n = n_rows;
      double s = 0;
      switch (o.sim) {
        case item_similarity::count:
          s = c;
          break;
        case item_similarity::jaccard:
          s = c / (ni + nj - c);
          break;
        case item_similarity::cosine:
          s = w[i][j] / (norm_l[i] * norm_r[j]);
          break;
        case item_similarity::lift:
          s = c * n / (ni * nj);
          break;
        case item_similarity::pmi:
          s = std::log(c * n / (ni * nj));
          break;
        case item_similarity::npmi:
          s = c == n ? 1.0 : std::log(c * n / (ni * nj)) / -std::log(c / n);
          break;
        case item_similarity::llr: {
          const double k22 = std::max(0.0, n - ni - nj + c);
          const double g = naive_g2(c, ni - c, nj - c, k22);
          s = c * k22 >= (ni - c) * (nj - c) ? g : -g;
          break;
        }
        case item_similarity::confidence:
          s = c / ni;
          break;
        case item_similarity::sims:
          s = c / std::pow(nj, o.discount);
          break;
        case item_similarity::bm25:
        case item_similarity::tfidf:
          s = w[i][j];
          break;
      }
      r.score[i][j] = s;
    }
  return r;
}

// The log's events per user as reference events (cross: left = view, right = purchase).
std::vector<std::vector<ref_event>> events_of(const recsys::interaction_log& log, bool cross) {
  std::vector<std::vector<ref_event>> ev(static_cast<std::size_t>(log.num_users()));
  const index_t view = *log.event_type_names.find("view");
  const index_t purchase = *log.event_type_names.find("purchase");
  for (std::size_t r = 0; r < log.size(); ++r) {
    const bool left = !cross || log.event_types[r] == view;
    const bool right = !cross || log.event_types[r] == purchase;
    ev[static_cast<std::size_t>(log.users[r])].push_back(
        {log.items[r], log.timestamps[r], log.weights[r], left, right});
  }
  return ev;
}

std::map<index_t, float> row_of(const recsys::csr_matrix& m, index_t i) {
  std::map<index_t, float> out;
  for (recsys::csr_matrix::InnerIterator it(m, i); it; ++it) out[static_cast<index_t>(it.col())] = it.value();
  return out;
}

// Every neighbour of the model equals the reference's, and nothing is missing (K >= items).
void require_same_as_reference(const recsys::item_to_item& model, const ref_result& ref, int items) {
  for (index_t i = 0; i < items; ++i) {
    const auto got = row_of(model.neighbours(), i);
    std::map<index_t, double> want;
    for (index_t j = 0; j < items; ++j)
      if (!std::isnan(ref.score[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]))
        want[j] = ref.score[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
    INFO("item " << i);
    REQUIRE(got.size() == want.size());
    for (const auto& [j, s] : want) {
      INFO("neighbour " << j << " count " << ref.count[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]);
      REQUIRE(got.count(j) == 1);
      REQUIRE(got.at(j) == Approx(s).epsilon(2e-5).margin(2e-5));
    }
  }
}

// With K < items: the kept scores are the reference's K best scores.
void require_top_k_of_reference(const recsys::item_to_item& model, const ref_result& ref, int items, index_t k) {
  for (index_t i = 0; i < items; ++i) {
    std::vector<double> got, want;
    for (const auto& [j, s] : row_of(model.neighbours(), i)) {
      got.push_back(s);
      REQUIRE(!std::isnan(ref.score[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]));
      REQUIRE(s ==
              Approx(ref.score[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]).epsilon(2e-5).margin(2e-5));
    }
    for (index_t j = 0; j < items; ++j)
      if (!std::isnan(ref.score[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]))
        want.push_back(ref.score[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]);
    std::sort(got.rbegin(), got.rend());
    std::sort(want.rbegin(), want.rend());
    if (want.size() > static_cast<std::size_t>(k)) want.resize(static_cast<std::size_t>(k));
    INFO("item " << i);
    REQUIRE(got.size() == want.size());
    for (std::size_t t = 0; t < got.size(); ++t) REQUIRE(got[t] == Approx(want[t]).epsilon(2e-5).margin(2e-5));
  }
}

struct mode {
  const char* name;
  bool cross;
  timestamp_t window;
  bool forward_only;
};

recsys::item_to_item_config config_for(const mode& md, item_similarity sim, std::int64_t min_count, index_t k) {
  recsys::item_to_item_config c;
  c.similarity = sim;
  c.neighbours = k;
  c.min_cooccurrence = min_count;
  c.popularity_discount = 0.3;
  if (md.cross) {
    c.event_types = {"view"};
    c.cross_event_types = {"purchase"};
  }
  c.time_window = md.window;
  c.forward_only = md.forward_only;
  c.num_threads = 1;  // thread-count independence has its own test
  return c;
}

recsys::csr_matrix matrix_of(const recsys::interaction_log& log) {
  std::vector<Eigen::Triplet<float, index_t>> t;
  for (std::size_t r = 0; r < log.size(); ++r) t.emplace_back(log.users[r], log.items[r], log.weights[r]);
  recsys::csr_matrix m(log.num_users(), log.num_items());
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

bool same_matrix(const recsys::csr_matrix& a, const recsys::csr_matrix& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.nonZeros() != b.nonZeros()) return false;
  for (Eigen::Index r = 0; r <= a.rows(); ++r)
    if (a.outerIndexPtr()[r] != b.outerIndexPtr()[r]) return false;
  for (Eigen::Index e = 0; e < a.nonZeros(); ++e)
    if (a.innerIndexPtr()[e] != b.innerIndexPtr()[e] || a.valuePtr()[e] != b.valuePtr()[e]) return false;
  return true;
}

// Baskets from the shared synthetic generator, with its planted co-purchase pairs.
recsys::synthetic_config basket_config(index_t items, std::int64_t baskets, index_t pairs, std::uint64_t seed) {
  recsys::synthetic_config c;
  c.num_items = items;
  c.num_baskets = baskets;
  c.num_planted_pairs = pairs;
  c.planted_pair_rate = 0.25;
  c.seed = seed;
  c.num_threads = 1;
  return c;
}

}  // namespace

// =============================================================================================
// Sparse path == dense reference, every score, every source mode

TEST_CASE("item_to_item: every score matches a dense X^T X reference (user histories, cross, time windows)",
          "[item_to_item]") {
  const int users = 45, items = 28;
  const auto log = random_log(users, items, 700, recsys::test::seed());
  const mode modes[] = {
      {"self", false, 0, false},
      {"cross view->purchase", true, 0, false},
      {"self, 1-day window", false, 86400, false},
      {"self, forward only, 2-day window", false, 2 * 86400, true},
      {"cross, 3-day window", true, 3 * 86400, false},
      {"cross, forward only", true, 0, true},
  };
  for (const mode& md : modes) {
    const auto ev = events_of(log, md.cross);
    for (item_similarity sim : recsys::all_item_similarities)
      for (std::int64_t min_count : {1, 2}) {
        INFO("mode " << md.name << ", similarity " << recsys::to_string(sim) << ", min count " << min_count);
        ref_options o;
        o.sim = sim;
        o.cross = md.cross;
        o.window = md.window;
        o.forward_only = md.forward_only;
        o.min_count = min_count;
        o.discount = 0.3;
        const ref_result ref = reference(ev, items, o);
        recsys::item_to_item all(config_for(md, sim, min_count, items));
        all.fit(log);
        require_same_as_reference(all, ref, items);
        recsys::item_to_item top3(config_for(md, sim, min_count, 3));
        top3.fit(log);
        require_top_k_of_reference(top3, ref, items, 3);
      }
  }
}

TEST_CASE("item_to_item: matrix, basket and session sources agree with the log path", "[item_to_item]") {
  const int users = 60, items = 35;
  const auto log = random_log(users, items, 900, recsys::test::seed() + 1);
  for (item_similarity sim : recsys::all_item_similarities) {
    INFO("similarity " << recsys::to_string(sim));
    recsys::item_to_item_config c;
    c.similarity = sim;
    c.neighbours = 7;
    c.min_cooccurrence = 2;
    c.num_threads = 1;
    recsys::item_to_item from_log(c), from_matrix(c);
    from_log.fit(log);
    from_matrix.fit(matrix_of(log));
    REQUIRE(same_matrix(from_log.neighbours(), from_matrix.neighbours()));

    // baskets = the users' distinct items: the same as the 0/1 matrix
    recsys::basket_data baskets;
    baskets.item_ids = log.item_ids;
    recsys::csr_matrix binary = matrix_of(log);
    for (Eigen::Index u = 0; u < binary.rows(); ++u) {
      std::vector<index_t> b;
      for (recsys::csr_matrix::InnerIterator it(binary, u); it; ++it) {
        b.push_back(static_cast<index_t>(it.col()));
        it.valueRef() = 1.0f;
      }
      baskets.push_basket(b);
    }
    recsys::item_to_item from_baskets(c), from_binary(c);
    from_baskets.fit(baskets);
    from_binary.fit(binary);
    REQUIRE(same_matrix(from_baskets.neighbours(), from_binary.neighbours()));
    REQUIRE(from_baskets.num_users() == 0);
    REQUIRE(from_binary.num_users() == users);
  }

  // sessions (cut at 6-hour gaps) with a 2-hour window == a log whose users are the sessions
  recsys::session_options so;
  so.from = recsys::session_options::source::inactivity_gap;
  so.gap_seconds = 6 * 3600;
  const recsys::session_data sessions = recsys::build_sessions(log, so);
  REQUIRE(sessions.size() > static_cast<std::size_t>(users));
  recsys::interaction_log by_session;
  for (std::size_t s = 0; s < sessions.size(); ++s) by_session.user_ids.insert(name("s", s));
  by_session.item_ids = log.item_ids;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    const auto it = sessions.session(s);
    const auto ts = sessions.session_times(s);
    for (std::size_t k = 0; k < it.size(); ++k) by_session.add_indexed(static_cast<index_t>(s), it[k], ts[k]);
  }
  for (item_similarity sim : {item_similarity::llr, item_similarity::cosine, item_similarity::tfidf}) {
    for (timestamp_t window : {timestamp_t{0}, timestamp_t{2 * 3600}}) {
      INFO("similarity " << recsys::to_string(sim) << ", window " << window);
      recsys::item_to_item_config c;
      c.similarity = sim;
      c.neighbours = 5;
      c.min_cooccurrence = 1;
      c.time_window = window;
      recsys::item_to_item a(c), b(c);
      a.fit(sessions);
      b.fit(by_session);
      REQUIRE(same_matrix(a.neighbours(), b.neighbours()));
    }
  }
}

// The recipes fit from the log; fitting from the matrix built from that log must give the same
// model, bit for bit: the conversion sums a pair's weights in build_matrix's order.
TEST_CASE("item_to_item: fit(log) and fit(build_matrix(log)) give identical models", "[item_to_item]") {
  const int users = 400, items = 120;
  recsys::interaction_log log = random_log(users, items, 9000, recsys::test::seed() + 11);
  // weights far apart in magnitude, so that the order of a pair's sum matters for its last bit
  recsys::rng g(recsys::test::seed() + 12, recsys::stream_tag("test.item_to_item.weights"));
  const float pool[] = {1.0f, 2.0f, 0.1f, 3.3e-9f, 7.25f, 1.0e7f + 1.0f, 0.3f, 1.5e-3f};
  for (float& w : log.weights) w = pool[g.uniform_index(8)];
  for (int e = 0; e < 300; ++e) {  // plenty of repeated (user, item) pairs
    const std::size_t r = g.uniform_index(static_cast<std::uint32_t>(log.size()));
    log.add_indexed(log.users[r], log.items[r], log.timestamps[r] + 60, log.event_types[r],
                    std::numeric_limits<float>::quiet_NaN(), recsys::invalid_index, pool[g.uniform_index(8)]);
  }
  recsys::matrix_options mo;
  mo.num_threads = 1;
  const recsys::csr_matrix m = recsys::build_matrix(log, mo);
  REQUIRE(static_cast<std::size_t>(m.nonZeros()) < log.size());  // duplicates were summed
  const std::vector<recsys::item_to_item_config> configs = [] {
    std::vector<recsys::item_to_item_config> v;
    for (item_similarity sim : recsys::all_item_similarities)
      for (std::int64_t min_count : {1, 3}) {
        recsys::item_to_item_config c;
        c.similarity = sim;
        c.neighbours = 9;
        c.min_cooccurrence = min_count;
        v.push_back(c);
      }
    v.push_back(recsys::item_to_item_config::sims());  // with percentile pruning
    recsys::item_to_item_config capped;
    capped.max_row_length = 12;
    capped.similarity = item_similarity::bm25;
    v.push_back(capped);
    return v;
  }();
  for (recsys::item_to_item_config c : configs)
    for (int threads : {1, 2, 3}) {
      // every event type named: the same events, through the general (event-type) conversion
      const bool all_types = threads == 3;
      INFO("similarity " << recsys::to_string(c.similarity) << ", min count " << c.min_cooccurrence << ", threads "
                         << threads << (all_types ? ", event_types = all" : ""));
      c.num_threads = threads;
      recsys::item_to_item_config lc = c;
      if (all_types) lc.event_types = {"purchase", "view"};
      recsys::item_to_item from_log(lc), from_matrix(c);
      from_log.fit(log);
      from_matrix.fit(m);
      REQUIRE(from_log.neighbours().nonZeros() > 0);
      REQUIRE(same_matrix(from_log.neighbours(), from_matrix.neighbours()));
      REQUIRE(std::equal(from_log.popularity().begin(), from_log.popularity().end(), from_matrix.popularity().begin(),
                         from_matrix.popularity().end()));
      REQUIRE(std::equal(from_log.popular_items().begin(), from_log.popular_items().end(),
                         from_matrix.popular_items().begin(), from_matrix.popular_items().end()));
      const auto& a = from_log.stats();
      const auto& b = from_matrix.stats();
      CHECK(std::tie(a.transactions, a.transactions_mined, a.transactions_short, a.transactions_long,
                     a.transactions_capped, a.items_active, a.items_mined, a.items_rare, a.items_popular, a.pair_visits,
                     a.items_with_neighbours, a.neighbour_entries) ==
            std::tie(b.transactions, b.transactions_mined, b.transactions_short, b.transactions_long,
                     b.transactions_capped, b.items_active, b.items_mined, b.items_rare, b.items_popular, b.pair_visits,
                     b.items_with_neighbours, b.neighbour_entries));
      // the histories: the same items, weight 1 each
      REQUIRE(from_log.num_users() == from_matrix.num_users());
      std::vector<index_t> all(static_cast<std::size_t>(items));
      std::iota(all.begin(), all.end(), 0);
      for (index_t u = 0; u < users; ++u) {
        const auto sl = from_log.seen_items(u), sm = from_matrix.seen_items(u);
        REQUIRE(std::equal(sl.begin(), sl.end(), sm.begin(), sm.end()));
        const auto xl = from_log.score(u, all), xm = from_matrix.score(u, all);
        REQUIRE(std::memcmp(xl.data(), xm.data(), xl.size() * sizeof(float)) == 0);
        REQUIRE(from_log.recommend(u, 5) == from_matrix.recommend(u, 5));
      }
    }
}

// More than 1024 users: the conversion scatters the events into buckets of users first. The
// model must not depend on the order of the log's events (time order, user order, shuffled).
TEST_CASE("item_to_item: fit(log) with many users, in any event order", "[item_to_item]") {
  const int users = 5000, items = 300;
  const auto log = random_log(users, items, 60000, recsys::test::seed() + 17);
  auto permuted = [&](std::vector<std::size_t> perm) {
    recsys::interaction_log out;
    out.user_ids = log.user_ids;
    out.item_ids = log.item_ids;
    out.event_type_names = log.event_type_names;
    for (std::size_t r : perm)
      out.add_indexed(log.users[r], log.items[r], log.timestamps[r], log.event_types[r], log.event_values[r],
                      log.sessions[r], log.weights[r]);
    return out;
  };
  std::vector<std::size_t> by_time(log.size());
  std::iota(by_time.begin(), by_time.end(), 0);
  std::stable_sort(by_time.begin(), by_time.end(),
                   [&](std::size_t a, std::size_t b) { return log.timestamps[a] < log.timestamps[b]; });
  std::vector<std::size_t> by_user = by_time;
  std::stable_sort(by_user.begin(), by_user.end(),
                   [&](std::size_t a, std::size_t b) { return log.users[a] < log.users[b]; });
  std::vector<std::size_t> reversed(by_time.rbegin(), by_time.rend());
  const recsys::interaction_log orders[] = {permuted(by_time), permuted(by_user), permuted(reversed)};
  const recsys::csr_matrix m = recsys::build_matrix(log);
  std::vector<index_t> some(static_cast<std::size_t>(items));
  std::iota(some.begin(), some.end(), 0);
  for (item_similarity sim : {item_similarity::cosine, item_similarity::llr}) {
    recsys::item_to_item_config c;
    c.similarity = sim;
    c.neighbours = 10;
    c.min_cooccurrence = 1;
    c.num_threads = 1;
    recsys::item_to_item ref(c);
    ref.fit(m);
    for (int threads : {1, 2}) {
      c.num_threads = threads;
      for (const auto& l : orders) {
        INFO("similarity " << recsys::to_string(sim) << ", threads " << threads);
        recsys::item_to_item from_log(c);
        from_log.fit(l);
        REQUIRE(same_matrix(from_log.neighbours(), ref.neighbours()));
        for (index_t u = 0; u < users; u += 7) {
          const auto a = from_log.score(u, some), b = ref.score(u, some);
          REQUIRE(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
        }
      }
    }
  }
}

// The log conversion runs in parallel over users: every log-only setting, any thread count,
// the same model (neighbours, histories with recency weights, seen and bought items).
TEST_CASE("item_to_item: the log path gives the same model for 1, 2 and 3 threads", "[item_to_item]") {
  const int users = 700, items = 90;
  const auto log = random_log(users, items, 12000, recsys::test::seed() + 13);
  std::vector<index_t> all(static_cast<std::size_t>(items));
  std::iota(all.begin(), all.end(), 0);
  auto configure = [](recsys::item_to_item_config& c, int variant) {
    c.similarity = variant % 2 ? item_similarity::llr : item_similarity::cosine;
    c.neighbours = 8;
    c.min_cooccurrence = variant % 3 == 0 ? 1 : 2;
    c.recency_half_life = variant >= 2 ? 2.0 * 86400 : 0.0;
    if (variant == 1 || variant >= 4) c.exclude_event_types = {"purchase"};
    if (variant == 3 || variant == 5) {
      c.event_types = {"view"};
      c.cross_event_types = {"purchase"};
    }
    if (variant >= 4) c.time_window = 86400;
    if (variant == 5) c.forward_only = true;
  };
  for (int variant = 0; variant < 6; ++variant) {
    recsys::item_to_item_config c;
    configure(c, variant);
    c.num_threads = 1;
    recsys::item_to_item one(c);
    one.fit(log);
    REQUIRE(one.neighbours().nonZeros() > 0);
    for (int threads : {2, 3}) {
      INFO("variant " << variant << ", threads " << threads);
      c.num_threads = threads;
      recsys::item_to_item many(c);
      many.fit(log);
      REQUIRE(same_matrix(one.neighbours(), many.neighbours()));
      CHECK(one.stats().pair_visits == many.stats().pair_visits);
      for (index_t u = 0; u < users; ++u) {
        const auto s1 = one.seen_items(u), s2 = many.seen_items(u);
        REQUIRE(std::equal(s1.begin(), s1.end(), s2.begin(), s2.end()));
        const auto x1 = one.score(u, all), x2 = many.score(u, all);
        REQUIRE(std::memcmp(x1.data(), x2.data(), x1.size() * sizeof(float)) == 0);
        REQUIRE(one.also_viewed(u, u % items, 6) == many.also_viewed(u, u % items, 6));
      }
    }
  }
}

// Logs of 65,536 events or more are scattered by blocks of events in parallel (each block its
// own slots per bucket of users): the same model as one thread, with users in several buckets.
TEST_CASE("item_to_item: a large log scattered by blocks gives the same model for 1, 2 and 3 threads",
          "[item_to_item]") {
  const int users = 3000, items = 400;  // 3000 users -> buckets of 4 users
  const auto log = random_log(users, items, 140000, recsys::test::seed() + 29);
  recsys::item_to_item_config c;
  c.neighbours = 10;
  c.num_threads = 1;
  recsys::item_to_item one(c);
  one.fit(log);
  REQUIRE(one.neighbours().nonZeros() > 0);
  for (int threads : {2, 3}) {
    INFO("threads " << threads);
    c.num_threads = threads;
    recsys::item_to_item many(c);
    many.fit(log);
    REQUIRE(same_matrix(one.neighbours(), many.neighbours()));
    for (index_t u = 0; u < users; u += 7) {
      const auto s1 = one.seen_items(u), s2 = many.seen_items(u);
      REQUIRE(std::equal(s1.begin(), s1.end(), s2.begin(), s2.end()));
    }
  }
}

// A pair whose weights do not sum to a finite value > 0 is an error, named as before the
// conversion ran in parallel: the first such pair in user order, the left side before the right.
TEST_CASE("item_to_item: a log pair whose weights sum to 0 is reported", "[item_to_item]") {
  recsys::interaction_log log;
  for (int u = 0; u < 300; ++u) log.user_ids.insert(name("u", u));
  for (int i = 0; i < 4; ++i) log.item_ids.insert(name("i", i));
  for (index_t u = 0; u < 300; ++u)
    for (index_t i = 0; i < 4; ++i) log.add_indexed(u, i, 10 * i);
  log.add_indexed(250, 3, 99, recsys::invalid_index, std::numeric_limits<float>::quiet_NaN(), recsys::invalid_index,
                  -1.0f);  // user 250's item 3: 1 - 1 = 0
  log.add_indexed(270, 1, 99, recsys::invalid_index, std::numeric_limits<float>::quiet_NaN(), recsys::invalid_index,
                  -4.0f);  // user 270's item 1: 1 - 4 = -3
  for (int threads : {1, 2}) {
    recsys::item_to_item_config c;
    c.num_threads = threads;
    c.recency_half_life = threads == 2 ? 3600.0 : 0.0;  // the general conversion, and the plain one
    try {
      recsys::item_to_item(c).fit(log);
      FAIL("expected an exception");
    } catch (const recsys::invalid_argument& e) {
      const std::string what = e.what();
      CHECK(what.find("sum to 0 for a user") != std::string::npos);
      CHECK(what.find("(item 3)") != std::string::npos);
    }
  }
}

// =============================================================================================
// Hand-computed values

TEST_CASE("log_likelihood_ratio: hand-computed G^2, stable near independence", "[item_to_item]") {
  using recsys::log_likelihood_ratio;
  // values from the definition 2 sum k ln(k / E), evaluated with 60-digit decimals
  CHECK(log_likelihood_ratio(3, 1, 2, 4) == Approx(1.72609243471068556).epsilon(1e-13));
  CHECK(log_likelihood_ratio(10, 10, 10, 970) == Approx(56.7553794393078613).epsilon(1e-13));
  CHECK(log_likelihood_ratio(1, 0, 0, 1) == Approx(2.77258872223978124).epsilon(1e-13));
  CHECK(log_likelihood_ratio(0, 5, 5, 0) == Approx(13.8629436111989062).epsilon(1e-13));
  CHECK(log_likelihood_ratio(110, 2442, 29, 29418) == Approx(423.022522683302246).epsilon(1e-12));
  CHECK(log_likelihood_ratio(12, 500000, 300000, 1000000000) == Approx(215.280993483900526).epsilon(1e-11));
  // near independence with N ~ 1e7: the entropy form loses ~9 digits here; 1e-9 relative is kept
  CHECK(log_likelihood_ratio(1001, 99000, 99000, 9801000) == Approx(0.000979766899896399955).epsilon(1e-9));
  CHECK(log_likelihood_ratio(5, 0, 0, 0) == 0.0);
  CHECK(log_likelihood_ratio(0, 0, 0, 0) == 0.0);
  CHECK(log_likelihood_ratio(2, 2, 2, 2) == 0.0);                               // exact independence
  CHECK(log_likelihood_ratio(3, 1, 2, 4) == log_likelihood_ratio(4, 2, 1, 3));  // symmetry of the table
  CHECK_THROWS_AS(log_likelihood_ratio(-1, 0, 0, 0), recsys::invalid_argument);
}

TEST_CASE("item_to_item: every score of one pair against hand-computed values", "[item_to_item]") {
  // 10 baskets: A in 4, B in 5, both in 3 (N = 10); a filler item C makes every basket non-empty
  recsys::basket_data b;
  for (const char* name : {"A", "B", "C"}) b.item_ids.insert(name);
  const std::vector<std::vector<index_t>> rows = {{0, 1}, {0, 1}, {0, 1}, {0, 2}, {1, 2}, {1, 2}, {2}, {2}, {2}, {2}};
  for (const auto& r : rows) b.push_basket(r);
  auto neighbour = [&](item_similarity sim, index_t i, index_t j) {
    recsys::item_to_item_config c;
    c.similarity = sim;
    c.min_cooccurrence = 1;
    c.popularity_discount = 0.5;
    recsys::item_to_item m(c);
    m.fit(b);
    return static_cast<double>(m.neighbours().coeff(i, j));
  };
  CHECK(neighbour(item_similarity::count, 0, 1) == 3.0);
  CHECK(neighbour(item_similarity::jaccard, 0, 1) == Approx(0.5));
  CHECK(neighbour(item_similarity::cosine, 0, 1) == Approx(0.670820393249937));
  CHECK(neighbour(item_similarity::lift, 0, 1) == Approx(1.5));
  CHECK(neighbour(item_similarity::lift, 1, 0) == Approx(1.5));
  CHECK(neighbour(item_similarity::pmi, 0, 1) == Approx(0.405465108108164));
  CHECK(neighbour(item_similarity::npmi, 0, 1) == Approx(0.336772646899753));
  CHECK(neighbour(item_similarity::llr, 0, 1) == Approx(1.72609243471068556));  // table (3, 1, 2, 4)
  CHECK(neighbour(item_similarity::confidence, 0, 1) == Approx(0.75));          // P(B | A)
  CHECK(neighbour(item_similarity::confidence, 1, 0) == Approx(0.6));           // P(A | B)
  CHECK(neighbour(item_similarity::sims, 0, 1) == Approx(1.34164078649987));    // 3 / 5^0.5
  CHECK(neighbour(item_similarity::sims, 1, 0) == Approx(1.5));                 // 3 / 4^0.5
  // A and C: A in 4, C in 7, both 1: below independence (E = 2.8): negative LLR, lift < 1
  CHECK(neighbour(item_similarity::lift, 0, 2) == Approx(1.0 * 10 / (4 * 7)));
  CHECK(neighbour(item_similarity::llr, 0, 2) == Approx(-naive_g2(1, 3, 6, 0)));
  CHECK(neighbour(item_similarity::llr, 0, 2) < 0.0);
}

TEST_CASE("item_to_item: the popularity discount moves from count (d = 0) to the lift order (d = 1)",
          "[item_to_item]") {
  // query Q; P is popular (in every basket) and co-occurs with Q 4 times; R is rare (2 baskets), both with Q
  recsys::basket_data b;
  for (const char* name : {"Q", "P", "R"}) b.item_ids.insert(name);
  const std::vector<std::vector<index_t>> rows = {{0, 1, 2}, {0, 1, 2}, {0, 1}, {0, 1}, {1}, {1}, {1}, {1}};
  for (const auto& r : rows) b.push_basket(r);
  auto top = [&](double d) {
    recsys::item_to_item_config c;
    c.similarity = item_similarity::sims;
    c.popularity_discount = d;
    c.min_cooccurrence = 1;
    recsys::item_to_item m(c);
    m.fit(b);
    return m.similar_items(0, 1).ids.at(0);
  };
  CHECK(top(0.0) == 1);  // popular P: count 4 vs 2
  CHECK(top(1.0) == 2);  // R: 2/2 vs 4/8, the lift order
}

// =============================================================================================
// Planted pairs

TEST_CASE("item_to_item: planted co-purchase pairs are recovered at the top", "[item_to_item]") {
  const recsys::synthetic_config cfg = basket_config(300, 8000, 8, recsys::test::seed());
  const recsys::basket_data b = recsys::generate_baskets(cfg);
  const recsys::synthetic_truth truth = recsys::synthetic_ground_truth(cfg);
  REQUIRE(truth.planted_pairs.size() == 8);
  for (item_similarity sim : recsys::all_item_similarities) {
    if (sim == item_similarity::count || sim == item_similarity::bm25) continue;  // popularity-dominated by design
    INFO("similarity " << recsys::to_string(sim));
    recsys::item_to_item_config c;
    c.similarity = sim;
    c.neighbours = 20;
    c.num_threads = 1;
    recsys::item_to_item m(c);
    m.fit(b);
    for (const auto& [a, z] : truth.planted_pairs) {
      INFO("pair " << a << " " << z);
      CHECK(m.similar_items(a, 1).ids.at(0) == z);
      CHECK(m.similar_items(z, 1).ids.at(0) == a);
      const index_t basket[] = {a};
      CHECK(m.frequently_bought_together(basket, 1).ids.at(0) == z);
    }
  }
  // the strongest lift rules are the planted pairs, both directions. Lift inflates rare pairs
  // (cluster-mates seen together in 16 baskets reach lift 20-30 here, like the planted pairs), so
  // the support threshold is one a market-basket analyst would use (the planted pairs have ~0.03);
  // the next rule is far behind (lift ~10 against >= 18)
  recsys::rule_options ro;
  ro.min_support = 0.01;
  ro.max_rules = 2 * truth.planted_pairs.size() + 1;
  const auto rules = recsys::association_rules(b, ro);
  REQUIRE(rules.size() == ro.max_rules);
  for (std::size_t t = 0; t + 1 < rules.size(); ++t)
    CHECK(truth.is_planted_pair(rules[t].antecedent, rules[t].consequent));
  CHECK_FALSE(truth.is_planted_pair(rules.back().antecedent, rules.back().consequent));
  CHECK(rules.back().lift < 0.75 * rules[rules.size() - 2].lift);
}

// =============================================================================================
// Pruning

TEST_CASE("item_to_item: percentile pruning of transactions by length", "[item_to_item]") {
  // basket r holds items 0..r (lengths 1..10); nearest-rank thresholds at 0.2 / 0.8 are 3 / 8
  recsys::basket_data b;
  for (int i = 0; i < 10; ++i) b.item_ids.insert(name("x", i));
  for (index_t r = 0; r < 10; ++r) {
    std::vector<index_t> basket;
    for (index_t i = 0; i <= r; ++i) basket.push_back(i);
    b.push_basket(basket);
  }
  recsys::item_to_item_config c;
  c.similarity = item_similarity::count;
  c.min_cooccurrence = 1;
  c.min_row_length_percentile = 0.2;
  c.max_row_length_percentile = 0.8;
  recsys::item_to_item m(c);
  m.fit(b);
  const auto& s = m.stats();
  CHECK(s.transactions == 10);
  CHECK(s.row_length_low == 3);
  CHECK(s.row_length_high == 8);
  CHECK(s.transactions_short == 2);
  CHECK(s.transactions_long == 2);
  CHECK(s.transactions_mined == 6);
  CHECK(m.neighbours().coeff(0, 1) == 6.0f);  // baskets 2..7
  CHECK(m.neighbours().coeff(0, 7) == 1.0f);  // basket 7 only
  CHECK(row_of(m.neighbours(), 8).empty());   // only in the removed baskets 8, 9
  // a cold item falls back to the popular items (without itself)
  const auto fb = m.similar_items(8, 3);
  REQUIRE(fb.ids == std::vector<index_t>{0, 1, 2});
  CHECK(fb.scores == std::vector<float>{10.0f, 9.0f, 8.0f});  // popularity before pruning
}

TEST_CASE("item_to_item: percentile pruning of items by count, and the minimum co-occurrence", "[item_to_item]") {
  recsys::basket_data b;
  for (int i = 0; i < 10; ++i) b.item_ids.insert(name("x", i));
  for (index_t r = 0; r < 10; ++r) {  // item j is in 10 - j baskets
    std::vector<index_t> basket;
    for (index_t i = 0; i <= r; ++i) basket.push_back(i);
    b.push_basket(basket);
  }
  recsys::item_to_item_config c;
  c.similarity = item_similarity::count;
  c.min_cooccurrence = 1;
  c.min_item_count_percentile = 0.2;
  c.max_item_count_percentile = 0.8;
  recsys::item_to_item m(c);
  m.fit(b);
  const auto& s = m.stats();
  CHECK(s.item_count_low == 3);
  CHECK(s.item_count_high == 8);
  CHECK(s.items_rare == 2);     // items 8, 9
  CHECK(s.items_popular == 2);  // items 0, 1
  CHECK(s.items_mined == 6);
  CHECK(row_of(m.neighbours(), 0).empty());
  CHECK(row_of(m.neighbours(), 9).empty());
  CHECK(m.neighbours().coeff(2, 3) == 7.0f);
  CHECK(m.neighbours().coeff(2, 1) == 0.0f);  // item 1 is pruned: never a neighbour

  // min_cooccurrence = 3: the pair (6, 7) in 3 baskets stays, (7, 8) in 2 does not
  recsys::item_to_item_config c3;
  c3.similarity = item_similarity::count;
  c3.min_cooccurrence = 3;
  recsys::item_to_item m3(c3);
  m3.fit(b);
  CHECK(m3.neighbours().coeff(6, 7) == 3.0f);
  CHECK(m3.neighbours().coeff(7, 8) == 0.0f);
  CHECK(row_of(m3.neighbours(), 8).empty());
  for (const auto& [j, v] : row_of(m3.neighbours(), 0)) CHECK(v >= 3.0f);
}

TEST_CASE("item_to_item: the history cap samples a seeded subset per transaction", "[item_to_item]") {
  recsys::basket_data b;
  for (int i = 0; i < 12; ++i) b.item_ids.insert(name("x", i));
  std::vector<index_t> big(12);
  std::iota(big.begin(), big.end(), 0);
  b.push_basket(big);
  const index_t pair[] = {0, 1};
  b.push_basket(pair);
  std::set<std::vector<index_t>> subsets;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    recsys::item_to_item_config c;
    c.similarity = item_similarity::count;
    c.min_cooccurrence = 1;
    c.max_row_length = 4;
    c.seed = seed;
    recsys::item_to_item m(c);
    m.fit(b);
    CHECK(m.stats().transactions_capped == 1);
    // the big basket contributes a 4-clique; the pair basket adds (0, 1)
    std::vector<index_t> with;
    for (index_t i = 0; i < 12; ++i)
      if (!row_of(m.neighbours(), i).empty()) with.push_back(i);
    std::vector<index_t> clique;
    for (index_t i : with) {
      const auto r = row_of(m.neighbours(), i);
      if (r.size() >= 3) clique.push_back(i);
    }
    CHECK(clique.size() == 4);
    subsets.insert(clique);
    // same seed, another thread count: the same sample
    c.num_threads = 1;
    recsys::item_to_item again(c);
    again.fit(b);
    CHECK(same_matrix(m.neighbours(), again.neighbours()));
  }
  CHECK(subsets.size() > 1);
}

// =============================================================================================
// Determinism

TEST_CASE("item_to_item: identical neighbours for 1 and 2 threads", "[item_to_item]") {
  const auto log = random_log(1500, 300, 30000, recsys::test::seed() + 7);
  for (item_similarity sim : {item_similarity::cosine, item_similarity::llr, item_similarity::bm25}) {
    for (timestamp_t window : {timestamp_t{0}, timestamp_t{86400}}) {
      INFO("similarity " << recsys::to_string(sim) << ", window " << window);
      recsys::item_to_item_config c;
      c.similarity = sim;
      c.neighbours = 20;
      c.max_row_length = 15;
      c.time_window = window;
      c.num_threads = 1;
      recsys::item_to_item one(c);
      one.fit(log);
      c.num_threads = 2;
      recsys::item_to_item two(c);
      two.fit(log);
      REQUIRE(one.neighbours().nonZeros() > 0);
      REQUIRE(same_matrix(one.neighbours(), two.neighbours()));
      CHECK(one.stats().pair_visits == two.stats().pair_visits);
    }
  }
}

// The parallel preparation (matrix conversion, transpose, weighting, norms) and
// the buffered top-K selection against their serial / full-sort references.
TEST_CASE("item_to_item: parallel preparation and top-K selection equal the serial references", "[item_to_item]") {
  namespace d = recsys::detail;
  auto same_incidence = [](const d::incidence& a, const d::incidence& b) {
    return a.cols == b.cols && a.ptr == b.ptr && a.idx == b.idx &&
           std::equal(a.val.begin(), a.val.end(), b.val.begin(), b.val.end(),
                      [](float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; });
  };
  // rows x cols incidences with empty rows, skewed columns and non-integer values
  auto random_incidence = [](std::size_t rows, index_t cols, std::uint32_t max_len, std::uint64_t seed) {
    recsys::rng g(seed, recsys::stream_tag("test.item_to_item.incidence"));
    d::incidence x;
    x.cols = cols;
    std::vector<std::pair<index_t, float>> row;
    for (std::size_t r = 0; r < rows; ++r) {
      row.clear();
      const auto len = g.uniform_index(max_len + 1);
      for (std::uint32_t k = 0; k < len; ++k) {
        const auto a = g.uniform_index(static_cast<std::uint32_t>(cols));
        const auto b = g.uniform_index(static_cast<std::uint32_t>(cols));
        row.emplace_back(static_cast<index_t>(std::min(a, b)), 0.25f + static_cast<float>(g.uniform_index(1000)) / 37.0f);
      }
      x.push_row(row);
    }
    return x;
  };
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    for (const auto& [rows, cols, max_len] : {std::tuple<std::size_t, index_t, std::uint32_t>{3000, 200, 30},
                                               {500, 40, 12},   // more blocks than useful
                                               {7, 300, 3}}) {  // fewer entries than columns: serial
      const d::incidence x = random_incidence(rows, cols, max_len, recsys::test::seed() + seed);
      const d::incidence t = d::transpose(x);
      std::vector<double> inv = x.column_norms();
      for (double& v : inv) v = v > 0.0 ? 1.0 / v : 0.0;
      for (int threads : {1, 2, 3}) {
        INFO("seed " << seed << ", " << rows << " x " << cols << ", threads " << threads);
        recsys::parallel_options po;
        po.num_threads = threads;
        REQUIRE(same_incidence(d::transpose(x, po), t));
        const std::vector<double> inv_par = d::inverse_column_norms(t, po);
        REQUIRE(std::memcmp(inv_par.data(), inv.data(), inv.size() * sizeof(double)) == 0);
        for (auto w : {d::value_weighting::bm25, d::value_weighting::tfidf}) {
          d::incidence serial = x, parallel = x;
          d::apply_weighting(serial, w, 1.2, 0.75);
          d::apply_weighting(parallel, w, 1.2, 0.75, po);
          REQUIRE(same_incidence(parallel, serial));
        }
      }
    }
  }

  // the sum-only product (no pair counts) == the weighted product: same pairs, same sums
  {
    const d::incidence x = random_incidence(2000, 150, 25, recsys::test::seed() + 5);
    REQUIRE(d::sum_only_safe(x, x));
    const d::incidence t = d::transpose(x);
    d::product_input in;
    in.left_t = &t;
    in.right = &x;
    in.left_items = x.cols;
    in.right_items = x.cols;
    using pairs = std::vector<std::vector<std::pair<index_t, float>>>;
    auto collect = [&](pairs& out) {
      out.assign(static_cast<std::size_t>(x.cols), {});
      return [&out](const auto& row, int) {
        auto& o = out[static_cast<std::size_t>(row.item)];
        for (index_t j : row.touched) o.emplace_back(j, static_cast<float>(row.sum(j)));
        std::sort(o.begin(), o.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      };
    };
    pairs weighted, sum_only;
    recsys::parallel_options po;
    po.num_threads = 2;
    const auto v1 = d::cooccurrence_rows<true, false>(in, po, nullptr, collect(weighted));
    const auto v2 = d::cooccurrence_rows<true, false, true>(in, po, nullptr, collect(sum_only));
    CHECK(v1 == v2);
    for (std::size_t i = 0; i < weighted.size(); ++i) {
      REQUIRE(weighted[i].size() == sum_only[i].size());
      for (std::size_t k = 0; k < weighted[i].size(); ++k) {
        REQUIRE(weighted[i][k].first == sum_only[i][k].first);
        REQUIRE(std::memcmp(&weighted[i][k].second, &sum_only[i][k].second, sizeof(float)) == 0);
      }
    }
    d::incidence tiny = x;
    tiny.val[7] = 1e-20f;  // products with it may underflow to 0: not safe
    CHECK_FALSE(d::sum_only_safe(x, tiny));
    tiny.val[7] = 0.0f;
    CHECK_FALSE(d::sum_only_safe(tiny, x));
  }

  // fit(csr_matrix): 1, 2, 3 threads, every score, the drop path (min co-occurrence 3: the
  // transpose compacted in place), the pruning path (popularity counted before pruning); the
  // top K == the first K of all neighbours in ranking order (a full sort), ties included (count
  // scores tie often)
  const auto log = random_log(400, 120, 9000, recsys::test::seed() + 11);
  const recsys::csr_matrix m = matrix_of(log);
  for (item_similarity sim : recsys::all_item_similarities)
    for (bool prune : {false, true}) {
      INFO("similarity " << recsys::to_string(sim) << ", pruning " << prune);
      recsys::item_to_item_config c;
      c.similarity = sim;
      c.min_cooccurrence = 3;
      if (prune) c.max_item_count_percentile = 0.95;
      c.num_threads = 1;
      c.neighbours = 120;
      recsys::item_to_item all(c);
      all.fit(m);
      c.neighbours = 4;  // rows have ~100 candidates: the selection buffer (K + 32) is cut often
      recsys::item_to_item one(c);
      one.fit(m);
      for (int threads : {2, 3}) {
        c.num_threads = threads;
        recsys::item_to_item more(c);
        more.fit(m);
        REQUIRE(same_matrix(one.neighbours(), more.neighbours()));
        REQUIRE(std::equal(one.popularity().begin(), one.popularity().end(), more.popularity().begin()));
        REQUIRE(std::equal(one.popular_items().begin(), one.popular_items().end(), more.popular_items().begin()));
        CHECK(one.stats().pair_visits == more.stats().pair_visits);
      }
      std::size_t cut_rows = 0;
      for (Eigen::Index i = 0; i < m.cols(); ++i) {
        std::vector<std::pair<float, index_t>> full;
        for (recsys::csr_matrix::InnerIterator it(all.neighbours(), i); it; ++it)
          full.emplace_back(it.value(), static_cast<index_t>(it.col()));
        std::sort(full.begin(), full.end(), [](const auto& a, const auto& b) {
          return recsys::ranks_before(a.first, a.second, b.first, b.second);
        });
        cut_rows += full.size() > 36 ? 1 : 0;
        if (full.size() > 4) full.resize(4);
        std::sort(full.begin(), full.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
        std::vector<std::pair<float, index_t>> top;
        for (recsys::csr_matrix::InnerIterator it(one.neighbours(), i); it; ++it)
          top.emplace_back(it.value(), static_cast<index_t>(it.col()));
        REQUIRE(top.size() == full.size());
        for (std::size_t k = 0; k < top.size(); ++k) {
          REQUIRE(top[k].second == full[k].second);
          REQUIRE(std::memcmp(&top[k].first, &full[k].first, sizeof(float)) == 0);
        }
      }
      CHECK(cut_rows > 50);
    }

  // the conversion: an uncompressed matrix, explicit zeros, and rows whose entries are not
  // ascending or repeat a column (summed, as push_row sums them) give what the clean matrix gives
  recsys::csr_matrix clean(4, 6), messy(4, 6);
  const std::vector<std::tuple<int, int, float>> entries = {{0, 1, 1.0f}, {0, 3, 2.0f}, {0, 4, 1.0f}, {1, 1, 1.0f},
                                                            {1, 3, 3.0f}, {2, 3, 1.0f}, {2, 4, 2.0f}, {3, 1, 1.0f},
                                                            {3, 4, 1.0f}, {3, 5, 2.0f}};
  for (const auto& [r, j, v] : entries) clean.insert(r, j) = v;
  clean.makeCompressed();
  messy = clean;
  messy.insert(2, 0) = 0.0f;  // an explicit zero; the matrix is now uncompressed
  REQUIRE(!messy.isCompressed());
  recsys::csr_matrix unsorted = clean;  // row 0: columns 4, 3, 1 and a repeated 3 (1.5 + 0.5)
  unsorted.innerIndexPtr()[0] = 4;
  unsorted.valuePtr()[0] = 1.0f;
  unsorted.innerIndexPtr()[1] = 3;
  unsorted.valuePtr()[1] = 1.5f;
  unsorted.innerIndexPtr()[2] = 3;
  unsorted.valuePtr()[2] = 0.5f;
  recsys::csr_matrix clean_repeat = clean;  // the same with row 0 = {3: 2.0, 4: 1.0}
  clean_repeat.prune([](Eigen::Index r, Eigen::Index j, float) { return !(r == 0 && j == 1); });
  for (int threads : {1, 2}) {
    recsys::item_to_item_config c;
    c.similarity = item_similarity::cosine;
    c.min_cooccurrence = 1;
    c.num_threads = threads;
    recsys::item_to_item a(c), b(c), u(c), v(c);
    a.fit(clean);
    b.fit(messy);
    REQUIRE(same_matrix(a.neighbours(), b.neighbours()));
    REQUIRE(b.seen_items(2).size() == 2);
    u.fit(unsorted);
    v.fit(clean_repeat);
    REQUIRE(same_matrix(u.neighbours(), v.neighbours()));
    REQUIRE(std::vector<index_t>(u.seen_items(0).begin(), u.seen_items(0).end()) == std::vector<index_t>{3, 4});
    // the first bad entry in row order is the one reported, whatever the thread count
    recsys::csr_matrix bad = clean;
    bad.coeffRef(3, 5) = -1.0f;
    bad.coeffRef(1, 3) = std::numeric_limits<float>::infinity();
    try {
      a.fit(bad);
      FAIL("no exception");
    } catch (const recsys::invalid_argument& e) {
      CHECK(std::string(e.what()).find("entry (1, 3)") != std::string::npos);
    }
  }

  // the log conversion's key sort (radix on the item bytes, then repeated items by payload)
  // == std::sort, for short and long rows, every item width, many repeats
  std::vector<std::uint64_t> scratch;
  recsys::rng g(recsys::test::seed() + 21, recsys::stream_tag("test.item_to_item.sort_keys"));
  for (const index_t items : {index_t{3}, index_t{200}, index_t{256}, index_t{257}, index_t{20000},
                              index_t{70000}, index_t{20000000}, std::numeric_limits<index_t>::max()}) {
    const int bytes = d::item_key_bytes(items);
    CHECK((bytes == 4 || (std::int64_t{1} << (8 * bytes)) >= static_cast<std::int64_t>(items)));
    for (std::size_t m : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{40}, std::size_t{300},
                          std::size_t{5000}}) {
      INFO(items << " items, " << m << " keys");
      std::vector<std::uint64_t> k(m);
      const auto distinct = static_cast<std::uint32_t>(std::min<std::int64_t>(items, 1 + static_cast<std::int64_t>(m / 3)));
      std::vector<std::uint32_t> pick(distinct);  // a few items, spread over the whole range
      for (auto& p : pick) p = g.uniform_index(static_cast<std::uint32_t>(items));
      for (auto& key : k)
        key = (std::uint64_t{pick[g.uniform_index(distinct)]} << 32) | g.uniform_index(4);  // repeated payloads too
      std::vector<std::uint64_t> ref = k;
      std::sort(ref.begin(), ref.end());
      d::sort_item_keys(k.data(), k.size(), bytes, scratch);
      REQUIRE(k == ref);
    }
  }
}

TEST_CASE("item_to_item: pair visits count the sparse product's work", "[item_to_item]") {
  recsys::basket_data b;
  for (int i = 0; i < 5; ++i) b.item_ids.insert(name("x", i));
  const std::vector<std::vector<index_t>> rows = {{0, 1, 2}, {1, 2}, {3}, {0, 1, 2, 3, 4}};
  for (const auto& r : rows) b.push_basket(r);
  recsys::item_to_item_config c;
  c.min_cooccurrence = 1;
  recsys::item_to_item m(c);
  m.fit(b);
  CHECK(m.stats().pair_visits == 9 + 4 + 1 + 25);  // sum of squared lengths
}

// =============================================================================================
// Queries and fallbacks

TEST_CASE("item_to_item: similar_items, options and fallbacks", "[item_to_item]") {
  const recsys::synthetic_config cfg = basket_config(60, 3000, 1, recsys::test::seed() + 3);
  const recsys::basket_data b = recsys::generate_baskets(cfg);
  const auto [pa, pz] = recsys::synthetic_ground_truth(cfg).planted_pairs.at(0);
  recsys::item_to_item_config c;
  c.similarity = item_similarity::llr;
  c.neighbours = 10;
  recsys::item_to_item m(c);
  CHECK_THROWS_AS(m.similar_items(0, 3), recsys::invalid_argument);  // not fitted
  m.fit(b);
  CHECK_THROWS_AS(m.similar_items(0, -1), recsys::invalid_argument);
  CHECK(m.similar_items(0, 0).empty());

  const auto r = m.similar_items(pa, 5);
  REQUIRE(r.size() == 5);
  CHECK(r.is_sorted());
  CHECK(r.ids[0] == pz);
  CHECK(std::find(r.ids.begin(), r.ids.end(), pa) == r.ids.end());
  for (std::size_t t = 0; t < r.size(); ++t) CHECK(r.scores[t] == m.neighbours().coeff(pa, r.ids[t]));

  // exclude and include
  const index_t ex[] = {pz};
  recsys::recommend_options o;
  o.exclude = ex;
  const auto r2 = m.similar_items(pa, 5, o);
  CHECK(std::find(r2.ids.begin(), r2.ids.end(), pz) == r2.ids.end());
  CHECK(r2.ids[0] == r.ids[1]);
  const index_t inc[] = {r.ids[3], r.ids[1], 59};
  recsys::recommend_options oi;
  oi.include = inc;
  const auto r3 = m.similar_items(pa, 5, oi);
  CHECK(r3.ids.size() <= 3);
  for (index_t j : r3.ids) CHECK(std::find(std::begin(inc), std::end(inc), j) != std::end(inc));

  // unknown items: the popular items with their popularity
  for (index_t unknown : {index_t{-1}, index_t{60}, index_t{1000000}}) {
    const auto p = m.similar_items(unknown, 4);
    REQUIRE(p.size() == 4);
    for (std::size_t t = 0; t < 4; ++t) {
      CHECK(p.ids[t] == m.popular_items()[t]);
      CHECK(p.scores[t] == m.popularity()[static_cast<std::size_t>(p.ids[t])]);
    }
  }
  // the popular ranking is the basket count, ties by id
  std::vector<float> counts(60, 0.0f);
  for (std::size_t k = 0; k < b.size(); ++k)
    for (index_t i : b.basket(k)) counts[static_cast<std::size_t>(i)] += 1.0f;
  for (std::size_t t = 1; t < 60; ++t)
    CHECK(recsys::ranks_before(counts[static_cast<std::size_t>(m.popular_items()[t - 1])], m.popular_items()[t - 1],
                               counts[static_cast<std::size_t>(m.popular_items()[t])], m.popular_items()[t]));
  // every neighbour excluded: popular items, still without the excluded ones
  std::vector<index_t> all_nb;
  for (const auto& [j, v] : row_of(m.neighbours(), pa)) all_nb.push_back(j);
  recsys::recommend_options oall;
  oall.exclude = all_nb;
  const auto p2 = m.similar_items(pa, 3, oall);
  for (index_t j : p2.ids) {
    CHECK(std::find(all_nb.begin(), all_nb.end(), j) == all_nb.end());
    CHECK(j != pa);
  }

  // frequently bought together for a basket: never a basket item, sums of neighbour scores
  const index_t basket[] = {pa, pz, 5000};
  const auto fbt = m.frequently_bought_together(basket, 6);
  REQUIRE(!fbt.empty());
  CHECK(fbt.is_sorted());
  for (std::size_t t = 0; t < fbt.size(); ++t) {
    CHECK(fbt.ids[t] != pa);
    CHECK(fbt.ids[t] != pz);
    const double want = m.neighbours().coeff(pa, fbt.ids[t]) + m.neighbours().coeff(pz, fbt.ids[t]);
    CHECK(fbt.scores[t] == Approx(want).epsilon(1e-6));
  }
  const index_t unknown_basket[] = {-3, 9999};
  const auto pop = m.frequently_bought_together(unknown_basket, 3);
  CHECK(pop.ids == std::vector<index_t>(m.popular_items().begin(), m.popular_items().begin() + 3));
}

TEST_CASE("item_to_item: item-KNN recommend, score, recency weighting, recommend_for_history", "[item_to_item]") {
  // users 1-5 hold {0, 2}, users 6-10 hold {1, 3}; user 0 viewed item 0 ten days before item 1
  recsys::interaction_log log;
  for (int u = 0; u <= 10; ++u) log.user_ids.insert(name("u", u));
  for (int i = 0; i < 5; ++i) log.item_ids.insert(name("i", i));
  const timestamp_t day = 86400;
  log.add_indexed(0, 0, 0);
  log.add_indexed(0, 1, 10 * day);
  for (index_t u = 1; u <= 5; ++u) {
    log.add_indexed(u, 0, 100);
    log.add_indexed(u, 2, 200);
  }
  for (index_t u = 6; u <= 10; ++u) {
    log.add_indexed(u, 1, 100);
    log.add_indexed(u, 3, 200);
  }
  recsys::item_to_item_config c;
  c.similarity = item_similarity::cosine;
  c.min_cooccurrence = 1;
  recsys::item_to_item flat(c);
  flat.fit(log);
  REQUIRE(flat.num_users() == 11);
  REQUIRE(flat.num_items() == 5);
  const float s02 = flat.neighbours().coeff(0, 2), s13 = flat.neighbours().coeff(1, 3);
  REQUIRE(s02 == Approx(5.0 / std::sqrt(30.0)));
  REQUIRE(s13 == s02);
  auto r = flat.recommend(0, 3);
  REQUIRE(r.ids.size() == 2);                  // 0 and 1 are seen; 4 is nobody's neighbour
  CHECK(r.ids == std::vector<index_t>{2, 3});  // tie broken by id
  recsys::recommend_options keep;
  keep.exclude_seen = false;
  const auto rs = flat.recommend(0, 5, keep);
  CHECK(std::find(rs.ids.begin(), rs.ids.end(), 0) != rs.ids.end());  // 0 is 1's neighbour (user 0)

  c.recency_half_life = day;
  recsys::item_to_item recent(c);
  recent.fit(log);
  r = recent.recommend(0, 3);
  CHECK(r.ids == std::vector<index_t>{3, 2});  // the recent item's neighbour first
  const float w_old = std::exp2(-10.0f);
  CHECK(r.scores[0] == Approx(s13));
  CHECK(r.scores[1] == Approx(w_old * s02));
  const index_t cand[] = {2, 3, 4, 77};
  const auto sc = recent.score(0, cand);
  CHECK(sc[0] == Approx(w_old * s02));
  CHECK(sc[1] == Approx(s13));
  CHECK(sc[2] == 0.0f);
  CHECK(std::isnan(sc[3]));

  // unknown user: popularity, in recommend and score
  const auto up = recent.recommend(99, 2);
  CHECK(up.ids == std::vector<index_t>{0, 1});
  CHECK(up.scores == std::vector<float>{6.0f, 6.0f});
  const auto us = recent.score(-1, cand);
  CHECK(us[0] == 5.0f);
  CHECK(std::isnan(us[3]));

  // live history with explicit weights == the fitted user
  const index_t hist[] = {0, 1};
  const std::vector<float> w = recsys::recency_weights(std::vector<timestamp_t>{0, 10 * day}, 10 * day, double(day));
  CHECK(w[0] == Approx(w_old));
  const auto live = recent.recommend_for_history(hist, w, 3);
  CHECK(live == r);
  const float bad_w[] = {1.0f};
  CHECK_THROWS_AS(recent.recommend_for_history(hist, bad_w, 3), recsys::invalid_argument);
  const index_t nothing[] = {4, -1};
  CHECK(recent.recommend_for_history(nothing, {}, 2).ids == std::vector<index_t>{0, 1});  // popular fallback

  // batch == one by one
  const index_t us_batch[] = {0, 3, 99};
  std::vector<index_t> ids(9);
  std::vector<float> scores(9);
  recent.recommend_batch(us_batch, 3, ids.data(), scores.data(), {}, 2);
  for (std::size_t q = 0; q < 3; ++q) {
    const auto one = recent.recommend(us_batch[q], 3);
    for (std::size_t t = 0; t < 3; ++t) {
      CHECK(ids[q * 3 + t] == (t < one.size() ? one.ids[t] : recsys::invalid_index));
      if (t < one.size()) CHECK(scores[q * 3 + t] == one.scores[t]);
    }
  }
}

TEST_CASE("item_to_item: viewed X also viewed, without what the user bought, and cross-occurrence", "[item_to_item]") {
  recsys::interaction_log log;
  for (int u = 0; u < 8; ++u) log.user_ids.insert(name("u", u));
  for (int i = 0; i < 6; ++i) log.item_ids.insert(name("i", i));
  const index_t view = log.event_type_names.insert("view");
  const index_t buy = log.event_type_names.insert("purchase");
  log.has_event_type = true;
  // users 1-6 view 0, 1 and 2; user 1-4 then buy 3
  for (index_t u = 1; u <= 6; ++u)
    for (index_t i : {0, 1, 2}) log.add_indexed(u, i, 10 * i, view);
  for (index_t u = 1; u <= 4; ++u) log.add_indexed(u, 3, 100, buy);
  log.add_indexed(0, 0, 5, view);
  log.add_indexed(0, 2, 6, buy);  // user 0 bought 2

  recsys::item_to_item_config c;
  c.similarity = item_similarity::count;
  c.min_cooccurrence = 1;
  c.event_types = {"view"};
  c.exclude_event_types = {"purchase"};
  recsys::item_to_item m(c);
  m.fit(log);
  auto r = m.also_viewed(0, 0, 5);
  CHECK(r.ids == std::vector<index_t>{1});  // 2 was bought by user 0
  recsys::recommend_options keep;
  keep.exclude_seen = false;
  CHECK(m.also_viewed(0, 0, 5, keep).ids == std::vector<index_t>{1, 2});
  CHECK(m.also_viewed(99, 0, 5).ids == std::vector<index_t>{1, 2});  // unknown user: no user exclusion
  CHECK(m.similar_items(0, 5).ids == std::vector<index_t>{1, 2});

  // no exclude_event_types: everything the user has seen is excluded
  c.exclude_event_types.clear();
  recsys::item_to_item seen_only(c);
  seen_only.fit(log);
  CHECK(seen_only.also_viewed(3, 0, 5).empty() == false);  // user 3 saw 0,1,2: popular fallback
  for (index_t j : seen_only.also_viewed(3, 0, 5).ids) CHECK((j != 0 && j != 1 && j != 2));

  // cross-occurrence: viewed X -> purchased Y
  recsys::item_to_item_config x;
  x.similarity = item_similarity::llr;
  x.min_cooccurrence = 1;
  x.event_types = {"view"};
  x.cross_event_types = {"purchase"};
  recsys::item_to_item cross(x);
  cross.fit(log);
  const auto y = cross.similar_items(1, 3);
  REQUIRE(!y.empty());
  CHECK(y.ids[0] == 3);
  for (const auto& [j, v] : row_of(cross.neighbours(), 1)) CHECK((j == 3 || j == 2));  // only purchased items
  CHECK(cross.popular_items()[0] == 3);  // popularity of the neighbour side (purchases)
}

// =============================================================================================
// Errors, settings, progress and cancellation

TEST_CASE("item_to_item: invalid inputs throw", "[item_to_item]") {
  recsys::item_to_item m;
  recsys::basket_data empty;
  CHECK_THROWS_AS(m.fit(empty), recsys::invalid_argument);
  CHECK_FALSE(m.is_fitted());

  recsys::basket_data b;
  b.item_ids.insert("a");
  b.item_ids.insert("b");
  const index_t ab[] = {0, 1};
  b.push_basket(ab);
  recsys::item_to_item_config c;
  c.time_window = 3600;
  recsys::item_to_item windowed(c);
  CHECK_THROWS_AS(windowed.fit(b), recsys::invalid_argument);  // baskets have no timestamps
  c = {};
  c.event_types = {"view"};
  CHECK_THROWS_AS(recsys::item_to_item(c).fit(b), recsys::invalid_argument);
  c = {};
  c.neighbours = 0;
  CHECK_THROWS_AS(recsys::item_to_item(c).fit(b), recsys::invalid_argument);
  c = {};
  c.min_item_count_percentile = 0.9;
  c.max_item_count_percentile = 0.5;
  CHECK_THROWS_AS(recsys::item_to_item(c).fit(b), recsys::invalid_argument);

  recsys::basket_data bad = b;
  bad.items[1] = 7;
  CHECK_THROWS_AS(m.fit(bad), recsys::invalid_argument);

  recsys::csr_matrix neg(2, 2);
  neg.insert(0, 1) = -1.0f;
  CHECK_THROWS_AS(m.fit(neg), recsys::invalid_argument);

  auto log = random_log(5, 5, 30, 1);
  recsys::item_to_item_config lc;
  lc.event_types = {"click"};
  try {
    recsys::item_to_item(lc).fit(log);
    FAIL("expected an exception");
  } catch (const recsys::invalid_argument& e) {
    CHECK(std::string(e.what()).find("'click' is not in the log") != std::string::npos);
  }
  lc.event_types = {};
  lc.exclude_event_types = {"refund"};  // absent: allowed
  CHECK_NOTHROW(recsys::item_to_item(lc).fit(log));
}

TEST_CASE("set_param: key=value with validation, aliases, units, and to_params round-trips", "[item_to_item]") {
  recsys::item_to_item_config c;
  recsys::set_param(c, "similarity=llr");
  CHECK(c.similarity == item_similarity::llr);
  recsys::set_param(c, " neighbours = 25 ");
  CHECK(c.neighbours == 25);
  recsys::set_param(c, "min_cointeraction_count=5");
  CHECK(c.min_cooccurrence == 5);
  recsys::set_param(c, "popularity_discount_factor=0.25");
  CHECK(c.popularity_discount == 0.25);
  recsys::set_param(c, "min_user_history_length_percentile=0.005");
  CHECK(c.min_row_length_percentile == 0.005);
  recsys::set_param(c, "max_item_interaction_count_percentile=0.9");
  CHECK(c.max_item_count_percentile == 0.9);
  recsys::set_param(c, "time_window=1d");
  CHECK(c.time_window == 86400);
  recsys::set_param(c, "time_window=90m");
  CHECK(c.time_window == 5400);
  recsys::set_param(c, "time_window=0");
  CHECK(c.time_window == 0);
  recsys::set_param(c, "recency_half_life=12h");
  CHECK(c.recency_half_life == 43200.0);
  recsys::set_param(c, "recency_half_life=1.5");
  CHECK(c.recency_half_life == 1.5);
  recsys::set_param(c, "event_types=view, add-to-cart");
  CHECK(c.event_types == std::vector<std::string>{"view", "add-to-cart"});
  recsys::set_param(c, "event_types=");
  CHECK(c.event_types.empty());
  recsys::set_param(c, "forward_only=yes");
  CHECK(c.forward_only);
  recsys::set_param(c, "min_score=-inf");
  CHECK(std::isinf(c.min_score));
  recsys::set_param(c, "max_history_length", "200");
  CHECK(c.max_row_length == 200);
  recsys::set_param(c, "bm25_k1=100");
  recsys::set_param(c, "bm25_b=0.8");
  recsys::set_param(c, "seed=7");
  recsys::set_param(c, "num_threads=2");
  CHECK(c.seed == 7);
  CHECK_NOTHROW(c.validate());

  const recsys::item_to_item_config before = c;
  auto rejects = [&](const char* s, const char* fragment) {
    INFO(s);
    try {
      recsys::set_param(c, s);
      FAIL("accepted " << s);
    } catch (const recsys::invalid_argument& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
    CHECK(c.neighbours == before.neighbours);
    CHECK(c.time_window == before.time_window);
    CHECK(c.similarity == before.similarity);
  };
  rejects("similarity=cosin", "must be one of count | jaccard");
  rejects("neighbours=0", "must be in [1,");
  rejects("neighbours=ten", "needs an integer");
  rejects("neighbours=5x", "needs an integer");
  rejects("popularity_discount=1.5", "[0, 1]");
  rejects("min_row_length_percentile=-0.1", "[0, 1]");
  rejects("time_window=1.5s", "needs an integer");
  rejects("time_window=-1d", "must be in [1,");
  rejects("time_window=soon", "needs an integer");
  rejects("recency_half_life=-3", ">= 0");
  rejects("forward_only=maybe", "needs true or false");
  rejects("event_types=view,,buy", "empty name");
  rejects("min_score=nan", "finite number");
  rejects("bm25_k1=-1", ">= 0");
  rejects("colour=red", "unknown parameter 'colour'");
  rejects("neighbours", "expected key=value");

  // every listed setting round-trips through to_params, for the defaults, the SIMS preset and c
  CHECK(recsys::to_params(c).size() == recsys::item_to_item_settings().size());
  for (const recsys::item_to_item_config& want :
       {recsys::item_to_item_config{}, recsys::item_to_item_config::sims(), c}) {
    recsys::item_to_item_config got;
    got.event_types = {"stale"};
    for (const auto& [k, v] : recsys::to_params(want)) recsys::set_param(got, k, v);
    CHECK(recsys::to_params(got) == recsys::to_params(want));
    CHECK(got.min_score == want.min_score);
    CHECK(got.event_types == want.event_types);
  }
  CHECK(recsys::item_to_item_config::sims().similarity == item_similarity::sims);
  CHECK_NOTHROW(recsys::item_to_item_config::sims().validate());
  for (item_similarity s : recsys::all_item_similarities)
    CHECK(recsys::parse_item_similarity(recsys::to_string(s)) == s);
  CHECK_THROWS_AS(recsys::parse_item_similarity("cosine "), recsys::invalid_argument);
}

TEST_CASE("recipes: item-knn and sims in the registry", "[item_to_item]") {
  const auto log = random_log(80, 40, 1500, recsys::test::seed() + 5);
  auto knn = recsys::make_model("item-knn", {{"neighbours", "30"}, {"min_cooccurrence", "2"}});
  knn->fit(log);
  recsys::item_to_item_config c;
  c.neighbours = 30;
  c.min_cooccurrence = 2;
  recsys::item_to_item direct(c);
  direct.fit(log);
  CHECK(knn->supports_history());
  CHECK(knn->supports_similar_items());
  for (index_t u = 0; u < 10; ++u) CHECK(knn->recommend(u, 10) == direct.recommend(u, 10));
  CHECK(knn->similar_items(3, 5) == direct.similar_items(3, 5));

  auto sims = recsys::make_model("sims");
  const auto want = recsys::to_params(recsys::item_to_item_config::sims());
  for (const auto& [k, v] : want) {
    INFO(k);
    bool found = false;
    for (const auto& [ek, ev] : sims->params())
      if (ek == k) found = ev == v;
    CHECK(found);
  }
  sims->fit(log);
  recsys::item_to_item direct_sims(recsys::item_to_item_config::sims());
  direct_sims.fit(log);
  CHECK(sims->similar_items(1, 5) == direct_sims.similar_items(1, 5));
  CHECK_THROWS_AS(recsys::make_model("sims", {{"popularity_discount", "2"}}), recsys::invalid_argument);
}

TEST_CASE("item_to_item: progress reports and cancellation keep the previous model", "[item_to_item]") {
  const auto log = random_log(300, 80, 5000, recsys::test::seed() + 11);
  recsys::item_to_item_config c;
  c.min_cooccurrence = 1;
  recsys::item_to_item m(c);
  std::vector<recsys::progress_event> seen;
  recsys::job_control job;
  job.report_interval = 0.0;
  job.progress = [&](const recsys::progress_event& e) { seen.push_back(e); };
  m.fit(log, job);
  REQUIRE(!seen.empty());
  CHECK(seen.back().done == 80);
  CHECK(seen.back().total == 80);
  CHECK(seen.back().stage == "item_to_item: neighbours");
  const recsys::csr_matrix before = m.neighbours();

  // cancel from inside the job, half-way through
  recsys::job_control stop;
  std::atomic<int> calls{0};
  stop.report_interval = 0.0;
  stop.progress = [&](const recsys::progress_event& e) {
    if (e.done >= 40 && calls.fetch_add(1) == 0) stop.cancel.cancel();
  };
  recsys::item_to_item_config c2 = c;
  c2.similarity = item_similarity::lift;
  m.set_config(c2);
  CHECK_THROWS_AS(m.fit(log, stop), recsys::cancelled);
  CHECK(same_matrix(m.neighbours(), before));
  CHECK(m.is_fitted());
  CHECK_THROWS_AS(m.fit(log, stop), recsys::cancelled);  // still cancelled: fails up front
}

// =============================================================================================
// Association rules

TEST_CASE("association_rules: brute force on random baskets, thresholds and order", "[item_to_item]") {
  recsys::basket_data b;
  const int items = 25;
  for (int i = 0; i < items; ++i) b.item_ids.insert(name("x", i));
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.item_to_item.rules"));
  for (int t = 0; t < 400; ++t) {
    std::vector<index_t> basket;
    const int n = static_cast<int>(g.uniform_index(6));  // 0..5 items (empty baskets too)
    for (int k = 0; k < n; ++k)
      basket.push_back(static_cast<index_t>(std::min(g.uniform_index(items), g.uniform_index(items))));
    b.push_basket(basket);
  }
  std::vector<double> n_item(items, 0);
  std::map<std::pair<index_t, index_t>, std::int64_t> both;
  double n = 0;
  for (std::size_t t = 0; t < b.size(); ++t) {
    const auto bk = b.basket(t);
    if (!bk.empty()) n += 1;
    for (index_t i : bk) n_item[static_cast<std::size_t>(i)] += 1;
    for (index_t i : bk)
      for (index_t j : bk)
        if (i != j) ++both[{i, j}];
  }
  for (recsys::rule_order order :
       {recsys::rule_order::lift, recsys::rule_order::confidence, recsys::rule_order::support}) {
    recsys::rule_options o;
    o.min_support = 0.01;
    o.min_confidence = 0.1;
    o.min_lift = 1.1;
    o.order = order;
    const auto rules = recsys::association_rules(b, o);
    std::vector<recsys::association_rule> want;
    for (const auto& [p, c] : both) {
      recsys::association_rule r;
      r.antecedent = p.first;
      r.consequent = p.second;
      r.count = c;
      r.support = static_cast<double>(c) / n;
      r.confidence = static_cast<double>(c) / n_item[static_cast<std::size_t>(p.first)];
      r.lift = static_cast<double>(c) * n /
               (n_item[static_cast<std::size_t>(p.first)] * n_item[static_cast<std::size_t>(p.second)]);
      if (r.support >= o.min_support && r.confidence >= o.min_confidence && r.lift >= o.min_lift) want.push_back(r);
    }
    REQUIRE(rules.size() == want.size());
    REQUIRE(!rules.empty());
    std::set<std::pair<index_t, index_t>> got_pairs;
    for (const auto& r : rules) got_pairs.insert({r.antecedent, r.consequent});
    for (const auto& w : want) CHECK(got_pairs.count({w.antecedent, w.consequent}) == 1);
    for (std::size_t t = 1; t < rules.size(); ++t) {
      const auto& a = rules[t - 1];
      const auto& z = rules[t];
      const double ka = order == recsys::rule_order::lift         ? a.lift
                        : order == recsys::rule_order::confidence ? a.confidence
                                                                  : a.support;
      const double kz = order == recsys::rule_order::lift         ? z.lift
                        : order == recsys::rule_order::confidence ? z.confidence
                                                                  : z.support;
      CHECK(ka >= kz);
    }
    for (const auto& r : rules) {
      const double c = static_cast<double>(both.at({r.antecedent, r.consequent}));
      CHECK(r.count == static_cast<std::int64_t>(c));
      CHECK(r.lift ==
            Approx(c * n /
                   (n_item[static_cast<std::size_t>(r.antecedent)] * n_item[static_cast<std::size_t>(r.consequent)])));
    }
    o.max_rules = 5;
    const auto five = recsys::association_rules(b, o);
    REQUIRE(five.size() == 5);
    CHECK(std::equal(five.begin(), five.end(), rules.begin()));
  }
  // sessions and matrices give the same rules as baskets
  recsys::session_data s;
  s.num_items = items;
  for (std::size_t t = 0; t < b.size(); ++t) s.push_session(b.basket(t), {});
  CHECK(recsys::association_rules(s) == recsys::association_rules(b));
  CHECK(recsys::association_rules(b.to_matrix()) == recsys::association_rules(b));
  recsys::rule_options bad;
  bad.min_support = 2;
  CHECK_THROWS_AS(recsys::association_rules(b, bad), recsys::invalid_argument);
}

TEST_CASE("write_rules_csv: the market-basket table with CSV quoting", "[item_to_item]") {
  recsys::id_map<std::string> names;
  names.insert("whole milk");
  names.insert("cream cheese ");
  names.insert("nuts, salted");
  names.insert("say \"cheese\"");
  std::vector<recsys::association_rule> rules(2);
  rules[0] = {0, 1, 20, 0.02, 0.25, 1.5};
  rules[1] = {2, 3, 3, 0.003, 0.5, 2.0};
  std::ostringstream os;
  recsys::write_rules_csv(os, rules, names);
  CHECK(os.str() ==
        "antecedent,consequent,support,confidence,lift,count\n"
        "whole milk,\"cream cheese \",0.02,0.25,1.5,20\n"
        "\"nuts, salted\",\"say \"\"cheese\"\"\",0.003,0.5,2,3\n");
  rules[1].consequent = 9;
  std::ostringstream bad;
  CHECK_THROWS_AS(recsys::write_rules_csv(bad, rules, names), recsys::invalid_argument);
  const auto dir = recsys::test::scratch_dir("rules_csv");
  CHECK_THROWS_AS(recsys::write_rules_csv((dir / "no" / "such" / "dir.csv").string(), rules, names), recsys::io_error);
}
