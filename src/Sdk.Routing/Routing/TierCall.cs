using System.Runtime.CompilerServices;
using System.Text.Json;
using LocalLlm.Routing.Cascade;
using Microsoft.Extensions.AI;

namespace LocalLlm.Routing;

/// <summary>
/// One tier inside one request: applies the tier's timeout, captures reported usage and, for a cascade's source
/// tier, checks the answer and throws <see cref="CascadeEscalationException"/> to escalate.
/// </summary>
internal sealed class TierCall(RoutingTier tier, RouteExecution execution, CascadeOptions? cascade) : IChatClient
{
    public RoutingTier Tier { get; } = tier;

    public CascadeOptions? Cascade => cascade;

    public UsageDetails? Usage { get; private set; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        await new CallerContextAwaitable(execution.CallerContext);
        using var timeout = LinkTimeout(cancellationToken);
        ChatResponse response;
        try
        {
            response = await Tier.Client.GetResponseAsync(messages, Prepare(options), timeout?.Token ?? cancellationToken);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut(e);
        }
        Usage = response.Usage;
        if (cascade is not null)
        {
            EscalationReason reason = await CheckAsync(response, options, cancellationToken);
            if (reason != EscalationReason.None)
            {
                execution.HoldBack(this, response, null);
                throw new CascadeEscalationException(reason);
            }
        }
        execution.Answered(this);
        return response;
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await new CallerContextAwaitable(execution.CallerContext);
        using var timeout = LinkTimeout(cancellationToken);
        var buffered = cascade is null ? null : new List<ChatResponseUpdate>();
        await using var updates = Tier.Client.GetStreamingResponseAsync(messages, Prepare(options), timeout?.Token ?? cancellationToken)
            .GetAsyncEnumerator(timeout?.Token ?? cancellationToken);
        while (true)
        {
            ChatResponseUpdate update;
            try
            {
                if (!await updates.MoveNextAsync())
                    break;
                update = updates.Current;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw TimedOut(e);
            }
            foreach (UsageContent usage in update.Contents.OfType<UsageContent>())
            {
                Usage ??= new UsageDetails();
                Usage.Add(usage.Details);
            }
            if (buffered is not null)
            {
                // A cascade's source tier is checked whole before anything reaches the caller.
                buffered.Add(update);
                continue;
            }
            execution.Answered(this);
            yield return update;
        }

        if (buffered is null)
            yield break;
        ChatResponse response = buffered.ToChatResponse();
        EscalationReason reason = await CheckAsync(response, options, cancellationToken);
        if (reason != EscalationReason.None)
        {
            execution.HoldBack(this, response, buffered);
            throw new CascadeEscalationException(reason);
        }
        execution.Answered(this);
        foreach (ChatResponseUpdate update in buffered)
            yield return update;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => Tier.Client.GetService(serviceType, serviceKey);

    public void Dispose()
    {
        // The tier's client belongs to the application, not to one request.
    }

    private ChatOptions? Prepare(ChatOptions? options) =>
        cascade?.Confidence is { } estimator ? estimator.PrepareOptions(options?.Clone() ?? new ChatOptions()) : options;

    private CancellationTokenSource? LinkTimeout(CancellationToken cancellationToken)
    {
        if (Tier.Timeout is not { } limit)
            return null;
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(limit);
        return cts;
    }

    // A cancellation the caller did not ask for is the tier's failure (our timeout, an HTTP client's timeout):
    // report it as one so the failover moves on instead of treating it as the caller's cancellation.
    private TimeoutException TimedOut(OperationCanceledException e) =>
        new(Tier.Timeout is { } limit
            ? $"Tier '{Tier.Name}' did not answer within {limit.TotalSeconds:0.###} s."
            : $"Tier '{Tier.Name}' was canceled without the caller asking: {e.Message}", e);

    private async ValueTask<EscalationReason> CheckAsync(ChatResponse response, ChatOptions? options, CancellationToken cancellationToken)
    {
        if (IsMarkedForEscalation(response))
            return EscalationReason.GuardrailEscalate;
        if (options?.ResponseFormat is ChatResponseFormatJson && !IsJson(response.Text))
            return EscalationReason.InvalidStructuredOutput;
        if (cascade!.Confidence is { } estimator)
        {
            double? confidence = await estimator.EstimateAsync(execution.Messages, response, cancellationToken);
            execution.Confidence = confidence;
            if (confidence is null ? cascade.EscalateWhenConfidenceUnknown : confidence < cascade.MinConfidence)
                return EscalationReason.LowConfidence;
        }
        return EscalationReason.None;
    }

    private static bool IsMarkedForEscalation(ChatResponse response) => EscalationMarker.Find(response) is not null;

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
