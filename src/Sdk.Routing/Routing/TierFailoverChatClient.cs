using Microsoft.Extensions.AI;

// FailoverChatClient is [Experimental] (MEAI001): it is used only inside this internal class, so our public API
// stays stable if it changes.
#pragma warning disable MEAI001

namespace LocalLlm.Routing;

/// <summary>
/// One request's attempt plan on Microsoft.Extensions.AI's <see cref="FailoverChatClient"/>: it owns invocation,
/// the "no failover once streamed output is exposed" rule and attempt timing; we own the order and the record.
/// Internal so our public API does not move if the experimental base changes.
/// </summary>
internal sealed class TierFailoverChatClient : FailoverChatClient
{
    private readonly IReadOnlyList<TierCall> _plan;
    private readonly RouteExecution _execution;
    private int _next;

    public TierFailoverChatClient(IReadOnlyList<TierCall> plan, RouteExecution execution)
    {
        _plan = plan;
        _execution = execution;
        MaximumAttemptsPerRequest = plan.Count;
    }

    protected override ValueTask<IChatClient> SelectClientAsync(RoutingContext context, CancellationToken cancellationToken) =>
        _next < _plan.Count
            ? new(_plan[_next++])
            : throw new InvalidOperationException("No tier left to try."); // unreachable: attempts are capped at the plan's length

    protected override ValueTask OnRoutingUpdateAsync(RoutingContext context, FailoverChatClientAttempt attempt, bool isTerminal, CancellationToken cancellationToken)
    {
        _execution.RecordAttempt((TierCall)attempt.Client, attempt.Duration, attempt.Exception, isTerminal);
        return default;
    }
}
