using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LocalLlm.Samples.WebChat.Health;

/// <summary>Loads the model in the background as the app starts, so /health/live answers at once and /health/ready turns healthy when the model is in memory.</summary>
internal sealed partial class ModelWarmup(IServiceProvider services, ILogger<ModelWarmup> logger) : BackgroundService
{
    private volatile string? _error;

    public bool IsReady { get; private set; }

    public string? Error => _error;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            var model = services.GetRequiredService<LocalModel>();
            IsReady = true;
            Loaded(logger, model.Info.Id, model.Info.Provider);
        }
        catch (Exception e) when (e is ModelFolderException or ExecutionProviderException or InvalidOperationException or Microsoft.ML.OnnxRuntimeGenAI.OnnxRuntimeGenAIException)
        {
            _error = e.Message;
            LoadFailed(logger, e);
        }
    }, stoppingToken);

    [LoggerMessage(1, LogLevel.Information, "Model {Model} loaded on {Provider}; /health/ready is healthy.")]
    private static partial void Loaded(ILogger logger, string model, ExecutionProvider provider);

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
