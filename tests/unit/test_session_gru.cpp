// SPDX-License-Identifier: Apache-2.0
// Session GRU: gradients against finite differences of a naive C-column implementation of
// GRU4Rec's losses (double precision), the session-parallel schedule, sampling, determinism,
// real-time state, HRNN carry-over, tie modes and the batch evaluation against the real-time path.
#include "recsys_test.hpp"

#include <recsys/detail/session_gru_trainer.hpp>  // the trainer's internals, tested directly
#include <recsys/eval/next_item.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/session_gru.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace recsys;
using recsys::test::Approx;
using dmat = detail::gru_matrix<double>;
using drow = Eigen::RowVectorXd;

namespace {

// ---------------------------------------------------------------------------------------------
// Naive reference: GRU4Rec's step loss written out over all C = B + n_sample columns.

struct naive_spec {
  detail::gru_loss loss = detail::gru_loss::cross_entropy;
  double logq = 0, alpha = 0.5, bpreg = 1.0, elu = 0.5;
  index_t batch_size = 4;
  std::vector<double> support;
};

double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }

drow gru_cell(const detail::gru_layer_weights<double>& w, const drow& gi, const drow& h) {
  const Eigen::Index H = h.size();
  const drow gh = h * w.weight_hh + w.bias_hh;
  drow out(H);
  for (Eigen::Index j = 0; j < H; ++j) {
    const double r = sigm(gi(j) + gh(j));
    const double z = sigm(gi(H + j) + gh(H + j));
    const double n = std::tanh(gi(2 * H + j) + r * gh(2 * H + j));
    out(j) = (1 - z) * n + z * h(j);
  }
  return out;
}

drow embed_row(const detail::gru_network<double>& net, index_t item) {
  return net.input == detail::gru_input::embedding ? drow(net.item_embedding.row(item)) : drow(net.output_weights.row(item));
}

// HRNN rows that start a session: hidden = tanh(c·W_init + b) with c = GRU_user(s, c_old) when
// has_step (s and c_old are constants of the step), else c = c_old.
struct naive_hrnn {
  std::vector<std::uint8_t> first, has_step;
  std::vector<drow> s, c_old;
};

double naive_loss(const detail::gru_network<double>& net, const naive_spec& sp, const std::vector<index_t>& in,
                  const std::vector<index_t>& tg, const std::vector<index_t>& smp, const std::vector<dmat>& hidden,
                  const dmat* embed_mask, const std::vector<const dmat*>& masks, const naive_hrnn* hr = nullptr) {
  const auto B = static_cast<Eigen::Index>(in.size());
  std::vector<drow> out(static_cast<std::size_t>(B));
  for (Eigen::Index b = 0; b < B; ++b) {
    const auto ub = static_cast<std::size_t>(b);
    std::vector<drow> hprev;
    for (std::size_t l = 0; l < net.layers.size(); ++l) hprev.push_back(hidden[l].row(b));
    if (hr && hr->first[ub]) {
      drow c = hr->c_old[ub];
      if (hr->has_step[ub]) c = gru_cell(net.user_gru, hr->s[ub] * net.user_gru.weight_ih + net.user_gru.bias_ih, c);
      for (std::size_t l = 0; l < net.layers.size(); ++l)
        hprev[l] = (c * net.user_init_weights[l] + net.user_init_bias[l]).array().tanh().matrix();
    }
    drow x;
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
      const auto& w = net.layers[l];
      drow gi;
      if (l == 0 && net.input == detail::gru_input::one_hot) {
        gi = w.weight_ih.row(in[ub]) + w.bias_ih;
      } else {
        if (l == 0) {
          x = embed_row(net, in[ub]);
          if (embed_mask) x = x.cwiseProduct(embed_mask->row(b));
        }
        gi = x * w.weight_ih + w.bias_ih;
      }
      drow h = gru_cell(w, gi, hprev[l]);
      if (masks[l]) h = h.cwiseProduct(masks[l]->row(b));
      x = h;
    }
    out[ub] = x;
  }
  std::vector<index_t> Y(tg);
  Y.insert(Y.end(), smp.begin(), smp.end());
  const auto C = static_cast<Eigen::Index>(Y.size());
  double loss = 0;
  for (Eigen::Index b = 0; b < B; ++b) {
    drow o(C);
    for (Eigen::Index j = 0; j < C; ++j) {
      const auto y = Y[static_cast<std::size_t>(j)];
      o(j) = out[static_cast<std::size_t>(b)].dot(net.output_weights.row(y)) + net.output_bias(y);
    }
    if (sp.loss == detail::gru_loss::cross_entropy) {
      if (sp.logq > 0)
        for (Eigen::Index j = 0; j < C; ++j) {
          const double ls = std::log(sp.support[static_cast<std::size_t>(Y[static_cast<std::size_t>(j)])]);
          o(j) -= sp.logq * (j < B ? ls : sp.alpha * ls);
        }
      const double m = o.maxCoeff();
      loss += m + std::log((o.array() - m).exp().sum()) - o(b);
    } else {
      drow r = o;
      if (sp.loss == detail::gru_loss::bpr_max && sp.elu > 0)
        for (Eigen::Index j = 0; j < C; ++j) r(j) = r(j) > 0 ? r(j) : sp.elu * (std::exp(r(j)) - 1);
      double m = -1e300;
      for (Eigen::Index j = 0; j < C; ++j)
        if (j != b) m = std::max(m, r(j));
      double z = 0;
      for (Eigen::Index j = 0; j < C; ++j)
        if (j != b) z += std::exp(r(j) - m);
      double acc1 = 0, acc2 = 0;
      for (Eigen::Index j = 0; j < C; ++j) {
        if (j == b) continue;
        const double s = std::exp(r(j) - m) / z;
        if (sp.loss == detail::gru_loss::bpr_max) {
          acc1 += s * sigm(r(b) - r(j));
          acc2 += s * r(j) * r(j);
        } else {
          acc1 += s * (sigm(r(j) - r(b)) + sigm(r(j) * r(j)));
        }
      }
      loss += sp.loss == detail::gru_loss::bpr_max ? -std::log(acc1 + 1e-24) + sp.bpreg * acc2 : acc1;
    }
  }
  return loss / static_cast<double>(sp.batch_size);
}

// Every array of a network as (name, data, size), in a fixed order (for finite differences).
std::vector<std::tuple<std::string, double*, Eigen::Index>> arrays_of(detail::gru_network<double>& n) {
  std::vector<std::tuple<std::string, double*, Eigen::Index>> out;
  auto add = [&](const std::string& name, auto& m) {
    if (m.size() > 0) out.emplace_back(name, m.data(), m.size());
  };
  add("output_weights", n.output_weights);
  add("output_bias", n.output_bias);
  add("item_embedding", n.item_embedding);
  for (std::size_t l = 0; l < n.layers.size(); ++l) {
    const std::string p = "layer" + std::to_string(l) + ".";
    add(p + "weight_ih", n.layers[l].weight_ih);
    add(p + "weight_hh", n.layers[l].weight_hh);
    add(p + "bias_ih", n.layers[l].bias_ih);
    add(p + "bias_hh", n.layers[l].bias_hh);
  }
  add("user_gru.weight_ih", n.user_gru.weight_ih);
  add("user_gru.weight_hh", n.user_gru.weight_hh);
  add("user_gru.bias_ih", n.user_gru.bias_ih);
  add("user_gru.bias_hh", n.user_gru.bias_hh);
  for (std::size_t l = 0; l < n.user_init_weights.size(); ++l) {
    add("user_init" + std::to_string(l) + ".weight", n.user_init_weights[l]);
    add("user_init" + std::to_string(l) + ".bias", n.user_init_bias[l]);
  }
  return out;
}

struct grad_case {
  detail::gru_input input = detail::gru_input::constrained;
  detail::gru_loss loss = detail::gru_loss::cross_entropy;
  std::vector<Eigen::Index> layers{5};
  double logq = 0, elu = 0.5, dropout_embed = 0, dropout_hidden = 0;
  index_t n_sample = 7;
  bool hrnn = false;
};

// Analytic gradient of one trainer step vs central finite differences of naive_loss.
void check_gradient(const grad_case& gc) {
  const index_t n_items = 11, B = 4;
  const std::uint64_t seed = test::seed();
  auto net = detail::gru_network<double>::make(gc.input, n_items, gc.layers, 4, gc.hrnn ? 3 : 0, seed);
  // Random biases too (they start at zero), so every path is exercised.
  rng r(seed, 7);
  for (auto& [name, data, size] : arrays_of(net))
    for (Eigen::Index i = 0; i < size; ++i) data[i] += 0.3 * (r.uniform_double() - 0.5);
  naive_spec sp;
  sp.loss = gc.loss;
  sp.logq = gc.logq;
  sp.elu = gc.elu;
  sp.batch_size = B + 1;  // one row short of a full batch, as at the end of an epoch
  sp.support.resize(n_items);
  for (index_t i = 0; i < n_items; ++i) sp.support[static_cast<std::size_t>(i)] = 1 + (i * 7) % 5;

  detail::gru_train_options o;
  o.loss = gc.loss;
  o.logq = gc.logq;
  o.sample_alpha = sp.alpha;
  o.bpreg = sp.bpreg;
  o.elu_param = gc.elu;
  o.dropout_embed = gc.dropout_embed;
  o.dropout_hidden = gc.dropout_hidden;
  o.batch_size = sp.batch_size;
  o.n_sample = gc.n_sample;
  o.num_threads = 1;
  o.seed = seed;
  detail::gru_trainer<double> tr(net, o, sp.support);

  // Targets repeat (3 twice), an input is also a target/negative, negatives repeat.
  const std::vector<index_t> in{2, 5, 3, 9}, tg{3, 1, 3, 8};
  std::vector<index_t> smp;
  for (index_t j = 0; j < gc.n_sample; ++j) smp.push_back((j * 5 + 3) % n_items);
  std::vector<std::uint8_t> first(B, 0);
  naive_hrnn hr;
  if (gc.hrnn) {
    // Rows 0 and 1 start a session from a user GRU step, row 2 from a new user, row 3 is mid-session.
    const Eigen::Index U = net.user_hidden();
    hr.first = {1, 1, 1, 0};
    hr.has_step = {1, 1, 0, 0};
    for (Eigen::Index b = 0; b < B; ++b) {
      drow c0(U);
      for (Eigen::Index j = 0; j < U; ++j) c0(j) = r.uniform_double() - 0.5;
      hr.c_old.push_back(c0);
      std::vector<double> cv(c0.data(), c0.data() + U);
      tr.start_row(b, false, invalid_index, cv);
      if (hr.has_step[static_cast<std::size_t>(b)]) {
        // s = the session layers' output after item 6 from the state initialised by c0.
        std::vector<dmat> h0(net.layers.size());
        for (std::size_t l = 0; l < net.layers.size(); ++l) h0[l].resize(1, net.layers[l].hidden());
        dmat c0m = c0;
        detail::gru_init_from_user<double>(net, c0m, h0);
        detail::gru_eval_workspace<double> ws;
        const index_t last[1] = {6};
        detail::gru_step_eval<double>(net, std::span<const index_t>(last, 1), h0, ws);
        hr.s.push_back(h0.back().row(0));
        tr.start_row(b, true, 6);
      } else {
        hr.s.push_back(drow());
      }
    }
    for (Eigen::Index b = 0; b < B; ++b) first[static_cast<std::size_t>(b)] = hr.first[static_cast<std::size_t>(b)];
    for (std::size_t l = 0; l < net.layers.size(); ++l)
      for (Eigen::Index j = 0; j < net.layers[l].hidden(); ++j) tr.hidden[l](3, j) = 0.4 * (r.uniform_double() - 0.5);
  } else {
    for (std::size_t l = 0; l < net.layers.size(); ++l)
      for (Eigen::Index b = 0; b < B; ++b)
        for (Eigen::Index j = 0; j < net.layers[l].hidden(); ++j) tr.hidden[l](b, j) = 0.8 * (r.uniform_double() - 0.5);
  }
  std::vector<dmat> hidden_in;
  for (auto& h : tr.hidden) hidden_in.push_back(h.topRows(B));

  const double loss = tr.forward_backward(in, tg, smp, first, /*step=*/3, /*fuse_update=*/false);
  const auto grad = tr.gradient();
  const dmat* emask = tr.embed_dropout() ? &tr.embed_mask() : nullptr;
  std::vector<const dmat*> masks;
  for (std::size_t l = 0; l < net.layers.size(); ++l) masks.push_back(tr.layer_dropout(l) ? &tr.layer_mask(l) : nullptr);
  const naive_hrnn* hp = gc.hrnn ? &hr : nullptr;

  CHECK(loss == Approx(naive_loss(net, sp, in, tg, smp, hidden_in, emask, masks, hp)).epsilon(1e-10));

  auto g = grad;
  auto params = arrays_of(net);
  auto grads = arrays_of(g);
  REQUIRE(params.size() == grads.size());
  const double h = 1e-6;
  double worst = 0;
  std::string worst_at;
  for (std::size_t a = 0; a < params.size(); ++a) {
    auto& [name, data, size] = params[a];
    const double* gd = std::get<1>(grads[a]);
    for (Eigen::Index i = 0; i < size; ++i) {
      const double keep = data[i];
      data[i] = keep + h;
      const double lp = naive_loss(net, sp, in, tg, smp, hidden_in, emask, masks, hp);
      data[i] = keep - h;
      const double lm = naive_loss(net, sp, in, tg, smp, hidden_in, emask, masks, hp);
      data[i] = keep;
      const double fd = (lp - lm) / (2 * h);
      // Central differences in double are good to ~1e-10 absolute here; relative 1e-5 above that.
      const double err = std::abs(fd - gd[i]) / (1e-9 + 1e-5 * (std::abs(fd) + std::abs(gd[i])));
      if (err > worst) {
        worst = err;
        worst_at = name + "[" + std::to_string(i) + "] fd=" + std::to_string(fd) + " analytic=" + std::to_string(gd[i]);
      }
    }
  }
  INFO("worst error (in units of the tolerance) " << worst << " at " << worst_at);
  CHECK(worst < 1.0);
}

// Small learnable sessions: the next item is (3·i + 1) mod n with probability 0.8.
session_data make_sessions(index_t n_items, std::size_t n_sessions, std::uint64_t seed, index_t n_users = 0) {
  session_data d;
  d.num_items = n_items;
  rng r(seed, stream_tag("test.sessions"));
  timestamp_t t = 0;
  for (std::size_t s = 0; s < n_sessions; ++s) {
    const auto len = 2 + r.uniform_index(5);
    std::vector<index_t> items;
    std::vector<timestamp_t> times;
    index_t it = static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(n_items)));
    for (std::uint32_t j = 0; j < len; ++j) {
      items.push_back(it);
      times.push_back(t++);
      it = r.bernoulli(0.8) ? (3 * it + 1) % n_items : static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(n_items)));
    }
    d.push_session(items, times, n_users > 0 ? static_cast<index_t>(s % static_cast<std::size_t>(n_users)) : invalid_index);
  }
  return d;
}

session_gru_config small_config() {
  session_gru_config c;
  c.layers = {16};
  c.batch_size = 8;
  c.n_sample = 16;
  c.n_epochs = 3;
  c.learning_rate = 0.1;
  c.num_threads = 1;
  c.seed = test::seed();
  return c;
}

bool same_network(const session_gru& a, const session_gru& b) {
  std::vector<std::vector<float>> va, vb;
  a.visit_arrays([&](const std::string&, Eigen::Index r, Eigen::Index c, const float* d) { va.emplace_back(d, d + r * c); });
  b.visit_arrays([&](const std::string&, Eigen::Index r, Eigen::Index c, const float* d) { vb.emplace_back(d, d + r * c); });
  return va == vb;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("GRU cell backward matches finite differences", "[session_gru]") {
  const Eigen::Index B = 3, H = 4;
  rng r(test::seed(), 1);
  auto rnd = [&](Eigen::Index rows, Eigen::Index cols) {
    dmat m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = 2 * r.uniform_double() - 1;
    return m;
  };
  dmat gi = rnd(B, 3 * H), gh = rnd(B, 3 * H), hprev = rnd(B, H), w = rnd(B, H);  // loss = Σ w ⊙ h'
  auto loss = [&](const dmat& gi_, const dmat& gh_, const dmat& hp_) {
    dmat a = gi_, h(B, H);
    detail::gru_gates_forward<double>(a, gh_, hp_, h);
    return (h.array() * w.array()).sum();
  };
  dmat acts = gi, h(B, H), dgi(B, 3 * H), dgh(B, 3 * H);
  detail::gru_gates_forward<double>(acts, gh, hprev, h);
  detail::gru_gates_backward<double>(acts, gh, hprev, w, dgi, dgh);
  // dh_prev (direct part) = w ⊙ z; the rest flows through gh.
  const dmat dhp = w.array() * acts.middleCols(H, H).array();
  const double eps = 1e-6;
  for (auto [m, grad] : {std::pair<dmat*, const dmat*>{&gi, &dgi}, {&gh, &dgh}, {&hprev, &dhp}}) {
    for (Eigen::Index i = 0; i < m->size(); ++i) {
      const double keep = m->data()[i];
      m->data()[i] = keep + eps;
      const double lp = loss(gi, gh, hprev);
      m->data()[i] = keep - eps;
      const double lm = loss(gi, gh, hprev);
      m->data()[i] = keep;
      CHECK(grad->data()[i] == Approx((lp - lm) / (2 * eps)).margin(1e-8).epsilon(1e-6));
    }
  }
}

TEST_CASE("cross-entropy gradients (constrained embedding, logQ, dropout) match finite differences", "[session_gru]") {
  grad_case gc;
  gc.logq = 1.0;
  gc.dropout_hidden = 0.3;
  check_gradient(gc);
  gc.logq = 0;
  gc.dropout_hidden = 0;
  gc.n_sample = 0;  // in-batch negatives only
  check_gradient(gc);
}

TEST_CASE("BPR-max gradients (ELU and linear) match finite differences", "[session_gru]") {
  grad_case gc;
  gc.loss = detail::gru_loss::bpr_max;
  check_gradient(gc);
  gc.elu = 0;
  gc.dropout_hidden = 0.2;
  check_gradient(gc);
}

TEST_CASE("TOP1-max gradients match finite differences", "[session_gru]") {
  grad_case gc;
  gc.loss = detail::gru_loss::top1_max;
  check_gradient(gc);
}

TEST_CASE("gradients with a separate embedding, one-hot input and stacked layers", "[session_gru]") {
  grad_case gc;
  gc.input = detail::gru_input::embedding;
  gc.layers = {5, 3};
  gc.dropout_embed = 0.25;
  gc.dropout_hidden = 0.25;
  gc.logq = 0.5;
  check_gradient(gc);
  gc.input = detail::gru_input::one_hot;
  check_gradient(gc);
  gc.input = detail::gru_input::constrained;
  gc.loss = detail::gru_loss::bpr_max;
  check_gradient(gc);
}

TEST_CASE("HRNN gradients through the session initialisation and the user GRU", "[session_gru]") {
  grad_case gc;
  gc.hrnn = true;
  check_gradient(gc);
  gc.layers = {5, 4};
  gc.loss = detail::gru_loss::bpr_max;
  check_gradient(gc);
}

TEST_CASE("float training path agrees with the double path", "[session_gru]") {
  const index_t n_items = 40, B = 6;
  auto dnet = detail::gru_network<double>::make(detail::gru_input::constrained, n_items, {12}, 0, 0, test::seed());
  auto fnet = dnet.cast<float>();
  std::vector<double> support(n_items);
  for (index_t i = 0; i < n_items; ++i) support[static_cast<std::size_t>(i)] = 1 + i % 9;
  detail::gru_train_options o;
  o.batch_size = B;
  o.n_sample = 50;
  o.logq = 1;
  o.num_threads = 1;
  for (auto loss : {detail::gru_loss::cross_entropy, detail::gru_loss::bpr_max, detail::gru_loss::top1_max}) {
    o.loss = loss;
    o.logq = loss == detail::gru_loss::cross_entropy ? 1.0 : 0.0;
    detail::gru_trainer<double> td(dnet, o, support);
    detail::gru_trainer<float> tf(fnet, o, support);
    const std::vector<index_t> in{1, 2, 3, 4, 5, 6}, tg{7, 8, 9, 7, 1, 30};
    std::vector<index_t> smp;
    for (int j = 0; j < 50; ++j) smp.push_back((j * 13) % n_items);
    const std::vector<std::uint8_t> first(B, 0);
    const double ld = td.forward_backward(in, tg, smp, first, 0);
    const double lf = tf.forward_backward(in, tg, smp, first, 0);
    CHECK(lf == Approx(ld).epsilon(1e-4));
    const auto gd = td.gradient();
    const auto gf = tf.gradient().cast<double>();
    CHECK((gf.output_weights - gd.output_weights).norm() <= 1e-4 * (1e-3 + gd.output_weights.norm()));
    CHECK((gf.layers[0].weight_hh - gd.layers[0].weight_hh).norm() <= 1e-4 * (1e-3 + gd.layers[0].weight_hh.norm()));
  }
}

TEST_CASE("fused updates equal separate updates; steps do not depend on the thread count", "[session_gru]") {
  const index_t n_items = 600;  // > item_block distinct candidates: several blocks per step
  std::vector<double> support(n_items);
  for (index_t i = 0; i < n_items; ++i) support[static_cast<std::size_t>(i)] = 1 + (i * 31) % 17;
  for (auto opt : {detail::gru_optimizer::adagrad, detail::gru_optimizer::adam}) {
    detail::gru_train_options o;
    o.batch_size = 16;
    o.n_sample = 700;
    o.logq = 1;
    o.dropout_hidden = 0.2;
    o.optimizer = opt;
    o.momentum = opt == detail::gru_optimizer::adagrad ? 0.3 : 0.0;
    auto base = detail::gru_network<float>::make(detail::gru_input::constrained, n_items, {24}, 0, 0, 5);
    auto n1 = base, n2 = base, n3 = base;
    o.num_threads = 1;
    detail::gru_trainer<float> t1(n1, o, support), t2(n2, o, support);
    o.num_threads = 2;
    detail::gru_trainer<float> t3(n3, o, support);
    detail::gru_negative_sampler sampler(support, 0.5, o.n_sample, 9, 1);
    std::vector<index_t> in(16), tg(16);
    const std::vector<std::uint8_t> first(16, 0);
    for (std::int64_t step = 0; step < 5; ++step) {
      for (index_t b = 0; b < 16; ++b) {
        in[static_cast<std::size_t>(b)] = static_cast<index_t>((step * 16 + b) * 7 % n_items);
        tg[static_cast<std::size_t>(b)] = static_cast<index_t>((step * 16 + b) * 11 % n_items);
      }
      const auto smp = sampler.samples(step);
      const double l1 = t1.forward_backward(in, tg, smp, first, step, true);
      t1.apply_update();
      const double l2 = t2.forward_backward(in, tg, smp, first, step, false);
      t2.apply_update();
      const double l3 = t3.forward_backward(in, tg, smp, first, step, true);
      t3.apply_update();
      CHECK(l1 == l2);
      CHECK(l1 == l3);
    }
    CHECK(n1.output_weights == n2.output_weights);
    CHECK(n1.output_bias == n2.output_bias);
    CHECK(n1.layers[0].weight_hh == n2.layers[0].weight_hh);
    CHECK(n1.output_weights == n3.output_weights);
    CHECK(n1.layers[0].weight_ih == n3.layers[0].weight_ih);
  }
}

TEST_CASE("session-parallel schedule follows GRU4Rec's iterator", "[session_gru]") {
  session_data d;
  const std::vector<std::vector<index_t>> sessions{{1, 2, 3}, {4, 5}, {6, 7, 8, 9}, {10, 11}, {12}, {13, 14}};
  for (const auto& s : sessions) d.push_session(s, {});
  d.num_items = 15;
  // Non-HRNN training groups: the sessions with 2+ events.
  std::vector<std::int64_t> off{0};
  std::vector<index_t> ses;
  for (std::size_t s = 0; s < d.size(); ++s)
    if (d.length(s) >= 2) {
      ses.push_back(static_cast<index_t>(s));
      off.push_back(static_cast<std::int64_t>(ses.size()));
    }
  detail::gru_row_walker w(d, off, ses, 2);
  CHECK(w.pairs() == 2 + 1 + 3 + 1 + 1);
  struct recorder {
    std::vector<std::pair<Eigen::Index, bool>> starts;
    std::vector<std::size_t> kept;
    int compactions = 0;
    void start(Eigen::Index row, std::int64_t, bool same, index_t) { starts.emplace_back(row, same); }
    void group_end(Eigen::Index, std::int64_t, index_t) {}
    void compact(std::span<const Eigen::Index> keep) {
      ++compactions;
      kept.assign(keep.begin(), keep.end());
    }
  } rec;
  w.begin(rec);
  REQUIRE(rec.starts.size() == 2);
  std::vector<std::vector<index_t>> ins, tgs;
  std::vector<std::vector<std::uint8_t>> firsts;
  std::vector<index_t> in, tg;
  std::vector<std::uint8_t> fi;
  while (w.rows() > 0) {
    w.fill(in, tg, fi);
    ins.push_back(in);
    tgs.push_back(tg);
    firsts.push_back(fi);
    w.advance(rec);
  }
  // Rows: 0 walks {1,2,3} then {10,11} then {13,14}; 1 walks {4,5} then {6,7,8,9}.
  CHECK(ins == std::vector<std::vector<index_t>>{{1, 4}, {2, 6}, {10, 7}, {13, 8}});
  CHECK(tgs == std::vector<std::vector<index_t>>{{2, 5}, {3, 7}, {11, 8}, {14, 9}});
  CHECK(firsts == std::vector<std::vector<std::uint8_t>>{{1, 1}, {0, 1}, {1, 0}, {1, 0}});
  // Session starts: rows 0,1 at the beginning, row 1 after step 1, row 0 after steps 2 and 3.
  CHECK(rec.starts == std::vector<std::pair<Eigen::Index, bool>>{{0, false}, {1, false}, {1, false}, {0, false}, {0, false}});
  CHECK(rec.compactions == 1);
  CHECK(rec.kept.empty());
}

TEST_CASE("HRNN walker carries a user across sessions and reports group ends", "[session_gru]") {
  session_data d;
  d.push_session(std::vector<index_t>{1, 2}, {}, 0);
  d.push_session(std::vector<index_t>{3, 4, 5}, {}, 1);
  d.push_session(std::vector<index_t>{6}, {}, 0);  // one event: no pair, but part of user 0's history
  d.push_session(std::vector<index_t>{7, 8}, {}, 0);
  d.num_items = 9;
  // Groups: user 0 = sessions {0, 2, 3}, user 1 = {1}.
  detail::gru_row_walker w(d, {0, 3, 4}, {0, 2, 3, 1}, 1);
  struct recorder {
    std::vector<std::tuple<std::int64_t, bool, index_t>> starts;
    std::vector<std::pair<std::int64_t, index_t>> ends;
    void start(Eigen::Index, std::int64_t g, bool same, index_t prev) { starts.emplace_back(g, same, prev); }
    void group_end(Eigen::Index, std::int64_t g, index_t last) { ends.emplace_back(g, last); }
    void compact(std::span<const Eigen::Index>) {}
  } rec;
  std::vector<index_t> in, tg;
  std::vector<std::uint8_t> fi;
  std::vector<index_t> all_in;
  w.begin(rec);
  while (w.rows() > 0) {
    w.fill(in, tg, fi);
    all_in.push_back(in[0]);
    w.advance(rec);
  }
  CHECK(all_in == std::vector<index_t>{1, 7, 3, 4});
  using start = std::tuple<std::int64_t, bool, index_t>;
  CHECK(rec.starts == std::vector<start>{{0, false, invalid_index}, {0, true, 2}, {0, true, 6}, {1, false, invalid_index}});
  CHECK(rec.ends == std::vector<std::pair<std::int64_t, index_t>>{{0, 8}, {1, 5}});
}

TEST_CASE("negatives follow support^alpha and do not depend on threads or buffering", "[session_gru]") {
  const std::vector<double> support{1, 4, 9, 0, 16, 25};
  const double alpha = 0.5;
  detail::gru_negative_sampler a(support, alpha, 1000, 3, 1, 7), b(support, alpha, 1000, 3, 2, 64);
  std::vector<double> counts(support.size(), 0);
  std::vector<index_t> direct(1000);
  for (std::int64_t step = 0; step < 200; ++step) {
    const auto sa = a.samples(step);
    const auto sb = b.samples(step);
    REQUIRE(std::equal(sa.begin(), sa.end(), sb.begin(), sb.end()));
    a.draw(step, direct.data());
    REQUIRE(std::equal(sa.begin(), sa.end(), direct.begin()));
    for (index_t i : sa) counts[static_cast<std::size_t>(i)] += 1;
  }
  double total_w = 0;
  for (double s : support) total_w += std::pow(s, alpha);
  const double n = 200 * 1000;
  for (std::size_t i = 0; i < support.size(); ++i) {
    const double p = std::pow(support[i], alpha) / total_w;
    const double sd = std::sqrt(n * p * (1 - p));
    INFO("item " << i << " expected " << n * p << " got " << counts[i]);
    CHECK(std::abs(counts[i] - n * p) <= 5 * sd + 1e-9);
  }
  CHECK(counts[3] == 0);  // never-seen items are never negatives
}

TEST_CASE("set_param parses GRU4Rec names, aliases and checks values", "[session_gru]") {
  session_gru_config c;
  set_param(c, "loss=bpr-max");
  CHECK(c.loss == session_gru_loss::bpr_max);
  set_param(c, "layers", "100/50");
  CHECK(c.layers == std::vector<index_t>{100, 50});
  set_param(c, "layers=[64, 32]");
  CHECK(c.layers == std::vector<index_t>{64, 32});
  set_param(c, "hidden=80");
  CHECK(c.layers == std::vector<index_t>{80, 80});
  set_param(c, " dropout_embed = 0.25 ");
  CHECK(c.dropout_p_embed == 0.25);
  set_param(c, "dropout_p_hidden=0.4");
  CHECK(c.dropout_p_hidden == 0.4);
  set_param(c, "epochs=7");
  CHECK(c.n_epochs == 7);
  set_param(c, "constrained_embedding=False");
  CHECK(!c.constrained_embedding);
  set_param(c, "embedding=layersize");
  CHECK(c.embedding == 80);
  set_param(c, "optimizer=adam");
  CHECK(c.optimizer == session_gru_optimizer::adam);
  set_param(c, "seed=18446744073709551615");
  CHECK(c.seed == 18446744073709551615ULL);

  CHECK_THROWS_AS(set_param(c, "n_layers=2"), invalid_argument);
  try {
    set_param(c, "n_layers=2");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()).find("known: loss, layers") != std::string::npos);
  }
  CHECK_THROWS_AS(set_param(c, "batch_size=3x"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "batch_size=0"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "dropout_p_hidden=1"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "learning_rate=-0.1"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "learning_rate=nan"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "loss=mse"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "constrained_embedding=maybe"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "layers=100//50"), invalid_argument);
  CHECK_THROWS_AS(set_param(c, "no_equals_sign"), invalid_argument);

  // params() round-trips through set_param.
  session_gru_config a = gru4rec_rsc15_config();
  a.hrnn = true;
  a.user_hidden = 20;
  a.layers = {100, 60};
  session_gru_config b;
  for (const auto& [k, v] : params(a)) set_param(b, k, v);
  CHECK(params(a) == params(b));
  CHECK(b.layers == a.layers);
  CHECK(b.learning_rate == a.learning_rate);

  // Combinations are checked by validate().
  session_gru_config bad = gru4rec_rsc15_config();
  bad.embedding = 50;  // with constrained_embedding
  CHECK_THROWS_AS(bad.validate(), invalid_argument);
  bad = gru4rec_rsc15_config();
  bad.loss = session_gru_loss::bpr_max;  // logq = 1 is cross-entropy only
  CHECK_THROWS_AS(bad.validate(), invalid_argument);
  bad = gru4rec_rsc15_config();
  bad.optimizer = session_gru_optimizer::adam;  // momentum = 0.2 is Adagrad only
  CHECK_THROWS_AS(bad.validate(), invalid_argument);
  CHECK_NOTHROW(gru4rec_rsc15_config().validate());
}

TEST_CASE("fit is deterministic for a seed and for any thread count", "[session_gru]") {
  const auto train = make_sessions(60, 300, test::seed());
  auto cfg = small_config();
  cfg.dropout_p_hidden = 0.2;
  cfg.logq = 1;
  session_gru a(cfg), b(cfg);
  a.fit(train);
  b.fit(train);
  CHECK(same_network(a, b));
  cfg.num_threads = 2;
  session_gru c(cfg);
  c.fit(train);
  CHECK(same_network(a, c));
  cfg.seed += 1;
  session_gru d(cfg);
  d.fit(train);
  CHECK(!same_network(a, d));
}

TEST_CASE("training learns the transitions and reports progress", "[session_gru]") {
  const auto train = make_sessions(60, 600, test::seed());
  const auto test_set = make_sessions(60, 150, test::seed() + 1);
  auto cfg = small_config();
  cfg.n_epochs = 6;
  cfg.progress_every = 10;
  int reports = 0;
  double last_loss = std::numeric_limits<double>::quiet_NaN();
  std::vector<progress_event> events;
  job_control job;
  job.report_interval = 0;
  job.progress = [&](const progress_event& e) {
    ++reports;
    if (e.metric_name == "loss") last_loss = e.metric;
    events.push_back(e);
  };
  session_gru m(cfg);
  m.fit(train, job);
  CHECK(reports > 0);
  CHECK(std::isfinite(last_loss));
  // One stage over all epochs (a display draws one bar per fit): done only grows, the step
  // follows the epoch, and the last report is the whole fit done.
  for (std::size_t k = 0; k < events.size(); ++k) {
    CHECK(events[k].stage == "session_gru: fit");
    CHECK(events[k].steps == 6);
    CHECK(events[k].total == events.front().total);
    if (k > 0) CHECK(events[k].done >= events[k - 1].done);
    if (k > 0) CHECK(events[k].step >= events[k - 1].step);
  }
  CHECK(events.back().step == 5);
  CHECK(events.back().done == events.back().total);
  REQUIRE(m.training_log().size() == 6);
  CHECK(m.training_log().back().loss < m.training_log().front().loss);
  CHECK(m.training_log().front().predictions == static_cast<std::int64_t>(train.num_events() - train.size()));
  // The learnable transition (3i+1) mod n holds 80% of the time: Recall@1 well above chance.
  const auto r = evaluate_next_item(m, test_set);
  CHECK(r.recall_at(1) > 0.5);
  const auto known = keep_known_items(test_set, [&](index_t i) { return m.knows_item(i); });
  CHECK(r.predictions == static_cast<std::int64_t>(known.num_events() - known.size()));

  for (auto loss : {session_gru_loss::bpr_max, session_gru_loss::top1_max}) {
    auto c2 = cfg;
    c2.loss = loss;
    session_gru m2(c2);
    m2.fit(train);
    CHECK(evaluate_next_item(m2, test_set).recall_at(5) > 0.5);
  }
  auto c3 = cfg;
  c3.optimizer = session_gru_optimizer::adam;
  c3.learning_rate = 0.01;
  c3.constrained_embedding = false;
  c3.embedding = 12;
  session_gru m3(c3);
  m3.fit(train);
  CHECK(evaluate_next_item(m3, test_set).recall_at(5) > 0.5);
}

TEST_CASE("real-time state: events one at a time, exclusions, resets", "[session_gru]") {
  auto train = make_sessions(50, 300, test::seed());
  train.num_items = 52;  // items 50 and 51 never occur in training
  session_gru m(small_config());
  m.fit(train);
  CHECK(m.num_items() == 52);
  CHECK(!m.knows_item(50));
  CHECK(m.knows_item(7));

  auto s = m.start_session();
  CHECK(!m.put_event(s, 50));   // unknown: ignored
  CHECK(!m.put_event(s, -3));
  CHECK(!m.put_event(s, 999));
  CHECK(s.empty());
  CHECK(m.put_event(s, 7));
  CHECK(m.put_event(s, 22));
  CHECK(s.items().size() == 2);

  recommend_options keep;
  keep.exclude_seen = false;
  const auto all = m.scores(s);
  const std::vector<score_t> all_copy(all.begin(), all.end());
  auto top = m.recommend(s, 100, keep);
  index_t known = 0;
  for (index_t i = 0; i < 52; ++i) known += m.knows_item(i) ? 1 : 0;
  CHECK(top.size() == static_cast<std::size_t>(known));  // every known item, never the two unknown ones
  CHECK(top.is_sorted());
  for (std::size_t j = 0; j < top.size(); ++j) CHECK(top.scores[j] == all_copy[static_cast<std::size_t>(top.ids[j])]);
  CHECK(std::isnan(all_copy[50]));

  auto top5 = m.recommend(s, 5);  // exclude_seen = true by default: 7 and 22 are dropped
  CHECK(top5.size() == 5);
  for (index_t i : top5.ids) CHECK((i != 7 && i != 22));
  const std::vector<index_t> only{3, 7, 9, 50};
  recommend_options inc = keep;
  inc.include = only;
  auto topi = m.recommend(s, 10, inc);
  CHECK(topi.size() == 3);  // 50 is unknown
  for (std::size_t j = 0; j < topi.size(); ++j)
    CHECK(topi.scores[j] == Approx(all_copy[static_cast<std::size_t>(topi.ids[j])]).epsilon(1e-5));
  const std::vector<index_t> ex{top.ids[0]};
  recommend_options exo = keep;
  exo.exclude = ex;
  CHECK(m.recommend(s, 1, exo).ids[0] == top.ids[1]);
  CHECK(m.recommend(s, 0).empty());
  CHECK_THROWS_AS(m.recommend(s, -1), invalid_argument);

  // recommend_for_history replays the same events.
  const std::vector<index_t> hist{7, 22};
  CHECK(m.recommend_for_history(hist, {}, 10, keep) == m.recommend(s, 10, keep));
  static_assert(history_recommender<session_gru>);

  // States are independent; a new session starts from zero.
  auto fresh = m.start_session();
  auto other = m.start_session();
  m.put_event(other, 13);
  const auto h0 = fresh.hidden(0);
  CHECK(std::all_of(h0.begin(), h0.end(), [](score_t v) { return v == 0; }));
  const auto bias_scores = m.scores(fresh);
  for (index_t i = 0; i < 50; ++i)
    if (m.knows_item(i)) CHECK(bias_scores[static_cast<std::size_t>(i)] == m.network().output_bias(i));
  auto next = m.next_session(s);
  CHECK(next.empty());
  const auto hn = next.hidden(0);
  CHECK(std::all_of(hn.begin(), hn.end(), [](score_t v) { return v == 0; }));

  // A state belongs to its model.
  session_gru m2(small_config());
  m2.fit(train);
  CHECK_THROWS_AS(m2.put_event(s, 7), invalid_argument);
  session_gru unfitted;
  CHECK_THROWS_AS(unfitted.start_session(), invalid_argument);
}

TEST_CASE("batch evaluation equals the real-time path for every prediction", "[session_gru]") {
  const auto train = make_sessions(40, 400, test::seed());
  auto cfg = small_config();
  cfg.layers = {12, 8};
  session_gru m(cfg);
  m.fit(train);
  // > 512 sessions: two chunks, and rows refilled within a chunk.
  const auto test_set = keep_known_items(make_sessions(40, 700, test::seed() + 2), [&](index_t i) { return m.knows_item(i); });
  std::map<std::pair<std::size_t, std::size_t>, std::vector<score_t>> batch;
  std::map<std::pair<std::size_t, std::size_t>, index_t> targets;
  for (std::size_t c = 0; c < m.next_item_chunks(test_set); ++c)
    m.score_next_items(test_set, c, [&](const next_item_prediction& p) {
      batch[{p.session, p.position}] = std::vector<score_t>(p.scores.begin(), p.scores.end());
      targets[{p.session, p.position}] = p.target;
    });
  CHECK(m.next_item_chunks(test_set) == 2);
  REQUIRE(batch.size() == test_set.num_events() - test_set.size());
  next_item_accumulator naive(std::vector<index_t>{1, 5, 20});
  for (std::size_t s = 0; s < test_set.size(); ++s) {
    auto st = m.start_session();
    const auto items = test_set.session(s);
    for (std::size_t j = 0; j + 1 < items.size(); ++j) {
      m.put_event(st, items[j]);
      const auto sc = m.scores(st);
      const auto& b = batch.at({s, j});
      CHECK(targets.at({s, j}) == items[j + 1]);
      for (std::size_t i = 0; i < sc.size(); ++i) REQUIRE(b[i] == Approx(sc[i]).margin(1e-5));
      naive.add(next_item_rank(sc, items[j + 1], tie_mode::conservative));
    }
  }
  next_item_options o;
  o.cutoffs = {1, 5, 20};
  const auto r = evaluate_next_item(m, test_set, o);
  const auto n = naive.finish(tie_mode::conservative);
  CHECK(r.predictions == n.predictions);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(r.recall[k] == Approx(n.recall[k]).margin(2.0 / static_cast<double>(n.predictions)));
    CHECK(r.mrr[k] == Approx(n.mrr[k]).margin(2.0 / static_cast<double>(n.predictions)));
  }
  o.num_threads = 2;
  const auto r2 = evaluate_next_item(m, test_set, o);
  CHECK(r2.recall == r.recall);
  CHECK(r2.mrr == r.mrr);
}

namespace {
// A scorer with fixed scores {1, 1, 0.5, -} for every prediction; item 3 is unknown.
struct fixed_scorer {
  index_t num_items() const { return 4; }
  bool knows_item(index_t i) const { return i != 3; }
  std::size_t next_item_chunks(const session_data&) const { return 1; }
  void score_next_items(const session_data& test, std::size_t, const next_item_sink& sink) const {
    const std::vector<score_t> s{1.0f, 1.0f, 0.5f, std::numeric_limits<score_t>::quiet_NaN()};
    for (std::size_t q = 0; q < test.size(); ++q) {
      const auto items = test.session(q);
      for (std::size_t j = 0; j + 1 < items.size(); ++j) sink(next_item_prediction{q, j, items[j + 1], s});
    }
  }
};
}  // namespace

TEST_CASE("tie modes rank like GRU4Rec on constructed scores", "[session_gru][eval]") {
  const std::vector<score_t> s{0.5f, 0.9f, 0.5f, 0.5f, 0.1f};
  CHECK(next_item_rank(s, 0, tie_mode::standard) == 2);      // one greater
  CHECK(next_item_rank(s, 0, tie_mode::conservative) == 4);  // one greater + three equal (itself included)
  CHECK(next_item_rank(s, 0, tie_mode::median) == 3);        // 1 + 1 + (3 - 1) / 2
  CHECK(next_item_rank(s, 1, tie_mode::conservative) == 1);
  CHECK(next_item_rank(s, 4, tie_mode::median) == 5);
  CHECK_THROWS_AS(next_item_rank(s, 5, tie_mode::standard), invalid_argument);
  const std::vector<score_t> with_nan{std::numeric_limits<score_t>::quiet_NaN(), 0.2f, 0.1f};
  CHECK(next_item_rank(with_nan, 1, tie_mode::conservative) == 1);  // NaN scores never outrank
  CHECK(next_item_rank(with_nan, 0, tie_mode::standard) == 3);      // a NaN target ranks last

  session_data test;
  test.push_session(std::vector<index_t>{0, 1, 2}, {});
  test.push_session(std::vector<index_t>{3, 0}, {});     // 3 dropped -> one event -> session dropped
  test.push_session(std::vector<index_t>{1, 3, 2}, {});  // 3 dropped -> {1, 2}
  test.num_items = 4;
  // Predictions: target 1 (tied with item 0 at 1.0), target 2 (two above), target 2.
  next_item_options o;
  o.cutoffs = {1, 2, 3};
  o.ties = tie_mode::standard;
  auto r = evaluate_next_item(fixed_scorer{}, test, o);
  CHECK(r.predictions == 3);
  CHECK(r.sessions == 2);
  CHECK(r.events_dropped == 2);
  CHECK(r.sessions_dropped == 1);
  CHECK(r.recall_at(1) == Approx(1.0 / 3));
  CHECK(r.mrr_at(1) == Approx(1.0 / 3));
  CHECK(r.recall_at(3) == Approx(1.0));
  CHECK(r.mrr_at(3) == Approx((1.0 + 1.0 / 3 + 1.0 / 3) / 3));
  o.ties = tie_mode::conservative;
  r = evaluate_next_item(fixed_scorer{}, test, o);
  CHECK(r.recall_at(1) == Approx(0.0));
  CHECK(r.recall_at(2) == Approx(1.0 / 3));
  CHECK(r.mrr_at(2) == Approx(0.5 / 3));
  CHECK(r.mrr_at(3) == Approx((0.5 + 1.0 / 3 + 1.0 / 3) / 3));
  o.ties = tie_mode::median;
  r = evaluate_next_item(fixed_scorer{}, test, o);
  CHECK(r.recall_at(1) == Approx(0.0));
  CHECK(r.mrr_at(2) == Approx((1.0 / 1.5) / 3));
  const auto named = r.named();
  CHECK(named.front().first == "recall@1");
  CHECK(named.back().first == "mrr@3");
  CHECK_THROWS_AS(r.recall_at(20), invalid_argument);
  o.cutoffs = {};
  CHECK_THROWS_AS(evaluate_next_item(fixed_scorer{}, test, o), invalid_argument);
}

TEST_CASE("HRNN: the user state carries across sessions and helps when users differ", "[session_gru][hrnn]") {
  // 4 user groups; a session is [a, 10 + 10·g + a]: the second item depends on the user's group,
  // which only the user's earlier sessions reveal.
  const index_t users = 80, per_user = 10, train_sessions = 8;
  session_data train, test_set;
  train.num_items = test_set.num_items = 50;
  rng r(test::seed(), stream_tag("test.hrnn"));
  timestamp_t t = 0;
  for (index_t k = 0; k < per_user; ++k)
    for (index_t u = 0; u < users; ++u) {
      const index_t g = u % 4;
      const auto a = static_cast<index_t>(r.uniform_index(10));
      const std::vector<index_t> items{a, 10 + 10 * g + a};
      const std::vector<timestamp_t> times{t, t + 1};
      t += 2;
      (k < train_sessions ? train : test_set).push_session(items, times, u);
    }
  auto cfg = small_config();
  cfg.layers = {24};
  cfg.batch_size = 16;
  cfg.n_sample = 0;
  cfg.n_epochs = 30;
  cfg.learning_rate = 0.1;
  cfg.momentum = 0.3;
  auto hcfg = cfg;
  hcfg.hrnn = true;
  session_gru plain(cfg), hrnn(hcfg);
  plain.fit(train);
  hrnn.fit(train);
  CHECK(hrnn.num_users() == users);
  CHECK(hrnn.user_states().rows() == users);
  const double p1 = evaluate_next_item(plain, test_set).recall_at(1);
  const double h1 = evaluate_next_item(hrnn, test_set).recall_at(1);
  INFO("plain Recall@1 " << p1 << ", HRNN Recall@1 " << h1);
  CHECK(p1 < 0.4);  // without the user, 4 groups are indistinguishable
  CHECK(h1 > p1 + 0.3);

  // A known user's session starts from tanh(c_u·W_init + b); an anonymous one from tanh(b).
  const auto& net = hrnn.network();
  auto su = hrnn.start_session(3);
  auto sa = hrnn.start_session();
  const Eigen::RowVectorXf hu = (hrnn.user_states().row(3) * net.user_init_weights[0] + net.user_init_bias[0]).array().tanh();
  const Eigen::RowVectorXf ha = net.user_init_bias[0].array().tanh();
  for (Eigen::Index j = 0; j < hu.size(); ++j) {
    CHECK(su.hidden(0)[static_cast<std::size_t>(j)] == Approx(hu(j)).margin(1e-6));
    CHECK(sa.hidden(0)[static_cast<std::size_t>(j)] == Approx(ha(j)).margin(1e-6));
  }
  // next_session advances the user state with the finished session's representation.
  hrnn.put_event(su, 4);
  hrnn.put_event(su, 34);
  auto s2 = hrnn.next_session(su);
  detail::gru_matrix<float> c = hrnn.user_states().row(3);
  detail::gru_eval_workspace<float> ws;
  ws.reserve(net, 1);
  detail::gru_matrix<float> last(1, net.last_hidden());
  for (Eigen::Index j = 0; j < last.cols(); ++j) last(0, j) = su.hidden(0)[static_cast<std::size_t>(j)];
  detail::gru_layer_step_eval<float>(net.user_gru, last, c, ws, false);
  REQUIRE(s2.user_state().size() == static_cast<std::size_t>(c.cols()));
  for (Eigen::Index j = 0; j < c.cols(); ++j) CHECK(s2.user_state()[static_cast<std::size_t>(j)] == Approx(c(0, j)).margin(1e-6));
  CHECK(s2.user() == 3);
  auto s3 = hrnn.start_session_from_user_state(s2.user_state(), 3);
  CHECK(std::equal(s3.hidden(0).begin(), s3.hidden(0).end(), s2.hidden(0).begin()));
  CHECK_THROWS_AS(plain.start_session_from_user_state(s2.user_state()), invalid_argument);

  // hrnn without users is a configuration error.
  session_data anon = make_sessions(20, 50, 1);
  session_gru bad(hcfg);
  CHECK_THROWS_AS(bad.fit(anon), invalid_argument);
}

TEST_CASE("cancellation keeps the last completed epoch", "[session_gru]") {
  const auto train = make_sessions(50, 400, test::seed());
  auto cfg = small_config();
  cfg.n_epochs = 3;
  cancellation_token stop;
  job_control job;
  job.cancel = stop;
  job.report_interval = 0;
  job.progress = [&](const progress_event& e) {
    if (e.step == 1 && e.done > 100) stop.cancel();
  };
  session_gru m(cfg);
  CHECK_THROWS_AS(m.fit(train, job), cancelled);
  CHECK(m.is_fitted());
  CHECK(m.training_log().size() == 1);
  auto one = cfg;
  one.n_epochs = 1;
  session_gru ref(one);
  ref.fit(train);
  CHECK(same_network(m, ref));

  // Cancelled before any epoch completed: an unfitted model stays unfitted.
  stop.reset();
  job.progress = [&](const progress_event& e) {
    if (e.done > 10) stop.cancel();
  };
  session_gru fresh(cfg);
  CHECK_THROWS_AS(fresh.fit(train, job), cancelled);
  CHECK(!fresh.is_fitted());
}

TEST_CASE("fit rejects bad input; numerical failures are reported", "[session_gru]") {
  session_data none;
  none.push_session(std::vector<index_t>{1}, {});
  none.push_session(std::vector<index_t>{2}, {});
  none.num_items = 3;
  session_gru m(small_config());
  CHECK_THROWS_AS(m.fit(none), invalid_argument);
  session_data bad_item = make_sessions(10, 20, 1);
  bad_item.items[3] = 10;  // num_items is 10
  CHECK_THROWS_AS(m.fit(bad_item), invalid_argument);
  auto cfg = small_config();
  cfg.batch_size = 0;
  session_gru m2(cfg);
  CHECK_THROWS_AS(m2.fit(make_sessions(10, 20, 1)), invalid_argument);
  auto huge = small_config();
  huge.loss = session_gru_loss::bpr_max;
  huge.elu_param = 0;
  huge.bpreg = 0;
  huge.learning_rate = 1e30;
  session_gru m3(huge);
  CHECK_THROWS_AS(m3.fit(make_sessions(30, 200, 2)), numerical_error);
}

TEST_CASE("a model rebuilt from its exported arrays answers identically", "[session_gru]") {
  const auto train = make_sessions(40, 300, test::seed(), 12);
  for (bool hr : {false, true}) {
    auto cfg = small_config();
    cfg.hrnn = hr;
    session_gru m(cfg);
    m.fit(train);
    std::vector<std::string> names;
    m.visit_arrays([&](const std::string& n, Eigen::Index, Eigen::Index, const float*) { names.push_back(n); });
    CHECK(names.front() == "output_weights");
    CHECK((std::find(names.begin(), names.end(), "user_states") != names.end()) == hr);
    session_gru copy(cfg, m.network(), m.item_support(), m.user_states());
    CHECK(same_network(m, copy));
    auto a = m.start_session(2), b = copy.start_session(2);
    for (index_t i : {3, 9, 27}) {
      m.put_event(a, i);
      copy.put_event(b, i);
    }
    CHECK(m.recommend(a, 10) == copy.recommend(b, 10));
    auto broken = m.network();
    broken.output_bias.resize(5);
    CHECK_THROWS_AS(session_gru(cfg, broken, m.item_support(), m.user_states()), invalid_argument);
    auto other = cfg;
    other.hrnn = !hr;
    CHECK_THROWS_AS(session_gru(other, m.network(), m.item_support(), m.user_states()), invalid_argument);
  }
}

TEST_CASE("save and load through the model store round-trip every configuration", "[session_gru][io]") {
  const auto train = make_sessions(40, 300, test::seed(), 12);
  const auto dir = test::scratch_dir("session_gru_store");
  struct variant {
    bool hrnn;
    bool constrained;
    index_t embedding;
    std::vector<index_t> layers;
  };
  const std::vector<variant> variants = {
      {false, true, 0, {16}}, {true, true, 0, {16}}, {false, false, 8, {16, 12}}, {false, false, 0, {12}}};
  for (const auto& v : variants) {
    auto cfg = small_config();
    cfg.hrnn = v.hrnn;
    cfg.constrained_embedding = v.constrained;
    cfg.embedding = v.embedding;
    cfg.layers = v.layers;
    cfg.n_epochs = 1;
    session_gru m(cfg);
    m.fit(train);
    const auto path = dir / "model";
    {
      model_writer w(path, "gru4rec");
      m.save(w);
      w.commit();
    }
    const session_gru back = session_gru::load(model_reader(path, "gru4rec"));
    INFO("hrnn " << v.hrnn << " constrained " << v.constrained << " embedding " << v.embedding << " layers "
                 << v.layers.size());
    CHECK(same_network(m, back));
    CHECK(back.item_support() == m.item_support());
    CHECK(params(back.config()) == params(m.config()));
    CHECK(back.num_users() == m.num_users());
    auto a = m.start_session(3), b = back.start_session(3);
    for (index_t i : {5, 16, 7}) {
      m.put_event(a, i);
      back.put_event(b, i);
    }
    const auto ra = m.recommend(a, 10), rb = back.recommend(b, 10);
    CHECK(ra == rb);
    CHECK(ra.scores == rb.scores);
  }
  // A damaged directory is an io_error naming the file, never a crash or a silently wrong model.
  {
    auto cfg = small_config();
    session_gru m(cfg);
    m.fit(train);
    const auto path = dir / "broken";
    model_writer w(path, "gru4rec");
    m.save(w);
    w.commit();
    std::filesystem::remove(path / "layer0_weight_hh.npy");
    CHECK_THROWS_AS(session_gru::load(model_reader(path, "gru4rec")), io_error);
    model_writer w2(path, "gru4rec");
    m.save(w2);
    w2.set_params({{"layers", "24"}});  // arrays of a 16-unit layer under a 24-unit configuration
    w2.commit();
    try {
      (void)session_gru::load(model_reader(path, "gru4rec"));
      FAIL("no error for mismatched shapes");
    } catch (const io_error& e) {
      CHECK(std::string(e.what()).find("output_weights.npy") != std::string::npos);
    }
    CHECK_THROWS_AS(model_reader(path, "bpr"), io_error);
    session_gru unfitted(cfg);
    model_writer w3(dir / "never", "gru4rec");
    CHECK_THROWS_AS(unfitted.save(w3), invalid_argument);
  }
  std::filesystem::remove_all(dir);
}
