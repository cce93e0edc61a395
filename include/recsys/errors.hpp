// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_ERRORS_HPP
#define RECSYS_ERRORS_HPP

/// @file
/// The exception hierarchy. Every error recsys raises derives from recsys::error,
/// which derives from std::runtime_error, so `catch (const std::exception&)` still works.
///
///   recsys::error                 (std::runtime_error)
///   ├── recsys::invalid_argument  bad parameter, shape, id or k; names the function and value
///   ├── recsys::io_error          unreadable or malformed file; carries file, line, column
///   ├── recsys::numerical_error   a solve or an update that cannot be completed (NaN, singular)
///   └── recsys::cancelled         a long job was cancelled through its cancellation_token

#include <cassert>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace recsys {

/// Root of every exception recsys throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller passed something recsys cannot use: a negative k, a mismatched shape, an unknown
/// option, a NaN hyperparameter. The message names the function and the offending value.
class invalid_argument : public error {
 public:
  using error::error;
};

/// A file cannot be opened, read, written, or parsed. Carries the file name and, when the
/// problem is tied to a place in the file, the 1-based line and column (0 when unknown).
class io_error : public error {
 public:
  io_error(std::string file, std::int64_t line, std::int64_t column, std::string reason)
      : error(format(file, line, column, reason)),
        file_(std::move(file)),
        reason_(std::move(reason)),
        line_(line),
        column_(column) {}

  /// A whole-file problem (cannot open, wrong format version, ...).
  io_error(std::string file, std::string reason) : io_error(std::move(file), 0, 0, std::move(reason)) {}

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::int64_t line() const noexcept { return line_; }
  [[nodiscard]] std::int64_t column() const noexcept { return column_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  static std::string format(const std::string& file, std::int64_t line, std::int64_t column,
                            const std::string& reason) {
    std::ostringstream os;
    os << (file.empty() ? std::string("<input>") : file);
    if (line > 0) os << ':' << line;
    if (line > 0 && column > 0) os << ':' << column;
    os << ": " << reason;
    return os.str();
  }

  std::string file_;
  std::string reason_;
  std::int64_t line_ = 0;
  std::int64_t column_ = 0;
};

/// A numerical step failed: a Cholesky factorisation of a non-positive-definite system, a
/// non-finite loss or factor. The message names the row or epoch and suggests a remedy.
class numerical_error : public error {
 public:
  using error::error;
};

/// A long job stopped because its cancellation_token was cancelled. The object the job
/// belonged to is left in its last consistent state (documented per component).
class cancelled : public error {
 public:
  cancelled() : error("recsys: the job was cancelled") {}
  using error::error;
};

namespace detail {

/// Concatenates anything streamable into a string: the message builder for every throw.
template <class... Args>
[[nodiscard]] std::string str(const Args&... args) {
  std::ostringstream os;
  os.precision(9);
  (os << ... << args);
  return os.str();
}

/// Throws recsys::invalid_argument("recsys::<where>: <what...>").
template <class... Args>
[[noreturn]] void throw_invalid_argument(std::string_view where, const Args&... what) {
  throw invalid_argument(str("recsys::", where, ": ", what...));
}

/// Throws recsys::numerical_error("recsys::<where>: <what...>").
template <class... Args>
[[noreturn]] void throw_numerical_error(std::string_view where, const Args&... what) {
  throw numerical_error(str("recsys::", where, ": ", what...));
}

}  // namespace detail
}  // namespace recsys

/// Checks a precondition on caller input; throws recsys::invalid_argument naming `where`.
/// Always active (user input is checked in every build type).
#define RECSYS_REQUIRE(cond, where, ...)                                \
  do {                                                                  \
    if (!(cond)) ::recsys::detail::throw_invalid_argument(where, __VA_ARGS__); \
  } while (false)

/// Internal invariant (never caller input). Active unless NDEBUG or RECSYS_NO_DEBUG is defined;
/// users may define their own RECSYS_ASSERT before including recsys.
#ifndef RECSYS_ASSERT
#if defined(RECSYS_NO_DEBUG)
#define RECSYS_ASSERT(cond) ((void)0)
#else
#define RECSYS_ASSERT(cond) assert(cond)
#endif
#endif

#endif  // RECSYS_ERRORS_HPP
