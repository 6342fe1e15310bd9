using System.Text.RegularExpressions;
using LocalLlm.Routing.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LocalLlm.Routing.Strategies;

/// <summary>
/// Lets a (small) model label the request's intent, its output constrained to the label set by a regex grammar,
/// and routes by the label. Abstains when the router fails or answers outside the labels.
/// </summary>
public sealed class IntentRoutingStrategy : IRoutingStrategy
{
    private readonly IChatClient _router;
    private readonly Dictionary<string, string> _intents;
    private readonly ILogger _logger;

    /// <summary>Initializes a new instance of the <see cref="IntentRoutingStrategy"/> class.</summary>
    /// <param name="router">The model that labels intents (usually the small tier's client).</param>
    /// <param name="intents">Intent label → tier name, for example <c>chitchat → small</c>, <c>reasoning → large</c>.</param>
    /// <param name="logger">Logs a router that fails or answers outside the labels.</param>
    /// <exception cref="ArgumentNullException"><paramref name="router"/> or <paramref name="intents"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="intents"/> is empty or has an empty label or tier.</exception>
    public IntentRoutingStrategy(IChatClient router, IReadOnlyDictionary<string, string> intents, ILogger? logger = null)
    {
        _router = router ?? throw new ArgumentNullException(nameof(router));
        ArgumentNullException.ThrowIfNull(intents);
        if (intents.Count == 0 || intents.Any(p => string.IsNullOrWhiteSpace(p.Key) || string.IsNullOrWhiteSpace(p.Value)))
            throw new ArgumentException("Give at least one intent label, each mapped to a tier name; none empty.", nameof(intents));
        _intents = new Dictionary<string, string>(intents, StringComparer.OrdinalIgnoreCase);
        _logger = logger ?? NullLogger.Instance;
        Grammar = "(" + string.Join("|", _intents.Keys.Select(Regex.Escape)) + ")";
    }

    /// <inheritdoc/>
    public string Name => "intent";

    /// <summary>Gets the regular expression the router's output is constrained to: one of the labels.</summary>
    public string Grammar { get; }

    /// <summary>Gets or sets the instruction sent to the router before the user's prompt.</summary>
    /// <value>The default lists the labels and asks for exactly one.</value>
    public string? Instructions { get; set; }

    /// <inheritdoc/>
    public async ValueTask<RouteChoice?> ChooseAsync(RoutingRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string instructions = Instructions
            ?? $"Label the user's request with exactly one of these intents: {string.Join(", ", _intents.Keys)}. Answer with the label only.";
        ChatMessage[] prompt = [new(ChatRole.System, instructions), new(ChatRole.User, request.LastUserText)];
        var options = new ChatOptions
        {
            Temperature = 0,
            MaxOutputTokens = 16,
            AdditionalProperties = new() { [GrammarPropertyName] = Grammar },
        };
        string label;
        try
        {
            ChatResponse response = await _router.GetResponseAsync(prompt, options, cancellationToken);
            label = response.Text.Trim();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            RoutingLog.IntentRouterFailed(_logger, Name, e);
            return null;
        }
        if (_intents.TryGetValue(label, out string? tier))
            return new RouteChoice(tier, $"intent {label}");
        RoutingLog.IntentOutsideLabels(_logger, Name);
        return null;
    }

    // Replaced by the core's ChatOptions.WithRegexGrammar once it lands.
    internal const string GrammarPropertyName = "localllm.grammar.regex";
}
