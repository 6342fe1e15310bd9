using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>Adds <see cref="DegenerationGuardChatClient"/> to a chat pipeline.</summary>
public static class DegenerationGuardChatClientBuilderExtensions
{
    /// <summary>Watches answers for loops and retries with remedies; see <see cref="DegenerationGuardOptions"/>.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="configure">Changes the default options.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException">The configured options are out of range (thrown when the pipeline is built).</exception>
    public static ChatClientBuilder UseDegenerationGuard(this ChatClientBuilder builder, Action<DegenerationGuardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            var options = new DegenerationGuardOptions();
            configure?.Invoke(options);
            return new DegenerationGuardChatClient(inner, options, services.GetService<ILoggerFactory>()?.CreateLogger<DegenerationGuardChatClient>(), services.GetService<IMeterFactory>());
        });
    }
}
