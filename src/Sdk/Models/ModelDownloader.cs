using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace LocalLlm.Models;

/// <summary>
/// Downloads model folders from a Hugging Face–style hub (<c>{endpoint}/{repo}/resolve/{revision}/{path}</c>) into the
/// cache, once: resumes partial files with HTTP ranges, verifies sizes and SHA-256, retries transient failures with
/// backoff (Polly), and moves a folder into place only when every file is verified, under a cross-process lock.
/// </summary>
/// <remarks>
/// Give it an <see cref="HttpClient"/> whose handler does not follow redirects (<c>AllowAutoRedirect = false</c>, as
/// <c>AddLocalLlmModels</c> registers): the downloader follows them itself and reads the hub's <c>X-Linked-Etag</c>
/// (SHA-256) and <c>X-Linked-Size</c> from the redirect. With an auto-redirecting client it still works, checking sizes only.
/// </remarks>
public sealed class ModelDownloader
{
    /// <summary>The name of the <see cref="HttpClient"/> registered for downloads (<c>IHttpClientFactory</c>).</summary>
    public const string HttpClientName = "LocalLlm.Models";

    /// <summary>The file written last into a folder that is complete; a folder without it is never used.</summary>
    public const string CompletionMarker = ".localllm-complete.json";

    private const int BufferSize = 1 << 20;
    private const int MaxRedirects = 10;

    private readonly Func<HttpClient> _http;
    private readonly ModelDownloadOptions _options;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly Uri _endpoint;
    private readonly string? _token;

    /// <summary>Creates a downloader.</summary>
    /// <param name="httpClient">The client (ideally from <c>IHttpClientFactory</c>, without auto-redirect).</param>
    /// <param name="options">Endpoint, cache, token, concurrency and retries; null for the defaults and HF_* variables.</param>
    /// <param name="logger">Logs decisions and retries.</param>
    /// <exception cref="ArgumentNullException"><paramref name="httpClient"/> is null.</exception>
    public ModelDownloader(HttpClient httpClient, ModelDownloadOptions? options = null, ILogger<ModelDownloader>? logger = null)
        : this(httpClient is null ? throw new ArgumentNullException(nameof(httpClient)) : () => httpClient, options, logger)
    {
    }

    /// <summary>Creates a downloader that takes a fresh client named <see cref="HttpClientName"/> from the factory per download.</summary>
    /// <param name="httpClientFactory">The factory (<c>AddLocalLlmModels</c> registers the named client without auto-redirect).</param>
    /// <param name="options">Endpoint, cache, token, concurrency and retries; null for the defaults and HF_* variables.</param>
    /// <param name="logger">Logs decisions and retries.</param>
    /// <exception cref="ArgumentNullException"><paramref name="httpClientFactory"/> is null.</exception>
    public ModelDownloader(IHttpClientFactory httpClientFactory, ModelDownloadOptions? options = null, ILogger<ModelDownloader>? logger = null)
        : this(httpClientFactory is null ? throw new ArgumentNullException(nameof(httpClientFactory)) : () => httpClientFactory.CreateClient(HttpClientName), options, logger)
    {
    }

    private ModelDownloader(Func<HttpClient> http, ModelDownloadOptions? options, ILogger<ModelDownloader>? logger)
    {
        _http = http;
        _options = options ?? new ModelDownloadOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _endpoint = _options.ResolveEndpoint();
        _token = _options.ResolveToken();
        CacheDirectory = _options.ResolveCacheDirectory();
        _pipeline = BuildPipeline();
    }

    /// <summary>The cache folder in use.</summary>
    public string CacheDirectory { get; }

    /// <summary>The endpoint in use.</summary>
    public Uri Endpoint => _endpoint;

    // Test seam: free bytes on the disk holding a folder (null when unknown).
    internal Func<string, long?> FreeSpace { get; set; } = DefaultFreeSpace;

    /// <summary>The folder a model variant lives in once downloaded: <c>{cache}/localllm/{owner}--{name}/{revision}/{folder}</c>.</summary>
    /// <param name="repository">The repository, <c>owner/name</c>.</param>
    /// <param name="revision">The revision.</param>
    /// <param name="folder">The folder inside the repository; empty for the root.</param>
    /// <returns>The absolute folder path (it may not exist yet).</returns>
    public string GetModelDirectory(string repository, string revision, string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repository);
        ArgumentException.ThrowIfNullOrWhiteSpace(revision);
        string local = string.IsNullOrEmpty(folder) ? "_root" : folder.Trim('/').Replace('/', Path.DirectorySeparatorChar);
        return Path.Combine(CacheDirectory, "localllm", repository.Replace("/", "--", StringComparison.Ordinal),
            revision.Replace("/", "--", StringComparison.Ordinal), local);
    }

    /// <summary>Whether <paramref name="folder"/> holds a complete, verified download (its completion marker and files are there).</summary>
    /// <param name="folder">A model folder.</param>
    /// <returns>True when complete.</returns>
    public static bool IsComplete(string folder) => ReadMarker(folder) is { } marker && marker.Files.All(f =>
        new FileInfo(Path.Combine(folder, f.Path)) is { Exists: true } info && (f.Size is null || info.Length == f.Size));

    /// <summary>Makes sure a catalog variant is in the cache, downloading what is missing.</summary>
    /// <param name="entry">The catalog entry.</param>
    /// <param name="variant">One of its variants.</param>
    /// <param name="progress">Receives per-file and overall progress.</param>
    /// <param name="cancellationToken">Cancels the download; partial files stay for the next attempt, nothing looks complete.</param>
    /// <returns>The local model folder.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ModelDownloadException">Access denied, not found, integrity, disk full, or retries exhausted.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public Task<string> EnsureAsync(ModelCatalogEntry entry, ModelVariant variant,
        IProgress<ModelDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(variant);
        return EnsureAsync(entry.Repository, entry.Revision, variant.Folder, [.. variant.Files], progress, cancellationToken);
    }

    /// <summary>Makes sure the listed files of a repository folder are in the cache, downloading what is missing.</summary>
    /// <param name="repository">The repository, <c>owner/name</c>.</param>
    /// <param name="revision">The branch, tag or commit.</param>
    /// <param name="folder">The folder inside the repository; empty for the root.</param>
    /// <param name="files">The files to fetch, relative to <paramref name="folder"/>.</param>
    /// <param name="progress">Receives per-file and overall progress.</param>
    /// <param name="cancellationToken">Cancels the download; partial files stay for the next attempt, nothing looks complete.</param>
    /// <returns>The local model folder.</returns>
    /// <exception cref="ArgumentException">No files, or a path outside the folder.</exception>
    /// <exception cref="ModelDownloadException">Access denied, not found, integrity, disk full, or retries exhausted.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<string> EnsureAsync(string repository, string revision, string folder, IReadOnlyList<ModelFile> files,
        IProgress<ModelDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0)
            throw new ArgumentException("No files to download.", nameof(files));
        if (files.Any(f => string.IsNullOrWhiteSpace(f.Path) || f.Path.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(f.Path)))
            throw new ArgumentException("File paths must be relative paths inside the folder.", nameof(files));
        folder ??= "";
        string target = GetModelDirectory(repository, revision, folder);
        if (IsComplete(target))
            return target;

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var lockFile = await AcquireLockAsync(target + ".lock", cancellationToken).ConfigureAwait(false);
        if (IsComplete(target)) // another process finished it while we waited
            return target;

        string staging = target + ".partial";
        if (Directory.Exists(target))
        {
            // A folder without a valid marker (a file went missing since): reuse its verified files as a staging folder.
            File.Delete(Path.Combine(target, CompletionMarker));
            if (Directory.Exists(staging))
                Directory.Delete(target, recursive: true);
            else
                Directory.Move(target, staging);
        }
        Directory.CreateDirectory(staging);

        string label = string.IsNullOrEmpty(folder) ? repository : $"{repository}/{folder}";
        var http = _http();
        Log.Downloading(_logger, label, revision, _endpoint, target);

        var remote = new RemoteFile[files.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Count),
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentFiles, CancellationToken = cancellationToken },
            async (i, ct) => remote[i] = await GetMetadataAsync(http, repository, revision, folder, files[i], ct).ConfigureAwait(false))
            .ConfigureAwait(false);

        CheckFreeSpace(remote, staging, label);
        var tracker = new ProgressTracker(remote, progress);
        await Parallel.ForEachAsync(remote,
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentFiles, CancellationToken = cancellationToken },
            async (file, ct) => await DownloadFileAsync(http, file, staging, tracker, label, ct).ConfigureAwait(false))
            .ConfigureAwait(false);

        // Placement: marker last inside staging, then one rename; a reader sees either no folder or a complete one.
        var marker = new CompletionRecord(repository, revision, folder, DateTimeOffset.UtcNow,
            [.. remote.Select(f => new CompletedFile(f.File.Path, f.Size, f.Sha256))]);
        await File.WriteAllBytesAsync(Path.Combine(staging, CompletionMarker),
            JsonSerializer.SerializeToUtf8Bytes(marker, MarkerJson.Default.CompletionRecord), cancellationToken).ConfigureAwait(false);
        if (Directory.Exists(target))
            Directory.Delete(target, recursive: true);
        Directory.Move(staging, target);
        Log.Downloaded(_logger, label, tracker.BytesFetched, target);
        return target;
    }

    private async Task<RemoteFile> GetMetadataAsync(HttpClient http, string repository, string revision, string folder, ModelFile file, CancellationToken ct)
    {
        string repoPath = string.IsNullOrEmpty(folder) ? file.Path : $"{folder.Trim('/')}/{file.Path}";
        Uri url = ResolveUrl(repository, revision, repoPath);
        try
        {
            return await _pipeline.ExecuteAsync(async token =>
            {
                using var idle = IdleToken(token);
                try
                {
                    using var response = await SendAsync(http, HttpMethod.Head, url, null, stopAtLinkedRedirect: true, idle.Token).ConfigureAwait(false);
                    ThrowForStatus(response.Message, repository, revision, repoPath);
                    long? size = file.Size ?? response.LinkedSize ?? response.Message.Content.Headers.ContentLength;
                    string? sha = file.Sha256?.ToLowerInvariant() ?? response.LinkedSha256;
                    return new RemoteFile(file, url, repository, revision, repoPath, size, sha);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    throw new TimeoutException($"{url} sent no response for {_options.IdleTimeout.TotalSeconds:0} s.");
                }
            }, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            throw new ModelDownloadException(ModelDownloadFailure.Other,
                $"Could not reach {url} after {_options.MaxRetries} retries: {ex.Message}", null, ex);
        }
    }

    private async Task DownloadFileAsync(HttpClient http, RemoteFile file, string staging, ProgressTracker tracker, string label, CancellationToken ct)
    {
        string final = Path.Combine(staging, file.File.Path.Replace('/', Path.DirectorySeparatorChar));
        if (File.Exists(final) && (file.Size is null || new FileInfo(final).Length == file.Size))
        {
            tracker.Completed(file); // verified before it got its final name
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        string partial = final + ".partial";
        try
        {
            await _pipeline.ExecuteAsync(async token => await DownloadAttemptAsync(http, file, partial, tracker, token).ConfigureAwait(false), ct)
                .ConfigureAwait(false);
        }
        catch (IntegrityException ex)
        {
            throw new ModelDownloadException(ModelDownloadFailure.Integrity,
                $"{label}: {file.File.Path} kept failing verification after {_options.MaxRetries} retries ({ex.Message}). " +
                "The server or a proxy is corrupting it, or the catalog's size/SHA-256 is out of date.", null, ex);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            throw new ModelDownloadException(ModelDownloadFailure.Other,
                $"{label}: downloading {file.File.Path} failed after {_options.MaxRetries} retries: {ex.Message} " +
                "The partial file is kept; run again to resume.", null, ex);
        }
        File.Move(partial, final, overwrite: true);
        tracker.Completed(file);
    }

    private async ValueTask DownloadAttemptAsync(HttpClient http, RemoteFile file, string partial, ProgressTracker tracker, CancellationToken token)
    {
        using var idle = IdleToken(token);
        var stream = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            long existing = stream.Length;
            if (existing > 0 && file.Size is long expected && existing > expected)
            {
                stream.SetLength(0);
                existing = 0;
            }
            tracker.SetFileBytes(file, existing);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                bool needBody = !(file.Size is long size && existing == size && size > 0);
                using var response = needBody
                    ? await SendAsync(http, HttpMethod.Get, file.Url, existing > 0 ? existing : null, stopAtLinkedRedirect: false, idle.Token).ConfigureAwait(false)
                    : null;
                if (response is not null)
                {
                    if (response.Message.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                    {
                        stream.SetLength(0); // our partial file does not fit the server's file; start over
                        throw new IOException($"{file.Url} refused the range from byte {existing}; restarting the file.");
                    }
                    ThrowForStatus(response.Message, file.Repository, file.Revision, file.RepoPath);
                    if (existing > 0 && (response.Message.StatusCode != HttpStatusCode.PartialContent
                        || response.Message.Content.Headers.ContentRange?.From != existing))
                    {
                        stream.SetLength(0); // the server sent the whole file
                        existing = 0;
                        tracker.SetFileBytes(file, 0);
                    }
                }

                using var hash = file.Sha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                if (hash is not null)
                    await HashPrefixAsync(stream, existing, hash, buffer, idle.Token).ConfigureAwait(false);
                stream.Position = existing;
                if (response is not null)
                {
                    var body = await response.Message.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
                    await using (body.ConfigureAwait(false))
                    {
                        while (true)
                        {
                            idle.CancelAfter(_options.IdleTimeout);
                            int read = await body.ReadAsync(buffer.AsMemory(0, BufferSize), idle.Token).ConfigureAwait(false);
                            if (read == 0)
                                break;
                            await WriteAsync(stream, buffer.AsMemory(0, read), file, token).ConfigureAwait(false);
                            hash?.AppendData(buffer, 0, read);
                            tracker.Add(file, read);
                        }
                    }
                    await FlushAsync(stream, file, token).ConfigureAwait(false);
                }

                long length = stream.Length;
                if (file.Size is long size2 && length < size2)
                    throw new IOException($"{file.File.Path}: the connection ended at byte {length} of {size2}; resuming.");
                if (file.Size is long size3 && length > size3)
                {
                    stream.SetLength(0);
                    throw new IntegrityException($"{file.File.Path} is {length} bytes, expected {size3}");
                }
                if (hash is not null)
                {
                    string actual = Convert.ToHexString(hash.GetHashAndReset());
                    if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
                    {
                        stream.SetLength(0); // never reuse corrupted bytes
                        Log.Corrupted(_logger, file.File.Path, file.Sha256!, actual);
                        throw new IntegrityException($"SHA-256 {actual}, expected {file.Sha256}");
                    }
                }
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new TimeoutException($"{file.Url} sent nothing for {_options.IdleTimeout.TotalSeconds:0} s.");
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private async ValueTask WriteAsync(FileStream stream, ReadOnlyMemory<byte> data, RemoteFile file, CancellationToken ct)
    {
        try
        {
            await stream.WriteAsync(data, ct).ConfigureAwait(false);
        }
        catch (IOException ex) when (IsDiskFull(ex))
        {
            throw DiskFull(file, ex);
        }
    }

    private async ValueTask FlushAsync(FileStream stream, RemoteFile file, CancellationToken ct)
    {
        try
        {
            await stream.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException ex) when (IsDiskFull(ex))
        {
            throw DiskFull(file, ex);
        }
    }

    private ModelDownloadException DiskFull(RemoteFile file, IOException ex) =>
        new(ModelDownloadFailure.DiskFull,
            $"The disk holding the model cache {CacheDirectory} is full while writing {file.File.Path}" +
            (file.Size is long size ? $" ({size:N0} bytes)" : "") +
            ". Free some space, or point LocalLlm:Download:CacheDirectory (or HF_HUB_CACHE) at a larger disk; the partial file is kept for resuming.",
            null, ex);

    private static async Task HashPrefixAsync(FileStream stream, long length, IncrementalHash hash, byte[] buffer, CancellationToken ct)
    {
        stream.Position = 0;
        long left = length;
        while (left > 0)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct).ConfigureAwait(false);
            if (read == 0)
                break;
            hash.AppendData(buffer, 0, read);
            left -= read;
        }
    }

    private void CheckFreeSpace(RemoteFile[] files, string staging, string label)
    {
        long needed = 0;
        foreach (var f in files)
        {
            if (f.Size is not long size)
                continue;
            string final = Path.Combine(staging, f.File.Path);
            long have = File.Exists(final) ? size : File.Exists(final + ".partial") ? new FileInfo(final + ".partial").Length : 0;
            needed += Math.Max(0, size - have);
        }
        if (FreeSpace(staging) is long free && free < needed)
        {
            throw new ModelDownloadException(ModelDownloadFailure.DiskFull,
                $"{label} needs {needed:N0} more bytes in the model cache {CacheDirectory}, but its disk has only {free:N0} free. " +
                "Free some space, or point LocalLlm:Download:CacheDirectory (or HF_HUB_CACHE) at a larger disk.");
        }
    }

    private static long? DefaultFreeSpace(string path)
    {
        try
        {
            return new DriveInfo(path).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private Uri ResolveUrl(string repository, string revision, string repoPath)
    {
        string escapedPath = string.Join('/', repoPath.Split('/').Select(Uri.EscapeDataString));
        return new Uri($"{_endpoint.AbsoluteUri.TrimEnd('/')}/{repository}/resolve/{Uri.EscapeDataString(revision)}/{escapedPath}");
    }

    // Follows redirects itself so that the hub's X-Linked-* headers on the redirect are seen, and so that the token
    // goes only to the endpoint's own host.
    private async Task<HubResponse> SendAsync(HttpClient http, HttpMethod method, Uri url, long? rangeFrom, bool stopAtLinkedRedirect, CancellationToken ct)
    {
        long? linkedSize = null;
        string? linkedSha = null;
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, url);
            request.Headers.AcceptEncoding.ParseAdd("identity");
            if (rangeFrom is long from)
                request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(from, null);
            if (_token is not null && string.Equals(url.Authority, _endpoint.Authority, StringComparison.OrdinalIgnoreCase))
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);

            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            linkedSize ??= ReadLong(response, "X-Linked-Size");
            linkedSha ??= ReadSha256(response, "X-Linked-Etag");
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                if (hop >= MaxRedirects)
                {
                    response.Dispose();
                    throw new HttpRequestException($"{url} redirected more than {MaxRedirects} times.");
                }
                if (stopAtLinkedRedirect && linkedSize is not null)
                    return new HubResponse(response, linkedSize, linkedSha);
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            // Not via a redirect: a plain ETag that is a SHA-256 (LFS files served directly) counts too.
            linkedSha ??= ReadSha256(response, "ETag");
            return new HubResponse(response, linkedSize, linkedSha);
        }
    }

    private void ThrowForStatus(HttpResponseMessage response, string repository, string revision, string repoPath)
    {
        var status = response.StatusCode;
        if (response.IsSuccessStatusCode || (int)status is >= 300 and < 400)
            return;
        string what = $"{repository}@{revision}: {repoPath}";
        switch (status)
        {
            case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                throw new ModelDownloadException(ModelDownloadFailure.AccessDenied,
                    $"{_endpoint} answered {(int)status} {status} for {what}. " +
                    (_token is null
                        ? "No token was sent: set HF_TOKEN (or LocalLlm:Download:Token) to a token with read access. "
                        : "The token was sent and refused: check that it has read access. ") +
                    $"Gated models need their licence accepted on the model's page ({_endpoint.AbsoluteUri.TrimEnd('/')}/{repository}); " +
                    "the hub also answers 401 for repositories that do not exist.", status);
            case HttpStatusCode.NotFound:
                throw new ModelDownloadException(ModelDownloadFailure.NotFound,
                    $"{_endpoint} has no {what} (404). Check the repository, revision, variant folder and file names " +
                    $"(catalog entries can be corrected under {ModelCatalog.ConfigurationSection}).", status);
            case HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests:
            case >= HttpStatusCode.InternalServerError:
                throw new HttpRequestException($"{_endpoint} answered {(int)status} {status} for {what}.", null, status);
            default:
                throw new ModelDownloadException(ModelDownloadFailure.Other,
                    $"{_endpoint} answered {(int)status} {status} for {what}.", status);
        }
    }

    private static long? ReadLong(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) && long.TryParse(values.FirstOrDefault(), out long value) ? value : null;

    private static string? ReadSha256(HttpResponseMessage response, string header)
    {
        if (!response.Headers.TryGetValues(header, out var values))
            return null;
        string v = values.FirstOrDefault()?.Trim() ?? "";
        if (v.StartsWith("W/", StringComparison.Ordinal))
            v = v[2..];
        v = v.Trim('"');
        // Git blob ETags are 40 hex (SHA-1); only 64 hex is a SHA-256 of the content.
        return v.Length == 64 && v.All(char.IsAsciiHexDigit) ? v.ToLowerInvariant() : null;
    }

    private CancellationTokenSource IdleToken(CancellationToken token)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        cts.CancelAfter(_options.IdleTimeout);
        return cts;
    }

    private ResiliencePipeline BuildPipeline()
    {
        if (_options.MaxRetries == 0)
            return ResiliencePipeline.Empty;
        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex)),
                OnRetry = args =>
                {
                    Log.Retrying(_logger, args.AttemptNumber + 1, _options.MaxRetries, args.RetryDelay, args.Outcome.Exception?.Message ?? "");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        ModelDownloadException or OperationCanceledException => false,
        IntegrityException or TimeoutException or HttpRequestException => true,
        IOException io => !IsDiskFull(io),
        _ => false,
    };

    // ENOSPC is 28 on Linux and macOS; Windows reports ERROR_DISK_FULL (112) or ERROR_HANDLE_DISK_FULL (39).
    internal static bool IsDiskFull(IOException ex) =>
        OperatingSystem.IsWindows() ? (ex.HResult & 0xFFFF) is 112 or 39 : ex.HResult == 28;

    private static async Task<FileStream> AcquireLockAsync(string path, CancellationToken ct)
    {
        // FileShare.None takes an exclusive lock (flock on Unix) that other processes and other streams in this one honour.
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
    }

    private static CompletionRecord? ReadMarker(string folder)
    {
        string path = Path.Combine(folder, CompletionMarker);
        if (!File.Exists(path))
            return null;
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), MarkerJson.Default.CompletionRecord);
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            return null;
        }
    }

    private sealed record RemoteFile(ModelFile File, Uri Url, string Repository, string Revision, string RepoPath, long? Size, string? Sha256);

    private sealed class HubResponse(HttpResponseMessage message, long? linkedSize, string? linkedSha256) : IDisposable
    {
        public HttpResponseMessage Message { get; } = message;
        public long? LinkedSize { get; } = linkedSize;
        public string? LinkedSha256 { get; } = linkedSha256;
        public void Dispose() => Message.Dispose();
    }

    private sealed class IntegrityException(string message) : Exception(message);

    private sealed class ProgressTracker
    {
        private readonly IProgress<ModelDownloadProgress>? _progress;
        private readonly Dictionary<RemoteFile, long> _fileBytes = [];
        private readonly long? _total;
        private readonly int _files;
        private long _done;
        private int _filesDone;

        public ProgressTracker(RemoteFile[] files, IProgress<ModelDownloadProgress>? progress)
        {
            _progress = progress;
            _files = files.Length;
            _total = files.All(f => f.Size is not null) ? files.Sum(f => f.Size!.Value) : null;
            foreach (var f in files)
                _fileBytes[f] = 0;
        }

        public long BytesFetched { get; private set; }

        public void SetFileBytes(RemoteFile file, long bytes)
        {
            lock (_fileBytes)
            {
                _done += bytes - _fileBytes[file];
                _fileBytes[file] = bytes;
            }
            Report(file);
        }

        public void Add(RemoteFile file, int bytes)
        {
            lock (_fileBytes)
            {
                _fileBytes[file] += bytes;
                _done += bytes;
                BytesFetched += bytes;
            }
            Report(file);
        }

        public void Completed(RemoteFile file)
        {
            lock (_fileBytes)
            {
                long size = file.Size ?? _fileBytes[file];
                _done += size - _fileBytes[file];
                _fileBytes[file] = size;
                _filesDone++;
            }
            Report(file);
        }

        private void Report(RemoteFile file)
        {
            if (_progress is null)
                return;
            ModelDownloadProgress p;
            lock (_fileBytes)
                p = new(file.File.Path, _fileBytes[file], file.Size, _done, _total, _filesDone, _files);
            _progress.Report(p);
        }
    }
}

internal sealed record CompletedFile(string Path, long? Size, string? Sha256);

internal sealed record CompletionRecord(string Repository, string Revision, string Folder, DateTimeOffset CompletedUtc, CompletedFile[] Files);

[System.Text.Json.Serialization.JsonSerializable(typeof(CompletionRecord))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class MarkerJson : System.Text.Json.Serialization.JsonSerializerContext;
