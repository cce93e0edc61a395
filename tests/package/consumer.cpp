// A downstream program: includes the umbrella header and uses a few components.
#include <recsys/recsys.hpp>

#include <cstdio>

int main() {
  recsys::rng r(42);
  recsys::topk_result top;
  top.push_back(3, 0.9f);
  top.push_back(1, 0.5f);
  const bool ok = top.is_sorted() && r.uniform_index(10) < 10;
  std::printf("recsys %s %s\n", recsys::version_string, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
