using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// The LoRA adapters loaded into one <see cref="LocalModel"/>: one native <see cref="Adapters"/> for the model, each
/// <c>.onnx_adapter</c> file loaded once under its name (clients naming the same file share it). Thread-safe.
/// </summary>
internal sealed class ModelAdapters(Model model) : IDisposable
{
    /// <summary>ONNX Runtime's adapter files are FlatBuffers with this file identifier at bytes 4..7.</summary>
    private static ReadOnlySpan<byte> FileIdentifier => "TORT"u8;

    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);
    private readonly object _lock = new();
    private Adapters? _native;

    /// <summary>The native adapters (null until one is loaded).</summary>
    public Adapters? Native { get { lock (_lock) return _native; } }

    /// <summary>Loads <paramref name="path"/> as <paramref name="name"/>, once; loading the same file under the same name again does nothing.</summary>
    /// <exception cref="ArgumentException">The file is missing or not an ONNX Runtime adapter, the name is bound to another file, or ONNX Runtime refuses the file.</exception>
    public void Load(string name, string path, string option)
    {
        string full = Path.GetFullPath(path);
        CheckFile(name, full, option);
        lock (_lock)
        {
            if (_files.TryGetValue(name, out string? loaded))
            {
                if (loaded == full) return;
                throw new ArgumentException($"{option}: adapter '{name}' is already loaded into model '{Path.GetFileName(Path.GetDirectoryName(full))}' from '{loaded}'; give '{full}' another name.", option);
            }
            _native ??= new Adapters(model);
            try
            {
                _native.LoadAdapter(full, name);
            }
            catch (OnnxRuntimeGenAIException e)
            {
                throw new ArgumentException($"{option}: ONNX Runtime could not load adapter '{name}' from '{full}': {e.Message.Trim()} {Fix}", option, e);
            }
            try
            {
                Probe(name);
            }
            catch (OnnxRuntimeGenAIException e)
            {
                _native.UnloadAdapter(name);
                throw new ArgumentException($"{option}: adapter '{name}' ('{full}') does not fit this model: {e.Message.Trim()} {Fix}", option, e);
            }
            _files[name] = full;
        }
    }

    private const string Fix = "Export the adapter for this model: its parameters must be the model's LoRA inputs, with their names, shapes and element type.";

    /// <summary>
    /// ONNX Runtime checks an adapter's parameters against the model's inputs only when the model runs, so one model
    /// step (token 0) under the adapter, now, turns a wrong name or shape into a load-time error instead of a failed request.
    /// </summary>
    private void Probe(string name)
    {
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", 2);
        using var generator = new Generator(model, parameters);
        generator.SetActiveAdapter(_native!, name);
        generator.AppendTokens([0]);
    }

    private static void CheckFile(string name, string full, string option)
    {
        if (!File.Exists(full))
            throw new ArgumentException($"{option}: adapter '{name}' names '{full}', which does not exist. Point it at an .onnx_adapter file.", option);
        Span<byte> head = stackalloc byte[8];
        int read;
        using (var stream = File.OpenRead(full)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read < head.Length || !head[4..].SequenceEqual(FileIdentifier))
            throw new ArgumentException($"{option}: adapter '{name}' file '{full}' is not an ONNX Runtime adapter (.onnx_adapter, a FlatBuffer with identifier TORT). Convert the LoRA weights with onnxruntime's AdapterFormat.", option);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _native?.Dispose();
            _native = null;
        }
    }
}
