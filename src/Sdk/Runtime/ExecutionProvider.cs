namespace LocalLlm;

/// <summary>Where the model runs.</summary>
public enum ExecutionProvider
{
    /// <summary>CUDA when its runtime package is present and a device works; otherwise the CPU, with the reason logged.</summary>
    Auto = 0,

    /// <summary>The CPU execution provider.</summary>
    Cpu = 1,

    /// <summary>The CUDA execution provider (needs the CUDA runtime package: build with -p:LocalLlmRuntime=cuda).</summary>
    Cuda = 2,
}
