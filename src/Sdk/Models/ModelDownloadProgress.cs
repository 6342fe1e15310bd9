namespace LocalLlm.Models;

/// <summary>Download progress, per file and overall, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="File">The file this report is about (path inside the model folder).</param>
/// <param name="FileBytesDone">Bytes of that file on disk so far (resumed bytes included).</param>
/// <param name="FileBytesTotal">The file's size, when the server said.</param>
/// <param name="BytesDone">Bytes of the whole model on disk so far.</param>
/// <param name="BytesTotal">The whole model's size, when every file's size is known.</param>
/// <param name="FilesDone">Files complete and verified.</param>
/// <param name="FilesTotal">Files in the model.</param>
public sealed record ModelDownloadProgress(
    string File, long FileBytesDone, long? FileBytesTotal, long BytesDone, long? BytesTotal, int FilesDone, int FilesTotal);
