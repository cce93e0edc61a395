// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_NEXT_ITEM_SCORER_HPP
#define RECSYS_MODELS_NEXT_ITEM_SCORER_HPP

/// @file
/// What a session model implements so that next-item evaluation (eval/next_item.hpp) can rank
/// its predictions: the recsys::next_item_scorer concept, and the predictions it hands over
/// (recsys::next_item_prediction, through a recsys::next_item_sink). recsys::session_gru is one.

#include <recsys/data/sessions.hpp>
#include <recsys/types.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <span>

namespace recsys {

/// One prediction of a next-item evaluation.
struct next_item_prediction {
  std::size_t session = 0;            ///< index of the session in the (filtered) test set
  std::size_t position = 0;           ///< the event at this position predicts the one after it
  index_t target = invalid_index;     ///< the next item
  std::span<const score_t> scores;    ///< scores of all items (index = item); NaN for unknown items
};

/// Receives the predictions of a model, one at a time.
using next_item_sink = std::function<void(const next_item_prediction&)>;

/// A model that scores next items for test sessions in independent, fixed chunks of work:
/// next_item_chunks(test) chunks, and score_next_items(test, chunk, sink) calls sink for every
/// prediction of that chunk (const and thread-safe; sessions of one chunk may interleave).
/// knows_item(i) says whether the model can use item i (GRU4Rec drops test events with items
/// unseen in training).
template <class M>
concept next_item_scorer = requires(const M& m, const session_data& test, std::size_t chunk,
                                    const next_item_sink& sink, index_t item) {
  { m.num_items() } -> std::convertible_to<index_t>;
  { m.knows_item(item) } -> std::convertible_to<bool>;
  { m.next_item_chunks(test) } -> std::convertible_to<std::size_t>;
  m.score_next_items(test, chunk, sink);
};

}  // namespace recsys

#endif  // RECSYS_MODELS_NEXT_ITEM_SCORER_HPP
