// Two translation units include every public header and are linked together: a missing
// `inline` on a namespace-scope function or variable fails to link here.
#include <recsys/recsys.hpp>
int odr_a() { return static_cast<int>(recsys::rng(1).uniform_index(100)); }
