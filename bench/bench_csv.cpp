// SPDX-License-Identifier: Apache-2.0
// CSV ingestion throughput: the Personalize interactions reader (target >= 2 million rows/s on
// one core, file in the page cache) against a naive std::getline + std::stringstream reader
// measured in the same run, plus the metadata, basket and raw readers and the writer.
//
// The input files are generated once per run into a fresh temporary folder (removed at exit):
// a 5-column interactions CSV (USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE; 3 M rows,
// 100k users, 20k items with Zipf-like popularity, view/click/purchase), an Items CSV and a
// basket file. Counters: rows_per_s (rows/s), bytes_per_second; BM_csv_speedup_vs_naive reports
// the ratio of the two readers timed back to back (CPU time) in each iteration.
#include <recsys/data/csv.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/detail/csv_tokenizer.hpp>  // detail::append_number
#include <recsys/random.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_support.hpp"

namespace {

namespace fs = std::filesystem;

struct bench_files {
  fs::path dir;
  fs::path interactions;
  fs::path items;
  fs::path baskets;
  fs::path movielens;
  std::int64_t interaction_rows = 0;
  std::int64_t item_rows = 0;
  std::int64_t basket_rows = 0;
  std::int64_t movielens_rows = 0;

  bench_files() {
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    dir = fs::temp_directory_path() / ("recsys-bench-csv-" + std::to_string(stamp));
    fs::create_directories(dir);
    interactions = dir / "interactions.csv";
    items = dir / "items.csv";
    baskets = dir / "baskets.csv";
    movielens = dir / "u.data";

    const std::int64_t rows = recsys::bench::size<std::int64_t>(3'000'000, 20'000);
    const std::uint32_t num_users = recsys::bench::size<std::uint32_t>(100'000, 2'000);
    const std::uint32_t num_items = recsys::bench::size<std::uint32_t>(20'000, 1'000);
    std::vector<double> popularity(num_items);
    for (std::size_t i = 0; i < popularity.size(); ++i) popularity[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.9);
    const recsys::alias_table item_draw(popularity);
    recsys::rng r(7, recsys::stream_tag("bench.csv.generate"));
    static const char* const types[] = {"view", "click", "purchase"};

    {  // interactions: built as text (the writer is benchmarked separately on the parsed log)
      std::ofstream os(interactions, std::ios::binary);
      std::string out = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n";
      std::int64_t t = 1'700'000'000;
      for (std::int64_t k = 0; k < rows; ++k) {
        t += r.uniform_index(3);
        const double u = r.uniform_double();
        const int type = u < 0.7 ? 0 : (u < 0.9 ? 1 : 2);
        out += "user";
        out += std::to_string(r.uniform_index(num_users));
        out += ",item";
        out += std::to_string(item_draw(r));
        out += ',';
        out += std::to_string(t);
        out += ',';
        out += types[type];
        out += ',';
        recsys::detail::append_number(out, static_cast<float>(r.uniform_index(10000)) / 100.0f);
        out += '\n';
        if (out.size() > (1u << 20)) {
          os << out;
          out.clear();
        }
      }
      os << out;
      interaction_rows = rows;
    }
    {  // items metadata: category (multi-valued), price, brand, creation timestamp
      std::ofstream os(items, std::ios::binary);
      const std::uint32_t n = recsys::bench::size<std::uint32_t>(200'000, 2'000);
      os << "ITEM_ID,CATEGORY,PRICE,BRAND,CREATION_TIMESTAMP\n";
      for (std::uint32_t i = 0; i < n; ++i) {
        os << "item" << i << ",cat" << r.uniform_index(50);
        if (r.bernoulli(0.3)) os << "|cat" << r.uniform_index(50);
        os << ',' << r.uniform_index(100000) / 100.0 << ",\"brand " << r.uniform_index(500) << "\","
           << 1'600'000'000 + r.uniform_index(50'000'000) << '\n';
      }
      item_rows = n;
    }
    {  // baskets: 1..20 distinct items each
      std::ofstream os(baskets, std::ios::binary);
      const std::int64_t n = recsys::bench::size<std::int64_t>(500'000, 2'000);
      std::vector<std::uint32_t> basket;
      for (std::int64_t b = 0; b < n; ++b) {
        basket.clear();
        const std::uint32_t len = 1 + r.uniform_index(20);
        while (basket.size() < len) {
          const auto i = static_cast<std::uint32_t>(item_draw(r));
          if (std::find(basket.begin(), basket.end(), i) == basket.end()) basket.push_back(i);
        }
        for (std::size_t k = 0; k < basket.size(); ++k) os << (k ? "," : "") << "item " << basket[k];
        os << '\n';
      }
      basket_rows = n;
    }
    {  // a MovieLens-shaped raw file (tab, user item rating time)
      std::ofstream os(movielens, std::ios::binary);
      const std::int64_t n = recsys::bench::size<std::int64_t>(1'000'000, 2'000);
      for (std::int64_t k = 0; k < n; ++k)
        os << 1 + r.uniform_index(num_users) << '\t' << 1 + item_draw(r) << '\t' << 1 + r.uniform_index(5) << '\t'
           << 880'000'000 + r.uniform_index(10'000'000) << '\n';
      movielens_rows = n;
    }
  }
  ~bench_files() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const bench_files& files() {
  static const bench_files f;
  return f;
}

void set_rate(benchmark::State& state, std::int64_t rows, const fs::path& file) {
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(rows) * static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(fs::file_size(file)) * state.iterations());
}

// The reader most code starts with: getline per line, stringstream per field, std::stoll /
// std::stof, std::unordered_map for the ids. No quoting support, so it is not even correct
// for RFC 4180 input; it is the baseline the issue asks to compare against.
struct naive_result {
  std::vector<std::int32_t> users, items, types;
  std::vector<std::int64_t> timestamps;
  std::vector<float> values;
  std::size_t num_users = 0, num_items = 0;
};

naive_result naive_read(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ',')) header.push_back(f);
  }
  const auto col = [&](const std::string& name) {
    for (std::size_t c = 0; c < header.size(); ++c)
      if (header[c] == name) return c;
    throw std::runtime_error("missing column " + name);
  };
  const std::size_t cu = col("USER_ID"), ci = col("ITEM_ID"), ct = col("TIMESTAMP"), ce = col("EVENT_TYPE"),
                    cv = col("EVENT_VALUE");
  std::unordered_map<std::string, std::int32_t> users, items, types;
  naive_result res;
  std::vector<std::string> fields;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string f;
    fields.clear();
    while (std::getline(ss, f, ',')) fields.push_back(f);
    if (fields.size() != header.size()) throw std::runtime_error("bad row");
    res.users.push_back(users.emplace(fields[cu], static_cast<std::int32_t>(users.size())).first->second);
    res.items.push_back(items.emplace(fields[ci], static_cast<std::int32_t>(items.size())).first->second);
    res.types.push_back(types.emplace(fields[ce], static_cast<std::int32_t>(types.size())).first->second);
    res.timestamps.push_back(std::stoll(fields[ct]));
    res.values.push_back(fields[cv].empty() ? NAN : std::stof(fields[cv]));
  }
  res.num_users = users.size();
  res.num_items = items.size();
  return res;
}

void BM_read_interactions_csv(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) {
    auto log = recsys::read_interactions_csv(f.interactions);
    if (static_cast<std::int64_t>(log.size()) != f.interaction_rows) state.SkipWithError("row count mismatch");
    benchmark::DoNotOptimize(log.users.data());
  }
  set_rate(state, f.interaction_rows, f.interactions);
}
BENCHMARK(BM_read_interactions_csv)->Unit(benchmark::kMillisecond);

void BM_naive_getline_stringstream(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) {
    auto res = naive_read(f.interactions);
    if (static_cast<std::int64_t>(res.users.size()) != f.interaction_rows) state.SkipWithError("row count mismatch");
    benchmark::DoNotOptimize(res.users.data());
  }
  set_rate(state, f.interaction_rows, f.interactions);
}
BENCHMARK(BM_naive_getline_stringstream)->Unit(benchmark::kMillisecond);

// Both readers back to back in every iteration, timed in CPU seconds (like the rate counters
// of the other benchmarks): the ratio is robust to the load of the shared machine.
void BM_csv_speedup_vs_naive(benchmark::State& state) {
  const auto& f = files();
  double fast_s = 0, naive_s = 0;
  for (auto _ : state) {
    const std::clock_t t0 = std::clock();
    auto log = recsys::read_interactions_csv(f.interactions);
    const std::clock_t t1 = std::clock();
    auto res = naive_read(f.interactions);
    const std::clock_t t2 = std::clock();
    benchmark::DoNotOptimize(log.users.data());
    benchmark::DoNotOptimize(res.users.data());
    if (static_cast<std::size_t>(log.num_users()) != res.num_users) state.SkipWithError("readers disagree");
    fast_s += static_cast<double>(t1 - t0) / CLOCKS_PER_SEC;
    naive_s += static_cast<double>(t2 - t1) / CLOCKS_PER_SEC;
  }
  const double n = static_cast<double>(f.interaction_rows) * static_cast<double>(state.iterations());
  state.counters["recsys_rows_per_s"] = n / fast_s;
  state.counters["naive_rows_per_s"] = n / naive_s;
  state.counters["speedup"] = naive_s / fast_s;
}
BENCHMARK(BM_csv_speedup_vs_naive)->Unit(benchmark::kMillisecond);

void BM_parse_interactions_csv_in_memory(benchmark::State& state) {
  const auto& f = files();
  std::ifstream in(f.interactions, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto _ : state) {
    auto log = recsys::parse_interactions_csv(text, "memory");
    benchmark::DoNotOptimize(log.users.data());
  }
  set_rate(state, f.interaction_rows, f.interactions);
}
BENCHMARK(BM_parse_interactions_csv_in_memory)->Unit(benchmark::kMillisecond);

void BM_write_interactions_csv(benchmark::State& state) {
  const auto& f = files();
  const auto log = recsys::read_interactions_csv(f.interactions);
  const fs::path out = f.dir / "written.csv";
  for (auto _ : state) recsys::write_interactions_csv(log, out);
  set_rate(state, f.interaction_rows, out);
}
BENCHMARK(BM_write_interactions_csv)->Unit(benchmark::kMillisecond);

void BM_read_delimited_movielens(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) {
    auto log = recsys::read_delimited(f.movielens, recsys::raw_format::movielens());
    benchmark::DoNotOptimize(log.users.data());
  }
  set_rate(state, f.movielens_rows, f.movielens);
}
BENCHMARK(BM_read_delimited_movielens)->Unit(benchmark::kMillisecond);

void BM_read_items_csv(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) {
    auto items = recsys::read_items_csv(f.items);
    if (static_cast<std::int64_t>(items.size()) != f.item_rows) state.SkipWithError("row count mismatch");
    benchmark::DoNotOptimize(items.fields.data());
  }
  set_rate(state, f.item_rows, f.items);
}
BENCHMARK(BM_read_items_csv)->Unit(benchmark::kMillisecond);

void BM_read_baskets(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) {
    auto b = recsys::read_baskets(f.baskets);
    if (static_cast<std::int64_t>(b.size()) != f.basket_rows) state.SkipWithError("row count mismatch");
    benchmark::DoNotOptimize(b.items.data());
  }
  set_rate(state, f.basket_rows, f.baskets);
}
BENCHMARK(BM_read_baskets)->Unit(benchmark::kMillisecond);

}  // namespace
