#include <recsys/recipes.hpp>

#include <cstdio>
int odr_a();
int odr_b();
int main() {
  const int a = odr_a(), b = odr_b();
  const auto recipes = recsys::recipes().size();  // the one definition, in recsys_test_recipes
  std::printf("odr: %d %d, %zu recipes\n", a, b, recipes);
  return (a >= 0 && a < 100 && b >= 0 && b < 100 && recipes > 0) ? 0 : 1;
}
