// SPDX-License-Identifier: Apache-2.0
#include <cstdio>
#include <string>

std::string odr_a();
std::string odr_b();

int main() {
  const std::string a = odr_a(), b = odr_b();
  std::printf("header-only unit: %s\ncompiled-mode unit: %s\n", a.c_str(), b.c_str());
  return !a.empty() && a == b ? 0 : 1;
}
