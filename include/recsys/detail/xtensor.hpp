// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_XTENSOR_HPP
#define RECSYS_DETAIL_XTENSOR_HPP

/// @file
/// Internal: the only place recsys includes xtensor. xtensor 0.24/0.25 (Debian 12) keep their
/// headers flat in <xtensor/...>; 0.26 moved them into sub-folders without forwarding headers.

#if __has_include(<xtensor/containers/xarray.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xarray.hpp>
#include <xtensor/containers/xtensor.hpp>
#include <xtensor/io/xnpy.hpp>
#elif __has_include(<xtensor/xarray.hpp>)
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xtensor.hpp>
#else
#error "recsys needs xtensor (0.24 or newer): install libxtensor-dev or add xtensor to the include path"
#endif

#endif  // RECSYS_DETAIL_XTENSOR_HPP
