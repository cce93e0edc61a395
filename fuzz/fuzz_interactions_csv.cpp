// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the interactions readers of data/csv.hpp (parse_interactions_csv, parse_delimited).
// Option byte: bit0 skip bad rows, bit1 floor fractional timestamps, bits2-3 delimiter
// (, ; TAB |), bit4 read as a positional delimited file (bit5: MovieLens layout with a rating
// column, else RSC15 layout with a header line and session = user).
// Invariants of a successful read: the log validates, rows_read = rows_kept + rows_bad,
// rows_kept = log.size(), and writing the log and reading it back gives the same rows.
#include "fuzz_support.hpp"

#include <recsys/data/csv.hpp>

#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>

namespace {

bool same_value(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

std::string_view name_or_empty(const recsys::id_map<std::string>& ids, recsys::index_t i) {
  return i < 0 ? std::string_view() : std::string_view(ids.ids()[static_cast<std::size_t>(i)]);
}

void check_round_trip(const recsys::interaction_log& log, char delimiter) {
  std::ostringstream os;
  recsys::write_interactions_csv(log, os, delimiter);  // must not throw for a log the reader produced
  recsys::csv_options o;
  o.delimiter = delimiter;
  const auto back = recsys::parse_interactions_csv(os.str(), "round-trip", o);
  RECSYS_FUZZ_CHECK(back.size() == log.size());
  for (std::size_t r = 0; r < log.size(); ++r) {
    RECSYS_FUZZ_CHECK(name_or_empty(back.user_ids, back.users[r]) == name_or_empty(log.user_ids, log.users[r]));
    RECSYS_FUZZ_CHECK(name_or_empty(back.item_ids, back.items[r]) == name_or_empty(log.item_ids, log.items[r]));
    RECSYS_FUZZ_CHECK(back.timestamps[r] == log.timestamps[r]);
    RECSYS_FUZZ_CHECK(same_value(back.event_values[r], log.event_values[r]));
    RECSYS_FUZZ_CHECK(name_or_empty(back.event_type_names, back.event_types[r]) ==
                      name_or_empty(log.event_type_names, log.event_types[r]));
    RECSYS_FUZZ_CHECK(name_or_empty(back.session_ids, back.sessions[r]) ==
                      name_or_empty(log.session_ids, log.sessions[r]));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = recsys::fuzz::split(data, size);
  static constexpr char delimiters[] = {',', ';', '\t', '|'};
  const char delimiter = delimiters[(in.option >> 2) & 3];
  const auto policy = (in.option & 1) ? recsys::bad_row_policy::skip : recsys::bad_row_policy::raise;
  const auto fraction =
      (in.option & 2) ? recsys::fractional_timestamp::floor : recsys::fractional_timestamp::reject;
  std::optional<recsys::interaction_log> log;
  try {
    if (in.option & 16) {
      auto f = (in.option & 32) ? recsys::raw_format::movielens() : recsys::raw_format::rsc15();
      f.delimiter = delimiter;
      f.bad_rows = policy;
      f.fractional_timestamps = fraction;
      f.max_problems = 3;
      log = recsys::parse_delimited(in.text, "fuzz", f);
    } else {
      recsys::csv_options o;
      o.delimiter = delimiter;
      o.bad_rows = policy;
      o.fractional_timestamps = fraction;
      o.max_problems = 3;
      log = recsys::parse_interactions_csv(in.text, "fuzz", o);
    }
  } catch (const recsys::error&) {
    return 0;  // a documented outcome
  }
  log->validate();
  const auto& rep = log->report;
  RECSYS_FUZZ_CHECK(rep.rows_read == rep.rows_kept + rep.rows_bad);
  RECSYS_FUZZ_CHECK(rep.rows_kept == static_cast<std::int64_t>(log->size()));
  RECSYS_FUZZ_CHECK(rep.problems.size() <= 3);
  RECSYS_FUZZ_CHECK(policy == recsys::bad_row_policy::skip || rep.rows_bad == 0);
  for (std::size_t r = 0; r < log->size(); ++r) RECSYS_FUZZ_CHECK(log->weights[r] == 1.0f);
  // The TAB-free Personalize writer needs a delimiter the reader accepts with quoting: ',' is.
  check_round_trip(*log, ',');
  return 0;
}
