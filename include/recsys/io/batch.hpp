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

#include <recsys/detail/csv_tokenizer.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/npy.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/recipes.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
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

namespace detail {

/// A file written under a temporary name and renamed onto the target by commit(); removed by
/// the destructor otherwise.
class atomic_output {
 public:
  explicit atomic_output(std::filesystem::path target) : target_(std::move(target)) {
    RECSYS_REQUIRE(!target_.empty(), "batch", "empty output path");
    static std::atomic<unsigned> counter{0};
    tmp_ = target_;
    tmp_ += ".tmp-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
            std::to_string(counter++);
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw io_error(tmp_.string(), "cannot open for writing (does the directory exist and is it writable?)");
  }
  atomic_output(const atomic_output&) = delete;
  atomic_output& operator=(const atomic_output&) = delete;
  ~atomic_output() {
    if (committed_) return;
    out_.close();
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }

  void write(std::string_view bytes) {
    out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out_) throw io_error(tmp_.string(), "write failed (disk full?)");
    bytes_ += static_cast<std::int64_t>(bytes.size());
  }

  /// Flushes, closes and renames onto the target.
  void commit() {
    out_.flush();
    out_.close();
    if (!out_) throw io_error(tmp_.string(), "write failed (disk full?)");
    std::error_code ec;
    std::filesystem::rename(tmp_, target_, ec);
    if (ec) throw io_error(target_.string(), "cannot move the finished output into place: " + ec.message());
    committed_ = true;
  }

  [[nodiscard]] std::int64_t bytes() const noexcept { return bytes_; }

 private:
  std::filesystem::path target_, tmp_;
  std::ofstream out_;
  std::int64_t bytes_ = 0;
  bool committed_ = false;
};

inline void append_json_string(std::string& out, std::string_view s) { json::parser_detail::write_string(out, s); }

/// Appends one input's results: a JSON line or CSV rows.
inline void append_batch_record(std::string& out, batch_format format, bool segments, std::string_view input,
                                const id_map<std::string>& result_ids, const index_t* ids, const score_t* scores,
                                index_t k, const char* error, std::int64_t& results) {
  if (format == batch_format::jsonl) {
    out += segments ? "{\"input\":{\"itemId\":" : "{\"input\":{\"userId\":";
    append_json_string(out, input);
    out += segments ? "},\"output\":{\"recommendedUsers\":[" : "},\"output\":{\"recommendedItems\":[";
    index_t n = 0;
    for (; n < k && ids[n] != invalid_index; ++n) {
      if (n) out += ',';
      append_json_string(out, result_ids.id(ids[n]));
    }
    out += "],\"scores\":[";
    for (index_t j = 0; j < n; ++j) {
      if (j) out += ',';
      append_number(out, scores[j]);
    }
    out += "]},\"error\":";
    if (error) {
      append_json_string(out, error);
    } else {
      out += "null";
    }
    out += "}\n";
    results += n;
    return;
  }
  for (index_t n = 0; n < k && ids[n] != invalid_index; ++n) {
    append_field(out, input, ',');
    out += ',';
    append_number(out, n + 1);
    out += ',';
    append_field(out, result_ids.id(ids[n]), ',');
    out += ',';
    append_number(out, scores[n]);
    out += '\n';
    ++results;
  }
}

/// The shared loop of both jobs. `score(block_indices, ids, scores)` fills k results per input.
template <class Score>
batch_report run_batch(const std::filesystem::path& path, const batch_options& o, bool segments,
                       const id_map<std::string>& input_ids, const id_map<std::string>& result_ids,
                       const job_control& job, Score&& score) {
  const char* where = segments ? "batch_segments" : "batch_recommend";
  RECSYS_REQUIRE(o.k >= 1, where, "k must be >= 1 (got ", o.k, ")");
  RECSYS_REQUIRE(o.block_size >= 1, where, "block_size must be >= 1 (got ", o.block_size, ")");
  RECSYS_REQUIRE(o.num_threads >= 0, where, "num_threads must be >= 0 (got ", o.num_threads, ")");
  const auto start = std::chrono::steady_clock::now();
  // inputs: listed ids (unknown ones map to invalid_index) or every id of the model
  const bool listed = !o.ids.empty();
  const auto n = listed ? static_cast<std::int64_t>(o.ids.size()) : static_cast<std::int64_t>(input_ids.size());
  batch_report report;
  report.output = path;
  atomic_output out(path);
  if (o.format == batch_format::csv) out.write(segments ? "item_id,rank,user_id,score\n" : "user_id,rank,item_id,score\n");
  progress_reporter rep(job, segments ? "batch: segments" : "batch: recommend", n);
  const auto kk = static_cast<std::size_t>(o.k);
  std::vector<index_t> block, ids;
  std::vector<score_t> scores;
  constexpr std::int64_t chunk = 256;  // inputs formatted per task
  std::vector<std::string> text;
  std::vector<std::int64_t> counts;
  for (std::int64_t b = 0; b < n; b += o.block_size) {
    job.cancel.throw_if_cancelled();
    const std::int64_t e = std::min(n, b + o.block_size);
    block.resize(static_cast<std::size_t>(e - b));
    for (std::int64_t r = b; r < e; ++r) {
      index_t idx = static_cast<index_t>(r);
      if (listed) {
        idx = input_ids.find_or(o.ids[static_cast<std::size_t>(r)], invalid_index);
        if (idx == invalid_index) ++report.unknown;
      }
      block[static_cast<std::size_t>(r - b)] = idx;
    }
    ids.assign(block.size() * kk, invalid_index);
    scores.assign(ids.size(), std::numeric_limits<score_t>::lowest());
    score(std::span<const index_t>(block), ids.data(), scores.data());
    job.cancel.throw_if_cancelled();
    const std::int64_t chunks = (e - b + chunk - 1) / chunk;
    text.assign(static_cast<std::size_t>(chunks), std::string());
    counts.assign(static_cast<std::size_t>(chunks), 0);
    parallel_options po;
    po.num_threads = o.num_threads;
    parallel_for(0, chunks, po, [&](std::int64_t c) {
      std::string& t = text[static_cast<std::size_t>(c)];
      const std::int64_t lo = b + c * chunk, hi = std::min(e, lo + chunk);
      for (std::int64_t r = lo; r < hi; ++r) {
        const auto row = static_cast<std::size_t>(r - b);
        const index_t idx = block[row];
        const std::string_view input = listed ? std::string_view(o.ids[static_cast<std::size_t>(r)])
                                              : std::string_view(input_ids.id(idx));
        const char* error = segments && idx == invalid_index ? "unknown item" : nullptr;
        append_batch_record(t, o.format, segments, input, result_ids, ids.data() + row * kk, scores.data() + row * kk,
                            o.k, error, counts[static_cast<std::size_t>(c)]);
      }
    });
    for (std::size_t c = 0; c < text.size(); ++c) {
      out.write(text[c]);
      report.results += counts[c];
    }
    rep.advance(e - b);
  }
  out.commit();
  rep.finish();
  report.inputs = n;
  report.bytes = out.bytes();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace detail

/// Recommendations for every user the model was trained with (o.ids empty) or for the listed
/// users, written to `out` (see the file comment for formats, blocking and atomicity). Listed
/// users the model does not know get its cold-start answer (popular items) and are counted in
/// batch_report::unknown.
/// @throws recsys::invalid_argument for bad options or an unfitted model; recsys::io_error when
///         the output cannot be written; recsys::cancelled through the job's token. In every
///         case no partial output is left.
[[nodiscard]] inline batch_report batch_recommend(const model& m, const std::filesystem::path& out,
                                                  const batch_options& o = {}, const job_control& job = {}) {
  RECSYS_REQUIRE(m.is_fitted(), "batch_recommend", "the '", m.recipe(), "' model is not fitted");
  recommend_options ropts;
  ropts.exclude_seen = o.exclude_seen;
  return detail::run_batch(out, o, false, m.user_ids(), m.item_ids(), job,
                           [&](std::span<const index_t> users, index_t* ids, score_t* scores) {
                             m.recommend_batch(users, o.k, ids, scores, ropts, o.num_threads);
                           });
}

/// User segments (Personalize's Item-Affinity): for every item the model was trained with (o.ids
/// empty) or for the listed items, the k users most likely to interact with it
/// (model::recommend_users), written to `out`. Listed items the model does not know get an
/// empty segment (JSON Lines: "error": "unknown item") and are counted in batch_report::unknown.
/// @throws recsys::invalid_argument when the recipe has no user segments
///         (model::supports_user_segments), for bad options or an unfitted model;
///         recsys::io_error when the output cannot be written; recsys::cancelled. In every case
///         no partial output is left.
[[nodiscard]] inline batch_report batch_segments(const model& m, const std::filesystem::path& out,
                                                 const batch_options& o = {}, const job_control& job = {}) {
  RECSYS_REQUIRE(m.is_fitted(), "batch_segments", "the '", m.recipe(), "' model is not fitted");
  if (!m.supports_user_segments()) {
    std::vector<index_t> none;
    m.recommend_users(none, o.k, nullptr, nullptr);  // throws the recipe's explanation
  }
  recommend_options ropts;
  ropts.exclude_seen = o.exclude_seen;
  return detail::run_batch(out, o, true, m.item_ids(), m.user_ids(), job,
                           [&](std::span<const index_t> items, index_t* users, score_t* scores) {
                             m.recommend_users(items, o.k, users, scores, ropts, o.num_threads);
                           });
}

/// Reads a batch input file: one id per line, either bare (`alice`) or as Personalize's JSON
/// Lines input (`{"userId": "alice"}`, key `key`); blank lines are skipped.
/// @throws recsys::io_error naming the file and line for a JSON line without a string `key`.
[[nodiscard]] inline std::vector<std::string> read_batch_ids(const std::filesystem::path& file, std::string_view key) {
  const std::string text = detail::read_file_bytes(file);
  std::vector<std::string> ids;
  std::size_t pos = 0;
  std::int64_t line = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view l(text.data() + pos, end - pos);
    pos = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (l.front() == '{') {
      const auto v = detail::json::parse(l, file.string() + ":" + std::to_string(line));
      const auto* id = v.type() == detail::json::value::kind::object ? v.find(key) : nullptr;
      if (!id || id->type() != detail::json::value::kind::string)
        throw io_error(file.string(), line, 0, "expected a JSON object with a string \"" + std::string(key) + "\"");
      ids.push_back(id->as_string(key));
    } else {
      ids.emplace_back(l);
    }
  }
  return ids;
}

}  // namespace recsys

#endif  // RECSYS_IO_BATCH_HPP
