using Microsoft.Extensions.Logging;

namespace LocalLlm.Models;

// Event ids 1500-1549 belong to Models/.
internal static partial class Log
{
    [LoggerMessage(1500, LogLevel.Information, "Downloading {Model} at {Revision} from {Endpoint} into {Folder}")]
    public static partial void Downloading(ILogger logger, string model, string revision, Uri endpoint, string folder);

    [LoggerMessage(1501, LogLevel.Information, "Downloaded {Model}: {Bytes} bytes fetched, folder {Folder}")]
    public static partial void Downloaded(ILogger logger, string model, long bytes, string folder);

    [LoggerMessage(1502, LogLevel.Warning, "Download attempt {Attempt} of {MaxRetries} retries in {Delay}: {Reason}")]
    public static partial void Retrying(ILogger logger, int attempt, int maxRetries, TimeSpan delay, string reason);

    [LoggerMessage(1503, LogLevel.Warning, "{File} failed verification (SHA-256 expected {Expected}, got {Actual}); it is deleted and fetched again")]
    public static partial void Corrupted(ILogger logger, string file, string expected, string actual);

    [LoggerMessage(1504, LogLevel.Information, "Model {Model}: using variant {Variant} ({Reason})")]
    public static partial void VariantChosen(ILogger logger, string model, string variant, string reason);
}
