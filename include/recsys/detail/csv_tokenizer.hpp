// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_CSV_TOKENIZER_HPP
#define RECSYS_DETAIL_CSV_TOKENIZER_HPP

/// @file
/// Internals of the delimited-file readers and writers (data/csv.hpp, data/metadata.hpp):
///
/// - csv_tokenizer: an RFC 4180 tokenizer over a byte buffer. Fields are std::string_views into
///   the buffer (quoted fields with doubled quotes are unescaped into per-record scratch
///   strings). It reports records that end beyond the buffer ("need more"), so the same code
///   serves whole in-memory texts and files read in chunks.
/// - csv_source: a tokenizer plus its input (a caller's string_view, or a file read in chunks
///   of a fixed size, so memory does not grow with the file). Skips a UTF-8 BOM.
/// - strict number parsers (std::from_chars; no leading '+', no spaces, no hex, finite only).
/// - writer helpers: minimal RFC 4180 quoting, shortest round-trip number formatting, and a
///   buffered std::ostream writer.
///
/// Everything here is a template with an unused parameter (`csv_source` is
/// `basic_csv_source<>`, `parse_seconds` is `parse_seconds<>`...), defined in this header in
/// both modes: a unit compiles the tokenizer only when it reads or writes delimited text (the
/// compiled library's readers, or a unit built header-only, such as the fuzz replays; see
/// config.hpp). It is included by the definitions (data/csv-inl.hpp, data/metadata-inl.hpp),
/// never by a public header.
///
/// Syntax accepted (RFC 4180 plus common practice):
/// - records end at LF, CRLF or a lone CR; the last record may lack a terminator;
/// - with quoting on, a field that starts with '"' is quoted: it ends at the next '"' that is
///   not doubled, may contain delimiters, quotes (as "") and line breaks, and must be followed
///   by a delimiter, a line break or the end of input;
/// - a '"' inside an unquoted field, text after a closing quote and an unterminated quoted
///   field are syntax errors of that record (the tokenizer still finds the record's end, so a
///   reader can skip the record and go on);
/// - with quoting off, '"' is an ordinary character.

#include <recsys/data/id_map.hpp>
#include <recsys/detail/platform.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace recsys::detail {

/// One record (row) of a delimited file. Views stay valid until the next record is read.
struct csv_record {
  std::vector<std::string_view> fields;
  std::int64_t line = 0;          ///< physical line (1-based) where the record starts
  bool empty_line = false;        ///< the record was an empty line (fields == {""})
  std::int64_t error_column = 0;  ///< field number (1-based) of the first syntax error, 0 = none
  std::string error;              ///< the reason of that error

  [[nodiscard]] bool has_error() const noexcept { return error_column != 0; }
};

/// RFC 4180 tokenizer over one buffer (see the file comment for the accepted syntax).
/// (`csv_tokenizer` is `basic_csv_tokenizer<>`.)
template <class = void>
class basic_csv_tokenizer {
 public:
  enum class status {
    record,     ///< a record was read
    need_more,  ///< the buffer ends inside a record: supply more input starting at consumed()
    end,        ///< no more input
  };

  basic_csv_tokenizer(char delimiter, bool quoting) : delim_(delimiter), quoting_(quoting) {
    plain_.fill(false);
    quoted_.fill(false);
    plain_[uc(delimiter)] = true;
    plain_[uc('\n')] = true;
    plain_[uc('\r')] = true;
    if (quoting) plain_[uc('"')] = true;
    quoted_[uc('"')] = true;
    quoted_[uc('\n')] = true;
    quoted_[uc('\r')] = true;
  }

  /// Tokenizes [begin, end). `at_eof`: no input follows `end`.
  void set_buffer(const char* begin, const char* end, bool at_eof) noexcept {
    begin_ = pos_ = begin;
    end_ = end;
    eof_ = at_eof;
  }

  /// Bytes of the buffer taken by complete records (where an unfinished record starts).
  [[nodiscard]] std::size_t consumed() const noexcept { return static_cast<std::size_t>(pos_ - begin_); }

  /// The physical line the next record starts on (1-based).
  [[nodiscard]] std::int64_t line() const noexcept { return line_; }

  /// Reads the next record into `rec`.
  status next(csv_record& rec) {
    const char* p = pos_;
    const std::int64_t start_line = line_;
    if (p == end_) return eof_ ? status::end : status::need_more;
    rec.fields.clear();
    rec.line = start_line;
    rec.empty_line = false;
    rec.error_column = 0;
    rec.error.clear();
    std::size_t scratch_used = 0;

    if (*p == '\n' || *p == '\r') {  // an empty line
      if (!end_of_record(p)) return rollback(start_line);
      rec.empty_line = true;
      rec.fields.emplace_back();
      return status::record;
    }
    for (;;) {  // one field per iteration; p is at the field's first byte (or end_)
      const auto field_no = static_cast<std::int64_t>(rec.fields.size() + 1);
      if (quoting_ && p != end_ && *p == '"') {
        const std::int64_t open_line = line_;
        const char* q = p + 1;
        const char* close = nullptr;
        bool doubled = false;
        for (;;) {
          while (q != end_ && !quoted_[uc(*q)]) ++q;
          if (q == end_) {
            if (!eof_) return rollback(start_line);
            break;
          }
          if (*q == '"') {
            if (q + 1 == end_ && !eof_) return rollback(start_line);
            if (q + 1 != end_ && q[1] == '"') {
              doubled = true;
              q += 2;
              continue;
            }
            close = q;
            break;
          }
          if (*q == '\r') {
            if (q + 1 == end_ && !eof_) return rollback(start_line);
            if (q + 1 != end_ && q[1] == '\n') {
              ++q;  // CRLF: the LF counts the line
              continue;
            }
          }
          ++line_;
          ++q;
        }
        if (close == nullptr) {  // unterminated: the rest of the input is this field
          set_error(rec, field_no,
                    open_line == start_line
                        ? std::string("unterminated quoted field (no closing quote before the end of the input)")
                        : str("unterminated quoted field (the quote opened on line ", open_line,
                              " is not closed before the end of the input)"));
          rec.fields.push_back(field_text(p + 1, end_, doubled, scratch_used));
          pos_ = end_;
          return status::record;
        }
        rec.fields.push_back(field_text(p + 1, close, doubled, scratch_used));
        p = close + 1;
        if (p == end_) {
          if (!eof_) return rollback(start_line);
          pos_ = p;
          return status::record;
        }
        if (*p == delim_) {
          ++p;
          continue;
        }
        if (*p == '\n' || *p == '\r') {
          if (!end_of_record(p)) return rollback(start_line);
          return status::record;
        }
        set_error(rec, field_no, "unexpected text after the closing quote of a quoted field");
        while (p != end_ && *p != delim_ && *p != '\n' && *p != '\r') ++p;  // find the field's end
        if (p == end_ && !eof_) return rollback(start_line);
      } else {
        const char* s = p;
        for (;;) {
          while (p != end_ && !plain_[uc(*p)]) ++p;
          if (p != end_ && *p == '"') {  // only special when quoting
            set_error(rec, field_no,
                      "quote character inside an unquoted field (quote the whole field and double the quote)");
            ++p;
            continue;
          }
          break;
        }
        if (p == end_ && !eof_) return rollback(start_line);
        rec.fields.emplace_back(s, static_cast<std::size_t>(p - s));
      }
      if (p == end_) {
        pos_ = p;
        return status::record;
      }
      if (*p == delim_) {
        ++p;
        continue;
      }
      if (!end_of_record(p)) return rollback(start_line);
      return status::record;
    }
  }

 private:
  static std::size_t uc(char c) noexcept { return static_cast<unsigned char>(c); }

  status rollback(std::int64_t start_line) noexcept {
    line_ = start_line;  // pos_ still points at the record's start
    return status::need_more;
  }

  // p is at '\n' or '\r': consumes the line break. False when a CR ends a non-final buffer.
  bool end_of_record(const char* p) noexcept {
    if (*p == '\r') {
      if (p + 1 == end_ && !eof_) return false;
      if (p + 1 != end_ && p[1] == '\n') ++p;
    }
    pos_ = p + 1;
    ++line_;
    return true;
  }

  static void set_error(csv_record& rec, std::int64_t field_no, std::string reason) {
    if (rec.error_column != 0) return;  // keep the first
    rec.error_column = field_no;
    rec.error = std::move(reason);
  }

  std::string_view field_text(const char* b, const char* e, bool doubled, std::size_t& scratch_used) {
    if (!doubled) return {b, static_cast<std::size_t>(e - b)};
    if (scratch_used == scratch_.size()) scratch_.emplace_back();  // deque: earlier strings stay put
    std::string& s = scratch_[scratch_used++];
    s.clear();
    for (const char* q = b; q != e; ++q) {
      s.push_back(*q);
      if (*q == '"' && q + 1 != e && q[1] == '"') ++q;
    }
    return s;
  }

  char delim_;
  bool quoting_;
  std::array<bool, 256> plain_{};   // bytes that end a run inside an unquoted field
  std::array<bool, 256> quoted_{};  // bytes that end a run inside a quoted field
  const char* begin_ = nullptr;
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  bool eof_ = true;
  std::int64_t line_ = 1;
  std::deque<std::string> scratch_;
};

using csv_tokenizer = basic_csv_tokenizer<>;

/// Bytes read from a file at a time by csv_source (the buffer grows only for longer records).
inline constexpr std::size_t default_chunk_bytes = std::size_t{1} << 20;

/// A tokenizer with its input: a caller's text (not copied; it must outlive the source) or a
/// file read in chunks. A UTF-8 byte-order mark at the start is skipped. (`csv_source` is
/// `basic_csv_source<>`.)
template <class T = void>
class basic_csv_source {
 public:
  basic_csv_source(std::string_view text, std::string name, char delimiter, bool quoting)
      : name_(std::move(name)), tok_(delimiter, quoting), size_(text.size()) {
    const std::size_t skip = has_bom(text) ? 3 : 0;
    bom_ = skip != 0;
    start_ = skip;
    tok_.set_buffer(text.data() + skip, text.data() + text.size(), true);
  }

  /// @throws recsys::io_error if the file cannot be opened.
  basic_csv_source(const std::filesystem::path& path, char delimiter, bool quoting,
             std::size_t chunk_bytes = default_chunk_bytes)
      : name_(path.string()), tok_(delimiter, quoting), buf_(std::max<std::size_t>(chunk_bytes, 4)) {
    errno = 0;
    file_ = std::fopen(name_.c_str(), "rb");
    if (file_ == nullptr) throw io_error(name_, "cannot open for reading: " + errno_message(errno));
    std::error_code ec;
    const auto sz = std::filesystem::file_size(path, ec);
    size_ = ec ? 0 : static_cast<std::size_t>(sz);
    fill();
    std::size_t skip = 0;
    if (has_bom(std::string_view(buf_.data(), filled_))) skip = 3;
    bom_ = skip != 0;
    tok_.set_buffer(buf_.data() + skip, buf_.data() + filled_, eof_);
    start_ = skip;
  }

  basic_csv_source(const basic_csv_source&) = delete;
  basic_csv_source& operator=(const basic_csv_source&) = delete;
  ~basic_csv_source() {
    if (file_ != nullptr) std::fclose(file_);
  }

  /// Reads the next record; false at the end of the input.
  /// @throws recsys::io_error when reading the file fails.
  bool next(csv_record& rec) {
    for (;;) {
      switch (tok_.next(rec)) {
        case tokenizer::status::record:
          return true;
        case tokenizer::status::end:
          return false;
        case tokenizer::status::need_more:
          refill();
          break;
      }
    }
  }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// Total input size in bytes (0 when unknown), for capacity estimates.
  [[nodiscard]] std::size_t size_hint() const noexcept { return size_; }
  /// Bytes of the input taken by the records read so far (the BOM included).
  [[nodiscard]] std::size_t position() const noexcept { return base_ + start_ + tok_.consumed(); }
  /// Whether the input started with a UTF-8 byte-order mark.
  [[nodiscard]] bool had_bom() const noexcept { return bom_; }

 private:
  static bool has_bom(std::string_view s) noexcept { return s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF"; }

  static std::string errno_message(int e) { return e != 0 ? std::generic_category().message(e) : "unknown error"; }

  // Reads until the buffer is full or the file ends.
  void fill() {
    while (filled_ < buf_.size() && !eof_) {
      const std::size_t n = std::fread(buf_.data() + filled_, 1, buf_.size() - filled_, file_);
      filled_ += n;
      if (n == 0) {
        if (std::ferror(file_)) throw io_error(name_, "read failed: " + errno_message(errno));
        eof_ = true;
      }
    }
  }

  void refill() {
    if (file_ == nullptr) throw io_error(name_, "internal error: a complete text asked for more input");
    const std::size_t keep_from = start_ + tok_.consumed();
    const std::size_t keep = filled_ - keep_from;
    if (keep_from > 0) std::memmove(buf_.data(), buf_.data() + keep_from, keep);
    base_ += keep_from;
    filled_ = keep;
    start_ = 0;
    if (filled_ == buf_.size()) buf_.resize(buf_.size() * 2);  // one record longer than the buffer
    fill();
    tok_.set_buffer(buf_.data(), buf_.data() + filled_, eof_);
  }

  using tokenizer = basic_csv_tokenizer<T>;

  std::string name_;
  tokenizer tok_;
  std::vector<char> buf_;
  std::FILE* file_ = nullptr;
  std::size_t filled_ = 0;
  std::size_t start_ = 0;
  std::size_t size_ = 0;
  std::size_t base_ = 0;  // file offset of buf_[0]
  bool eof_ = false;
  bool bom_ = false;
};

using csv_source = basic_csv_source<>;

// ------------------------------------------------------------------------------------------
// Id lookups at ingestion speed.

/// A fast string hash for short ids (8 bytes per step, multiply-xorshift, SplitMix64 finish).
template <class = void>
[[nodiscard]] std::uint64_t hash_bytes(std::string_view s) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (s.size() * 0xff51afd7ed558ccdULL);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
  }
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}


/// An accelerator in front of an id_map<std::string> for bulk ingestion. Lookups of a random
/// id in a large map cost two dependent cache misses (slot, then key); key_index stores a
/// 32-bit hash tag with each index in one 8-byte slot and lets a reader prefetch the slots and
/// keys of a batch of rows before resolving them in order, so the misses overlap. The id_map
/// stays the source of truth: new ids are inserted into it (first-seen order is unchanged), and
/// the key_index is discarded after the load. Only insert through the key_index while it lives.
/// (`key_index` is `basic_key_index<>`.)
template <class = void>
class basic_key_index {
 public:
  explicit basic_key_index(id_map<std::string>& ids) : ids_(ids) {
    rebuild(capacity_for(static_cast<std::size_t>(ids.size()) + 1));
  }

  /// Prefetches the slot of hash h.
  void prefetch_slot(std::uint64_t h) const noexcept { prefetch(&slots_[h & mask_]); }

  /// Prefetches the key that the slot of h points to when its tag matches (call after
  /// prefetch_slot, before insert).
  void prefetch_key(std::uint64_t h) const noexcept {
    const std::uint64_t e = slots_[h & mask_];
    if (e != empty && (e >> 32) == (h >> 32)) prefetch(&ids_.ids()[static_cast<std::size_t>(e & 0xffffffffULL)]);
  }

  /// The index of `key` (whose hash_bytes is h), inserting it into the id_map if new.
  index_t insert(std::string_view key, std::uint64_t h) {
    if ((static_cast<std::size_t>(ids_.size()) + 1) * 2 > slots_.size()) rebuild(slots_.size() * 2);
    const auto& keys = ids_.ids();
    std::size_t s = h & mask_;
    for (;;) {
      const std::uint64_t e = slots_[s];
      if (e == empty) break;
      if ((e >> 32) == (h >> 32) && keys[static_cast<std::size_t>(e & 0xffffffffULL)] == key)
        return static_cast<index_t>(e & 0xffffffffULL);
      s = (s + 1) & mask_;
    }
    const index_t i = ids_.insert(key);
    RECSYS_ASSERT(i == ids_.size() - 1);
    slots_[s] = (h & 0xffffffff00000000ULL) | static_cast<std::uint32_t>(i);
    return i;
  }

 private:
  static constexpr std::uint64_t empty = ~std::uint64_t{0};  // indices are < 2^31: never all ones

  static std::size_t capacity_for(std::size_t n) {
    std::size_t c = 64;
    while (c < n * 2) c *= 2;
    return c;
  }

  void rebuild(std::size_t capacity) {
    slots_.assign(capacity, empty);
    mask_ = capacity - 1;
    const auto& keys = ids_.ids();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::uint64_t h = hash_bytes(keys[i]);
      std::size_t s = h & mask_;
      while (slots_[s] != empty) s = (s + 1) & mask_;
      slots_[s] = (h & 0xffffffff00000000ULL) | static_cast<std::uint32_t>(i);
    }
  }

  id_map<std::string>& ids_;
  std::vector<std::uint64_t> slots_;
  std::size_t mask_ = 0;
};

using key_index = basic_key_index<>;

// ------------------------------------------------------------------------------------------
// Numbers: strict, locale-independent (std::from_chars).

enum class number_error {
  none,
  empty,         ///< the field is empty
  invalid,       ///< not a number in the accepted syntax
  out_of_range,  ///< does not fit the target type
  fraction,      ///< an integer field with a non-zero fractional part
};

/// Whole seconds: -?[0-9]+(\.[0-9]+)?. A fractional part of zeros is accepted; a non-zero one
/// is number_error::fraction unless `floor_fraction` (then rounded toward minus infinity).
template <class = void>
number_error parse_seconds(std::string_view s, bool floor_fraction, std::int64_t& out) noexcept {
  if (s.empty()) return number_error::empty;
  const char* b = s.data();
  const char* e = b + s.size();
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(b, e, v);
  if (ec == std::errc::result_out_of_range) return number_error::out_of_range;
  if (ec != std::errc()) return number_error::invalid;
  if (p != e) {
    if (*p != '.' || p + 1 == e) return number_error::invalid;
    bool nonzero = false;
    for (const char* q = p + 1; q != e; ++q) {
      if (*q < '0' || *q > '9') return number_error::invalid;
      nonzero = nonzero || *q != '0';
    }
    if (nonzero) {
      if (!floor_fraction) return number_error::fraction;
      if (*b == '-') {
        if (v == std::numeric_limits<std::int64_t>::min()) return number_error::out_of_range;
        --v;
      }
    }
  }
  out = v;
  return number_error::none;
}

/// A finite float in std::from_chars' general syntax ("3", "-2.5", "1e-3"); "nan"/"inf" are
/// invalid. Values too small for a normal float become subnormal or zero; too large: out_of_range.
template <class = void>
number_error parse_float(std::string_view s, float& out) noexcept {
  if (s.empty()) return number_error::empty;
  const char* b = s.data();
  const char* e = b + s.size();
  float v = 0;
  const auto [p, ec] = std::from_chars(b, e, v);
  if (ec == std::errc::invalid_argument || p != e) return number_error::invalid;
  if (ec == std::errc::result_out_of_range) {
    double d = 0;
    const auto [p2, ec2] = std::from_chars(b, e, d);
    if (ec2 == std::errc() && p2 == e && std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())) {
      out = static_cast<float>(d);
      return number_error::none;
    }
    return number_error::out_of_range;
  }
  if (!std::isfinite(v)) return number_error::invalid;
  out = v;
  return number_error::none;
}

/// A finite double, same syntax as parse_float.
template <class = void>
number_error parse_double(std::string_view s, double& out) noexcept {
  if (s.empty()) return number_error::empty;
  const char* b = s.data();
  const char* e = b + s.size();
  double v = 0;
  const auto [p, ec] = std::from_chars(b, e, v);
  if (ec == std::errc::invalid_argument || p != e) return number_error::invalid;
  if (ec == std::errc::result_out_of_range) {
    // underflow (a tiny non-zero value) is representable as subnormal/zero; overflow is not
    bool has_exp = false;
    bool neg_exp = false;
    for (const char* q = b; q != e; ++q)
      if (*q == 'e' || *q == 'E') {
        has_exp = true;
        neg_exp = q + 1 != e && q[1] == '-';
      }
    if (has_exp && neg_exp) {
      out = 0.0;
      return number_error::none;
    }
    return number_error::out_of_range;
  }
  if (!std::isfinite(v)) return number_error::invalid;
  out = v;
  return number_error::none;
}

// ------------------------------------------------------------------------------------------
// Text helpers.

// iequals (ASCII case-insensitive equality of header names) lives in detail/strings.hpp.

/// A field value for an error message: quoted, control characters escaped, long values cut.
template <class = void>
[[nodiscard]] std::string excerpt(std::string_view s, std::size_t max_chars = 40) {
  std::string out = "'";
  const std::size_t n = std::min(s.size(), max_chars);
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else
      out += c;
  }
  out += '\'';
  if (s.size() > max_chars) out += str("... (", s.size(), " bytes)");
  return out;
}

/// Whether a writer must quote `s` (RFC 4180: it holds the delimiter, a quote or a line break).
template <class = void>
[[nodiscard]] bool needs_quotes(std::string_view s, char delimiter) noexcept {
  for (const char c : s)
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') return true;
  return false;
}

/// Appends `s` as one field, quoted (with doubled quotes) only when needed.
template <class = void>
void append_field(std::string& out, std::string_view s, char delimiter) {
  if (!needs_quotes(s, delimiter)) {
    out.append(s);
    return;
  }
  out.push_back('"');
  for (const char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

/// Appends a number in its shortest form that reads back to the same value.
template <class T>
void append_number(std::string& out, T v) {
  char buf[64];
  const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  RECSYS_ASSERT(ec == std::errc());
  out.append(buf, static_cast<std::size_t>(p - buf));
}

/// Collects output in a string and hands it to a std::ostream in large blocks.
/// (`buffered_writer` is `basic_buffered_writer<>`.)
template <class = void>
class basic_buffered_writer {
 public:
  explicit basic_buffered_writer(std::ostream& os) : os_(os) { buf_.reserve(block + 4096); }
  std::string& buffer() noexcept { return buf_; }
  /// Call after each record: writes the buffer out once it is large.
  void maybe_flush() {
    if (buf_.size() >= block) flush();
  }
  void flush() {
    os_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

 private:
  static constexpr std::size_t block = std::size_t{1} << 20;
  std::ostream& os_;
  std::string buf_;
};

using buffered_writer = basic_buffered_writer<>;

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_CSV_TOKENIZER_HPP
