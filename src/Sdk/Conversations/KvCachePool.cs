using Microsoft.Extensions.Logging;

namespace LocalLlm;

/// <summary>
/// Idle generators with their KV caches, least recently used first. A request whose prompt extends a cached
/// sequence takes that generator and appends only the new tokens. The scheduler keeps idle + active bytes
/// (<see cref="CachedGenerator.Footprint"/>) under the budget by calling <see cref="Reclaim"/>; the pool itself keeps
/// at most <c>maxGenerators</c>. This class does its own locking and owns what it holds.
/// </summary>
internal sealed class KvCachePool : IDisposable
{
    private readonly LinkedList<CachedGenerator> _idle = new(); // First = least recently used.
    private readonly object _lock = new();
    private readonly int _maxGenerators;
    private readonly ModelTelemetry _telemetry;
    private readonly ILogger _logger;
    private readonly CancellationTokenRegistration _modelStopping;
    private long _bytes;
    private bool _disposed;

    public KvCachePool(LocalModel model, int maxGenerators, ModelTelemetry telemetry, ILogger logger)
    {
        _maxGenerators = maxGenerators;
        _telemetry = telemetry;
        _logger = logger;
        // Parked generators keep the native model alive: let it go when the model is disposed.
        _modelStopping = model.Stopping.Register(static p => ((KvCachePool)p!).Dispose(), this);
    }

    /// <summary>Bytes held by idle generators (<see cref="CachedGenerator.Footprint"/>).</summary>
    public long Bytes { get { lock (_lock) return _bytes; } }

    public int Count { get { lock (_lock) return _idle.Count; } }

    /// <summary>The generator <see cref="Take"/> would return, left in the pool (the scheduler protects it from eviction).</summary>
    public CachedGenerator? Peek(int[] prompt, GeneratorKey key, int length, string? conversationId)
    {
        lock (_lock) return Best(prompt, key, length, conversationId)?.Value;
    }

    public bool Contains(CachedGenerator generator)
    {
        lock (_lock) return _idle.Contains(generator);
    }

    /// <summary>Removes and returns the cached generator sharing the longest prefix with <paramref name="prompt"/>, or null.</summary>
    /// <param name="prompt">The request's prompt tokens.</param>
    /// <param name="key">Its search options: only an equal key is reusable.</param>
    /// <param name="length">The sequence length it needs (prompt + output): the generator's max_length must cover it.</param>
    /// <param name="conversationId">The request's conversation, preferred when it names one.</param>
    public CachedGenerator? Take(int[] prompt, GeneratorKey key, int length, string? conversationId)
    {
        CachedGenerator? taken = null;
        lock (_lock)
        {
            if (Best(prompt, key, length, conversationId) is { } node)
            {
                _idle.Remove(node);
                taken = node.Value;
                Account(-taken.Bytes, -1);
            }
        }
        _telemetry.KvCacheLookups.Add(1, new KeyValuePair<string, object?>("localllm.kv_cache.hit", taken is not null));
        return taken;
    }

    private LinkedListNode<CachedGenerator>? Best(int[] prompt, GeneratorKey key, int length, string? conversationId)
    {
        LinkedListNode<CachedGenerator>? best = null;
        int bestReuse = 0;
        for (var node = _idle.Last; node is not null; node = node.Previous)
        {
            var g = node.Value;
            if (g.MaxLength < length || !key.Equals(g.Key)) continue;
            int reuse = g.ReusableLength(prompt);
            // Taking a generator truncates its sequence: do it only when most of it is reused (a next turn, an edited
            // last message), not to share a short prefix with another conversation whose cache would be lost.
            if (reuse == 0 || reuse * 2 < g.Computed) continue;
            if (conversationId is not null && g.ConversationId == conversationId) return node;
            if (reuse > bestReuse) (best, bestReuse) = (node, reuse);
        }
        return best;
    }

    /// <summary>
    /// Parks a generator after its request (it becomes the most recently used), or disposes it when it cannot be reused.
    /// With more than <c>maxGenerators</c> parked, the least recently used one is evicted.
    /// </summary>
    public void Add(CachedGenerator generator)
    {
        lock (_lock)
        {
            if (!_disposed && !generator.Broken && generator.Key is not null && generator.Tokens.Length > 1)
            {
                while (_idle.Count >= _maxGenerators) Evict(_idle.First!);
                _idle.AddLast(generator);
                Account(generator.Bytes, 1);
                return;
            }
        }
        generator.Dispose();
    }

    /// <summary>Evicts least recently used generators until at most <paramref name="maxBytes"/> are held, never <paramref name="keep"/>.</summary>
    /// <returns>The bytes freed.</returns>
    public long Reclaim(long maxBytes, CachedGenerator? keep = null)
    {
        long freed = 0;
        lock (_lock)
        {
            var node = _idle.First;
            while (_bytes > maxBytes && node is not null)
            {
                var next = node.Next;
                if (node.Value != keep) freed += Evict(node);
                node = next;
            }
        }
        return freed;
    }

    /// <summary>Under the lock: removes and disposes one idle generator; returns its bytes.</summary>
    private long Evict(LinkedListNode<CachedGenerator> node)
    {
        _idle.Remove(node);
        long bytes = node.Value.Bytes;
        Account(-bytes, -1);
        node.Value.Dispose();
        _telemetry.KvCacheEvictions.Add(1);
        Log.KvCacheEvicted(_logger, node.Value.Tokens.Length, bytes, _bytes);
        return bytes;
    }

    private void Account(long bytes, int generators)
    {
        _bytes += bytes;
        _telemetry.KvCacheBytes.Add(bytes);
        _telemetry.KvCacheGenerators.Add(generators);
    }

    /// <summary>Disposes every idle generator; generators parked later are disposed at once.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var g in _idle) g.Dispose();
            Account(-_bytes, -_idle.Count);
            _idle.Clear();
        }
        _modelStopping.Dispose();
    }
}
