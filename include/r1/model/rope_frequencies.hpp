#pragma once
// RoPE's inverse frequencies inv_freq[i], i < E/2 (E = head_dim), with HF's `rope_scaling`.
// The one place they are computed: the CPU RopeTable and the CUDA tables both read them.
//
//   RopeScaling llama31{RopeScaling::Kind::llama3, 8.0, 1.0, 4.0, 8192};
//   auto inv_freq = r1::rope_inverse_frequencies<float>(128, 500000.0, llama31);  // 64 values
//
// Unscaled: inv_freq[i] = 1 / theta^(2i/E) (RoFormer, Su et al. 2021, eq. 15, in the order of
// operations HF transformers uses: `_compute_default_rope_parameters`, modeling_rope_utils.py).
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"

namespace r1 {

// HF config.json's "rope_scaling" for the types r1 supports.
struct RopeScaling {
  enum class Kind { none, linear, llama3 };
  Kind kind = Kind::none;
  double factor = 1.0;  // linear and llama3: how much longer the context became
  // llama3 only: the context the model was pretrained on and the wavelength band edges, as
  // fractions of it (wavelength > original / low_freq_factor: scaled; < original / high_freq_factor: kept).
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
  std::int64_t original_max_position_embeddings = 8192;

  bool operator==(const RopeScaling&) const = default;

  // The value of HF's "rope_type" key.
  std::string_view type_name() const {
    switch (kind) {
      case Kind::linear: return "linear";
      case Kind::llama3: return "llama3";
      case Kind::none: break;
    }
    return "none";
  }

  // Throws r1::Error naming `where` and the field unless the parameters are usable.
  void validate(std::string_view where) const {
    if (kind == Kind::none) return;
    const auto finite_positive = [&](double value, const char* field) {
      require(std::isfinite(value) && value > 0.0, where, ": field 'rope_scaling.", field, "' = ", value,
              ": expected a finite positive number");
    };
    finite_positive(factor, "factor");
    if (kind != Kind::llama3) return;
    finite_positive(low_freq_factor, "low_freq_factor");
    finite_positive(high_freq_factor, "high_freq_factor");
    require(high_freq_factor > low_freq_factor, where, ": field 'rope_scaling.high_freq_factor' = ", high_freq_factor,
            ": expected more than low_freq_factor = ", low_freq_factor, " (the band between them is interpolated)");
    require(original_max_position_embeddings > 0, where, ": field 'rope_scaling.original_max_position_embeddings' = ",
            original_max_position_embeddings, ": expected a positive integer");
  }
};

// inv_freq[i] for i < head_dim / 2, every step in Scalar as HF does in fp32 (its Python-float constants,
// such as original / low_freq_factor, computed in double and rounded once, as torch does with them).
//  - linear: inv_freq / factor (HF `_compute_linear_scaling_rope_parameters`; the same as position / factor,
//    Chen et al. 2023, "Extending Context Window of LLMs via Positional Interpolation").
//  - llama3: HF `_compute_llama3_parameters` (modeling_rope_utils.py), after `apply_scaling` in Meta's
//    Llama 3.1 reference model (meta-llama/llama-models, models/llama3/reference_impl/model.py):
//    with wavelen = 2π / inv_freq, wavelengths above original / low_freq_factor are divided by factor,
//    those below original / high_freq_factor kept, and the band between interpolated by
//    s = (original / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor):
//    (1 - s) * inv_freq / factor + s * inv_freq.
template <class Scalar>
std::vector<Scalar> rope_inverse_frequencies(std::int64_t head_dim, double theta, const RopeScaling& scaling = {}) {
  require(head_dim > 0 && head_dim % 2 == 0, "rope_inverse_frequencies: head_dim = ", head_dim,
          ": expected a positive even number");
  require(std::isfinite(theta) && theta > 0.0, "rope_inverse_frequencies: rope_theta = ", theta,
          ": expected a finite positive number");
  scaling.validate("rope_inverse_frequencies");
  const auto original = static_cast<double>(scaling.original_max_position_embeddings);
  const Scalar factor = Scalar(scaling.factor), low_freq_factor = Scalar(scaling.low_freq_factor),
               factor_band = Scalar(scaling.high_freq_factor - scaling.low_freq_factor),
               low_freq_wavelen = Scalar(original / scaling.low_freq_factor),
               high_freq_wavelen = Scalar(original / scaling.high_freq_factor);
  std::vector<Scalar> inv_freq(static_cast<std::size_t>(head_dim / 2));
  for (std::int64_t i = 0; i < head_dim / 2; ++i) {
    Scalar value = Scalar(1) / std::pow(Scalar(theta), Scalar(2 * i) / Scalar(head_dim));
    if (scaling.kind == RopeScaling::Kind::linear) {
      value = value / factor;
    } else if (scaling.kind == RopeScaling::Kind::llama3) {
      const Scalar wavelen = Scalar(2 * std::numbers::pi) / value;
      if (wavelen > low_freq_wavelen) {
        value = value / factor;
      } else if (!(wavelen < high_freq_wavelen)) {
        const Scalar s = (Scalar(original) / wavelen - low_freq_factor) / factor_band;
        value = (Scalar(1) - s) * value / factor + s * value;
      }
    }
    inv_freq[static_cast<std::size_t>(i)] = value;
  }
  return inv_freq;
}

}  // namespace r1
