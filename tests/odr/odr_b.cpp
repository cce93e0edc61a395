// Two translation units include every public header and are linked together: a missing
// `inline` on a namespace-scope function or variable fails to link here.
#include <recsys/recsys.hpp>
int odr_b() { return static_cast<int>(recsys::rng(2).uniform_index(100)); }
