// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RECIPE_HPP
#define RECSYS_RECIPE_HPP

/// @file
/// A recipe registry entry (recipes.hpp lists them): the name `--recipe` takes, its
/// hyperparameters, how to make an unfitted model, and the search space AutoML tunes.

#include <recsys/errors.hpp>
#include <recsys/models/model.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/random.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

/// One hyperparameter AutoML tunes: a list of choices (as set_param text) or a numeric range,
/// sampled uniformly or log-uniformly, optionally as integers. Real values are rounded to three
/// significant digits so leaderboards stay readable and every sampled value is exact text.
struct search_dimension {
  enum class kind { choice, uniform, log_uniform };
  std::string name;                  ///< the recipe parameter
  kind type = kind::choice;
  std::vector<std::string> choices;  ///< kind::choice: the values
  double low = 0;                    ///< ranges: the closed interval [low, high]
  double high = 0;
  bool integer = false;              ///< ranges: round to the nearest integer

  [[nodiscard]] static search_dimension one_of(std::string name, std::vector<std::string> values) {
    return {std::move(name), kind::choice, std::move(values), 0, 0, false};
  }
  [[nodiscard]] static search_dimension uniform(std::string name, double low, double high, bool integer = false) {
    return {std::move(name), kind::uniform, {}, low, high, integer};
  }
  [[nodiscard]] static search_dimension log_uniform(std::string name, double low, double high, bool integer = false) {
    return {std::move(name), kind::log_uniform, {}, low, high, integer};
  }

  /// Checks the definition. @throws recsys::invalid_argument naming the dimension.
  void validate() const {
    RECSYS_REQUIRE(!name.empty(), "search_dimension", "empty parameter name");
    if (type == kind::choice) {
      RECSYS_REQUIRE(!choices.empty(), "search_dimension", "'", name, "' has no choices");
    } else {
      RECSYS_REQUIRE(std::isfinite(low) && std::isfinite(high) && low <= high, "search_dimension", "'", name,
                     "' needs a finite range low <= high (got [", low, ", ", high, "])");
      RECSYS_REQUIRE(type != kind::log_uniform || low > 0, "search_dimension", "'", name,
                     "' is log-uniform and needs low > 0 (got ", low, ")");
    }
  }

  /// One value as set_param text, drawn from `r`.
  [[nodiscard]] std::string sample(rng& r) const {
    validate();
    if (type == kind::choice) return choices[r.uniform_index(static_cast<std::uint32_t>(choices.size()))];
    const double u = r.uniform_double();
    double x = type == kind::uniform ? low + u * (high - low)
                                     : std::exp(std::log(low) + u * (std::log(high) - std::log(low)));
    x = std::clamp(x, low, high);
    if (integer) return std::to_string(std::llround(x));
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 3);
    return std::string(buf, ec == std::errc() ? end : buf);
  }

  /// "{32, 64, 128}", "[0.001, 0.1] log", "[1, 10] int".
  [[nodiscard]] std::string describe() const {
    std::string out;
    if (type == kind::choice) {
      out = "{";
      for (std::size_t i = 0; i < choices.size(); ++i) {
        if (i) out += ", ";
        out += choices[i].empty() ? std::string("\"\"") : choices[i];
      }
      return out + "}";
    }
    out = detail::str("[", low, ", ", high, "]");
    if (type == kind::log_uniform) out += " log";
    if (integer) out += " int";
    return out;
  }
};

/// A recipe's search space: the dimensions AutoML samples (the other parameters keep their
/// defaults).
using search_space = std::vector<search_dimension>;

/// A registry entry.
struct recipe {
  std::string name;         ///< what --recipe takes
  std::string description;  ///< one line
  std::string personalize;  ///< the Amazon Personalize recipe it corresponds to
  std::vector<recipe_param> params;
  /// Builds an unfitted model with the defaults overridden by `params`.
  std::function<std::unique_ptr<model>(const param_map& params)> make;
  /// What AutoML tunes (recsys::automl), with documented ranges; empty: nothing to tune.
  search_space search = {};
  /// How a time-decay half-life reaches this recipe (recsys::search_time_windows): empty when
  /// it cannot (the fit ignores event weights and has no decay setting); "weights" when event
  /// weights are multiplied by 2^(-age / half_life) before fitting; otherwise the name of the
  /// recipe parameter that takes the half-life in seconds.
  std::string time_decay = {};
};

}  // namespace recsys

#endif  // RECSYS_RECIPE_HPP
