using LocalLlm.Guardrails;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers guardrails options for <c>UseGuardrails()</c>.</summary>
public static class GuardrailsServiceCollectionExtensions
{
    /// <summary>Registers <see cref="GuardrailsOptions"/>, validated at start-up, for <c>builder.UseGuardrails()</c> to use.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adds checks and policies.</param>
    /// <returns>The options builder, for example to <c>.BindConfiguration("LocalLlm:Guardrails")</c> the fallback and streaming settings.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static OptionsBuilder<GuardrailsOptions> AddGuardrails(this IServiceCollection services, Action<GuardrailsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GuardrailsOptions>, GuardrailsOptionsValidator>());
        return services.AddOptions<GuardrailsOptions>().Configure(configure).ValidateOnStart();
    }
}

/// <summary>Validates <see cref="GuardrailsOptions"/> with messages that name the setting and the fix.</summary>
internal sealed class GuardrailsOptionsValidator : IValidateOptions<GuardrailsOptions>
{
    public ValidateOptionsResult Validate(string? name, GuardrailsOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
