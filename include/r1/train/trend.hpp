#pragma once
// How a per-step training metric moved: means over fixed windows of steps (the
// paper's "average response length on the training set", DeepSeek-AI 2025,
// Fig. 1b, is such a curve), and over how many steps a rise happened, so that
// "grew gradually" and "flipped in one step" can be told apart by a number.
//
//   const auto means = r1::window_means(lengths, 25);     // one mean per 25 steps
//   const auto rise = r1::rise_span(means, 25);           // steps where 10% and 90% of the rise were reached
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "r1/core/error.hpp"

namespace r1 {

// The mean of each run of `window` consecutive values; a last, shorter run is averaged over its own length.
// Non-finite values (a skipped step's metric) are left out of their window's mean; a window of none is NaN.
inline std::vector<double> window_means(std::span<const double> values, std::size_t window) {
  require(window > 0, "window_means: the window must be at least one step");
  std::vector<double> means;
  for (std::size_t begin = 0; begin < values.size(); begin += window) {
    const std::size_t end = std::min(values.size(), begin + window);
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t i = begin; i < end; ++i)
      if (std::isfinite(values[i])) {
        sum += values[i];
        ++count;
      }
    means.push_back(count ? sum / static_cast<double>(count) : std::nan(""));
  }
  return means;
}

// Where a curve of window means rose: the rise is from the first window's mean to the curve's maximum; `from_step`
// is the first step of the first window at or above first + low * rise, `to_step` of the first at or above
// first + high * rise. A rise done inside one window has to_step == from_step; `windows` counts the windows the
// rise took from the low to the high mark (1 for a flip).
struct RiseSpan {
  double first = 0;  // the first window's mean
  double peak = 0;   // the highest window's mean
  std::int64_t from_step = 0;
  std::int64_t to_step = 0;
  std::int64_t windows = 0;
};

// nullopt when the curve does not rise (empty, non-finite first window, or no window above the first).
inline std::optional<RiseSpan> rise_span(std::span<const double> means, std::int64_t window, double low = 0.1,
                                         double high = 0.9) {
  require(window > 0, "rise_span: the window must be at least one step");
  require(0 < low && low <= high && high <= 1, "rise_span: expected 0 < low <= high <= 1, got ", low, " and ", high);
  if (means.empty() || !std::isfinite(means.front())) return std::nullopt;
  RiseSpan span;
  span.first = means.front();
  span.peak = span.first;
  for (const double mean : means)
    if (std::isfinite(mean)) span.peak = std::max(span.peak, mean);
  const double rise = span.peak - span.first;
  if (!(rise > 0)) return std::nullopt;
  const auto first_at_or_above = [&](double fraction) {
    const double mark = span.first + fraction * rise;
    for (std::size_t i = 0; i < means.size(); ++i)
      if (std::isfinite(means[i]) && means[i] >= mark) return static_cast<std::int64_t>(i);
    return static_cast<std::int64_t>(means.size()) - 1;  // unreachable: the peak is at or above every mark
  };
  const std::int64_t from = first_at_or_above(low);
  const std::int64_t to = first_at_or_above(high);
  span.from_step = from * window;
  span.to_step = to * window;
  span.windows = to - from + 1;
  return span;
}

}  // namespace r1
