// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_IO_XTENSOR_HPP
#define RECSYS_IO_XTENSOR_HPP

/// @file
/// xtensor interop for model arrays: the one public header that includes xtensor (its cost is
/// about that of Eigen's, so the rest of recsys keeps it out).
///
/// @code
///   #include <recsys/io/xtensor.hpp>
///   xt::xarray<float> x = recsys::to_xarray(recsys::read_npy<float>("model/item_factors.npy"));
/// @endcode

#include <recsys/detail/xtensor.hpp>
#include <recsys/io/npy.hpp>

#include <cstddef>
#include <vector>

namespace recsys {

/// The array as an xtensor array (one copy), for N-d work on model arrays.
template <class T>
[[nodiscard]] xt::xarray<T> to_xarray(const npy_array<T>& a) {
  std::vector<std::size_t> shape(a.shape.begin(), a.shape.end());
  xt::xarray<T> x = xt::adapt(a.data, shape);
  return x;
}

}  // namespace recsys

#endif  // RECSYS_IO_XTENSOR_HPP
