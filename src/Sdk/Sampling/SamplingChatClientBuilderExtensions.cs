using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>Adds <see cref="SamplingChatClient"/> to a chat pipeline.</summary>
public static class SamplingChatClientBuilderExtensions
{
    /// <summary>Fills <paramref name="preset"/> (default <see cref="SamplingPreset.Balanced"/>) into every request; request values win unless the preset is forced.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="preset">The preset; null for <see cref="SamplingPreset.Balanced"/>.</param>
    /// <param name="configure">Further configuration of the stage.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException">The preset has an out-of-range value.</exception>
    public static ChatClientBuilder UseSampling(this ChatClientBuilder builder, SamplingPreset? preset = null, Action<SamplingChatClient>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        preset ??= SamplingPreset.Balanced;
        preset.Validate();
        return builder.Use((inner, services) =>
        {
            var client = new SamplingChatClient(inner, preset, services.GetService<ILoggerFactory>()?.CreateLogger<SamplingChatClient>());
            configure?.Invoke(client);
            return client;
        });
    }

    /// <summary>Fills a built-in preset, chosen by name (Deterministic, Precise, Balanced, Creative; case-insensitive), into every request.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="presetName">The preset's name, e.g. from configuration.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException">The name is not a built-in preset.</exception>
    public static ChatClientBuilder UseSampling(this ChatClientBuilder builder, string presetName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseSampling(SamplingPreset.FromName(presetName));
    }
}
