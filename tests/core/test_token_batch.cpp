#include <doctest/doctest.h>

#include <vector>

#include "r1/core/token_batch.hpp"

TEST_CASE("TokenBatch packs sequences and validates ids") {
  r1::TokenBatch batch;
  const std::vector<r1::TokenId> a{1, 2, 3}, b{4, 5};
  batch.push_back(a);
  batch.push_back(b, 1);
  CHECK(batch.size() == 2);
  CHECK(batch.total_tokens() == 5);
  CHECK(batch.length(1) == 2);
  CHECK(batch.sequence(1)[0] == 4);
  CHECK(batch.score_from.empty());
  batch.push_back(a, 2);
  CHECK(batch.score_from == std::vector<std::int32_t>{1, 1, 2});
  CHECK(batch.first_scored(2) == 2);
  CHECK_NOTHROW(batch.validate(6));
  CHECK_THROWS_WITH_AS(batch.validate(5), doctest::Contains("token 4 = 5 is outside the vocabulary"), r1::Error);
  batch.offsets[1] = 9;
  CHECK_THROWS_AS(batch.validate(6), r1::Error);
}
