using LocalLlm.ModelForge;

namespace LocalLlm.Tests.Sampling;

/// <summary>The fixed-distribution design: next-token logits are FixedDistribution.Logits whatever the input.</summary>
public sealed class FixedDistributionFixture : IDisposable
{
    public LocalModel Model { get; } = LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.FixedDistribution }));

    public void Dispose() => Model.Dispose();
}

/// <summary>The copy design with lag 4: a chat reply cycles "ant\n" (the end of "assistant\n") forever.</summary>
public sealed class LoopingModelFixture : IDisposable
{
    public const int Lag = 4;

    public LocalModel Model { get; } = LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = Lag }));

    public void Dispose() => Model.Dispose();
}

/// <summary>The beam-trap design: greedy replies "ac", the most probable reply is "bx".</summary>
public sealed class BeamTrapFixture : IDisposable
{
    public LocalModel Model { get; } = LocalModel.Load(ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.BeamTrap }));

    public void Dispose() => Model.Dispose();
}
