using LocalLlm.Models;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm.Tests.Models;

/// <summary>Downloads against a real Kestrel hub on 127.0.0.1 serving a real ORT GenAI model folder.</summary>
public sealed class ModelDownloaderTests : IAsyncLifetime, IDisposable
{
    private const string DataFile = "model.onnx.data";
    private readonly TempDirectory _cache = new("localllm-models");
    private FakeHub _hub = null!;

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    public void Dispose() => _cache.Dispose();

    internal static ModelCatalogEntry Entry() => new()
    {
        Id = "tiny-llama",
        Repository = FakeHub.Repository,
        License = "MIT",
        ContextLength = 2048,
        Variants =
        {
            ["cpu-fp16"] = new ModelVariant
            {
                Name = "cpu-fp16",
                ExecutionProvider = "cpu",
                Precision = "fp16",
                Folder = FakeHub.Folder,
                Files = [.. FakeHub.FileNames.Select(f => new ModelFile(f))],
            },
        },
    };

    private ModelDownloader Downloader(int retries = 3, string? token = null, TimeSpan? idle = null, string run = "")
    {
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        http.DefaultRequestHeaders.Add("X-Test-Run", run);
        return new(http, new ModelDownloadOptions
        {
            Endpoint = _hub.Endpoint,
            CacheDirectory = _cache.Path,
            MaxRetries = retries,
            RetryDelay = TimeSpan.FromMilliseconds(10),
            IdleTimeout = idle ?? TimeSpan.FromSeconds(20),
            Token = token,
        });
    }

    private static Task<string> EnsureAsync(ModelDownloader downloader, IProgress<ModelDownloadProgress>? progress = null, CancellationToken ct = default)
    {
        var entry = Entry();
        return downloader.EnsureAsync(entry, entry.Variants["cpu-fp16"], progress, ct);
    }

    private string Target => Downloader().GetModelDirectory(FakeHub.Repository, FakeHub.Revision, FakeHub.Folder);

    private void AssertIdenticalToSource(string folder)
    {
        foreach (var (name, bytes) in _hub.Files)
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(folder, name))), $"{name} differs from the served file");
    }

    [Fact]
    public async Task ResolveAsync_CatalogId_DownloadsOnceVerifiesAndModelGenerates()
    {
        var downloader = Downloader();
        var resolver = new ModelResolver(new ModelCatalog([Entry()]), downloader);
        var progress = new SyncProgress();

        string folder = await resolver.ResolveAsync("tiny-llama", progress: progress);

        Assert.Equal(Target, folder);
        Assert.True(ModelDownloader.IsComplete(folder));
        AssertIdenticalToSource(folder);
        Assert.Equal(_hub.TotalSize, _hub.TotalBytesServed);
        var last = progress.Reports[^1];
        Assert.Equal(_hub.TotalSize, last.BytesTotal);
        Assert.Equal(_hub.TotalSize, last.BytesDone);
        Assert.Equal(_hub.Files.Count, last.FilesDone);
        Assert.Equal(_hub.Files.Count, last.FilesTotal);
        Assert.Contains(progress.Reports, p => p.File == DataFile && p.FileBytesDone > 0 && p.FileBytesDone < p.FileBytesTotal);
        Assert.DoesNotContain(progress.Reports, p => p.BytesDone > p.BytesTotal);

        // The downloaded folder is a working ORT GenAI model.
        using (var model = new Model(folder))
        using (var tokenizer = new Tokenizer(model))
        {
            using var sequences = tokenizer.Encode("Hello");
            using var p = new GeneratorParams(model);
            p.SetSearchOption("max_length", sequences[0].Length + 4);
            using var generator = new Generator(model, p);
            generator.AppendTokens(sequences[0].ToArray());
            int generated = 0;
            while (!generator.IsDone())
            {
                generator.GenerateNextToken();
                generated++;
            }
            Assert.Equal(4, generated);
        }

        // Second use: nothing is fetched again, not even metadata.
        int requests = _hub.Requests.Count;
        Assert.Equal(folder, await resolver.ResolveAsync("TINY-LLAMA"));
        Assert.Equal(requests, _hub.Requests.Count);
    }

    [Fact]
    public async Task EnsureAsync_ConnectionDroppedHalfway_NextRunFetchesOnlyMissingBytes()
    {
        long size = _hub.Files[DataFile].Length;
        _hub.AddFault(DataFile, new Fault(DropAfterBytes: size / 2));

        var ex = await Assert.ThrowsAsync<ModelDownloadException>(() => EnsureAsync(Downloader(retries: 0)));
        Assert.Contains(DataFile, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Target));
        string partial = Path.Combine(Target + ".partial", DataFile + ".partial");
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, size - 1);

        string folder = await EnsureAsync(Downloader(retries: 0, run: "second"));

        Assert.Equal(size - kept, _hub.BytesServedToRun("second", DataFile));
        Assert.Contains(_hub.Requests, r => r.EndsWith($"/cdn/{DataFile} bytes={kept}-", StringComparison.Ordinal));
        AssertIdenticalToSource(folder);
    }

    [Fact]
    public async Task EnsureAsync_ConnectionDroppedWithRetries_ResumesWithinOneCall()
    {
        long size = _hub.Files[DataFile].Length;
        _hub.AddFault(DataFile, new Fault(DropAfterBytes: size / 3));
        _hub.AddFault(DataFile, new Fault(DropAfterBytes: size / 3));

        string folder = await EnsureAsync(Downloader(retries: 3));

        string log = $"served {_hub.BytesServed(DataFile)} of {size}; requests: {string.Join(" | ", _hub.Requests)}";
        AssertIdenticalToSource(folder);
        // Each retry asks for exactly the bytes after those received, and no byte is fetched twice.
        string[] gets = [.. _hub.Requests.Where(r => r.StartsWith($"GET /cdn/{DataFile}", StringComparison.Ordinal))];
        Assert.True(gets.SequenceEqual([$"GET /cdn/{DataFile} ", $"GET /cdn/{DataFile} bytes={size / 3}-", $"GET /cdn/{DataFile} bytes={2 * (size / 3)}-"]), log);
        Assert.True(size == _hub.BytesServed(DataFile), $"the file was refetched, not resumed: {log}");
    }

    [Fact]
    public async Task EnsureAsync_CorruptedBytesOnce_DetectedAndReplaced()
    {
        long size = _hub.Files[DataFile].Length;
        _hub.AddFault(DataFile, new Fault(Corrupt: true));

        string folder = await EnsureAsync(Downloader(retries: 2));

        AssertIdenticalToSource(folder);
        Assert.Equal(2 * size, _hub.BytesServed(DataFile)); // once corrupted, once good
    }

    [Fact]
    public async Task EnsureAsync_AlwaysCorrupted_ThrowsIntegrityAndNeverKeepsBadBytes()
    {
        for (int i = 0; i < 5; i++)
            _hub.AddFault(DataFile, new Fault(Corrupt: true));

        var ex = await Assert.ThrowsAsync<ModelDownloadException>(() => EnsureAsync(Downloader(retries: 1)));

        Assert.Equal(ModelDownloadFailure.Integrity, ex.Failure);
        Assert.Contains(DataFile, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Target));
        Assert.False(ModelDownloader.IsComplete(Target));
        Assert.False(File.Exists(Path.Combine(Target + ".partial", DataFile)));
        string partial = Path.Combine(Target + ".partial", DataFile + ".partial");
        Assert.True(!File.Exists(partial) || new FileInfo(partial).Length == 0, "corrupted bytes were kept for resuming");
    }

    [Fact]
    public async Task EnsureAsync_ConcurrentCallers_DownloadOnceAndAgree()
    {
        _hub.ChunkDelay = TimeSpan.FromMilliseconds(2);

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => EnsureAsync(Downloader()))));

        Assert.All(results, r => Assert.Equal(Target, r));
        AssertIdenticalToSource(Target);
        Assert.Equal(_hub.TotalSize, _hub.TotalBytesServed);
    }

    [Fact]
    public async Task EnsureAsync_LockHeldByAnotherProcess_WaitsForIt()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Target)!);
        var held = new FileStream(Target + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

        var download = EnsureAsync(Downloader());
        await Task.Delay(400);
        Assert.False(download.IsCompleted);
        Assert.Empty(_hub.Requests);

        await held.DisposeAsync();
        AssertIdenticalToSource(await download);
    }

    [Fact]
    public async Task EnsureAsync_Cancelled_LeavesNothingCompleteAndResumesLater()
    {
        _hub.ChunkDelay = TimeSpan.FromMilliseconds(20);
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p =>
        {
            if (p.File == DataFile && p.FileBytesDone >= 256 * 1024)
                cts.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => EnsureAsync(Downloader(run: "first"), progress, cts.Token));

        Assert.False(Directory.Exists(Target));
        Assert.False(ModelDownloader.IsComplete(Target));
        long kept = Directory.GetFiles(Target + ".partial").Sum(f => new FileInfo(f).Length);
        Assert.True(kept >= 256 * 1024, $"only {kept} bytes kept");
        _hub.ChunkDelay = TimeSpan.Zero;
        string folder = await EnsureAsync(Downloader(run: "second"));
        AssertIdenticalToSource(folder);
        Assert.Equal(_hub.TotalSize - kept, _hub.BytesServedToRun("second"));
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task EnsureAsync_AccessDenied_SaysToSetTokenOrAcceptLicence(int status)
    {
        _hub.ForcedStatus = status;

        var ex = await Assert.ThrowsAsync<ModelDownloadException>(() => EnsureAsync(Downloader()));

        Assert.Equal(ModelDownloadFailure.AccessDenied, ex.Failure);
        Assert.Equal(status, (int?)ex.StatusCode);
        Assert.Contains("HF_TOKEN", ex.Message, StringComparison.Ordinal);
        Assert.Contains("licence", ex.Message, StringComparison.Ordinal);
        Assert.Contains(FakeHub.Repository, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Target));
    }

    [Fact]
    public async Task EnsureAsync_Token_SentAsBearer()
    {
        _hub.RequiredToken = "hf_test_token";
        var denied = await Assert.ThrowsAsync<ModelDownloadException>(() => EnsureAsync(Downloader()));
        Assert.Equal(ModelDownloadFailure.AccessDenied, denied.Failure);

        AssertIdenticalToSource(await EnsureAsync(Downloader(token: "hf_test_token")));
    }

    [Fact]
    public async Task EnsureAsync_WrongVariantFolder_ThrowsNotFound()
    {
        var downloader = Downloader();

        var ex = await Assert.ThrowsAsync<ModelDownloadException>(() => downloader.EnsureAsync(
            FakeHub.Repository, FakeHub.Revision, "cuda/no-such-variant", [new ModelFile("genai_config.json")]));

        Assert.Equal(ModelDownloadFailure.NotFound, ex.Failure);
        Assert.Contains("no-such-variant", ex.Message, StringComparison.Ordinal);
        Assert.Contains("404", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureAsync_ServerErrorThenRecovery_RetriedWithBackoff()
    {
        _hub.ForcedStatus = 503;
        var download = EnsureAsync(Downloader(retries: 8));
        await Task.Delay(50);
        _hub.ForcedStatus = null;

        AssertIdenticalToSource(await download);
    }

    [Fact]
    public async Task EnsureAsync_ServerKeepsFailing_ThrowsAfterRetries()
    {
        _hub.ForcedStatus = 503;

        var ex = await Assert.ThrowsAsync<ModelDownloadException>(() => EnsureAsync(Downloader(retries: 2)));

        Assert.Equal(ModelDownloadFailure.Other, ex.Failure);
        Assert.Contains("503", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2 retries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureAsync_NotEnoughFreeSpace_NamesCacheAndBytesNeeded()
    {
        var downloader = Downloader();
        downloader.FreeSpace = _ => 1000;

        var ex = await Assert.ThrowsAsync<ModelDownloadException>(() => EnsureAsync(downloader));

        Assert.Equal(ModelDownloadFailure.DiskFull, ex.Failure);
        Assert.Contains(_cache.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(_hub.TotalSize.ToString("N0", System.Globalization.CultureInfo.CurrentCulture), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureAsync_DiskFullWhileWriting_ThrowsDiskFull()
    {
        if (!OperatingSystem.IsLinux())
            return; // /dev/full (every write fails with ENOSPC) is Linux-only
        string staging = Target + ".partial";
        Directory.CreateDirectory(staging);
        File.CreateSymbolicLink(Path.Combine(staging, DataFile + ".partial"), "/dev/full");

        var ex = await Assert.ThrowsAsync<ModelDownloadException>(() => EnsureAsync(Downloader()));

        Assert.True(ex.Failure == ModelDownloadFailure.DiskFull, ex.ToString());
        Assert.Contains(_cache.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("full", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Target));
    }

    [Fact]
    public async Task EnsureAsync_FileDeletedFromCompleteFolder_RefetchesOnlyThatFile()
    {
        string folder = await EnsureAsync(Downloader());
        File.Delete(Path.Combine(folder, "tokenizer_config.json"));
        Assert.False(ModelDownloader.IsComplete(folder));
        long before = _hub.TotalBytesServed;

        Assert.Equal(folder, await EnsureAsync(Downloader()));

        AssertIdenticalToSource(folder);
        Assert.Equal(_hub.Files["tokenizer_config.json"].Length, _hub.TotalBytesServed - before);
    }

    [Fact]
    public async Task EnsureAsync_AutoRedirectingClient_StillDownloadsAndChecksSizes()
    {
        using var http = new HttpClient();
        var downloader = new ModelDownloader(http, new ModelDownloadOptions { Endpoint = _hub.Endpoint, CacheDirectory = _cache.Path });

        AssertIdenticalToSource(await EnsureAsync(downloader));
    }

    [Fact]
    public async Task ResolveAsync_UnknownId_ListsKnownIds()
    {
        var resolver = new ModelResolver(ModelCatalog.BuiltIn, Downloader());

        var ex = await Assert.ThrowsAsync<UnknownModelException>(() => resolver.ResolveAsync("gpt-17-ultra"));

        Assert.Contains("gpt-17-ultra", ex.Message, StringComparison.Ordinal);
        foreach (string id in new[] { "phi-3.5-mini", "phi-4-mini", "qwen2.5-0.5b", "llama-3.2-3b" })
            Assert.Contains(id, ex.Message, StringComparison.Ordinal);
        Assert.Equal(ModelCatalog.BuiltIn.Ids, ex.KnownIds);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task ResolveAsync_ExistingFolder_ReturnsItWithoutNetwork()
    {
        var resolver = new ModelResolver(ModelCatalog.BuiltIn, Downloader());

        Assert.Equal(Path.GetFullPath(FakeHub.SourceFolder), await resolver.ResolveAsync(FakeHub.SourceFolder));
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task ResolveAsync_UnknownVariantSuffix_ListsVariants()
    {
        var resolver = new ModelResolver(new ModelCatalog([Entry()]), Downloader());

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => resolver.ResolveAsync("tiny-llama:cuda-int4"));

        Assert.Contains("cpu-fp16", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_hub.Requests);
    }

    private sealed class SyncProgress(Action<ModelDownloadProgress>? onReport = null) : IProgress<ModelDownloadProgress>
    {
        private readonly List<ModelDownloadProgress> _reports = [];

        public IReadOnlyList<ModelDownloadProgress> Reports
        {
            get { lock (_reports) return [.. _reports]; }
        }

        public void Report(ModelDownloadProgress value)
        {
            lock (_reports)
                _reports.Add(value);
            onReport?.Invoke(value);
        }
    }
}
