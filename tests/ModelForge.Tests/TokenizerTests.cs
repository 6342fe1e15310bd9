namespace LocalLlm.ModelForge.Tests;

/// <summary>The forged tokenizer agrees with the managed <see cref="ByteTokenizer"/> and renders the ChatML template.</summary>
public sealed class TokenizerTests : IDisposable
{
    private const string Text = "Héllo wörld, ça coûte 5 € 🎉🚀 日本語テキスト 中文 — done.";
    private readonly TempDirectory _temp = new();
    private readonly Model _model;
    private readonly Tokenizer _tokenizer;

    public TokenizerTests()
    {
        _model = new Model(RawApi.Forge(_temp, new ForgeOptions { Design = ModelDesign.Copy }));
        _tokenizer = new Tokenizer(_model);
    }

    public void Dispose()
    {
        _tokenizer.Dispose();
        _model.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Encode_Utf8Text_IsItsBytesInBothTokenizers()
    {
        using var sequences = _tokenizer.Encode(Text);

        int[] native = sequences[0].ToArray();

        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(Text).Select(b => (int)b), native);
        Assert.Equal(ByteTokenizer.Encode(Text), native);
    }

    [Fact]
    public void Decode_Utf8Text_RoundTripsThroughDecodeAndStream()
    {
        int[] ids = ByteTokenizer.Encode(Text);

        Assert.Equal(Text, ByteTokenizer.Decode(ids));
        Assert.Equal(Text, _tokenizer.Decode(ids));
        using var stream = _tokenizer.CreateStream();
        var streamed = new System.Text.StringBuilder();
        foreach (int id in ids)
            streamed.Append(stream.Decode(id));
        Assert.Equal(Text, streamed.ToString());
    }

    [Fact]
    public void Encode_SpecialTokensInText_BecomeSingleIds()
    {
        const string Prompt = "<|im_start|>user\nhi<|im_end|>\n<tool_call>x</tool_call><|endoftext|>";
        int[] expected = [ByteTokenizer.ImStart, .. "user\nhi"u8.ToArray().Select(b => (int)b), ByteTokenizer.ImEnd, '\n',
            ByteTokenizer.ToolCallStart, 'x', ByteTokenizer.ToolCallEnd, ByteTokenizer.EndOfText];

        using var sequences = _tokenizer.Encode(Prompt);

        Assert.Equal(expected, sequences[0].ToArray());
        Assert.Equal(expected, ByteTokenizer.Encode(Prompt));
        Assert.Equal(Prompt, ByteTokenizer.Decode(expected, skipSpecialTokens: false));
    }

    [Fact]
    public void Decode_SpecialTokens_AreSkippedLikeTheNativeTokenizer()
    {
        int[] ids = ByteTokenizer.Encode("<|im_start|>user\nhi<|im_end|>\n<tool_call>x</tool_call><|endoftext|>");
        using var stream = _tokenizer.CreateStream();

        string streamed = string.Concat(ids.Select(stream.Decode));

        Assert.Equal("user\nhi\n<tool_call>x</tool_call>", ByteTokenizer.Decode(ids));
        Assert.Equal(ByteTokenizer.Decode(ids), _tokenizer.Decode(ids));
        Assert.Equal(ByteTokenizer.Decode(ids), streamed);
    }

    [Fact]
    public void EosTokenIds_NativeTokenizer_ListsImEndAndEndOfText()
    {
        Assert.Equal(ByteTokenizer.EosTokenIds.Order(), _tokenizer.GetEosTokenIds().ToArray().Order());
    }

    [Fact]
    public void ApplyChatTemplate_AllRoles_RendersChatMl()
    {
        const string Messages = """
            [{"role":"system","content":"Be brief."},
             {"role":"user","content":"Hi"},
             {"role":"assistant","content":"Hello!"},
             {"role":"user","content":"Bye"}]
            """;

        string prompt = _tokenizer.ApplyChatTemplate(ChatTemplate.Jinja, Messages, null, true);

        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n" +
            "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void ApplyChatTemplate_ToolsAndToolMessages_RendersToolSectionCallsAndResults()
    {
        const string Tools = """[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""";
        const string Messages = """
            [{"role":"system","content":"Be brief."},
             {"role":"user","content":"Weather in Paris?"},
             {"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
             {"role":"tool","content":"18 C, sunny"}]
            """;

        string prompt = _tokenizer.ApplyChatTemplate(ChatTemplate.Jinja, Messages, Tools, true);

        Assert.StartsWith("<|im_start|>system\nBe brief.\n\n# Tools\n", prompt, StringComparison.Ordinal);
        Assert.Contains("<tools>\n{", prompt, StringComparison.Ordinal);
        Assert.Contains("\"name\": \"get_weather\"", prompt.Replace("\"name\":\"", "\"name\": \"", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("Weather for a city", prompt, StringComparison.Ordinal);
        Assert.Contains("<|im_start|>user\nWeather in Paris?<|im_end|>\n", prompt, StringComparison.Ordinal);
        Assert.Contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":", prompt, StringComparison.Ordinal);
        Assert.Contains("<|im_start|>user\n<tool_response>\n18 C, sunny\n</tool_response><|im_end|>\n", prompt, StringComparison.Ordinal);
        Assert.EndsWith(ChatTemplate.GenerationPrompt, prompt, StringComparison.Ordinal);
        Assert.Equal(1, prompt.Split("# Tools").Length - 1);
    }

    [Fact]
    public void ApplyChatTemplate_TokenizerConfigTemplate_IsTheOneWritten()
    {
        // A null template makes ONNX Runtime GenAI use tokenizer_config.json's chat_template.
        const string Messages = """[{"role":"user","content":"Hi"}]""";

        string prompt = _tokenizer.ApplyChatTemplate(null!, Messages, null, true);

        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }
}
