using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>
/// Admits requests to generate: at most <c>maxActive</c> at once, and the KV-cache bytes of active requests plus
/// idle cached generators within the budget (idle ones are evicted first). Waiting requests form a FIFO queue of
/// bounded length; a cancelled waiter leaves the queue and never starts. A request whose KV cache alone exceeds
/// the budget runs only when nothing else does.
/// </summary>
internal sealed class RequestScheduler
{
    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _queue = new();
    private readonly int _maxActive;
    private readonly int _maxQueue;
    private readonly long _budget;
    private readonly KvCachePool? _pool;
    private readonly ModelTelemetry _telemetry;
    private readonly ILogger _logger;
    private int _active;
    private long _activeBytes;
    private long _reserved;

    public RequestScheduler(int maxActive, int maxQueue, long budgetBytes, KvCachePool? pool, ModelTelemetry telemetry, ILogger logger)
    {
        _maxActive = maxActive;
        _maxQueue = maxQueue;
        _budget = budgetBytes;
        _pool = pool;
        _telemetry = telemetry;
        _logger = logger;
    }

    public int Active { get { lock (_lock) return _active; } }

    public int Waiting { get { lock (_lock) return _queue.Count; } }

    /// <summary>KV-cache bytes reserved by active requests.</summary>
    public long ActiveBytes { get { lock (_lock) return _activeBytes; } }

    /// <summary>
    /// Charges <paramref name="bytes"/> held outside any request (the batching engine's KV buffers) from now on: idle
    /// cached generators are evicted to make room, and requests are admitted within what is left. Not part of
    /// <see cref="ActiveBytes"/> or its metric, which count requests.
    /// </summary>
    public void Reserve(long bytes)
    {
        lock (_lock)
        {
            _reserved += bytes;
            _pool?.Reclaim(Math.Max(0, _budget - _reserved - _activeBytes));
        }
    }

    /// <summary>Waits for a turn; dispose the result when the request ends.</summary>
    /// <param name="bytes">The KV-cache bytes the request will hold at most.</param>
    /// <param name="keep">The cached generator the request means to reuse: never evicted to make room for it.</param>
    /// <param name="cancellationToken">Leaves the queue.</param>
    /// <exception cref="ServerBusyException">The queue is full.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public async ValueTask<Admission> AdmitAsync(long bytes, CachedGenerator? keep, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new Waiter(this, bytes, keep);
        lock (_lock)
        {
            if (_queue.Count == 0 && TryStart(waiter)) return waiter.Admission;
            if (_queue.Count >= _maxQueue)
            {
                _telemetry.SchedulerRejected.Add(1);
                throw new ServerBusyException(_queue.Count, _active);
            }
            waiter.Node = _queue.AddLast(waiter);
            _telemetry.QueueDepth.Add(1);
        }
        using (cancellationToken.Register(static (w, ct) => ((Waiter)w!).Scheduler.Cancel((Waiter)w!, ct), waiter))
            return await waiter.Granted.Task.ConfigureAwait(false);
    }

    /// <summary>Under the lock: starts the waiter if a slot and its bytes are free (evicting idle caches to make room).</summary>
    private bool TryStart(Waiter w)
    {
        if (_active >= _maxActive) return false;
        // What a reservation (the batching engine's KV) leaves is the most any request can get beside it.
        bool alone = w.Bytes > _budget - _reserved;
        if (alone && _active > 0) return false;
        if (!alone && _reserved + _activeBytes + w.Bytes > _budget) return false;
        // A generator the request will take moves from idle to active: its bytes are already counted in the pool.
        long moving = w.Keep is { } keep && _pool is not null && _pool.Contains(keep) ? keep.Bytes : 0;
        _pool?.Reclaim(Math.Max(0, _budget - _reserved - _activeBytes - w.Bytes + moving), w.Keep);
        if (alone) Log.RequestOverBudget(_logger, w.Bytes, _budget);
        _active++;
        _activeBytes += w.Bytes;
        _telemetry.KvCacheActiveBytes.Add(w.Bytes);
        w.Admission.QueueTime = w.Clock.Elapsed;
        _telemetry.QueueTime.Record(w.Admission.QueueTime.TotalSeconds);
        return true;
    }

    private void Cancel(Waiter w, CancellationToken ct)
    {
        lock (_lock)
        {
            if (w.Node?.List is null) return; // already admitted: the request sees the cancellation itself
            bool wasHead = w.Node == _queue.First;
            _queue.Remove(w.Node);
            _telemetry.QueueDepth.Add(-1);
            if (wasHead) GrantWaiters();
        }
        w.Granted.TrySetCanceled(ct);
    }

    /// <summary>Ends a request: frees its slot and bytes, parks its generator for reuse, admits waiters in order.</summary>
    private void Release(Admission admission, CachedGenerator? park)
    {
        lock (_lock)
        {
            _active--;
            _activeBytes -= admission.Bytes;
            _telemetry.KvCacheActiveBytes.Add(-admission.Bytes);
            if (park is not null)
            {
                if (_pool is null) park.Dispose();
                else _pool.Add(park);
            }
            GrantWaiters();
            _pool?.Reclaim(Math.Max(0, _budget - _reserved - _activeBytes));
        }
    }

    private void GrantWaiters()
    {
        while (_queue.First is { } head && TryStart(head.Value))
        {
            _queue.RemoveFirst();
            _telemetry.QueueDepth.Add(-1);
            head.Value.Granted.TrySetResult(head.Value.Admission);
        }
    }

    private sealed class Waiter(RequestScheduler scheduler, long bytes, CachedGenerator? keep)
    {
        public RequestScheduler Scheduler { get; } = scheduler;
        public long Bytes { get; } = bytes;
        public CachedGenerator? Keep { get; } = keep;
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public LinkedListNode<Waiter>? Node { get; set; }
        public Admission Admission { get; } = new(scheduler, bytes);
        public TaskCompletionSource<Admission> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A request's turn: its slot and KV bytes until disposed (once).</summary>
    internal sealed class Admission(RequestScheduler scheduler, long bytes) : IDisposable
    {
        private int _released;

        public long Bytes { get; } = bytes;

        public TimeSpan QueueTime { get; internal set; }

        /// <summary>Ends the turn and hands <paramref name="generator"/> to the cache pool (or disposes it).</summary>
        public void Release(CachedGenerator? generator)
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                generator?.Dispose();
                return;
            }
            scheduler.Release(this, generator);
        }

        public void Dispose() => Release(null);
    }
}
