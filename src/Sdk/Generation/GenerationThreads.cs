using System.Collections.Concurrent;

namespace LocalLlm;

/// <summary>
/// The threads token loops run on: dedicated (a loop blocks its thread for the whole answer, so it must not take
/// thread-pool threads from the app), started when no idle one is left and kept for the next request. Reusing
/// threads matters for memory: a fresh thread per request made glibc hand out new malloc arenas, and resident memory
/// kept growing by tens of MiB per thousand requests after every cache was bounded (docs/kv-cache.md, soak).
/// The number of threads is the peak number of concurrent generations.
/// </summary>
internal static class GenerationThreads
{
    private static readonly BlockingCollection<Action> s_work = [];
    private static int s_idle;

    /// <summary>Threads started so far (tests).</summary>
    internal static int Started { get; private set; }

    /// <summary>Runs <paramref name="work"/> on a generation thread.</summary>
    public static Task<T> Run<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        s_work.Add(() =>
        {
            try { done.SetResult(work()); }
            catch (Exception e) { done.SetException(e); }
        });
        // Start a thread unless an idle one will take the item (one idle thread per queued item at most).
        if (Interlocked.Decrement(ref s_idle) < 0)
        {
            Interlocked.Increment(ref s_idle);
            lock (s_work)
            {
                Started++;
                new Thread(Loop) { IsBackground = true, Name = "LocalLlm generation" }.Start();
            }
        }
        return done.Task;
    }

    public static Task Run(Action work) => Run(() => { work(); return true; });

    private static void Loop()
    {
        while (true)
        {
            s_work.Take()();
            Interlocked.Increment(ref s_idle);
        }
    }
}
