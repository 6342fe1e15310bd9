using Microsoft.Extensions.Options;

namespace LocalLlm.Routing.Hosting;

/// <summary>Checks the routing settings at start-up; each message names the key and the fix.</summary>
internal sealed class HybridRoutingSettingsValidator : IValidateOptions<HybridRoutingSettings>
{
    private const string S = HybridRoutingSettings.SectionName;

    public ValidateOptionsResult Validate(string? name, HybridRoutingSettings options)
    {
        var errors = new List<string>();
        if (options.Tiers.Count == 0)
            errors.Add($"{S}:Tiers is empty; add at least one tier, e.g. {S}:Tiers:small (a keyed AddKeyedLocalLlm(\"small\")) and {S}:Tiers:large.");
        void RequireTier(string? tier, string key)
        {
            if (string.IsNullOrEmpty(tier) || !options.Tiers.ContainsKey(tier))
                errors.Add($"{S}:{key} names tier '{tier}', which is not under {S}:Tiers (configured: {string.Join(", ", options.Tiers.Keys)}).");
        }
        if (options.Tiers.Count > 0)
            RequireTier(options.DefaultTier, "DefaultTier");
        foreach (var (tier, settings) in options.Tiers)
        {
            if (settings.FailoverTo is not null)
                RequireTier(settings.FailoverTo, $"Tiers:{tier}:FailoverTo");
            if (settings.Timeout is { } t && t <= TimeSpan.Zero)
                errors.Add($"{S}:Tiers:{tier}:Timeout must be positive, e.g. 00:00:30.");
            if (settings.InputPricePer1kTokens < 0 || settings.OutputPricePer1kTokens < 0)
                errors.Add($"{S}:Tiers:{tier}: prices cannot be negative.");
            if (settings.Remote is { } remote)
            {
                if (remote.Endpoint is not { IsAbsoluteUri: true })
                    errors.Add($"{S}:Tiers:{tier}:Remote:Endpoint must be an absolute URI such as http://localhost:8000/v1.");
                if (string.IsNullOrWhiteSpace(remote.Model))
                    errors.Add($"{S}:Tiers:{tier}:Remote:Model is empty; set the model name the server expects.");
                if (remote.NetworkTimeout <= TimeSpan.Zero)
                    errors.Add($"{S}:Tiers:{tier}:Remote:NetworkTimeout must be positive.");
                if (remote.MaxRetries < 0)
                    errors.Add($"{S}:Tiers:{tier}:Remote:MaxRetries cannot be negative.");
            }
        }
        bool anyRule = options.Rules.Tools || options.Rules.JsonMode || options.Rules.MaxPromptCharacters is not null
            || options.Rules.MaxContextCharacters is not null || options.Rules.Keywords.Count > 0;
        if (anyRule)
            RequireTier(options.Rules.Tier, "Rules:Tier");
        if (options.Classifier.Enabled)
        {
            RequireTier(options.Classifier.SmallTier, "Classifier:SmallTier");
            RequireTier(options.Classifier.LargeTier, "Classifier:LargeTier");
            if (double.IsNaN(options.Classifier.LargeShare) || options.Classifier.LargeShare is < 0 or > 1)
                errors.Add($"{S}:Classifier:LargeShare must be between 0 and 1.");
        }
        if (options.Cascade.Enabled)
        {
            RequireTier(options.Cascade.FromTier, "Cascade:FromTier");
            RequireTier(options.Cascade.ToTier, "Cascade:ToTier");
            if (double.IsNaN(options.Cascade.MinConfidence) || options.Cascade.MinConfidence is < 0 or > 1)
                errors.Add($"{S}:Cascade:MinConfidence must be between 0 and 1.");
            if (options.Cascade.Confidence is not ("None" or "LogProbabilities" or "Service"))
                errors.Add($"{S}:Cascade:Confidence '{options.Cascade.Confidence}' is not known; use None, LogProbabilities or Service.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
