#include <cstdio>
int odr_a();
int odr_b();
int main() {
  const int a = odr_a(), b = odr_b();
  std::printf("odr: %d %d\n", a, b);
  return (a >= 0 && a < 100 && b >= 0 && b < 100) ? 0 : 1;
}
