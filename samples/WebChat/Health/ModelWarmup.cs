using LocalLlm.Samples.WebChat.Serving;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LocalLlm.Samples.WebChat.Health;

/// <summary>Loads every served model in the background as the app starts, so /health/live answers at once and /health/ready turns healthy when they are in memory.</summary>
internal sealed partial class ModelWarmup(ServedModels models, ILogger<ModelWarmup> logger) : BackgroundService
{
    private volatile string? _error;

    public bool IsReady { get; private set; }

    public string? Error => _error;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            foreach (var served in models.All)
            {
                // Resolving the client loads its model; a client that is not local has no ModelInfo and nothing to load.
                if (served.Info is { } info) Loaded(logger, served.Name, info.Id, info.Provider);
            }
            IsReady = true;
        }
        catch (Exception e) when (e is ModelFolderException or ExecutionProviderException or InvalidOperationException or Microsoft.ML.OnnxRuntimeGenAI.OnnxRuntimeGenAIException)
        {
            _error = e.Message;
            LoadFailed(logger, e);
        }
    }, stoppingToken);

    [LoggerMessage(1, LogLevel.Information, "Model {Name} ({Model}) loaded on {Provider}.")]
    private static partial void Loaded(ILogger logger, string name, string model, ExecutionProvider provider);

    [LoggerMessage(2, LogLevel.Error, "The model failed to load; /health/ready stays unhealthy.")]
    private static partial void LoadFailed(ILogger logger, Exception exception);
}

/// <summary>/health/ready: healthy once the model is loaded.</summary>
internal sealed class ModelReadyCheck(ModelWarmup warmup) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(warmup.IsReady ? HealthCheckResult.Healthy("Model loaded.")
            : warmup.Error is { } error ? HealthCheckResult.Unhealthy("The model failed to load: " + error)
            : HealthCheckResult.Unhealthy("The model is loading."));
}
