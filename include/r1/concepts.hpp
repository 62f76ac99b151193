#pragma once
// The policies a recipe is composed of. A recipe is a set of types:
//
//   using Policy = r1::Transformer<r1::cpu>;
//   using Recipe = r1::Grpo<Policy, r1::KvSampler, r1::Sum<r1::MathAnswer, r1::R1Format>,
//                           r1::AdamW, r1::GrpoObjective>;
//
// Each concept lists exactly what the trainer calls. Optional capabilities are
// detected with `if constexpr (requires { ... })`, never required here.
// One header per concept, in the folder of what it describes; this one brings all five.
#include "r1/model/model_concept.hpp"
#include "r1/optim/optimizer_concept.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/rl/objective_concept.hpp"
#include "r1/sampling/sampler_concept.hpp"
