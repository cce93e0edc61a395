// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_LOSS_HPP
#define RECSYS_DETAIL_SESSION_GRU_LOSS_HPP

/// @file
/// Internal: the output layer of the session GRU's training step (members of gru_trainer,
/// declared in session_gru_train_step.hpp): the step's candidate items, their scores, the loss
/// (cross-entropy with logQ, BPR-max, TOP1-max) and its gradient down to the last layer's output.
///
/// Candidate items repeat within a mini-batch (popular items are drawn many times). The step
/// works on the distinct candidates: a softmax over the C = B + n_sample sampled columns equals
/// a softmax over the distinct items where item u carries the log-weight
/// log(m_t·e^{-shift_t} + m_s·e^{-shift_s}) (m_t, m_s: how often u appears among the targets and
/// the negatives; shift: the logQ correction); BPR-max and TOP1-max weight the negatives by
/// their multiplicity likewise, minus the masked positive column. This is exact (the tests check
/// the gradient against a naive C-column implementation) and shrinks every GEMM of the output
/// layer to the distinct candidates.

#include <recsys/detail/session_gru_train_step.hpp>
#include <recsys/parallel.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

namespace recsys::detail {

// ---------------------------------------------------------------------------------------------
// Candidates: the batch's targets, then the negatives, each distinct item once

template <class Scalar>
void gru_trainer<Scalar>::next_generation() {
  if (++gen_ == 0) {  // wrapped: clear the marks once every 2^32 steps
    std::fill(mark_.begin(), mark_.end(), 0);
    std::fill(in_mark_.begin(), in_mark_.end(), 0);
    gen_ = 1;
  }
}

template <class Scalar>
Eigen::Index gru_trainer<Scalar>::slot_of(index_t item) {
  const auto i = static_cast<std::size_t>(item);
  if (mark_[i] != gen_) {
    mark_[i] = gen_;
    slot_[i] = static_cast<std::int32_t>(U_);
    uniq_[static_cast<std::size_t>(U_)] = item;
    if (U_ < max_uc_) {
      mt_[static_cast<std::size_t>(U_)] = 0;
      ms_[static_cast<std::size_t>(U_)] = 0;
    }
    ++U_;
  }
  return slot_[i];
}

template <class Scalar>
void gru_trainer<Scalar>::build_candidates(std::span<const index_t> inputs, std::span<const index_t> targets,
                                           std::span<const index_t> samples) {
  next_generation();
  U_ = 0;
  for (Eigen::Index b = 0; b < B_; ++b) {
    const Eigen::Index s = slot_of(targets[static_cast<std::size_t>(b)]);
    ++mt_[static_cast<std::size_t>(s)];
    pos_slot_[static_cast<std::size_t>(b)] = s;
  }
  for (index_t v : samples) ++ms_[static_cast<std::size_t>(slot_of(v))];
  uc_ = U_;
  // Per distinct candidate: the log-weight of its columns in the softmax.
  const bool xe = opt_.loss == gru_loss::cross_entropy;
  const double lq = xe ? opt_.logq : 0.0;
  for (Eigen::Index u = 0; u < uc_; ++u) {
    const double mt = mt_[static_cast<std::size_t>(u)], ms = ms_[static_cast<std::size_t>(u)];
    if (lq > 0) {
      const double ls = log_support_[static_cast<std::size_t>(uniq_[static_cast<std::size_t>(u)])];
      logw_(u) = static_cast<Scalar>(std::log(mt * std::exp(-lq * ls) + ms * std::exp(-lq * opt_.sample_alpha * ls)));
    } else {
      logw_(u) = static_cast<Scalar>(std::log(mt + ms));
    }
  }
  for (Eigen::Index b = 0; b < B_; ++b)
    pos_shift_(b) = lq > 0 ? static_cast<Scalar>(lq * log_support_[static_cast<std::size_t>(targets[static_cast<std::size_t>(b)])]) : Scalar(0);
  // Input rows: with constrained embedding they are rows of the output table too.
  input_slots_.clear();
  if (net_->input == gru_input::constrained) {
    std::fill(is_input_.begin(), is_input_.begin() + uc_, 0);
    for (Eigen::Index b = 0; b < B_; ++b) {
      const Eigen::Index u = slot_of(inputs[static_cast<std::size_t>(b)]);
      x_slot_[static_cast<std::size_t>(b)] = u;
      if (u < uc_ && !is_input_[static_cast<std::size_t>(u)]) {
        is_input_[static_cast<std::size_t>(u)] = 1;
        input_slots_.push_back(u);
      }
    }
  } else {
    std::fill(is_input_.begin(), is_input_.begin() + uc_, 0);
    n_in_ = 0;
    for (Eigen::Index b = 0; b < B_; ++b) {
      const auto i = static_cast<std::size_t>(inputs[static_cast<std::size_t>(b)]);
      if (in_mark_[i] != gen_) {
        in_mark_[i] = gen_;
        in_slot_[i] = static_cast<std::int32_t>(n_in_);
        in_uniq_[static_cast<std::size_t>(n_in_)] = inputs[static_cast<std::size_t>(b)];
        ++n_in_;
      }
      x_slot_[static_cast<std::size_t>(b)] = in_slot_[i];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scores, loss, and its backward to hd of the last layer

template <class Scalar>
double gru_trainer<Scalar>::output_layer() {
  const Eigen::Index nblocks = (uc_ + item_block - 1) / item_block;
  const auto hd = cache_[L_ - 1].hd.topRows(B_);
  const parallel_options par{opt_.num_threads, 1, 2};
  const bool xe = opt_.loss == gru_loss::cross_entropy;
  const bool bpr = opt_.loss == gru_loss::bpr_max;
  const Scalar ninf = -std::numeric_limits<Scalar>::infinity();
  const auto elu_a = static_cast<Scalar>(opt_.elu_param);
  const bool elu = bpr && opt_.elu_param > 0;

  // Phase A: scores of the distinct candidates and per-block softmax partials.
  parallel_for(0, nblocks, par, [&](std::int64_t k) {
    const Eigen::Index u0 = k * item_block, n = std::min<Eigen::Index>(uc_ - u0, item_block);
    for (Eigen::Index u = u0; u < u0 + n; ++u) {
      const index_t item = uniq_[static_cast<std::size_t>(u)];
      wg_.row(u) = net_->output_weights.row(item);
      bg_(u) = net_->output_bias(item);
    }
    auto st = st_block(u0, n);
    auto p = p_block(u0, n);
    st.noalias() = wg_.middleRows(u0, n) * hd.transpose();
    for (Eigen::Index i = 0; i < n; ++i) {
      auto s = st.row(i).array();
      s += bg_(u0 + i);
      if (elu) s = (s > Scalar(0)).select(s, elu_a * (s.exp() - Scalar(1)));
      p.row(i).array() = s + logw_(u0 + i);
    }
    if (!xe) {  // the positive column itself is not a negative
      for (Eigen::Index b = 0; b < B_; ++b) {
        const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
        if (u < u0 || u >= u0 + n) continue;
        const double m = static_cast<double>(mt_[static_cast<std::size_t>(u)]) + ms_[static_cast<std::size_t>(u)];
        p(u - u0, b) = m > 1 ? p(u - u0, b) + static_cast<Scalar>(std::log((m - 1) / m)) : ninf;
      }
    }
    auto mk = stat_m_.row(k).head(B_).array();
    mk = p.row(0).array();
    for (Eigen::Index i = 1; i < n; ++i) mk = mk.max(p.row(i).array());
    for (Eigen::Index b = 0; b < B_; ++b)
      if (!(mk(b) > ninf)) mk(b) = Scalar(0);  // no negative of this row in the block
    auto zk = stat_z_.row(k).head(B_).array();
    zk.setZero();
    for (Eigen::Index i = 0; i < n; ++i) {
      auto q = p.row(i).array();
      q = (q - mk).exp();
      zk += q;
    }
  });
  // Combine the blocks in order.
  for (Eigen::Index b = 0; b < B_; ++b) {
    Scalar m = ninf;
    for (Eigen::Index k = 0; k < nblocks; ++k)
      if (stat_z_(k, b) > Scalar(0)) m = std::max(m, stat_m_(k, b));
    Scalar z = 0;
    for (Eigen::Index k = 0; k < nblocks; ++k)
      if (stat_z_(k, b) > Scalar(0)) z += stat_z_(k, b) * std::exp(stat_m_(k, b) - m);
    row_m_(b) = m;
    row_z_(b) = z;
    rpos_(b) = st_(pos_slot_[static_cast<std::size_t>(b)], b);
  }
  // Per block and column: the factor turning p into softmax probabilities.
  for (Eigen::Index k = 0; k < nblocks; ++k)
    for (Eigen::Index b = 0; b < B_; ++b)
      stat_a_(k, b) = stat_z_(k, b) > Scalar(0) ? std::exp(stat_m_(k, b) - row_m_(b)) / row_z_(b) : Scalar(0);

  double loss = 0;
  if (xe) {
    for (Eigen::Index b = 0; b < B_; ++b) {
      const Scalar lse = row_m_(b) + std::log(row_z_(b));
      row_loss_(b) = lse - (rpos_(b) - pos_shift_(b));
      loss += static_cast<double>(row_loss_(b));
    }
  } else {
    // Phase A2: per-row sums over the negatives that need the positive's score.
    parallel_for(0, nblocks, par, [&](std::int64_t k) {
      const Eigen::Index u0 = k * item_block, n = std::min<Eigen::Index>(uc_ - u0, item_block);
      auto st = st_block(u0, n);
      auto p = p_block(u0, n);
      const auto ak = stat_a_.row(k).head(B_).array();
      const auto rp = rpos_.head(B_).array();
      auto sa = stat_z_.row(k).head(B_).array();  // reused: A (BPR-max) / the loss (TOP1-max)
      auto sr = stat_r_.row(k).head(B_).array();
      auto sq = stat_q_.row(k).head(B_).array();
      auto t1 = scratch(k, 0);
      sa.setZero();
      sr.setZero();
      sq.setZero();
      for (Eigen::Index i = 0; i < n; ++i) {
        auto s = p.row(i).array();
        const auto r = st.row(i).array();
        s *= ak;  // softmax weights
        if (bpr) {
          t1 = (rp - r).logistic();
          sa += s * t1;
          sr += s * r.square();
          sq += s * t1 * (Scalar(1) - t1);
        } else {
          t1 = (r - rp).logistic();
          sa += s * (t1 + r.square().logistic());
          sq += s * t1 * (Scalar(1) - t1);
        }
      }
    });
    for (Eigen::Index b = 0; b < B_; ++b) {
      Scalar a = 0, r2 = 0, q = 0;
      for (Eigen::Index k = 0; k < nblocks; ++k) {
        a += stat_z_(k, b);
        q += stat_q_(k, b);
        r2 += stat_r_(k, b);
      }
      row_a_(b) = a;
      row_r_(b) = r2;
      row_q_(b) = q;
      row_loss_(b) = bpr ? -std::log(a + Scalar(1e-24)) + static_cast<Scalar>(opt_.bpreg) * r2 : a;
      loss += static_cast<double>(row_loss_(b));
    }
  }
  loss *= static_cast<double>(inv_bs_);

  // Phase C: gradient of the scores, the GEMMs of the backward pass, and (when fused) the
  // optimiser update of the block's output rows that are not also input rows of this step.
  parallel_for(0, nblocks, par, [&](std::int64_t k) {
    const Eigen::Index u0 = k * item_block, n = std::min<Eigen::Index>(uc_ - u0, item_block);
    auto st = st_block(u0, n);
    auto p = p_block(u0, n);
    const auto ak = stat_a_.row(k).head(B_).array();
    if (xe) {
      auto f = scratch(k, 0);
      f = ak * inv_bs_;
      for (Eigen::Index i = 0; i < n; ++i) p.row(i).array() *= f;
      for (Eigen::Index b = 0; b < B_; ++b) {
        const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
        if (u >= u0 && u < u0 + n) p(u - u0, b) -= inv_bs_;
      }
    } else {
      const auto rp = rpos_.head(B_).array();
      auto t1 = scratch(k, 0);
      auto t2 = scratch(k, 1);
      if (bpr) {
        // dL/dr = -(s/A)(σ − A − σ(1−σ)) + λ s (r² − R2 + 2r),  σ = σ(r_pos − r)
        auto inv_a = scratch(k, 2);
        inv_a = (row_a_.head(B_).array() + Scalar(1e-24)).inverse();
        const auto lam = static_cast<Scalar>(opt_.bpreg);
        const auto R2 = row_r_.head(B_).array();
        for (Eigen::Index i = 0; i < n; ++i) {
          auto s = p.row(i).array();
          const auto r = st.row(i).array();
          t1 = (rp - r).logistic();
          t2 = -(s * (t1 - t1 * (Scalar(1) - t1))) * inv_a + s + lam * s * (r.square() + Scalar(2) * r - R2);
          if (elu) t2 *= (r > Scalar(0)).select(Scalar(1), r + elu_a);
          s = t2 * inv_bs_;
        }
        for (Eigen::Index b = 0; b < B_; ++b) {
          const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
          if (u < u0 || u >= u0 + n) continue;
          Scalar d = -row_q_(b) / (row_a_(b) + Scalar(1e-24));
          if (elu) d *= st(u - u0, b) > Scalar(0) ? Scalar(1) : st(u - u0, b) + elu_a;
          p(u - u0, b) += d * inv_bs_;
        }
      } else {
        // dL/dr = s (T − L) + s (τ(1−τ) + 2 r κ(1−κ)),  τ = σ(r − r_pos), κ = σ(r²)
        const auto Lr = row_a_.head(B_).array();
        for (Eigen::Index i = 0; i < n; ++i) {
          auto s = p.row(i).array();
          const auto r = st.row(i).array();
          t1 = (r - rp).logistic();
          t2 = r.square().logistic();
          s = (s * (t1 + t2 - Lr + t1 * (Scalar(1) - t1) + Scalar(2) * r * t2 * (Scalar(1) - t2))) * inv_bs_;
        }
        for (Eigen::Index b = 0; b < B_; ++b) {
          const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
          if (u >= u0 && u < u0 + n) p(u - u0, b) -= row_q_(b) * inv_bs_;
        }
      }
    }
    g_.middleRows(u0, n).noalias() = p * hd;
    for (Eigen::Index i = 0; i < n; ++i) gb_(u0 + i) = p.row(i).sum();
    dhd_parts_[static_cast<std::size_t>(k)].topRows(B_).noalias() = p.transpose() * wg_.middleRows(u0, n);
    if (fused_) update_output_rows(u0, u0 + n, true);
  });
  auto dhd = cache_[L_ - 1].dhd.topRows(B_);
  dhd = dhd_parts_[0].topRows(B_);
  for (Eigen::Index k = 1; k < nblocks; ++k) dhd += dhd_parts_[static_cast<std::size_t>(k)].topRows(B_);
  return loss;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_LOSS_HPP
