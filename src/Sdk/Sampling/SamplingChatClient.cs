using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LocalLlm;

/// <summary>
/// Fills a <see cref="SamplingPreset"/> into every request: values the request sets win unless the preset is
/// <see cref="SamplingPreset.Forced"/>. The caller's <see cref="ChatOptions"/> are cloned, never modified.
/// </summary>
public sealed class SamplingChatClient : DelegatingChatClient
{
    private readonly ILogger _logger;
    private SamplingPreset _preset;

    /// <summary>Creates the stage.</summary>
    /// <param name="innerClient">The client below.</param>
    /// <param name="preset">The preset to apply.</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerClient"/> or <paramref name="preset"/> is null.</exception>
    /// <exception cref="ArgumentException">The preset has an out-of-range value.</exception>
    public SamplingChatClient(IChatClient innerClient, SamplingPreset preset, ILogger<SamplingChatClient>? logger = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(preset);
        preset.Validate();
        _preset = preset;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The preset applied to requests.</summary>
    /// <value>The preset given to the constructor.</value>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="ArgumentException">The preset has an out-of-range value.</exception>
    public SamplingPreset Preset
    {
        get => _preset;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _preset = value;
        }
    }

    /// <inheritdoc />
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, Apply(options), cancellationToken);

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in base.GetStreamingResponseAsync(messages, Apply(options), cancellationToken))
            yield return update;
    }

    private ChatOptions Apply(ChatOptions? options)
    {
        SamplingPreset preset = _preset;
        ChatOptions applied = preset.ApplyTo(options);
        if (_logger.IsEnabled(LogLevel.Debug))
            SamplingLog.PresetApplied(_logger, preset.Name, applied.Temperature, applied.TopP, applied.TopK, preset.Forced);
        return applied;
    }
}
