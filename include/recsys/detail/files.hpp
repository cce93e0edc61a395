// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_FILES_HPP
#define RECSYS_DETAIL_FILES_HPP

/// @file
/// Internal: all-or-nothing file output for the writers (CSV, metadata, .npy).

#include <recsys/errors.hpp>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <system_error>
#include <thread>

namespace recsys::detail {

/// Runs body(std::ostream&) into a temporary file beside `path` and renames it onto `path` once
/// everything was written: a reader sees the old file or the new one, never a half-written one.
/// On any error (including one thrown by `body`) the temporary file is removed and an existing
/// `path` is left as it was. A target that exists and is not a regular file (a device such as
/// /dev/stdout, a pipe) is written directly.
/// @throws recsys::io_error naming `path` when it cannot be written or replaced.
template <class Body>
void write_file(const std::filesystem::path& path, Body&& body) {
  namespace fs = std::filesystem;
  std::error_code status_error;
  const fs::file_status st = fs::status(path, status_error);
  const bool direct = !status_error && fs::exists(st) && !fs::is_regular_file(st);
  fs::path out_path = path;
  if (!direct)
    out_path += ".tmp-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
                std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  struct remover {
    const fs::path* p;
    ~remover() {
      if (p) {
        std::error_code ec;
        fs::remove(*p, ec);
      }
    }
  } guard{direct ? nullptr : &out_path};

  errno = 0;
  std::ofstream os(out_path, std::ios::binary | std::ios::trunc);
  if (!os)
    throw io_error(path.string(), "cannot open for writing: " + (errno != 0 ? std::generic_category().message(errno)
                                                                            : std::string("unknown error")));
  body(static_cast<std::ostream&>(os));
  os.flush();
  if (!os) throw io_error(path.string(), "write failed (disk full?)");
  os.close();
  if (!os) throw io_error(path.string(), "closing the file failed");
  if (direct) return;
  std::error_code ec;
  fs::rename(out_path, path, ec);
  if (ec) throw io_error(path.string(), "cannot replace the file: " + ec.message());
  guard.p = nullptr;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_FILES_HPP
