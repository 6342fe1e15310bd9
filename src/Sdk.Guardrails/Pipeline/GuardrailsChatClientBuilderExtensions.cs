using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LocalLlm.Guardrails;

/// <summary>Adds <see cref="GuardrailsChatClient"/> to a chat pipeline.</summary>
public static class GuardrailsChatClientBuilderExtensions
{
    /// <summary>Adds input and output guardrails to the pipeline.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="configure">Adds checks and policies. Without it, the options registered by <c>services.AddGuardrails(...)</c> are used.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">At build time: no <paramref name="configure"/> and no <c>AddGuardrails</c> registration.</exception>
    public static ChatClientBuilder UseGuardrails(this ChatClientBuilder builder, Action<GuardrailsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            GuardrailsOptions options;
            if (configure is not null)
            {
                options = new GuardrailsOptions();
                configure(options);
            }
            else
            {
                options = services.GetService<IOptions<GuardrailsOptions>>()?.Value
                    ?? throw new InvalidOperationException("UseGuardrails() has no checks: pass a configure callback, or call services.AddGuardrails(...) first.");
            }
            return new GuardrailsChatClient(inner, options, services.GetService<ILoggerFactory>(), services.GetService<IMeterFactory>());
        });
    }
}
