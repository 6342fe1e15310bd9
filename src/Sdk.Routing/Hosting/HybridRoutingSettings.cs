namespace LocalLlm.Routing.Hosting;

/// <summary>
/// Routing configuration, bound from the <c>LocalLlm:Routing</c> section. Tiers are keyed <see cref="Microsoft.Extensions.AI.IChatClient"/>
/// registrations (for example <c>AddKeyedLocalLlm("small")</c>) or remote OpenAI-compatible endpoints.
/// </summary>
public sealed class HybridRoutingSettings
{
    /// <summary>The configuration section the settings bind from.</summary>
    public const string SectionName = "LocalLlm:Routing";

    /// <summary>Gets or sets the tier that answers when no strategy chooses.</summary>
    /// <value>The default is <c>small</c>.</value>
    public string DefaultTier { get; set; } = "small";

    /// <summary>Gets the tiers by name.</summary>
    public Dictionary<string, TierSettings> Tiers { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets or sets the rules (asked first).</summary>
    public RuleSettings Rules { get; set; } = new();

    /// <summary>Gets or sets the trained prompt classifier strategy (asked last).</summary>
    public ClassifierSettings Classifier { get; set; } = new();

    /// <summary>Gets or sets the cascade.</summary>
    public CascadeSettings Cascade { get; set; } = new();
}

/// <summary>One tier's settings.</summary>
public sealed class TierSettings
{
    /// <summary>Gets or sets the tier that answers when this one fails.</summary>
    public string? FailoverTo { get; set; }

    /// <summary>Gets or sets the time limit of one call.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Gets or sets the price of 1,000 input tokens.</summary>
    public decimal InputPricePer1kTokens { get; set; }

    /// <summary>Gets or sets the price of 1,000 output tokens.</summary>
    public decimal OutputPricePer1kTokens { get; set; }

    /// <summary>Gets or sets the remote endpoint; when unset the tier is the keyed IChatClient registered under the tier's name.</summary>
    public RemoteTierSettings? Remote { get; set; }
}

/// <summary>A remote OpenAI-compatible endpoint.</summary>
public sealed class RemoteTierSettings
{
    /// <summary>Gets or sets the API base address, such as <c>http://gpu-box:8000/v1</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Gets or sets the model name the server expects.</summary>
    public string Model { get; set; } = "";

    /// <summary>Gets or sets the API key (put it in user secrets or an environment variable, not in appsettings.json).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Gets or sets how long one HTTP call may take.</summary>
    /// <value>The default is 100 seconds.</value>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Gets or sets retries on transient HTTP failures.</summary>
    /// <value>The default is 0: the router fails over instead.</value>
    public int MaxRetries { get; set; }
}

/// <summary>Rules; each is off until set.</summary>
public sealed class RuleSettings
{
    /// <summary>Gets or sets the tier the rules send requests to.</summary>
    /// <value>The default is <c>large</c>.</value>
    public string Tier { get; set; } = "large";

    /// <summary>Gets or sets a value indicating whether requests that offer tools go to <see cref="Tier"/>.</summary>
    public bool Tools { get; set; }

    /// <summary>Gets or sets a value indicating whether requests for JSON go to <see cref="Tier"/>.</summary>
    public bool JsonMode { get; set; }

    /// <summary>Gets or sets the prompt length (characters) above which requests go to <see cref="Tier"/>.</summary>
    public int? MaxPromptCharacters { get; set; }

    /// <summary>Gets or sets the conversation length (characters) above which requests go to <see cref="Tier"/>.</summary>
    public int? MaxContextCharacters { get; set; }

    /// <summary>Gets the keywords that send a prompt to <see cref="Tier"/>.</summary>
    public List<string> Keywords { get; } = [];
}

/// <summary>The trained prompt classifier.</summary>
public sealed class ClassifierSettings
{
    /// <summary>Gets or sets a value indicating whether the classifier routes requests no rule matched.</summary>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the share of traffic (0-1) to send to the large tier.</summary>
    /// <value>The default is 0.5.</value>
    public double LargeShare { get; set; } = 0.5;

    /// <summary>Gets or sets the small tier's name.</summary>
    public string SmallTier { get; set; } = "small";

    /// <summary>Gets or sets the large tier's name.</summary>
    public string LargeTier { get; set; } = "large";
}

/// <summary>The cascade.</summary>
public sealed class CascadeSettings
{
    /// <summary>Gets or sets a value indicating whether the cascade is on.</summary>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the tier that answers first.</summary>
    public string FromTier { get; set; } = "small";

    /// <summary>Gets or sets the tier that answers when the first answer falls short.</summary>
    public string ToTier { get; set; } = "large";

    /// <summary>Gets or sets how confidence is measured: <c>None</c>, <c>LogProbabilities</c>, or <c>Service</c> (a registered ConfidenceEstimator).</summary>
    public string Confidence { get; set; } = "None";

    /// <summary>Gets or sets the confidence below which the cascade escalates.</summary>
    /// <value>The default is 0.5.</value>
    public double MinConfidence { get; set; } = 0.5;
}
