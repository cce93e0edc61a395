// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_CSV_HPP
#define RECSYS_DATA_CSV_HPP

/// @file
/// Reading and writing interaction data: Amazon Personalize's interactions CSV, headerless or
/// header-skipping delimited benchmark files (MovieLens u.data, the RSC15/YooChoose samples),
/// and basket files (one transaction per line).
///
/// **Personalize interactions CSV.** The first line is a header naming the columns, in any
/// order and any letter case: USER_ID, ITEM_ID and TIMESTAMP are required; EVENT_TYPE,
/// EVENT_VALUE and SESSION_ID are optional; other columns are ignored. RFC 4180 quoting
/// (delimiters, doubled quotes and line breaks inside quoted fields), LF, CRLF or CR line
/// ends, and a UTF-8 byte-order mark are accepted. Decisions:
/// - ids are strings of any length and are never trimmed or converted ("007" and "7" differ);
///   an empty USER_ID or ITEM_ID is an error;
/// - TIMESTAMP is whole Unix seconds in the int64 range ("-?[0-9]+", a fractional part of
///   zeros such as "1700000000.0" is accepted); a non-zero fractional part is an error unless
///   csv_options::fractional_timestamps = fractional_timestamp::floor; overflow is an error;
/// - EVENT_VALUE is a finite number stored as float ("nan"/"inf" and values beyond float's
///   range are errors); empty means absent (NaN in the log);
/// - an empty EVENT_TYPE or SESSION_ID means absent (-1 in the log);
/// - numbers are not trimmed: " 5" is not a number; no leading '+';
/// - two columns with the same name (ignoring case) are an error, even among ignored columns;
///   columns with an empty name are ignored;
/// - a data row must have exactly as many fields as the header; an empty line is a bad row.
///
/// **Bad input.** A header problem (none, duplicate or missing required names, a syntax error)
/// always throws recsys::io_error. A bad data row throws recsys::io_error naming the file, the
/// physical line where the row starts, the field number (1-based) and the reason; with
/// bad_rows = bad_row_policy::skip the row is skipped, counted in report.rows_bad and the first
/// max_problems problems are kept in report.problems. A skipped row adds no ids to the maps.
/// An empty input (no bytes, or only a byte-order mark) throws; a header alone gives an empty
/// log. Every load sets report.source, rows_read (data rows, header excluded), rows_kept and
/// rows_bad with rows_read = rows_kept + rows_bad.
///
/// **Writers** write the Personalize schema (header USER_ID,ITEM_ID,TIMESTAMP then, when the
/// log has them, EVENT_TYPE, EVENT_VALUE, SESSION_ID), quoting only fields that need it and
/// writing numbers in their shortest exact form, so reading a written log gives back the same
/// rows, ids (in the same first-seen order), values and flags. Ids that occur in no row are not
/// written; `weights` are not part of the schema (a read log has weight 1 everywhere).
///
/// @code
///   auto log = recsys::read_interactions_csv("interactions.csv");
///   // log.report.summary(): "interactions.csv: 1000000 rows read, 1000000 kept"
///   recsys::csv_options lenient;
///   lenient.bad_rows = recsys::bad_row_policy::skip;
///   auto log2 = recsys::read_interactions_csv("dirty.csv", lenient);  // bad rows counted
///   auto ml = recsys::read_delimited("ml-100k/u.data", recsys::raw_format::movielens());
///   auto baskets = recsys::read_baskets("groceries.csv");
///   recsys::write_interactions_csv(log, "copy.csv");
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/baskets.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// What to do with a TIMESTAMP that has a non-zero fractional part ("1396437466.94").
enum class fractional_timestamp {
  reject,  ///< a bad row (Personalize's TIMESTAMP is whole seconds) — the default
  floor,   ///< round toward minus infinity (1.9 -> 1, -1.5 -> -2); order within a second is lost
};

/// Options of the Personalize interactions CSV reader.
struct csv_options {
  char delimiter = ',';  ///< field separator (not '"', CR or LF)
  bad_row_policy bad_rows = bad_row_policy::raise;
  std::size_t max_problems = 100;  ///< problems kept in the report (skip policy)
  fractional_timestamp fractional_timestamps = fractional_timestamp::reject;
};

/// A headerless (or header-skipping) delimited interactions file with columns given by position.
/// Column numbers are 0-based field positions (error messages count fields from 1); -1 = absent.
struct raw_format {
  char delimiter = '\t';
  bool quoting = false;                      ///< RFC 4180 quotes; off: '"' is an ordinary byte
  std::size_t header_lines = 0;              ///< records before the data (not counted as rows)
  std::vector<std::string> expected_header;  ///< if set, the first header record must hold exactly
                                             ///< these names (ignoring case), else io_error
  int user_column = 0;
  int item_column = 1;
  int timestamp_column = 2;
  int event_type_column = -1;
  int event_value_column = -1;
  int session_column = -1;     ///< may equal user_column (session-only data)
  std::size_t num_fields = 0;  ///< fields per row; 0: fixed by the first good row
  fractional_timestamp fractional_timestamps = fractional_timestamp::reject;
  bad_row_policy bad_rows = bad_row_policy::raise;
  std::size_t max_problems = 100;

  /// MovieLens `u.data`: tab-separated `user item rating timestamp`, no header; the rating
  /// becomes EVENT_VALUE.
  [[nodiscard]] static raw_format movielens() {
    raw_format f;
    f.delimiter = '\t';
    f.user_column = 0;
    f.item_column = 1;
    f.event_value_column = 2;
    f.timestamp_column = 3;
    f.num_fields = 4;
    return f;
  }

  /// The RSC15 / YooChoose files prepared by GRU4Rec's preprocessing: tab-separated with the
  /// header `SessionId ItemId Time`; Time is Unix seconds with a fraction (floored: events of a
  /// session within one second keep their file order); SessionId is both session and user.
  [[nodiscard]] static raw_format rsc15() {
    raw_format f;
    f.delimiter = '\t';
    f.header_lines = 1;
    f.expected_header = {"SessionId", "ItemId", "Time"};
    f.user_column = 0;
    f.session_column = 0;
    f.item_column = 1;
    f.timestamp_column = 2;
    f.num_fields = 3;
    f.fractional_timestamps = fractional_timestamp::floor;
    return f;
  }
};

/// What to do with an item that occurs twice in one basket.
enum class repeated_item_policy {
  reject,  ///< a bad row — the default (arules' read.transactions also removes repeats only when asked)
  merge,   ///< keep the first occurrence; the others are counted in basket_data::items_merged
};

/// Options of the basket reader.
struct basket_options {
  char delimiter = ',';
  bool quoting = true;  ///< RFC 4180 quotes (an item may contain the delimiter when quoted)
  repeated_item_policy repeated_items = repeated_item_policy::reject;
  bad_row_policy bad_rows = bad_row_policy::raise;
  std::size_t max_problems = 100;
};

// ---------------------------------------------------------------------------------------------
// Personalize interactions CSV

/// Parses a Personalize interactions CSV held in memory (the text is not copied).
/// @param text         the whole file content
/// @param source_name  the name used in the report and in error messages
/// @param options      delimiter, bad-row policy, fractional timestamps
/// @return the log with every column filled, optional-column flags set from the header, and
///         its load_report.
/// @throws recsys::io_error for an empty input, a bad header, or (bad_row_policy::raise) the
///         first bad row; recsys::invalid_argument for unusable options.
/// @code
///   auto log = recsys::parse_interactions_csv("USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\n", "inline");
/// @endcode
template <class = void>
[[nodiscard]] interaction_log parse_interactions_csv(std::string_view text, std::string_view source_name,
                                                     const csv_options& options = {});

/// Reads a Personalize interactions CSV file (in 1 MiB chunks: memory does not grow with the
/// file beyond the log itself). See the file comment for the accepted format.
/// @throws recsys::io_error when the file cannot be read, is empty, has a bad header, or
///         (bad_row_policy::raise) has a bad row; recsys::invalid_argument for unusable options.
/// @code
///   recsys::interaction_log log = recsys::read_interactions_csv("interactions.csv");
/// @endcode
template <class = void>
[[nodiscard]] interaction_log read_interactions_csv(const std::filesystem::path& path, const csv_options& options = {});

/// Writes `log` as a Personalize interactions CSV (LF line ends). An optional column is written
/// when the log's flag is set or any row has a value in it (nothing is lost).
/// @throws recsys::invalid_argument when the log is inconsistent (interaction_log::validate),
///         has an empty id, or an infinite EVENT_VALUE (the reader would refuse them);
///         recsys::io_error when the stream fails.
template <class = void>
void write_interactions_csv(const interaction_log& log, std::ostream& os, char delimiter = ',');

/// Writes `log` to a file as a Personalize interactions CSV (see the stream overload).
/// @throws recsys::io_error when the file cannot be written; recsys::invalid_argument as above.
template <class = void>
void write_interactions_csv(const interaction_log& log, const std::filesystem::path& path, char delimiter = ',');

// ---------------------------------------------------------------------------------------------
// Raw delimited benchmark files

/// Parses a delimited interactions file held in memory whose columns are given by position.
/// Rows follow the Personalize reader's rules (see the file comment); an input without a
/// single row throws. has_event_type/has_event_value/has_session follow the format's columns.
/// @throws recsys::io_error (empty input, header mismatch, bad rows under raise);
///         recsys::invalid_argument for an unusable format (negative or clashing columns).
template <class = void>
[[nodiscard]] interaction_log parse_delimited(std::string_view text, std::string_view source_name,
                                              const raw_format& format);

/// Reads a delimited interactions file whose columns are given by position, e.g. MovieLens:
/// @code
///   auto log = recsys::read_delimited("ml-100k/u.data", recsys::raw_format::movielens());
///   auto clicks = recsys::read_delimited("yoochoose-clicks-100k_train_full.txt", recsys::raw_format::rsc15());
///   recsys::raw_format f;           // user;item;unix-time with a header line
///   f.delimiter = ';';
///   f.header_lines = 1;
///   auto other = recsys::read_delimited("events.txt", f);
/// @endcode
/// @throws as parse_delimited, and recsys::io_error when the file cannot be read.
template <class = void>
[[nodiscard]] interaction_log read_delimited(const std::filesystem::path& path, const raw_format& format);

// ---------------------------------------------------------------------------------------------
// Baskets

/// Parses basket data held in memory: one basket per record (line), items separated by the
/// delimiter, RFC 4180 quoting allowed. An empty line is an empty basket (so basket b is line
/// b+1 when no quoted field spans lines); an empty input gives no baskets. An empty item field
/// ("a,,b", a trailing delimiter) and, by default, an item repeated within a basket are bad
/// rows. Items keep their order within a basket; item indices are assigned in first-seen order.
/// report: rows = baskets (rows_read = rows_kept + rows_bad).
/// @throws recsys::io_error for a bad row under bad_row_policy::raise.
template <class = void>
[[nodiscard]] basket_data parse_baskets(std::string_view text, std::string_view source_name,
                                        const basket_options& options = {});

/// Reads a basket file (see parse_baskets for the rules).
/// @code
///   recsys::basket_data b = recsys::read_baskets("groceries.csv");   // 9835 baskets, 169 items
/// @endcode
/// @throws recsys::io_error when the file cannot be read or has a bad row (raise policy).
template <class = void>
[[nodiscard]] basket_data read_baskets(const std::filesystem::path& path, const basket_options& options);

/// Reads a basket file with the default options and the given delimiter.
template <class = void>
[[nodiscard]] basket_data read_baskets(const std::filesystem::path& path, char delimiter = ',');

/// Writes baskets one per line (an empty basket is an empty line), quoting only item ids that
/// need it; read_baskets gives back the same baskets and item order.
/// @throws recsys::invalid_argument for inconsistent offsets, an item index out of range or an
///         empty item id; recsys::io_error when the stream fails.
template <class = void>
void write_baskets(const basket_data& baskets, std::ostream& os, char delimiter = ',');

/// Writes baskets to a file (see the stream overload).
template <class = void>
void write_baskets(const basket_data& baskets, const std::filesystem::path& path, char delimiter = ',');

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/data/csv-inl.hpp>
#else
namespace recsys {
extern template interaction_log parse_interactions_csv<>(std::string_view, std::string_view, const csv_options&);
extern template interaction_log read_interactions_csv<>(const std::filesystem::path&, const csv_options&);
extern template void write_interactions_csv<>(const interaction_log&, std::ostream&, char);
extern template void write_interactions_csv<>(const interaction_log&, const std::filesystem::path&, char);
extern template interaction_log parse_delimited<>(std::string_view, std::string_view, const raw_format&);
extern template interaction_log read_delimited<>(const std::filesystem::path&, const raw_format&);
extern template basket_data parse_baskets<>(std::string_view, std::string_view, const basket_options&);
extern template basket_data read_baskets<>(const std::filesystem::path&, const basket_options&);
extern template basket_data read_baskets<>(const std::filesystem::path&, char);
extern template void write_baskets<>(const basket_data&, std::ostream&, char);
extern template void write_baskets<>(const basket_data&, const std::filesystem::path&, char);
}  // namespace recsys
#endif

#endif  // RECSYS_DATA_CSV_HPP
