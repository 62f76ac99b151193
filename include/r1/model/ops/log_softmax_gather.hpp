#pragma once
// Per-token log-probability and entropy of a softmax at temperature T, and their backward.
// With a = z / T (z: one row of logits), lse = log sum exp(a), p = exp(a - lse):
//   logprob = a_y - lse                                     (log-softmax gathered at target y)
//   entropy = -sum p log p = lse - sum p a
// d/da_j logprob = [j == y] - p_j;  d/da_j entropy = -p_j (log p_j + entropy); d/dz = d/da / T.
// (The policy-gradient loss of DeepSeekMath eq. 3 / DeepSeek-R1 eq. 1 enters through d logprob.)
#include <Eigen/Core>
#include <cmath>
#include <cstdint>

namespace r1 {

template <class Scalar>
struct TokenLogprob {
  Scalar logprob = 0, entropy = 0, log_normalizer = 0;  // log_normalizer = lse of a = z / T
};

template <class Scalar>
TokenLogprob<Scalar> log_softmax_gather_forward(const Scalar* logits, Eigen::Index vocab, Scalar temperature,
                                                std::int32_t target) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  const Eigen::Map<const Array> z(logits, vocab);
  const Scalar inv_t = Scalar(1) / temperature;
  const Scalar max_a = z.maxCoeff() * inv_t;  // T > 0, so max(z / T) = max(z) / T
  // Shifted b = a - max keeps exp in range; entropy = log(sum e^b) - sum e^b b / sum e^b.
  const auto shifted = z * inv_t - max_a;
  const Scalar sum = shifted.exp().sum();
  const Scalar weighted = (shifted.exp() * shifted).sum();
  TokenLogprob<Scalar> out;
  out.log_normalizer = max_a + std::log(sum);
  out.logprob = z[target] * inv_t - out.log_normalizer;
  out.entropy = std::log(sum) - weighted / sum;
  return out;
}

// Overwrites the row `logits` (z) with d loss / d z, given d loss / d logprob and d loss / d entropy
// and the forward's result for this row.
template <class Scalar>
void log_softmax_gather_backward(Scalar* logits, Eigen::Index vocab, Scalar temperature, std::int32_t target,
                                 const TokenLogprob<Scalar>& forward, Scalar d_logprob, Scalar d_entropy) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  Eigen::Map<Array> z(logits, vocab);
  const Scalar inv_t = Scalar(1) / temperature;
  // Coefficient-wise in place: each entry reads only its own z before writing it.
  const auto log_p = z * inv_t - forward.log_normalizer;
  z = (-inv_t) * log_p.exp() * (d_logprob + d_entropy * (log_p + forward.entropy));
  z[target] += d_logprob * inv_t;
}

}  // namespace r1
