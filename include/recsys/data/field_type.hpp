// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_FIELD_TYPE_HPP
#define RECSYS_DATA_FIELD_TYPE_HPP

/// @file
/// The type of a metadata field (data/metadata.hpp) and the value of a missing timestamp: apart
/// so that code which names field types (the filters' field references) does not include the
/// metadata readers.

#include <recsys/types.hpp>

#include <limits>

namespace recsys {

/// The type of a metadata field.
enum class field_type {
  numeric,      ///< double per row, NaN = missing
  categorical,  ///< codes into a per-field dictionary (several per row allowed), none = missing
  timestamp,    ///< Unix seconds per row (Items CREATION_TIMESTAMP), missing_timestamp = missing
};

/// The value of a missing timestamp in a metadata field.
inline constexpr timestamp_t missing_timestamp = std::numeric_limits<timestamp_t>::min();

}  // namespace recsys

#endif  // RECSYS_DATA_FIELD_TYPE_HPP
