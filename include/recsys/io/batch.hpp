// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_IO_BATCH_HPP
#define RECSYS_IO_BATCH_HPP

/// @file
/// Batch inference: what Amazon Personalize's batch inference jobs and batch segment jobs do,
/// for any recsys::model, into a file.
///
/// - batch_recommend: the top-k items for every user of the model (or the listed users) —
///   Personalize's CreateBatchInferenceJob.
/// - batch_segments: for every item (or the listed items) the k users most likely to interact
///   with it — Personalize's Item-Affinity batch segment job (model::recommend_users).
///
/// Output formats:
/// - JSON Lines, Personalize's batch output shape, one line per input:
///   `{"input":{"userId":"u1"},"output":{"recommendedItems":["i7","i2"],"scores":[0.91,0.88]},"error":null}`
///   and for segments
///   `{"input":{"itemId":"i7"},"output":{"recommendedUsers":["u3","u1"],"scores":[2.5,1.75]},"error":null}`
/// - CSV (long format, RFC 4180 quoting): `user_id,rank,item_id,score` (rank from 1) or
///   `item_id,rank,user_id,score`.
/// Scores are written in their shortest form that reads back to the same float.
///
/// How it runs: inputs are processed in blocks (block_size); each block is scored through
/// model::recommend_batch / recommend_users (parallel inside: the top-K kernel for factor
/// models, one task per user otherwise), formatted in parallel and appended to the output, so
/// memory stays bounded by one block whatever the number of users. Progress is reported per
/// block; cancellation is checked between blocks and inside the scoring.
///
/// All-or-nothing: the output is written to a temporary file next to the target
/// (`<out>.tmp-<n>`) and renamed onto the target only when complete. On an error or
/// cancellation the temporary file is removed and an existing target is left untouched — never
/// a half-written output under the target name.
///
/// Unknown ids are normal: a listed user the model does not know gets the recipe's cold-start
/// answer (popular items), as Personalize does, and is counted in batch_report::unknown; a
/// listed item the model does not know gets an empty segment with `"error":"unknown item"`
/// (JSON Lines) or no rows (CSV), also counted.
///
/// @code
///   auto m = recsys::load_model("my-model");
///   recsys::batch_options o;
///   o.k = 25;
///   auto report = recsys::batch_recommend(*m, "recommendations.jsonl", o);   // every user
///   o.format = recsys::batch_format::csv;
///   o.ids = {"i1", "i2"};                                                     // two items
///   recsys::batch_segments(*m, "segments.csv", o);
/// @endcode

#include <recsys/config.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// Output format of the batch jobs.
enum class batch_format {
  jsonl,  ///< JSON Lines in Personalize's batch output shape
  csv,    ///< long CSV: one row per (input, rank)
};

/// "jsonl" / "json" or "csv". @throws recsys::invalid_argument for anything else.
[[nodiscard]] inline batch_format parse_batch_format(std::string_view name) {
  if (name == "jsonl" || name == "json") return batch_format::jsonl;
  if (name == "csv") return batch_format::csv;
  detail::throw_invalid_argument("parse_batch_format", "unknown batch format '", name, "' (jsonl or csv)");
}

/// The format a file name suggests: csv for ".csv", JSON Lines otherwise.
[[nodiscard]] inline batch_format batch_format_for(const std::filesystem::path& file) {
  return file.extension() == ".csv" ? batch_format::csv : batch_format::jsonl;
}

/// Options of batch_recommend / batch_segments.
struct batch_options {
  index_t k = 25;                          ///< results per input (Personalize's numResults default)
  batch_format format = batch_format::jsonl;
  bool exclude_seen = true;                ///< drop what the user had in training (segments: users who had the item)
  std::vector<std::string> ids;            ///< inputs by external id (users / items); empty: all of the model's
  std::int64_t block_size = 4096;          ///< inputs scored and written per block (>= 1)
  int num_threads = 0;                     ///< 0: all cores
};

/// What a batch job did.
struct batch_report {
  std::filesystem::path output;  ///< the file written
  std::int64_t inputs = 0;       ///< users (or items) processed
  std::int64_t unknown = 0;      ///< inputs the model does not know (see the file comment)
  std::int64_t results = 0;      ///< (input, result) pairs written
  std::int64_t bytes = 0;        ///< size of the output
  double seconds = 0;            ///< wall time
};

/// Recommendations for every user the model was trained with (o.ids empty) or for the listed
/// users, written to `out` (see the file comment for formats, blocking and atomicity). Listed
/// users the model does not know get its cold-start answer (popular items) and are counted in
/// batch_report::unknown.
/// @throws recsys::invalid_argument for bad options or an unfitted model; recsys::io_error when
///         the output cannot be written; recsys::cancelled through the job's token. In every
///         case no partial output is left.
template <class = void>
[[nodiscard]] batch_report batch_recommend(const model& m, const std::filesystem::path& out,
                                                  const batch_options& o = {}, const job_control& job = {});

/// User segments (Personalize's Item-Affinity): for every item the model was trained with (o.ids
/// empty) or for the listed items, the k users most likely to interact with it
/// (model::recommend_users), written to `out`. Listed items the model does not know get an
/// empty segment (JSON Lines: "error": "unknown item") and are counted in batch_report::unknown.
/// @throws recsys::invalid_argument when the recipe has no user segments
///         (model::supports_user_segments), for bad options or an unfitted model;
///         recsys::io_error when the output cannot be written; recsys::cancelled. In every case
///         no partial output is left.
template <class = void>
[[nodiscard]] batch_report batch_segments(const model& m, const std::filesystem::path& out,
                                                 const batch_options& o = {}, const job_control& job = {});

/// Reads a batch input file: one id per line, either bare (`alice`) or as Personalize's JSON
/// Lines input (`{"userId": "alice"}`, key `key`); blank lines are skipped.
/// @throws recsys::io_error naming the file and line for a JSON line without a string `key`.
template <class = void>
[[nodiscard]] std::vector<std::string> read_batch_ids(const std::filesystem::path& file, std::string_view key);

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/io/batch-inl.hpp>
#else
namespace recsys {
extern template batch_report batch_recommend<>(const model&, const std::filesystem::path&, const batch_options&,
                                               const job_control&);
extern template batch_report batch_segments<>(const model&, const std::filesystem::path&, const batch_options&,
                                              const job_control&);
extern template std::vector<std::string> read_batch_ids<>(const std::filesystem::path&, std::string_view);
}  // namespace recsys
#endif

#endif  // RECSYS_IO_BATCH_HPP
