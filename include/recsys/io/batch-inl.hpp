// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_IO_BATCH_INL_HPP
#define RECSYS_IO_BATCH_INL_HPP

/// @file
/// Definitions of io/batch.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/batch.cpp).

#include <recsys/data/id_map.hpp>
#include <recsys/detail/csv_tokenizer.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/detail/files.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/batch.hpp>
#include <recsys/io/npy.hpp>
#include <recsys/models/model.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <limits>
#include <system_error>

namespace recsys::detail {

/// Appends `s` as a JSON string literal.
template <class = void>
void append_json_string(std::string& out, std::string_view s) {
  json::parser_detail::write_string(out, s);
}

/// Appends one input's results: a JSON line or CSV rows.
template <class = void>
void append_batch_record(std::string& out, batch_format format, bool segments, std::string_view input,
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



/// A file written under a temporary name and renamed onto the target by commit(); removed by
/// the destructor otherwise.
template <class = void>
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
  atomic_output<> out(path);
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

}  // namespace recsys::detail

namespace recsys {

template <class>
std::vector<std::string> read_batch_ids(const std::filesystem::path& file, std::string_view key) {
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

template <class>
batch_report batch_segments(const model& m, const std::filesystem::path& out,
                                                 const batch_options& o, const job_control& job) {
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

template <class>
batch_report batch_recommend(const model& m, const std::filesystem::path& out,
                                                  const batch_options& o, const job_control& job) {
  RECSYS_REQUIRE(m.is_fitted(), "batch_recommend", "the '", m.recipe(), "' model is not fitted");
  recommend_options ropts;
  ropts.exclude_seen = o.exclude_seen;
  return detail::run_batch(out, o, false, m.user_ids(), m.item_ids(), job,
                           [&](std::span<const index_t> users, index_t* ids, score_t* scores) {
                             m.recommend_batch(users, o.k, ids, scores, ropts, o.num_threads);
                           });
}

}  // namespace recsys

#endif  // RECSYS_IO_BATCH_INL_HPP
