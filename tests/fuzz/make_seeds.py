#!/usr/bin/env python3
"""Writes the seed corpora (tests/fuzz/corpus/<target>/) and dictionaries
(tests/fuzz/dict/<target>.dict) of r1's fuzz targets: a handful of valid inputs
and nearly valid ones per target. Run from anywhere; rerunning rewrites the
seeds it owns (seed_*) and leaves the regression inputs (regression_*) alone.
"""
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
DICT = os.path.join(HERE, "dict")


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, "seed_" + name), "wb") as out:
        out.write(data)


def dictionary(target, tokens):
    os.makedirs(DICT, exist_ok=True)
    with open(os.path.join(DICT, target + ".dict"), "w", encoding="utf-8") as out:
        out.write("# libFuzzer dictionary for fuzz_%s (written by make_seeds.py)\n" % target)
        for i, token in enumerate(tokens):
            escaped = "".join(c if (32 <= ord(c) < 127 and c not in '"\\') else "\\x%02x" % ord(c) if ord(c) < 256
                              else "".join("\\x%02x" % b for b in c.encode("utf-8")) for c in token)
            out.write('t%d="%s"\n' % (i, escaped))


JSON_TOKENS = ["{", "}", "[", "]", ":", ",", '""', "null", "true", "false", "0", "-1", "1e999", "1.5", "4294967297",
               "18446744073709551615", "9223372036854775808", "-9223372036854775809", "2147483648", '"\\u0000"']


def keys(*names):
    return ['"%s"' % n for n in names]


# ---- safetensors ----
def safetensors(header, data=b"", declared=None):
    text = json.dumps(header, separators=(",", ":")).encode() if not isinstance(header, bytes) else header
    length = len(text) if declared is None else declared
    return struct.pack("<Q", length) + text + data


f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25)
put("safetensors", "f32", safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, f32))
put("safetensors", "bf16_f16_meta", safetensors(
    {"__metadata__": {"format": "pt"}, "a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
     "b": {"dtype": "F16", "shape": [2], "data_offsets": [4, 8]}}, bytes([0x80, 0x3F, 0x00, 0xC0, 0x00, 0x3C, 0x00, 0xC0])))
put("safetensors", "empty", safetensors({}))
put("safetensors", "scalar_and_empty", safetensors(
    {"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}, "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}},
    struct.pack("<f", 7.0)))
put("safetensors", "cut_data", safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, f32[:9]))
put("safetensors", "long_header", safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32[:4], 4096))
put("safetensors", "number_1e999", safetensors(b'{"w":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}}', f32[:4]))
put("safetensors", "int_dtype", safetensors({"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8)))
dictionary("safetensors", JSON_TOKENS + keys("__metadata__", "dtype", "shape", "data_offsets", "F32", "BF16", "F16", "I64",
                                            "F64", "U8", "BOOL"))


# ---- optimizer state and checkpoints ----
def optimizer_state(tag, scalars, params, slots):
    # Format 2 (optim/state_io.hpp): the trailer is the CRC-32 of everything before it.
    body = tag.encode() + struct.pack("<I", 2) + scalars + struct.pack("<Q", len(params))
    for name, values in params:
        body += struct.pack("<Q", len(name)) + name.encode()
        for _ in range(slots):
            body += struct.pack("<Q", len(values)) + struct.pack("<%df" % len(values), *values)
    return body + struct.pack("<I", zlib.crc32(body))


PARAMS = [("layer.weight", [0.5, -1.5]), ("layer.bias", [2.0])]
adamw = optimizer_state("r1.AdamW", struct.pack("<5fq", 1e-3, 0.9, 0.999, 1e-8, 0.01, 2), PARAMS, 2)
sgd = optimizer_state("r1.Sgd", struct.pack("<fq", 1e-2, 3), PARAMS, 1)
# First byte: bit 0 Sgd, bit 1 bound to parameters, bit 2 recompute the checksum.
put("optimizer_state", "adamw_fresh", b"\x00" + adamw)
put("optimizer_state", "adamw_bound", b"\x02" + adamw)
put("optimizer_state", "sgd_fresh", b"\x01" + sgd)
put("optimizer_state", "sgd_bound_fix", b"\x07" + sgd)
put("optimizer_state", "adamw_empty", b"\x04" + optimizer_state("r1.AdamW", struct.pack("<5fq", 1e-3, 0.9, 0.999, 1e-8, 0.01, 0), [], 2))
put("optimizer_state", "adamw_cut", b"\x00" + adamw[:40])
dictionary("optimizer_state", ["r1.AdamW", "r1.Sgd", "layer.weight", "layer.bias", "\x02\x00\x00\x00",
                               "\xff\xff\xff\xff\xff\xff\xff\xff", "\x00\x00\x80\x7f"])


def checkpoint(sections):
    body = b"R1CKPT\r\n" + struct.pack("<II", 1, len(sections))
    for name, data in sections:
        body += struct.pack("<I", len(name)) + name.encode() + struct.pack("<QI", len(data), zlib.crc32(data)) + data
    return body + struct.pack("<I", zlib.crc32(body))


state = json.dumps({"format": "r1.trainer_checkpoint", "version": 1, "step": 3, "skipped_updates": 0,
                    "optimizer_steps": 3, "parameters": 5}).encode()
policy = struct.pack("<5f", 0.1, 0.2, 0.3, 0.4, 0.5)
adamw5 = optimizer_state("r1.AdamW", struct.pack("<5fq", 1e-3, 0.9, 0.999, 1e-8, 0.01, 3), [("w", [0.0] * 5)], 2)
trainer = checkpoint([("state", state), ("policy", policy), ("optimizer", adamw5)])
# First byte: bit 0 recomputes the checksums.
put("checkpoint", "trainer", b"\x00" + trainer)
put("checkpoint", "trainer_fix", b"\x01" + trainer)
put("checkpoint", "empty", b"\x00" + checkpoint([]))
put("checkpoint", "state_only_fix", b"\x01" + checkpoint([("state", b'{"format":"r1.trainer_checkpoint","version":"1"}')]))
put("checkpoint", "truncated", b"\x00" + trainer[:30])
dictionary("checkpoint", JSON_TOKENS + ["R1CKPT\r\n", "state", "policy", "optimizer", "reference", "r1.AdamW"]
           + keys("format", "version", "step", "skipped_updates", "optimizer_steps", "r1.trainer_checkpoint"))

# ---- model config.json ----
golden = json.load(open(os.path.join(ROOT, "tests/data/model/golden_qwen2/config.json")))
put("model_config", "qwen2", json.dumps(golden, indent=1))
llama = {"model_type": "llama", "vocab_size": 50, "hidden_size": 40, "intermediate_size": 64, "num_hidden_layers": 1,
         "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "bos_token_id": 1, "eos_token_id": [2, 3],
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 8192}, "attention_bias": False, "mlp_bias": False}
put("model_config", "llama3", json.dumps(llama))
put("model_config", "linear_rope", json.dumps(dict(llama, rope_scaling={"type": "linear", "factor": 2}, head_dim=None)))
put("model_config", "float_field", json.dumps(dict(llama, hidden_size=40.5)))
put("model_config", "huge_field", json.dumps(dict(llama)).replace('"vocab_size": 50', '"vocab_size": 4294967297'))
dictionary("model_config", JSON_TOKENS + keys("model_type", "llama", "qwen2", "vocab_size", "hidden_size", "intermediate_size",
                                             "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                                             "max_position_embeddings", "rope_theta", "rms_norm_eps", "tie_word_embeddings",
                                             "attention_bias", "bos_token_id", "eos_token_id", "head_dim", "hidden_act",
                                             "silu", "rope_scaling", "rope_type", "type", "linear", "llama3", "default",
                                             "factor", "low_freq_factor", "high_freq_factor",
                                             "original_max_position_embeddings", "use_sliding_window", "mlp_bias"))

# ---- LoRA adapter_config.json (PEFT) / r1's "lora" section ----
peft = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "Qwen/Qwen2.5-0.5B", "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
        "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": 32, "lora_dropout": 0.05,
        "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None, "peft_type": "LORA", "r": 16,
        "rank_pattern": {}, "revision": None, "target_modules": ["v_proj", "o_proj", "q_proj", "k_proj"],
        "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": False}
put("lora_config", "peft_written", json.dumps(peft, indent=2, sort_keys=True))
put("lora_config", "all_linear_rslora", json.dumps(dict(peft, target_modules="all-linear", use_rslora=True, lora_alpha=7.5)))
put("lora_config", "dora", json.dumps(dict(peft, use_dora=True)))
put("lora_config", "regex_targets", json.dumps(dict(peft, target_modules=".*(q|v)_proj")))
put("lora_config", "rank_pattern", json.dumps(dict(peft, rank_pattern={"q_proj": 4}, modules_to_save=["lm_head"])))
put("lora_config", "r1_section", json.dumps({"r": 4, "alpha": 8, "lora_dropout": 0.1, "target_modules": ["q_proj", "v_proj"],
                                             "use_rslora": False, "seed": 18446744073709551615}))
put("lora_config", "r1_duplicate", json.dumps({"r": 0, "target_modules": ["q_proj", "q_proj"], "lora_dropout": 1}))
dictionary("lora_config", JSON_TOKENS + keys("peft_type", "LORA", "task_type", "CAUSAL_LM", "r", "lora_alpha", "alpha",
                                            "lora_dropout", "target_modules", "all-linear", "q_proj", "k_proj", "v_proj",
                                            "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head", "use_rslora", "seed",
                                            "bias", "none", "all", "lora_only", "fan_in_fan_out", "modules_to_save",
                                            "rank_pattern", "alpha_pattern", "use_dora", "layers_to_transform",
                                            "layer_replication", "exclude_modules", "lora_bias", "use_qalora",
                                            "target_parameters", "trainable_token_indices", "init_lora_weights",
                                            "base_model_name_or_path") + ["0.05", "1e-45", "3.4028236e38", "0.9999999"])

# ---- tokenizer.json / tokenizer_config.json / encode ----
tiny_dir = os.path.join(ROOT, "tests/data/tokenizer/tiny_byte_level")
tiny = json.load(open(os.path.join(tiny_dir, "tokenizer.json"), encoding="utf-8"))
put("tokenizer_json", "tiny_byte_level", json.dumps(tiny, ensure_ascii=False))
small = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
         "added_tokens": [{"id": 3, "content": "<s>", "special": True}],
         "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                    {"Sequence": {"id": "A", "type_id": 0}}],
                            "special_tokens": {"<s>": {"id": "<s>", "ids": [3], "tokens": ["<s>"]}}}}
put("tokenizer_json", "small_template", json.dumps(small))
put("tokenizer_json", "huge_id", json.dumps(dict(small, model=dict(small["model"], vocab={"a": 0, "b": 2147483646, "ab": 2}))))
split = dict(small, pre_tokenizer={"type": "Split", "pattern": {"Regex": "\\s+|\\p{L}+"}, "behavior": "Removed", "invert": False},
             normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"}]}, decoder={"type": "ByteLevel"})
put("tokenizer_json", "split_regex", json.dumps(split))
tok_keys = ["model", "type", "BPE", "vocab", "merges", "added_tokens", "id", "content", "special", "single_word", "lstrip",
            "rstrip", "normalized", "normalizer", "normalizers", "NFC", "Sequence", "pre_tokenizer", "pretokenizers",
            "ByteLevel", "Split", "Digits", "pattern", "Regex", "String", "behavior", "Isolated", "Removed",
            "MergedWithPrevious", "MergedWithNext", "Contiguous", "invert", "add_prefix_space", "use_regex",
            "individual_digits", "decoder", "decoders", "post_processor", "processors", "TemplateProcessing", "single",
            "SpecialToken", "special_tokens", "ids", "unk_token", "fuse_unk", "ignore_merges", "byte_fallback", "dropout",
            "continuing_subword_prefix", "end_of_word_suffix"]
dictionary("tokenizer_json", JSON_TOKENS + keys(*tok_keys) + ["\\p{L}", "\\p{N}", "(?i:", "\\s+(?!\\S)", "[^\\r\\n\\p{L}\\p{N}]?"])

put("tokenizer_config", "tiny", open(os.path.join(tiny_dir, "tokenizer_config.json"), encoding="utf-8").read())
put("tokenizer_config", "objects", json.dumps({"bos_token": {"content": "<think>", "lstrip": False}, "eos_token": {"content": "<eos>"},
                                               "add_bos_token": True, "add_eos_token": True}))
put("tokenizer_config", "template_only", "{}")
put("tokenizer_config", "unknown_token", json.dumps({"eos_token": "<missing>", "add_eos_token": True}))
dictionary("tokenizer_config", JSON_TOKENS + keys("bos_token", "eos_token", "pad_token", "add_bos_token", "add_eos_token",
                                                 "content", "<think>", "</think>", "<eos>", "[W]", "<L>", "<R>"))

put("tokenizer_encode", "ascii", "Hello, world! 1234567 + 89 = ?")
put("tokenizer_encode", "added", "<think>2+2</think> [W] a<L>  b <R>  c <eos>")
put("tokenizer_encode", "unicode", "héllo wörld — 数学 ő o\u030b 🙂\r\n\t")
put("tokenizer_encode", "invalid_utf8", b"ab\xff\xfe\xc3(\xe2\x82 \xf0\x9f\x99 \xc0\xaf")
dictionary("tokenizer_encode", ["<think>", "</think>", "<eos>", "[W]", "<L>", "<R>", "\xc5\x91", "o\xcc\x8b", "  ", "\r\n"])

# ---- JSONL datasets and metrics logs ----
put("jsonl", "math", '{"prompt": "What is 2+2?", "answer": "4"}\n\n{"prompt": "1/2+1/2?", "solution": "\\\\boxed{1}"}\r\n')
put("jsonl", "chat_countdown", '{"prompt": [{"role": "user", "content": "Use 3 5 7"}], "numbers": [3, 5, 7], "target": 22, '
                               '"language": "en"}\n{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], '
                               '"solution": 3}\n')
put("jsonl", "code", '{"prompt": "echo", "tests": [{"input": "1\\n", "output": "1\\n"}], "extra": {"k": 1}}\n')
put("jsonl", "metrics", '{"step":1,"reward":0.5,"loss":null}\n{"step":2,"reward/accuracy":1}\n{"step":4,"rew')
put("jsonl", "metrics_1e999", '{"step":1,"reward":0.5}\n{"step":2,"reward":1e999}\n{"step":3}\n')
put("jsonl", "bad_types", '{"prompt": 3}\n{"prompt": "x", "numbers": [1.5], "target": 18446744073709551615}\n')
dictionary("jsonl", JSON_TOKENS + ["\n", "\r\n"] + keys("prompt", "answer", "solution", "messages", "role", "content", "user",
                                                       "system", "assistant", "numbers", "target", "tests", "language",
                                                       "step", "reward", "loss", "reward/accuracy"))

# ---- run configs ----
grpo = {"trainer": {"steps": 10, "prompts_per_step": 8, "group_size": 8, "minibatches_per_rollout": 2, "epochs_per_rollout": 1,
                    "micro_batch_sequences": 4, "temperature": 1.0, "max_grad_norm": 1.0, "use_behaviour_logprobs": False,
                    "shuffle_data": True, "seed": 7},
        "objective": {"preset": "dapo", "beta": 0.0, "group_size": 8, "overlong_max_tokens": 64, "overlong_buffer_tokens": 16,
                      "kl_placement": "reward", "aggregation": "constant_normaliser", "aggregation_constant": 512},
        "optimizer": {"lr": 1e-4, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1},
        "schedule": {"type": "cosine", "lr": 1e-4, "warmup_steps": 2, "total_steps": 10},
        "sampling": {"temperature": 0.7, "top_k": 20, "top_p": 0.95, "min_p": 0.0, "max_new_tokens": 64,
                     "eos_token_ids": [2], "stop_strings": ["</answer>"], "banned_token_ids": [5]},
        "evaluation": {"samples_per_problem": 4, "greedy": True, "pass_at_ks": [1, 4], "prompts_per_batch": 8}}
put("configs", "grpo", json.dumps(grpo, indent=1))
put("configs", "sft", json.dumps({"steps": 5, "batch_size": 4, "micro_batch_sequences": 2, "max_grad_norm": 0.5, "shuffle": False,
                                  "seed": 1}))
put("configs", "wsd_distill", json.dumps({"schedule": {"type": "wsd", "lr": 1e-3, "warmup_steps": 1, "total_steps": 100,
                                                       "decay_steps": 10, "decay": "sqrt"},
                                          "distill": {"samples_per_prompt": 4, "keep_per_prompt": 1, "prefer_shortest": True}}))
put("configs", "overflow", json.dumps({"prompts_per_step": 65536, "group_size": 65536}))
put("configs", "code", json.dumps({"language": "cpp", "time_limit_ms": 1000, "memory_limit_mb": 256, "max_tests": 10}))
dictionary("configs", JSON_TOKENS + keys(
    "trainer", "objective", "optimizer", "schedule", "sampling", "evaluation", "steps", "prompts_per_step", "group_size",
    "minibatches_per_rollout", "epochs_per_rollout", "micro_batch_sequences", "temperature", "max_grad_norm",
    "use_behaviour_logprobs", "shuffle_data", "seed", "preset", "deepseekmath", "r1_paper", "dapo", "dr_grpo",
    "advantage_estimator", "std_estimator", "advantage_eps", "scaling", "singleton_rule", "filter_zero_std_groups",
    "policy_loss", "eps_low", "eps_high", "dual_clip_c", "log_ratio_clamp", "aggregation", "aggregation_constant", "beta",
    "kl_estimator", "kl_placement", "ref_reset_every_steps", "entropy_coef", "overlong_max_tokens", "overlong_buffer_tokens",
    "lr", "beta1", "beta2", "eps", "weight_decay", "momentum", "dampening", "nesterov", "type", "constant", "linear_warmup",
    "cosine", "wsd", "warmup_steps", "total_steps", "decay_steps", "decay", "min_lr", "top_k", "top_p", "min_p",
    "repetition_penalty", "max_new_tokens", "eos_token_ids", "stop_token_ids", "stop_strings", "max_batch_sequences",
    "decodable_vocab_size", "banned_token_ids",
    "samples_per_problem", "greedy", "pass_at_ks", "prompts_per_batch", "samples_per_prompt", "keep_per_prompt",
    "prefer_shortest", "deduplicate", "batch_size", "shuffle", "language", "python", "cpp", "all_or_nothing", "max_tests",
    "stop_at_first_failure", "time_limit_ms", "wall_time_limit_ms", "memory_limit_mb"))

# ---- reward verifiers: "gold\nnumbers target language\ncompletion" ----
put("rewards", "boxed", "\\frac{1}{2}\n\nen\n<think>half</think> The answer is \\boxed{\\dfrac{1}{2}}.")
put("rewards", "answer_tag", "42\n\n\n<think>6*7</think>\n<answer>42</answer>")
put("rewards", "countdown", "\n3 5 7 22\nen\n<think>3*5+7</think><answer>3*5+7</answer>")
put("rewards", "countdown_wrong", "\n3 5 7 22\n\n<answer>(3+5)*7 - 99999999999999999999</answer>")
put("rewards", "chinese", "x^2+1\n\nzh\n<think>思考一下 x squared</think><answer>$x^{2} + 1$</answer>")
put("rewards", "repetitive", "1\n\n\n" + "the same words again " * 20 + "\\boxed{1}")
put("rewards", "units_percent", "50\\%\n\n\nso \\boxed{50 \\text{ percent}} or \\boxed{0.5}")
dictionary("rewards", ["\\boxed{", "\\fbox{", "<think>", "</think>", "<answer>", "</answer>", "\\frac{", "\\dfrac{",
                       "\\sqrt{", "\\text{", "\\left(", "\\right)", "\\pi", "\\infty", "^{", "_{", "\\cdot", "\\times",
                       "\\le", "\\pm", "\\%", "$", "\\$", "the answer is", "1e308", "99999999999999999999", "0.", "!"])

put("math_expression", "fractions", "\\frac{1}{2}\n0.5")
put("math_expression", "sqrt_pi", "2\\sqrt{2}\\pi\n\\sqrt{8}\\cdot\\pi")
put("math_expression", "polynomial", "(x+1)^2\nx^2+2x+1")
put("math_expression", "intervals", "[1, \\infty)\n\\left[1,\\infty\\right)")
put("math_expression", "big", "2^{100}\n1267650600228229401496703205376")
put("math_expression", "sets", "\\{1,2,3\\}\n3,2,1")
dictionary("math_expression", ["\\frac{", "\\dfrac{", "\\sqrt{", "\\sqrt[", "\\text{", "\\left(", "\\right)", "\\left[",
                               "\\right]", "\\pi", "\\infty", "^{", "_{", "\\cdot", "\\times", "\\div", "\\pm", "\\%",
                               "\\ln", "\\log", "\\sin", "\\cos", "\\exp", "e^{", "\\{", "\\}", "x", "y", "!", "\\boxed{",
                               "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "1e308", "0.000001"])

put("code_extract", "python", "Here:\n```python\nprint(int(input()) * 2)\n```\nDone.\x002\n4 5\n")
put("code_extract", "cpp_tilde", "~~~cpp\n#include <cstdio>\nint main(){}\n~~~\n````\nnested ```\n````\x001.0000001 2\n")
put("code_extract", "unclosed", "```py\nprint(1)\n\x00  1  \n\n")
put("code_extract", "floats", "```\n```\x00nan inf -0 1e309 0x1p3\n")
dictionary("code_extract", ["```", "~~~", "````", "python", "py", "python3", "cpp", "c++", "cc", "\n", "\x00", "nan", "inf",
                            "1e309", "-0"])

put("code_tests", "stdio", json.dumps([{"input": "1\n", "output": "2\n"}, {"input": "", "output": "0.5", "float_tolerance": 1e-6}]))
put("code_tests", "function_call", json.dumps({"fn_name": "add", "inputs": [[1, 2], [[1], {"a": None}]],
                                               "outputs": [3, [1.5]], "float_tolerance": 0.01}))
put("code_tests", "apps_stdio", json.dumps({"inputs": ["1 2\n", ""], "outputs": ["3\n", "0"]}))
put("code_tests", "verify_line", json.dumps({"verifier": "code", "language": "python", "completion": "```python\nprint(1)\n```",
                                             "tests": "[{\"input\": \"\", \"output\": \"1\"}]", "time_limit_ms": 500}))
put("code_tests", "bad_tolerance", json.dumps([{"input": "", "output": "", "float_tolerance": -1}]))
dictionary("code_tests", JSON_TOKENS + keys("input", "output", "float_tolerance", "fn_name", "inputs", "outputs", "tests",
                                           "verifier", "code", "language", "python", "cpp", "completion", "time_limit_ms",
                                           "wall_time_limit_ms", "memory_limit_mb", "max_tests", "all_or_nothing"))
