// The integration tests' SHA-256 (header-only, so this unit test needs no test-support library).
#include "../support/Sha256.h"

#include <gtest/gtest.h>

#include <string>

using ringlb::test::Sha256;

// The FIPS 180-4 example vectors hash to their published digests.
TEST(Sha256Test, MatchesFipsVectors) {
  EXPECT_EQ(Sha256::hex(Sha256::of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::hex(Sha256::of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256::hex(Sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// One million 'a' (the long FIPS vector) fed in uneven pieces: block boundaries don't matter.
TEST(Sha256Test, StreamingInUnevenPiecesEqualsOneShot) {
  const std::string million(1000000, 'a');
  Sha256 h;
  std::size_t pos = 0;
  for (std::size_t step = 1; pos < million.size(); step = step * 7 % 1000 + 1) {
    const std::size_t n = std::min(step, million.size() - pos);
    h.update(std::string_view(million).substr(pos, n));
    pos += n;
  }
  EXPECT_EQ(Sha256::hex(h.finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(Sha256::hex(Sha256::of(million)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
