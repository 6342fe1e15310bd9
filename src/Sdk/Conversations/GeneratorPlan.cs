namespace LocalLlm;

/// <summary>
/// How a request gets its generator: the reuse key, the sequence length it needs, the max_length a new generator
/// gets, and the KV bytes to reserve for it.
/// </summary>
/// <remarks>
/// With a shared past/present buffer (GQA) ORT GenAI allocates the KV cache for max_length when the generator is
/// created, so a reusable generator gets head room for later turns: 1.5 × the needed length rounded up to a multiple
/// of 512 (at most the context), and its bytes are that whole allocation (plus the rest of its footprint, <see cref="CachedGenerator.Footprint"/>). A conversation that outgrows it takes a
/// fresh, larger generator: one full prefill each time it grows by half. Without a shared buffer the cache
/// grows with the tokens, so a reusable generator gets max_length = context at no memory cost and is charged for its
/// tokens. Generators that cannot be reused get exactly the needed length.
/// </remarks>
internal sealed record GeneratorPlan(GeneratorKey? Key, int Length, int MaxLength, long Bytes, CachedGenerator? Candidate)
{
    public const int AllocationStep = 512;

    public static GeneratorPlan Create(ModelInfo info, int promptLength, GenerationSettings settings, KvCachePool? pool, int[] prompt, string? conversationId)
    {
        int length = (int)Math.Min(info.ContextLength, (long)promptLength + settings.MaxOutputTokens);
        GeneratorKey? key = pool is null ? null : GeneratorKey.For(settings);
        int maxLength = key is null ? length
            : info.SharesKvBuffer ? (int)Math.Min(info.ContextLength, (length + length / 2L + AllocationStep - 1) / AllocationStep * AllocationStep)
            : info.ContextLength;
        var candidate = key is null ? null : pool!.Peek(prompt, key, length, conversationId);
        long bytes = CachedGenerator.Footprint(info, info.SharesKvBuffer ? candidate?.MaxLength ?? maxLength : length);
        return new GeneratorPlan(key, length, maxLength, bytes, candidate);
    }
}
