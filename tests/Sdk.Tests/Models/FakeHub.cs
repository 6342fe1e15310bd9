using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalLlm.Tests.Models;

/// <summary>
/// A real Kestrel server on 127.0.0.1 that serves one model folder under the hub's resolve-URL layout
/// (<c>/{repo}/resolve/{revision}/{folder}/{file}</c>). Like the hub, large files answer with a 302 carrying
/// <c>X-Linked-Etag</c> (SHA-256) and <c>X-Linked-Size</c>, then are served from <c>/cdn/...</c> with HTTP ranges.
/// Faults (dropped connections, corrupted bytes, status codes, slowness) are queued per file; bytes served are counted.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    public const string Repository = "test-org/tiny-random-llama";
    public const string Revision = "main";
    public const string Folder = "cpu/cpu-fp16";

    private readonly WebApplication _app;
    private readonly Dictionary<string, byte[]> _files;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new();
    private readonly ConcurrentDictionary<string, long> _served = new();
    private readonly ConcurrentDictionary<string, long> _servedByRun = new();

    private FakeHub(WebApplication app, Dictionary<string, byte[]> files)
    {
        _app = app;
        _files = files;
    }

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Answer every resolve request with this status (401, 403, 404, 503…) while set.</summary>
    public int? ForcedStatus { get; set; }

    /// <summary>When set, resolve requests need <c>Authorization: Bearer {RequiredToken}</c> (else 401).</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Delay after each 64 KiB chunk of a body, to keep downloads in flight.</summary>
    public TimeSpan ChunkDelay { get; set; }

    public ConcurrentQueue<string> Requests { get; } = new();

    public IReadOnlyDictionary<string, byte[]> Files => _files;

    public static string[] FileNames => [.. Directory.GetFiles(SourceFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    public static string SourceFolder => LocalLlm.TestSupport.RepoPaths.SharedModel("tiny-random-llama-fp16");

    public static async Task<FakeHub> StartAsync()
    {
        var files = Directory.GetFiles(SourceFolder).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var hub = new FakeHub(app, files);
        app.Run(hub.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        hub.Endpoint = new Uri(address);
        return hub;
    }

    /// <summary>
    /// Settings an app would use to name this hub's model by catalog id <paramref name="id"/> (variant <c>cpu-fp16</c>) and
    /// download into <paramref name="cache"/>. Keys are joined with <paramref name="separator"/>: ":" for IConfiguration,
    /// "__" for environment variables.
    /// </summary>
    public Dictionary<string, string?> CatalogSettings(string id, string cache, string separator = ":")
    {
        string variant = string.Join(separator, "LocalLlm", "Catalog", id, "Variants", "cpu-fp16");
        var settings = new Dictionary<string, string?>
        {
            [string.Join(separator, "LocalLlm", "Download", "Endpoint")] = Endpoint.ToString(),
            [string.Join(separator, "LocalLlm", "Download", "CacheDirectory")] = cache,
            [string.Join(separator, "LocalLlm", "Catalog", id, "Repository")] = Repository,
            [string.Join(separator, variant, "Folder")] = Folder,
            [string.Join(separator, variant, "Precision")] = "fp16",
        };
        string[] files = FileNames;
        for (int i = 0; i < files.Length; i++)
            settings[string.Join(separator, variant, "Files", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "Path")] = files[i];
        return settings;
    }

    public void AddFault(string file, Fault fault) => _faults.GetOrAdd(file, _ => new()).Enqueue(fault);

    public long BytesServed(string file) => _served.GetValueOrDefault(file);

    public long TotalBytesServed => _served.Values.Sum();

    /// <summary>Bytes served to requests carrying <c>X-Test-Run: {run}</c> (a client's default header), so that bytes a
    /// cancelled earlier run still had in flight are not counted against a later one.</summary>
    public long BytesServedToRun(string run, string? file = null) => file is null
        ? _servedByRun.Where(kv => kv.Key.StartsWith(run + "|", StringComparison.Ordinal)).Sum(kv => kv.Value)
        : _servedByRun.GetValueOrDefault($"{run}|{file}");

    public long TotalSize => _files.Values.Sum(f => (long)f.Length);

    public static string Sha256(byte[] data) => Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();

    private static bool IsLfs(string file) => file.EndsWith(".onnx", StringComparison.Ordinal)
        || file.EndsWith(".data", StringComparison.Ordinal) || file == "tokenizer.json";

    private async Task HandleAsync(HttpContext ctx)
    {
        string path = Uri.UnescapeDataString(ctx.Request.Path.Value ?? "");
        Requests.Enqueue($"{ctx.Request.Method} {path} {ctx.Request.Headers.Range}");
        string resolvePrefix = $"/{Repository}/resolve/{Revision}/{Folder}/";
        if (path.StartsWith("/cdn/", StringComparison.Ordinal))
        {
            await ServeAsync(ctx, path["/cdn/".Length..]);
            return;
        }
        if (!path.StartsWith($"/{Repository}/resolve/", StringComparison.Ordinal))
        {
            ctx.Response.StatusCode = 401; // the hub answers 401 for unknown repositories
            return;
        }
        if (RequiredToken is not null && ctx.Request.Headers.Authorization != $"Bearer {RequiredToken}")
        {
            ctx.Response.StatusCode = 401;
            return;
        }
        if (ForcedStatus is int status)
        {
            ctx.Response.StatusCode = status;
            return;
        }
        if (!path.StartsWith(resolvePrefix, StringComparison.Ordinal) || !_files.TryGetValue(path[resolvePrefix.Length..], out var data))
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.Headers["X-Error-Code"] = "EntryNotFound";
            return;
        }
        string file = path[resolvePrefix.Length..];
        if (IsLfs(file))
        {
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = $"/cdn/{file}";
            ctx.Response.Headers["X-Linked-Etag"] = $"\"{Sha256(data)}\"";
            ctx.Response.Headers["X-Linked-Size"] = data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return;
        }
        // Regular git files: the ETag is the git blob id (40 hex), not a SHA-256 of the content.
        ctx.Response.Headers.ETag = $"\"{Sha256(data)[..40]}\"";
        await ServeAsync(ctx, file);
    }

    private async Task ServeAsync(HttpContext ctx, string file)
    {
        if (!_files.TryGetValue(file, out var data))
        {
            ctx.Response.StatusCode = 404;
            return;
        }
        long from = 0;
        string range = ctx.Request.Headers.Range.ToString();
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            from = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        if (from >= data.Length && from > 0)
        {
            ctx.Response.StatusCode = 416;
            return;
        }
        ctx.Response.StatusCode = from > 0 ? 206 : 200;
        ctx.Response.Headers.AcceptRanges = "bytes";
        if (from > 0)
            ctx.Response.Headers.ContentRange = $"bytes {from}-{data.Length - 1}/{data.Length}";
        ctx.Response.ContentLength = data.Length - from;
        if (HttpMethods.IsHead(ctx.Request.Method))
            return;

        Fault? fault = _faults.TryGetValue(file, out var queue) && queue.TryDequeue(out var f) ? f : null;
        byte[] body = data;
        if (fault?.Corrupt == true)
        {
            body = (byte[])data.Clone();
            body[^1] ^= 0xFF;
            body[body.Length / 2] ^= 0xFF;
        }
        long end = fault?.DropAfterBytes is long drop ? Math.Min(data.Length, from + drop) : data.Length;
        const int chunk = 64 * 1024;
        for (long pos = from; pos < end; pos += chunk)
        {
            int n = (int)Math.Min(chunk, end - pos);
            await ctx.Response.Body.WriteAsync(body.AsMemory((int)pos, n), ctx.RequestAborted);
            _served.AddOrUpdate(file, n, (_, v) => v + n);
            _servedByRun.AddOrUpdate($"{ctx.Request.Headers["X-Test-Run"]}|{file}", n, (_, v) => v + n);
            if (ChunkDelay > TimeSpan.Zero)
                await Task.Delay(ChunkDelay, ctx.RequestAborted);
        }
        if (end < data.Length)
        {
            // Drop the connection halfway by ending the response short of its Content-Length: Kestrel then closes the
            // connection after sending what was written, so the client receives exactly `end` bytes and then an error.
            // (ctx.Abort() would discard bytes still buffered in Kestrel's output pipe; under load the client then got far
            // fewer bytes than were counted here, and a retry looked like a refetch.)
            await ctx.Response.Body.FlushAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>What goes wrong on the next GET of a file.</summary>
internal sealed record Fault(long? DropAfterBytes = null, bool Corrupt = false);
