// A downstream program: includes the umbrella header (the installed-package consumer: every
// installed header must be there and compile) or, in the other modes, only the headers it uses
// (the umbrella costs ~40 s of GCC time, and those modes test the CMake wiring), and uses a few
// components.
#ifdef RECSYS_CONSUMER_UMBRELLA
#include <recsys/recsys.hpp>
#else
#include <recsys/random.hpp>
#include <recsys/ranking/topk.hpp>
#include <recsys/version.hpp>
#endif

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
