using Microsoft.Extensions.Logging.Abstractions;

namespace LocalLlm.Tests.Scheduling;

/// <summary>Admission rules without a model: concurrency, KV bytes, FIFO order, bounded queue, cancellation.</summary>
public sealed class RequestSchedulerTests
{
    private static RequestScheduler New(int maxActive, int maxQueue = 16, long budget = 1000) =>
        new(maxActive, maxQueue, budget, null, new LocalLlmTelemetry().For("test", null), NullLogger.Instance);

    [Fact]
    public async Task AdmitAsync_SlotsTaken_WaitersStartInArrivalOrder()
    {
        var scheduler = New(maxActive: 1);
        var first = await scheduler.AdmitAsync(10, null, CancellationToken.None);
        var order = new List<int>();
        var tasks = new List<Task<RequestScheduler.Admission>>();
        for (int i = 1; i <= 4; i++)
        {
            int n = i;
            tasks.Add(scheduler.AdmitAsync(10, null, CancellationToken.None).AsTask().ContinueWith(t => { lock (order) order.Add(n); return t.Result; }, TaskScheduler.Default));
        }
        Assert.Equal(4, scheduler.Waiting);

        first.Dispose();
        for (int i = 0; i < 4; i++)
        {
            var next = await Task.WhenAny(tasks);
            tasks.Remove(next);
            Assert.Equal(1, scheduler.Active);
            (await next).Dispose();
        }
        Assert.Equal([1, 2, 3, 4], order);
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task AdmitAsync_QueueFull_ThrowsServerBusyWithQueueLength()
    {
        var scheduler = New(maxActive: 1, maxQueue: 2);
        using var running = await scheduler.AdmitAsync(1, null, CancellationToken.None);
        var a = scheduler.AdmitAsync(1, null, CancellationToken.None);
        var b = scheduler.AdmitAsync(1, null, CancellationToken.None);

        var e = await Assert.ThrowsAsync<ServerBusyException>(async () => await scheduler.AdmitAsync(1, null, CancellationToken.None));
        Assert.Equal(2, e.QueueLength);
        Assert.Equal(1, e.ActiveRequests);
        Assert.Contains("MaxQueueLength", e.Message, StringComparison.Ordinal);
        Assert.False(a.IsCompleted);
        Assert.False(b.IsCompleted);
    }

    [Fact]
    public async Task AdmitAsync_CancelledWhileQueued_LeavesQueueAndNeverStarts()
    {
        var scheduler = New(maxActive: 1);
        var running = await scheduler.AdmitAsync(1, null, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var cancelled = scheduler.AdmitAsync(1, null, cts.Token).AsTask();
        var behind = scheduler.AdmitAsync(1, null, CancellationToken.None).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, scheduler.Waiting);

        running.Dispose();
        using var next = await behind;
        Assert.Equal(1, scheduler.Active); // only the one behind started
        Assert.Equal(0, scheduler.Waiting);
    }

    [Fact]
    public async Task AdmitAsync_BytesOverBudget_WaitsUntilBytesAreReleased()
    {
        var scheduler = New(maxActive: 4, budget: 100);
        var first = await scheduler.AdmitAsync(60, null, CancellationToken.None);
        var second = scheduler.AdmitAsync(60, null, CancellationToken.None).AsTask();
        var small = scheduler.AdmitAsync(10, null, CancellationToken.None).AsTask();

        Assert.False(second.IsCompleted);
        Assert.False(small.IsCompleted); // FIFO: no overtaking, even when it would fit
        first.Dispose();
        using var s = await second;
        using var t = await small;
        Assert.Equal(70, scheduler.ActiveBytes);
    }

    [Fact]
    public async Task AdmitAsync_RequestLargerThanBudget_RunsAlone()
    {
        var scheduler = New(maxActive: 4, budget: 100);
        var small = await scheduler.AdmitAsync(10, null, CancellationToken.None);
        var huge = scheduler.AdmitAsync(500, null, CancellationToken.None).AsTask();
        Assert.False(huge.IsCompleted);

        small.Dispose();
        var running = await huge;
        var after = scheduler.AdmitAsync(10, null, CancellationToken.None).AsTask();
        Assert.False(after.IsCompleted);
        running.Dispose();
        (await after).Dispose();
    }

    [Fact]
    public async Task Admission_ReleasedTwice_FreesItsSlotOnce()
    {
        var scheduler = New(maxActive: 2);
        var a = await scheduler.AdmitAsync(1, null, CancellationToken.None);
        using var b = await scheduler.AdmitAsync(1, null, CancellationToken.None);
        a.Dispose();
        a.Dispose();
        Assert.Equal(1, scheduler.Active);
    }
}
