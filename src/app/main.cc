// Placeholder entry point of the skeleton commit; replaced by the real CLI in app/.
#include <cstdio>
int main() {
  std::fprintf(stderr, "ringlb: not yet functional\n");
  return 1;
}
