using Microsoft.Extensions.AI;

namespace LocalLlm.Routing;

/// <summary>A named tier: any chat client (a local model, a remote OpenAI-compatible endpoint), with its prices and limits.</summary>
public sealed class RoutingTier
{
    private TimeSpan? _timeout;
    private decimal _inputPrice;
    private decimal _outputPrice;

    /// <summary>Initializes a new instance of the <see cref="RoutingTier"/> class.</summary>
    /// <param name="name">The tier's name, such as <c>small</c> or <c>large</c>.</param>
    /// <param name="client">The client that answers for the tier. The router does not dispose it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> or <paramref name="name"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public RoutingTier(string name, IChatClient client)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Client = client ?? throw new ArgumentNullException(nameof(client));
    }

    /// <summary>Gets the tier's name.</summary>
    public string Name { get; }

    /// <summary>Gets the client that answers for the tier.</summary>
    public IChatClient Client { get; }

    /// <summary>Gets or sets the tier that answers when this one fails (an exception, refused connection or timeout).</summary>
    /// <value>A tier name, or <see langword="null"/> (the default) for no failover.</value>
    public string? FailoverTo { get; set; }

    /// <summary>Gets or sets how long one call to this tier may take before it counts as failed.</summary>
    /// <value>A positive time, or <see langword="null"/> (the default) for no limit besides the caller's token.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public TimeSpan? Timeout
    {
        get => _timeout;
        set
        {
            if (value is { } v)
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(v, TimeSpan.Zero, nameof(value));
            _timeout = value;
        }
    }

    /// <summary>Gets or sets the price of 1,000 input (prompt) tokens, in your currency.</summary>
    /// <value>Zero or more; the default is 0.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public decimal InputPricePer1kTokens
    {
        get => _inputPrice;
        set { ArgumentOutOfRangeException.ThrowIfNegative(value); _inputPrice = value; }
    }

    /// <summary>Gets or sets the price of 1,000 output (generated) tokens, in your currency.</summary>
    /// <value>Zero or more; the default is 0.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public decimal OutputPricePer1kTokens
    {
        get => _outputPrice;
        set { ArgumentOutOfRangeException.ThrowIfNegative(value); _outputPrice = value; }
    }

    internal decimal CostOf(UsageDetails? usage) => usage is null ? 0m
        : ((usage.InputTokenCount ?? 0) * InputPricePer1kTokens / 1000m) + ((usage.OutputTokenCount ?? 0) * OutputPricePer1kTokens / 1000m);
}
