// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RECSYS_HPP
#define RECSYS_RECSYS_HPP

/// @file
/// Umbrella header: includes every public component of recsys but one, `io/xtensor.hpp` (the
/// xtensor views of saved arrays): xtensor costs as much to parse as Eigen, so only a unit that
/// uses those views includes it. Header-only, the umbrella parses every definition of the
/// library; in compiled mode (recsys::compiled) only declarations. docs/getting-started.md has
/// the measured cost of both.

#include <recsys/version.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>
#include <recsys/random.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>

// data
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/data/ingest.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/split.hpp>
#include <recsys/data/baskets.hpp>
#include <recsys/data/csv.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/data/synthetic.hpp>

// ranking
#include <recsys/ranking/topk.hpp>

// models
#include <recsys/models/recommender.hpp>
#include <recsys/models/model.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/models/als.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/session_gru.hpp>
#include <recsys/models/session_gru_model.hpp>

// ranking
#include <recsys/ranking/filter_expression.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/ranking/rerank.hpp>
#include <recsys/ranking/pipeline.hpp>

// persistence
#include <recsys/io/npy.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/io/batch.hpp>

// the recipe registry
#include <recsys/recipe.hpp>
#include <recsys/recipes.hpp>

// evaluation
#include <recsys/eval/metrics.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/eval/automl.hpp>
#include <recsys/eval/windows.hpp>
#include <recsys/eval/next_item.hpp>

#endif  // RECSYS_RECSYS_HPP
