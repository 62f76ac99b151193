// The linear layers' GEMMs of the reference model's train step (2048 tokens; q/k/v 256->768, o 256->256,
// gate/up 256->1536, down 768->256, lm_head 256->512), each in r1's loop (linear.hpp: row_panel_gemm.hpp for
// the forward and input gradient, token_split_gemm.hpp for the weight gradient; r1's register tiles in an
// AVX-512 build, register_tile_gemm.hpp, Eigen's kernel otherwise) and as Eigen's own product over
// the same row chunks (the peer, what linear.hpp did before), in the same run. Every buffer is bigger than the
// caches in total and is visited in step order, as in a step. Counters: GFLOP/s; compare r1 and Eigen rows.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <chrono>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/model/ops/linear.hpp"

namespace {

constexpr Eigen::Index kTokens = 2048;
struct Shape {
  Eigen::Index in, out;
};
const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = [] {
    std::vector<Shape> s;
    for (int layer = 0; layer < 4; ++layer) s.insert(s.end(), {{256, 768}, {256, 256}, {256, 1536}, {768, 256}});
    s.push_back({256, 512});
    return s;
  }();
  return all;
}

struct Buffers {
  std::vector<r1::AlignedVector<float>> x, w, y, dw;
  Buffers() {
    for (const auto& shape : shapes()) {
      x.emplace_back(static_cast<std::size_t>(kTokens * shape.in), 0.5f);
      w.emplace_back(static_cast<std::size_t>(shape.in * shape.out), 0.01f);
      y.emplace_back(static_cast<std::size_t>(kTokens * shape.out), 0.25f);
      dw.emplace_back(static_cast<std::size_t>(shape.in * shape.out), 0.0f);
    }
  }
};

double total_flops() {
  double flops = 0;
  for (const auto& shape : shapes()) flops += 2.0 * double(kTokens) * double(shape.in) * double(shape.out);
  return flops;
}

// Eigen's products, split as linear.hpp split them before r1's own loops.
void eigen_forward(const float* x, const float* w, Eigen::Index in, Eigen::Index out, float* y) {
  const auto W = r1::const_view(w, out, in);
  r1::parallel_chunks(kTokens, r1::chunk_count(kTokens, 32), [&](int, Eigen::Index begin, Eigen::Index end) {
    r1::view(y + begin * out, end - begin, out).noalias() = r1::const_view(x + begin * in, end - begin, in) * W.transpose();
  });
}
void eigen_backward_input(const float* dy, const float* w, Eigen::Index in, Eigen::Index out, float* dx) {
  const auto W = r1::const_view(w, out, in);
  r1::parallel_chunks(kTokens, r1::chunk_count(kTokens, 32), [&](int, Eigen::Index begin, Eigen::Index end) {
    r1::view(dx + begin * in, end - begin, in).noalias() = r1::const_view(dy + begin * out, end - begin, out) * W;
  });
}
void eigen_backward_weight(const float* dy, const float* x, Eigen::Index in, Eigen::Index out, float* dw) {
  if (out >= in) {
    r1::parallel_chunks(out, r1::chunk_count(out, 32), [&](int, Eigen::Index begin, Eigen::Index end) {
      r1::view(dw + begin * in, end - begin, in).noalias() +=
          r1::const_view(dy + begin, kTokens, end - begin, out).transpose() * r1::const_view(x, kTokens, in);
    });
    return;
  }
  r1::parallel_chunks(in, r1::chunk_count(in, 32), [&](int, Eigen::Index begin, Eigen::Index end) {
    r1::view(dw + begin, out, end - begin, in).noalias() +=
        r1::const_view(dy, kTokens, out).transpose() * r1::const_view(x + begin, kTokens, end - begin, in);
  });
}

enum Op { kForward, kBackwardInput, kBackwardWeight };

void run_op(Op op, bool eigen, Buffers& b) {
  const auto& all = shapes();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto [in, out] = all[i];
    if (op == kForward) {
      if (eigen) eigen_forward(b.x[i].data(), b.w[i].data(), in, out, b.y[i].data());
      else r1::linear_forward(b.x[i].data(), b.w[i].data(), static_cast<const float*>(nullptr), kTokens, in, out, b.y[i].data());
    } else if (op == kBackwardInput) {
      if (eigen) eigen_backward_input(b.y[i].data(), b.w[i].data(), in, out, b.x[i].data());
      else r1::linear_backward_input(b.y[i].data(), b.w[i].data(), kTokens, in, out, b.x[i].data());
    } else {
      if (eigen) eigen_backward_weight(b.y[i].data(), b.x[i].data(), in, out, b.dw[i].data());
      else r1::linear_backward_weight(b.y[i].data(), b.x[i].data(), kTokens, in, out, b.dw[i].data(), static_cast<float*>(nullptr));
    }
  }
}

// Each iteration runs r1's loop and Eigen's products back to back, alternating which goes first, so that a
// machine whose speed drifts (other work on it) slows both alike. The reported time is r1's; the counters give
// both rates and the ratio of total times (> 1: r1 faster).
void BM_Linear(benchmark::State& state) {
  const auto op = static_cast<Op>(state.range(0));
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(1)));
  Buffers b;
  run_op(op, false, b);  // warm-up: scratch grows once
  run_op(op, true, b);
  double r1_seconds = 0, eigen_seconds = 0;
  bool r1_first = true;
  const auto timed = [&](bool eigen) {
    const auto start = std::chrono::steady_clock::now();
    run_op(op, eigen, b);
    benchmark::ClobberMemory();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (auto _ : state) {
    double r1_time, eigen_time;
    if (r1_first) r1_time = timed(false), eigen_time = timed(true);
    else eigen_time = timed(true), r1_time = timed(false);
    r1_first = !r1_first;
    state.SetIterationTime(r1_time);
    r1_seconds += r1_time;
    eigen_seconds += eigen_time;
  }
  const double iterations = static_cast<double>(state.iterations());
  state.SetLabel(op == kForward ? "forward" : op == kBackwardInput ? "input gradient" : "weight gradient");
  state.counters["r1 GFLOP/s"] = total_flops() * iterations / r1_seconds * 1e-9;
  state.counters["eigen GFLOP/s"] = total_flops() * iterations / eigen_seconds * 1e-9;
  state.counters["r1/eigen speed"] = eigen_seconds / r1_seconds;
}
// Args: op (0 forward, 1 input gradient, 2 weight gradient), threads.
BENCHMARK(BM_Linear)->ArgsProduct({{0, 1, 2}, {1, 2}})->Unit(benchmark::kMillisecond)->UseManualTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
