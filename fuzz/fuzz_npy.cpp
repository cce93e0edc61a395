// SPDX-License-Identifier: Apache-2.0
// Fuzz target: .npy parsing (io/npy.hpp parse_npy). Option byte % 5 selects the element type
// (float, double, int32, int64, uint8).
// Invariants of a successful parse: size() equals the number of elements read, and writing the
// array (npy_bytes) and parsing it again gives the same shape and bytes.
#include "fuzz_support.hpp"

#include <recsys/io/npy.hpp>

#include <cstring>
#include <optional>

namespace {

template <class T>
void run(std::string_view bytes) {
  std::optional<recsys::npy_array<T>> a;
  try {
    a = recsys::parse_npy<T>(bytes, "fuzz.npy");
  } catch (const recsys::error&) {
    return;
  }
  RECSYS_FUZZ_CHECK(a->size() >= 0);
  RECSYS_FUZZ_CHECK(static_cast<std::uint64_t>(a->size()) == a->data.size());
  for (const auto d : a->shape) RECSYS_FUZZ_CHECK(d >= 0);
  const std::string again = recsys::detail::npy_bytes<T>(a->data.data(), a->shape);
  const auto b = recsys::parse_npy<T>(again, "round-trip.npy");
  RECSYS_FUZZ_CHECK(b.shape == a->shape);
  RECSYS_FUZZ_CHECK(b.data.size() == a->data.size());
  RECSYS_FUZZ_CHECK(b.data.empty() || std::memcmp(b.data.data(), a->data.data(), b.data.size() * sizeof(T)) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = recsys::fuzz::split(data, size);
  switch (in.option % 5) {
    case 0: run<float>(in.text); break;
    case 1: run<double>(in.text); break;
    case 2: run<std::int32_t>(in.text); break;
    case 3: run<std::int64_t>(in.text); break;
    default: run<std::uint8_t>(in.text); break;
  }
  return 0;
}
