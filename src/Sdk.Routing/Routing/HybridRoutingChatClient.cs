using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using LocalLlm.Routing.Accounting;
using LocalLlm.Routing.Cascade;
using LocalLlm.Routing.Diagnostics;
using LocalLlm.Routing.Strategies;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LocalLlm.Routing;

/// <summary>
/// Routes each request to one of several named tiers (a small local model, a large local or remote one): strategies
/// choose the tier, a cascade can escalate a weak small-tier answer, and a failing tier fails over. Every response
/// says which tier answered and why (<see cref="RouteDecisionExtensions.GetRouteDecision(ChatResponse)"/>), and
/// tokens, time and cost are added to a <see cref="RoutingLedger"/>.
/// </summary>
/// <remarks>
/// Streaming: the choice of tier and any failover happen before the first update, so the caller only sees the
/// answering tier's stream. A cascade buffers its source tier's answer until it is checked (see
/// <see cref="CascadeOptions"/>). The first update carries the decision; a last, content-free update carries the
/// final decision with token counts.
/// </remarks>
public sealed class HybridRoutingChatClient : IChatClient
{
    private readonly Dictionary<string, RoutingTier> _tiers;
    private readonly IRoutingStrategy[] _strategies;
    private readonly string _defaultTier;
    private readonly CascadeOptions? _cascade;
    private readonly RoutingMetrics _metrics;
    private readonly ILogger _logger;
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="HybridRoutingChatClient"/> class.</summary>
    /// <param name="tiers">The tiers, each with a unique name.</param>
    /// <param name="options">How to choose tiers; <see langword="null"/> sends everything to the <c>small</c> tier.</param>
    /// <param name="ledger">Where totals go; <see langword="null"/> for a new private ledger (see <see cref="Ledger"/>).</param>
    /// <param name="loggerFactory">Logs decisions, escalations and failures (event ids 3xxx).</param>
    /// <param name="meterFactory">Creates the <c>LocalLlm</c> meter for the <c>localllm.routing.*</c> instruments.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tiers"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The tiers are empty, duplicated, or a name the options refer to is not among them.</exception>
    public HybridRoutingChatClient(IEnumerable<RoutingTier> tiers, HybridRoutingOptions? options = null, RoutingLedger? ledger = null,
        ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(tiers);
        options ??= new HybridRoutingOptions();
        _tiers = new Dictionary<string, RoutingTier>(StringComparer.Ordinal);
        foreach (RoutingTier tier in tiers)
        {
            if (tier is null)
                throw new ArgumentException("A tier is null.", nameof(tiers));
            if (!_tiers.TryAdd(tier.Name, tier))
                throw new ArgumentException($"Tier '{tier.Name}' is listed twice; tier names must be unique.", nameof(tiers));
        }
        if (_tiers.Count == 0)
            throw new ArgumentException("Give at least one tier.", nameof(tiers));
        RequireTier(options.DefaultTier, "HybridRoutingOptions.DefaultTier");
        foreach (RoutingTier tier in _tiers.Values)
        {
            if (tier.FailoverTo is { } to)
                RequireTier(to, $"Tier '{tier.Name}' FailoverTo");
        }
        if (options.Cascade is { } cascade)
        {
            RequireTier(cascade.FromTier, "CascadeOptions.FromTier");
            RequireTier(cascade.ToTier, "CascadeOptions.ToTier");
            if (cascade.FromTier == cascade.ToTier)
                throw new ArgumentException($"The cascade goes from '{cascade.FromTier}' to itself; set CascadeOptions.ToTier to a larger tier.", nameof(options));
        }
        _strategies = [.. options.Strategies];
        if (_strategies.Any(s => s is null))
            throw new ArgumentException("A routing strategy is null.", nameof(options));
        _defaultTier = options.DefaultTier;
        _cascade = options.Cascade;
        Ledger = ledger ?? new RoutingLedger();
        _logger = loggerFactory?.CreateLogger<HybridRoutingChatClient>() ?? (ILogger)NullLogger.Instance;
        _metrics = new RoutingMetrics(meterFactory);
    }

    /// <summary>Gets the ledger this router adds its totals to.</summary>
    public RoutingLedger Ledger { get; }

    /// <summary>Gets the tiers by name.</summary>
    public IReadOnlyDictionary<string, RoutingTier> Tiers => _tiers;

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        IReadOnlyList<ChatMessage> conversation = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        RouteExecution execution = await SelectAsync(conversation, options, cancellationToken);
        using var failover = new TierFailoverChatClient(Plan(execution), execution);
        bool answered = false;
        try
        {
            ChatResponse response;
            try
            {
                response = await failover.GetResponseAsync(conversation, options, cancellationToken);
            }
            catch (Exception e) when (execution.HeldBackResponse is not null && e is not OperationCanceledException)
            {
                execution.UseHeldBack(e);
                response = execution.HeldBackResponse;
            }
            answered = true;
            RouteDecision decision = Finish(execution, answered);
            response.AdditionalProperties ??= [];
            RouteDecisionExtensions.Annotate(response.AdditionalProperties, decision);
            return response;
        }
        finally
        {
            if (!answered)
                Finish(execution, answered);
        }
    }

    /// <inheritdoc/>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        IReadOnlyList<ChatMessage> conversation = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        return StreamAsync(conversation, options, cancellationToken);
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null)
        {
            if (serviceType.IsInstanceOfType(this)) return this;
            if (serviceType == typeof(RoutingLedger)) return Ledger;
            return null;
        }
        // Keyed by tier name: reach into that tier (its model, metadata, ...).
        return serviceKey is string name && _tiers.TryGetValue(name, out RoutingTier? tier)
            ? (serviceType.IsInstanceOfType(tier.Client) ? tier.Client : tier.Client.GetService(serviceType))
            : null;
    }

    /// <summary>Releases the router's meter. The tiers' clients belong to the application and are not disposed.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _metrics.Dispose();
    }

    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(IReadOnlyList<ChatMessage> conversation, ChatOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RouteExecution execution = await SelectAsync(conversation, options, cancellationToken);
        using var failover = new TierFailoverChatClient(Plan(execution), execution);
        bool finished = false;
        try
        {
            ChatResponseUpdate? last = null;
            IEnumerable<ChatResponseUpdate>? heldBack = null;
            await using (var updates = failover.GetStreamingResponseAsync(conversation, options, cancellationToken).GetAsyncEnumerator(cancellationToken))
            {
                while (true)
                {
                    ChatResponseUpdate update;
                    try
                    {
                        if (!await updates.MoveNextAsync())
                            break;
                        update = updates.Current;
                    }
                    catch (Exception e) when (last is null && execution.HeldBackUpdates is not null && e is not OperationCanceledException)
                    {
                        execution.UseHeldBack(e);
                        heldBack = execution.HeldBackUpdates;
                        break;
                    }
                    if (last is null)
                        AnnotateFirst(update, execution);
                    last = update;
                    yield return update;
                }
            }
            foreach (ChatResponseUpdate update in heldBack ?? [])
            {
                if (last is null)
                    AnnotateFirst(update, execution);
                last = update;
                yield return update;
            }

            finished = true;
            RouteDecision decision = Finish(execution, answered: true);
            var final = new ChatResponseUpdate
            {
                Role = ChatRole.Assistant,
                ResponseId = last?.ResponseId,
                MessageId = last?.MessageId,
                AdditionalProperties = [],
            };
            RouteDecisionExtensions.Annotate(final.AdditionalProperties, decision);
            yield return final;
        }
        finally
        {
            if (!finished)
                Finish(execution, answered: false);
        }
    }

    private static void AnnotateFirst(ChatResponseUpdate update, RouteExecution execution)
    {
        update.AdditionalProperties ??= [];
        RouteDecisionExtensions.Annotate(update.AdditionalProperties, execution.Decide(log: false));
    }

    private async ValueTask<RouteExecution> SelectAsync(IReadOnlyList<ChatMessage> conversation, ChatOptions? options, CancellationToken cancellationToken)
    {
        var execution = new RouteExecution(conversation, _logger);
        long start = Stopwatch.GetTimestamp();
        var request = new RoutingRequest(conversation, options);
        RouteChoice? choice = null;
        string strategy = "default";
        foreach (IRoutingStrategy s in _strategies)
        {
            choice = await s.ChooseAsync(request, cancellationToken);
            if (choice is not null)
            {
                strategy = s.Name;
                if (!_tiers.ContainsKey(choice.Tier))
                    throw new InvalidOperationException($"Routing strategy '{s.Name}' chose tier '{choice.Tier}', which is not configured; configured tiers: {string.Join(", ", _tiers.Keys)}.");
                break;
            }
        }
        execution.SelectedTier = choice?.Tier ?? _defaultTier;
        execution.Strategy = strategy;
        execution.Reason = choice?.Reason ?? "no strategy chose";
        execution.Overhead = Stopwatch.GetElapsedTime(start);
        RoutingLog.Routed(_logger, execution.SelectedTier, strategy, execution.Reason, execution.Overhead.TotalMilliseconds);
        return execution;
    }

    /// <summary>The chosen tier, then the cascade's target (if the chosen tier is its source), then the chosen tier's failover.</summary>
    private List<TierCall> Plan(RouteExecution execution)
    {
        RoutingTier selected = _tiers[execution.SelectedTier];
        bool cascades = _cascade is not null && _cascade.FromTier == selected.Name;
        var plan = new List<TierCall> { new(selected, execution, cascades ? _cascade : null) };
        if (cascades)
            plan.Add(new TierCall(_tiers[_cascade!.ToTier], execution, null));
        if (selected.FailoverTo is { } to && plan.TrueForAll(c => c.Tier.Name != to))
            plan.Add(new TierCall(_tiers[to], execution, null));
        return plan;
    }

    private RouteDecision Finish(RouteExecution execution, bool answered)
    {
        RouteDecision decision = execution.Decide(log: true);
        Ledger.Record(decision, answered);
        _metrics.Record(decision, answered);
        return decision;
    }

    private void RequireTier(string name, string setting)
    {
        if (string.IsNullOrEmpty(name) || !_tiers.ContainsKey(name))
            throw new ArgumentException($"{setting} names tier '{name}', which is not configured; configured tiers: {string.Join(", ", _tiers.Keys)}.");
    }
}
