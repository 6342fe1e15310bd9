using System.Runtime.CompilerServices;

namespace LocalLlm.Routing;

/// <summary>
/// Resumes on the caller's <see cref="SynchronizationContext"/> when the current thread is not on it. The failover
/// base may continue on the thread pool after a failed attempt; tiers below us can run user tool code that needs
/// the caller's context, so each tier call starts back on it.
/// </summary>
internal readonly struct CallerContextAwaitable(SynchronizationContext? context) : ICriticalNotifyCompletion
{
    public CallerContextAwaitable GetAwaiter() => this;

    public bool IsCompleted => context is null || SynchronizationContext.Current == context;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => context!.Post(static state => ((Action)state!)(), continuation);

    public void UnsafeOnCompleted(Action continuation) => OnCompleted(continuation);
}
