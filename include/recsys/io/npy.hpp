// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_IO_NPY_HPP
#define RECSYS_IO_NPY_HPP

/// @file
/// NumPy `.npy` files: the format recsys stores model arrays in, so `numpy.load` opens them.
///
/// The reader is strict, because model files come from disk and disks lie: it checks the magic,
/// the version, the header dictionary (descr, fortran_order, shape), the dtype against the
/// requested element type, the shape for overflow, and that the data section has exactly the
/// size the header promises. Any problem is a recsys::io_error naming the file and what is wrong;
/// it never reads out of bounds or allocates what the file size cannot back.
/// Supported element types: float, double, int32, int64, uint8 (little-endian, C order).
///
/// @code
///   recsys::row_matrix<float> v = ...;
///   recsys::write_npy("item_factors.npy", v);
///   auto back = recsys::read_npy_matrix<float>("item_factors.npy");   // numpy: np.load(...)
/// @endcode
///
/// xtensor interop (`to_xarray`) is in io/xtensor.hpp, so that only the units that use xtensor
/// pay for including it.

#include <recsys/detail/files.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace recsys {

static_assert(std::endian::native == std::endian::little, "recsys's .npy I/O assumes a little-endian host");

/// An N-d array read from a .npy file: C-order data and its shape.
template <class T>
struct npy_array {
  std::vector<std::int64_t> shape;
  std::vector<T> data;
  [[nodiscard]] std::int64_t size() const noexcept {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

namespace detail {

template <class T>
constexpr std::string_view npy_descr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, double>) return "<f8";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "<i8";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
  else static_assert(sizeof(T) == 0, "unsupported .npy element type");
}

/// The bytes of a .npy file holding a C-order array of T with the given shape.
template <class T>
std::string npy_bytes(const T* data, std::span<const std::int64_t> shape) {
  std::string dict = "{'descr': '";
  dict += npy_descr<T>();
  dict += "', 'fortran_order': False, 'shape': (";
  std::int64_t count = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    RECSYS_REQUIRE(shape[i] >= 0, "write_npy", "negative dimension ", shape[i]);
    dict += std::to_string(shape[i]);
    if (shape.size() == 1) dict += ',';
    if (i + 1 < shape.size()) dict += ", ";
    count *= shape[i];
  }
  dict += "), }";
  // magic(6) + version(2) + header length(2) + dict + padding + '\n' is a multiple of 64
  const std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  RECSYS_REQUIRE(dict.size() <= 65535, "write_npy", "header too long (", shape.size(), " dimensions)");
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  const auto bytes = static_cast<std::size_t>(count) * sizeof(T);
  if (bytes) out.append(reinterpret_cast<const char*>(data), bytes);
  return out;
}

/// Parses the header dictionary; fills descr, fortran order and shape or throws io_error.
inline void parse_npy_dict(std::string_view d, const std::string& file, std::string& descr, bool& fortran,
                           std::vector<std::int64_t>& shape) {
  auto fail = [&](const std::string& why) { throw io_error(file, "not a valid .npy header: " + why); };
  std::size_t p = 0;
  auto ws = [&] {
    while (p < d.size() && (d[p] == ' ' || d[p] == '\t' || d[p] == '\n')) ++p;
  };
  auto expect = [&](char c) {
    ws();
    if (p >= d.size() || d[p] != c) fail(std::string("expected '") + c + "'");
    ++p;
  };
  auto quoted = [&]() {
    ws();
    if (p >= d.size() || (d[p] != '\'' && d[p] != '"')) fail("expected a quoted string");
    const char q = d[p++];
    const std::size_t start = p;
    while (p < d.size() && d[p] != q) ++p;
    if (p >= d.size()) fail("unterminated string");
    return std::string(d.substr(start, p++ - start));
  };
  bool have_descr = false, have_fortran = false, have_shape = false;
  expect('{');
  for (;;) {
    ws();
    if (p < d.size() && d[p] == '}') {
      ++p;
      break;
    }
    const std::string key = quoted();
    expect(':');
    ws();
    if (key == "descr" && !have_descr) {
      descr = quoted();
      have_descr = true;
    } else if (key == "fortran_order" && !have_fortran) {
      if (d.substr(p, 4) == "True") {
        fortran = true;
        p += 4;
      } else if (d.substr(p, 5) == "False") {
        fortran = false;
        p += 5;
      } else {
        fail("fortran_order must be True or False");
      }
      have_fortran = true;
    } else if (key == "shape" && !have_shape) {
      expect('(');
      shape.clear();
      for (;;) {
        ws();
        if (p < d.size() && d[p] == ')') {
          ++p;
          break;
        }
        std::int64_t v = 0;
        std::size_t digits = 0;
        while (p < d.size() && d[p] >= '0' && d[p] <= '9') {
          if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) fail("dimension too large");
          v = v * 10 + (d[p++] - '0');
          ++digits;
        }
        if (digits == 0) fail("bad shape");
        if (p < d.size() && d[p] == 'L') ++p;  // Python 2 longs
        shape.push_back(v);
        if (shape.size() > 32) fail("more than 32 dimensions");
        ws();
        if (p < d.size() && d[p] == ',') ++p;
        else if (p >= d.size() || d[p] != ')') fail("bad shape");
      }
      have_shape = true;
    } else {
      fail("unexpected or repeated key '" + key + "'");
    }
    ws();
    if (p < d.size() && d[p] == ',') ++p;
  }
  ws();
  if (p != d.size()) fail("text after the dictionary");
  if (!have_descr || !have_fortran || !have_shape) fail("descr, fortran_order and shape are required");
}

/// The whole file as bytes. @throws recsys::io_error.
inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path.string(), "cannot open file");
  in.seekg(0, std::ios::end);
  const std::streamoff n = in.tellg();
  if (n < 0) throw io_error(path.string(), "cannot determine the file size");
  std::string bytes(static_cast<std::size_t>(n), '\0');
  in.seekg(0);
  if (n > 0 && !in.read(bytes.data(), n)) throw io_error(path.string(), "read failed");
  return bytes;
}

}  // namespace detail

/// Parses .npy bytes (`source` names them in errors). @throws recsys::io_error.
template <class T>
[[nodiscard]] npy_array<T> parse_npy(std::string_view bytes, const std::string& source) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6))
    throw io_error(source, "not a .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(static_cast<unsigned char>(bytes[8])) |
                 (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw io_error(source, "truncated .npy header");
    for (std::size_t i = 4; i-- > 0;) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    offset = 12;
  } else {
    throw io_error(source, "unsupported .npy version " + std::to_string(major));
  }
  if (header_len > bytes.size() - offset) throw io_error(source, "truncated .npy header");
  std::string descr;
  bool fortran = false;
  npy_array<T> out;
  detail::parse_npy_dict(bytes.substr(offset, header_len), source, descr, fortran, out.shape);
  if (descr != detail::npy_descr<T>())
    throw io_error(source, "element type is '" + descr + "', expected '" + std::string(detail::npy_descr<T>()) + "'");
  if (fortran) throw io_error(source, "Fortran-order arrays are not supported (save with C order)");
  const std::size_t data_bytes = bytes.size() - offset - header_len;
  std::uint64_t count = 1;
  for (auto d : out.shape) {
    if (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / sizeof(T) / static_cast<std::uint64_t>(d))
      throw io_error(source, "shape too large");
    count *= static_cast<std::uint64_t>(d);
  }
  if (count * sizeof(T) != data_bytes)
    throw io_error(source, "data section has " + std::to_string(data_bytes) + " bytes, the shape needs " +
                               std::to_string(count * sizeof(T)) + " (truncated or corrupted file)");
  out.data.resize(static_cast<std::size_t>(count));
  if (count) std::memcpy(out.data.data(), bytes.data() + offset + header_len, data_bytes);
  return out;
}

/// Reads a .npy file of element type T. @throws recsys::io_error naming the file.
template <class T>
[[nodiscard]] npy_array<T> read_npy(const std::filesystem::path& path) {
  return parse_npy<T>(detail::read_file_bytes(path), path.string());
}

/// Writes a C-order array, all or nothing (a temporary file renamed onto `path` when complete).
/// @throws recsys::io_error when the file cannot be written.
template <class T>
void write_npy(const std::filesystem::path& path, const T* data, std::span<const std::int64_t> shape) {
  const std::string bytes = detail::npy_bytes(data, shape);
  detail::write_file(path,
                     [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

/// Writes a dense Eigen matrix (any storage order) as a 2-d C-order array.
template <class Derived>
void write_npy(const std::filesystem::path& path, const Eigen::DenseBase<Derived>& m) {
  using T = typename Derived::Scalar;
  const row_matrix<T> rm = m;  // C order
  const std::int64_t shape[2] = {static_cast<std::int64_t>(rm.rows()), static_cast<std::int64_t>(rm.cols())};
  write_npy<T>(path, rm.data(), shape);
}

/// Writes a std::vector as a 1-d array.
template <class T>
void write_npy(const std::filesystem::path& path, const std::vector<T>& v) {
  const std::int64_t shape[1] = {static_cast<std::int64_t>(v.size())};
  write_npy<T>(path, v.data(), shape);
}

/// Reads a 2-d array into a row-major Eigen matrix. @throws recsys::io_error if it is not 2-d.
template <class T>
[[nodiscard]] row_matrix<T> read_npy_matrix(const std::filesystem::path& path) {
  npy_array<T> a = read_npy<T>(path);
  if (a.shape.size() != 2)
    throw io_error(path.string(), "expected a 2-d array, got " + std::to_string(a.shape.size()) + "-d");
  return Eigen::Map<const row_matrix<T>>(a.data.data(), static_cast<Eigen::Index>(a.shape[0]),
                                         static_cast<Eigen::Index>(a.shape[1]));
}

/// Reads a 1-d array. @throws recsys::io_error if it is not 1-d.
template <class T>
[[nodiscard]] std::vector<T> read_npy_vector(const std::filesystem::path& path) {
  npy_array<T> a = read_npy<T>(path);
  if (a.shape.size() != 1)
    throw io_error(path.string(), "expected a 1-d array, got " + std::to_string(a.shape.size()) + "-d");
  return std::move(a.data);
}

}  // namespace recsys

#endif  // RECSYS_IO_NPY_HPP
