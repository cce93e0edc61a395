// SPDX-License-Identifier: Apache-2.0
// The recipe registry compiled once: the one translation unit of recsys::recipes (see recipes()
// in include/recsys/recipes.hpp). Everything that links the target sees RECSYS_SEPARATE_RECIPES
// and only declares recipes(); this file defines it, instantiating every model once.
#define RECSYS_RECIPES_IMPLEMENTATION
#include <recsys/recipes.hpp>
