#pragma once
// How a frozen (scoring-only) copy of a model keeps its weights.
namespace r1 {

// full: as the model computes (fp32 for Transformer<cpu>); bf16: rounded to nearest even, half the bytes,
// widened back a layer at a time when scored.
enum class WeightStorage { full, bf16 };

}  // namespace r1
