using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LocalLlm.Guardrails;

/// <summary>The guardrails' instruments, on the meter named <c>LocalLlm</c>.</summary>
internal sealed class GuardrailsTelemetry
{
    public const string MeterName = "LocalLlm";
    public const string VerdictsName = "localllm.guardrails.verdicts";
    public const string DurationName = "localllm.guardrails.check.duration";
    public const string CheckTag = "localllm.guardrails.check";
    public const string CategoryTag = "localllm.guardrails.category";
    public const string ActionTag = "localllm.guardrails.action";
    public const string StageTag = "localllm.guardrails.stage";

    // Without an IMeterFactory (a client built by hand), one process-wide meter.
    private static readonly Lazy<Meter> s_sharedMeter = new(() => new Meter(MeterName));

    private readonly Counter<long> _verdicts;
    private readonly Histogram<double> _duration;

    public GuardrailsTelemetry(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(MeterName) ?? s_sharedMeter.Value;
        _verdicts = meter.CreateCounter<long>(VerdictsName, "{verdict}", "Guardrail verdicts by check, category and action.");
        _duration = meter.CreateHistogram<double>(DurationName, "s", "Time one guardrail check took.");
    }

    public void Verdict(GuardrailStage stage, string check, string category, GuardrailAction action)
    {
        if (!_verdicts.Enabled)
            return;
        var tags = new TagList
        {
            { CheckTag, check },
            { CategoryTag, category },
            { ActionTag, ActionName(action) },
            { StageTag, StageName(stage) },
        };
        _verdicts.Add(1, tags);
    }

    public void Duration(GuardrailStage stage, string check, TimeSpan elapsed)
    {
        if (_duration.Enabled)
            _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(CheckTag, check), new KeyValuePair<string, object?>(StageTag, StageName(stage)));
    }

    public static string StageName(GuardrailStage stage) => stage == GuardrailStage.Input ? "input" : "output";

    public static string ActionName(GuardrailAction action) => action switch
    {
        GuardrailAction.Allow => "allow",
        GuardrailAction.Block => "block",
        GuardrailAction.Redact => "redact",
        GuardrailAction.Flag => "flag",
        GuardrailAction.Escalate => "escalate",
        _ => "unknown",
    };
}
