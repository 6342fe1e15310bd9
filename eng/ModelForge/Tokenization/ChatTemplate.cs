namespace LocalLlm.ModelForge;

/// <summary>The ChatML chat template written into tokenizer_config.json (Qwen2.5 style, with tools).</summary>
public static class ChatTemplate
{
    /// <summary>The text every rendered prompt ends with when a generation prompt is requested.</summary>
    public const string GenerationPrompt = "<|im_start|>assistant\n";

    /// <summary>
    /// The Jinja template. Messages render as <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>. With tools, the
    /// first system message gains a "# Tools" section listing each tool as JSON inside &lt;tools&gt;&lt;/tools&gt;;
    /// assistant tool calls render as &lt;tool_call&gt;{"name": ..., "arguments": ...}&lt;/tool_call&gt;; tool results
    /// render as a user message wrapped in &lt;tool_response&gt;.
    /// </summary>
    public const string Jinja =
        "{%- if tools %}" +
            "{{- '<|im_start|>system\\n' }}" +
            "{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] + '\\n\\n' }}{%- endif %}" +
            "{{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}" +
            "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}" +
            "{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}" +
        "{%- elif messages[0]['role'] == 'system' %}" +
            "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
        "{%- endif %}" +
        "{%- for message in messages %}" +
            "{%- if message['role'] == 'system' and loop.first %}" +
            "{%- elif message['role'] == 'assistant' and message['tool_calls'] %}" +
                "{{- '<|im_start|>assistant' }}" +
                "{%- if message['content'] %}{{- '\\n' + message['content'] }}{%- endif %}" +
                "{%- for tool_call in message['tool_calls'] %}" +
                    "{%- if tool_call['function'] %}{%- set tool_call = tool_call['function'] %}{%- endif %}" +
                    "{{- '\\n<tool_call>\\n{\"name\": \"' + tool_call['name'] + '\", \"arguments\": ' }}" +
                    "{%- if tool_call['arguments'] is string %}{{- tool_call['arguments'] }}{%- else %}{{- tool_call['arguments'] | tojson }}{%- endif %}" +
                    "{{- '}\\n</tool_call>' }}" +
                "{%- endfor %}" +
                "{{- '<|im_end|>\\n' }}" +
            "{%- elif message['role'] == 'tool' %}" +
                "{{- '<|im_start|>user\\n<tool_response>\\n' + message['content'] + '\\n</tool_response><|im_end|>\\n' }}" +
            "{%- else %}" +
                "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}" +
            "{%- endif %}" +
        "{%- endfor %}" +
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
}
