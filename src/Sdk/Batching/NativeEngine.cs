using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace LocalLlm;

/// <summary>
/// P/Invoke for the Engine part of the ORT GenAI C API (ort_genai_c.h), which the 0.18 C# wrapper does not bind.
/// Every call except <c>OgaDestroyRequest</c> must run on the engine's owner thread (see <see cref="BatchingEngine"/>).
/// </summary>
internal static partial class NativeEngine
{
    // The same native library the managed wrapper loads.
    private const string Lib = "onnxruntime-genai";

    public const uint FlagToken = 1u << 0;
    public const uint FlagTurnFinished = 1u << 1;
    public const uint FlagFailed = 1u << 3;

    /// <summary>OgaFinishReason values.</summary>
    public enum FinishReason : uint { None = 0, Eos = 1, StopString = 2, MaxGeneratedTokens = 3, MaxSessionTokens = 4, Cancelled = 5, Failed = 6 }

    /// <summary>The wrapper's own native model pointer: the engine shares the loaded weights instead of loading them twice.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_Handle")]
    public static extern nint ModelPointer(Model model);

    // Callers already catch the wrapper's exception type for every other native failure.
    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    private static extern OnnxRuntimeGenAIException NewException(string message);

    /// <summary>Turns a returned OgaResult into an exception carrying the native message (and frees it).</summary>
    /// <exception cref="OnnxRuntimeGenAIException">The call failed.</exception>
    public static void Check(nint result, string call)
    {
        if (result == 0) return;
        string message = Marshal.PtrToStringUTF8(OgaResultGetError(result)) ?? "unknown error";
        OgaDestroyResult(result);
        throw NewException($"{call}: {message}");
    }

    [LibraryImport(Lib)] private static partial nint OgaResultGetError(nint result);
    [LibraryImport(Lib)] private static partial void OgaDestroyResult(nint result);

    [LibraryImport(Lib)] public static partial nint OgaCreateEngine(nint model, out EngineHandle engine);
    [LibraryImport(Lib)] public static partial void OgaDestroyEngine(nint engine);
    [LibraryImport(Lib)] public static partial nint OgaEngineHasPendingRequests(EngineHandle engine, [MarshalAs(UnmanagedType.U1)] out bool pending);
    [LibraryImport(Lib)] public static partial nint OgaCreateEngineEventBuffer(EngineHandle engine, nuint capacity, out EventBufferHandle buffer);
    [LibraryImport(Lib)] public static partial void OgaDestroyEngineEventBuffer(nint buffer);
    [LibraryImport(Lib)] public static partial nint OgaEngineRun(EngineHandle engine, EventBufferHandle buffer);
    [LibraryImport(Lib)] public static partial nuint OgaEngineEventBufferGetCount(EventBufferHandle buffer);
    [LibraryImport(Lib)] public static partial nint OgaEngineEventBufferGet(EventBufferHandle buffer, nuint index);
    [LibraryImport(Lib)] public static partial nint OgaEngineEventGetFlags(nint engineEvent, out uint flags);
    [LibraryImport(Lib)] public static partial nint OgaEngineEventGetRequest(nint engineEvent, out nint request);
    [LibraryImport(Lib)] public static partial nint OgaEngineEventGetToken(nint engineEvent, out int token);
    [LibraryImport(Lib)] public static partial nint OgaEngineEventGetFinishReason(nint engineEvent, out FinishReason reason);
    [LibraryImport(Lib)] public static partial nint OgaEngineEventGetErrorCode(nint engineEvent, out uint code);

    [LibraryImport(Lib)] public static partial nint OgaEngineCreateRequest(EngineHandle engine, RequestOptionsHandle options, out RequestHandle request);
    [LibraryImport(Lib)] public static partial void OgaDestroyRequest(nint request);
    [LibraryImport(Lib)] public static partial nint OgaRequestClose(RequestHandle request);
    [LibraryImport(Lib)] public static partial nint OgaCreateRequestOptions(out RequestOptionsHandle options);
    [LibraryImport(Lib)] public static partial void OgaDestroyRequestOptions(nint options);
    [LibraryImport(Lib)] public static partial nint OgaRequestOptionsSetMaxSessionTokens(RequestOptionsHandle options, ulong maxSessionTokens);

    [LibraryImport(Lib)] public static partial nint OgaRequestCreateTurnOptions(RequestHandle request, out TurnOptionsHandle options);
    [LibraryImport(Lib)] public static partial void OgaDestroyTurnOptions(nint options);
    [LibraryImport(Lib)] public static partial nint OgaTurnOptionsSetMaxGeneratedTokens(TurnOptionsHandle options, ulong max);
    [LibraryImport(Lib)] public static partial nint OgaTurnOptionsSetMinGeneratedTokens(TurnOptionsHandle options, ulong min);
    [LibraryImport(Lib)] public static partial nint OgaTurnOptionsSetDoSample(TurnOptionsHandle options, [MarshalAs(UnmanagedType.U1)] bool doSample);
    [LibraryImport(Lib)] public static partial nint OgaTurnOptionsSetTemperature(TurnOptionsHandle options, float temperature);
    [LibraryImport(Lib)] public static partial nint OgaTurnOptionsSetTopP(TurnOptionsHandle options, float topP);
    [LibraryImport(Lib)] public static partial nint OgaTurnOptionsSetTopK(TurnOptionsHandle options, int topK);
    [LibraryImport(Lib)] public static partial nint OgaTurnOptionsSetRepetitionPenalty(TurnOptionsHandle options, float penalty);
    [LibraryImport(Lib)] public static partial nint OgaRequestBeginTurn(RequestHandle request, TurnOptionsHandle options, ReadOnlySpan<int> inputIds, ulong count, out ulong turnId);
    [LibraryImport(Lib)] public static partial nint OgaRequestCancelTurn(RequestHandle request, ulong turnId, [MarshalAs(UnmanagedType.U1)] out bool cancelled);

    public sealed class EngineHandle() : SafeHandle(0, true)
    {
        public override bool IsInvalid => handle == 0;
        protected override bool ReleaseHandle() { OgaDestroyEngine(handle); return true; }
    }

    public sealed class EventBufferHandle() : SafeHandle(0, true)
    {
        public override bool IsInvalid => handle == 0;
        protected override bool ReleaseHandle() { OgaDestroyEngineEventBuffer(handle); return true; }
    }

    public sealed class RequestHandle() : SafeHandle(0, true)
    {
        public override bool IsInvalid => handle == 0;
        protected override bool ReleaseHandle() { OgaDestroyRequest(handle); return true; }
    }

    public sealed class RequestOptionsHandle() : SafeHandle(0, true)
    {
        public override bool IsInvalid => handle == 0;
        protected override bool ReleaseHandle() { OgaDestroyRequestOptions(handle); return true; }
    }

    public sealed class TurnOptionsHandle() : SafeHandle(0, true)
    {
        public override bool IsInvalid => handle == 0;
        protected override bool ReleaseHandle() { OgaDestroyTurnOptions(handle); return true; }
    }
}
