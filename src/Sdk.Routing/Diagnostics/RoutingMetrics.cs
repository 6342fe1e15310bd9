using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LocalLlm.Routing.Diagnostics;

/// <summary>Routing instruments on the <c>LocalLlm</c> meter.</summary>
internal sealed class RoutingMetrics : IDisposable
{
    public const string MeterName = "LocalLlm";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _escalations;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Histogram<double> _tierDuration;
    private readonly Histogram<double> _overhead;

    public RoutingMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("localllm.routing.requests", "{request}", "Requests routed, by answering tier.");
        _escalations = _meter.CreateCounter<long>("localllm.routing.escalations", "{request}", "Requests that left their chosen tier, by reason.");
        _tokens = _meter.CreateCounter<long>("localllm.routing.tokens", "{token}", "Tokens reported by each tier.");
        _cost = _meter.CreateCounter<double>("localllm.routing.cost", "{currency}", "Cost of the tokens at each tier's configured prices.");
        _tierDuration = _meter.CreateHistogram<double>("localllm.routing.tier.duration", "s", "Time spent in one tier call.");
        _overhead = _meter.CreateHistogram<double>("localllm.routing.decision.duration", "s", "Time spent choosing a tier (router overhead).");
    }

    public void Record(RouteDecision decision, bool answered)
    {
        _overhead.Record(decision.RouterOverhead.TotalSeconds, new KeyValuePair<string, object?>("localllm.routing.strategy", decision.Strategy));
        foreach (TierAttempt a in decision.Attempts)
        {
            var tier = new KeyValuePair<string, object?>("localllm.routing.tier", a.Tier);
            _tierDuration.Record(a.Duration.TotalSeconds, tier, new("localllm.routing.outcome", a.Outcome.ToString()));
            if (a.Usage?.InputTokenCount is long input)
                _tokens.Add(input, tier, new("gen_ai.token.type", "input"));
            if (a.Usage?.OutputTokenCount is long output)
                _tokens.Add(output, tier, new("gen_ai.token.type", "output"));
            if (a.Cost != 0)
                _cost.Add((double)a.Cost, tier);
        }
        if (answered)
            _requests.Add(1, new KeyValuePair<string, object?>("localllm.routing.tier", decision.Tier), new("localllm.routing.strategy", decision.Strategy));
        if (decision.Escalation != EscalationReason.None)
        {
            var tags = new TagList
            {
                { "localllm.routing.reason", decision.Escalation.ToString() },
                { "localllm.routing.from", decision.SelectedTier },
                { "localllm.routing.tier", decision.Tier },
            };
            _escalations.Add(1, tags);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
            _meter.Dispose();
    }
}
