using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>What the generation thread tells the caller: text to show, or the end of the answer.</summary>
internal abstract record GenerationEvent
{
    public sealed record Text(string Value) : GenerationEvent;

    public sealed record Finished(ChatFinishReason Reason, GenerationStats Stats, IReadOnlyList<FunctionCallContent>? ToolCalls,
        IReadOnlyList<double>? LogProbabilities, string? FullText) : GenerationEvent;
}
