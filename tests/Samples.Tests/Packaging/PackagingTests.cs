using System.IO.Compression;
using System.Xml.Linq;
using LocalLlm.ModelForge;

namespace LocalLlm.Samples.Tests.Packaging;

/// <summary>
/// What a user's <c>dotnet add package LocalLlm</c> gets: the three packages packed into a local folder feed, and a
/// scratch console app outside the repository that references them by version, restores, builds and runs a model on
/// the CPU runtime through <c>AddLocalLlm</c>, a guardrail (the packaged ONNX classifier) and the router (the packaged
/// prompt classifier).
/// </summary>
public sealed class PackagingTests
{
    private static readonly (string Id, string Project)[] s_packages =
    [
        ("LocalLlm", "src/Sdk/Sdk.csproj"),
        ("LocalLlm.Guardrails", "src/Sdk.Guardrails/Sdk.Guardrails.csproj"),
        ("LocalLlm.Routing", "src/Sdk.Routing/Sdk.Routing.csproj"),
    ];

    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Pack_ThreePackages_ScratchAppRestoresBuildsAndRuns()
    {
        using var temp = new TempDirectory("localllm-pack");
        string feed = Path.Combine(temp.Path, "feed");
        // A unique version and a fresh package folder: a stale cached LocalLlm can never stand in for this build.
        string version = "0.1.0-test." + Guid.NewGuid().ToString("N")[..12];
        var environment = Environment(temp.Path, out string globalPackages);
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

        await Task.WhenAll(s_packages.Select(p => PackAsync(p.Id, p.Project, configuration, version, feed, temp.Path, environment)));

        foreach (var (id, _) in s_packages)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
            var names = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("README.md", names);
            foreach (string tfm in new[] { "net10.0" })
            {
                Assert.Contains($"lib/{tfm}/{id}.dll", names);
                Assert.Contains($"lib/{tfm}/{id}.xml", names); // XML docs for IntelliSense
            }
            var metadata = Nuspec(zip).Descendants().Where(e => e.Parent?.Name.LocalName == "metadata").ToDictionary(e => e.Name.LocalName, e => e);
            Assert.Equal("README.md", metadata["readme"].Value);
            Assert.Equal("MIT", metadata["license"].Value);
            Assert.Equal("expression", (string?)metadata["license"].Attribute("type"));
            Assert.False(string.IsNullOrWhiteSpace(metadata["description"].Value));
            Assert.Contains("microsoft-extensions-ai", metadata["tags"].Value, StringComparison.Ordinal);
        }
        using (var sdk = ZipFile.OpenRead(Path.Combine(feed, $"LocalLlm.{version}.nupkg")))
        {
            Assert.Contains("buildTransitive/LocalLlm.targets", sdk.Entries.Select(e => e.FullName));
            var dependencies = Nuspec(sdk).Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string?)e.Attribute("id")).ToHashSet();
            Assert.Contains("Microsoft.ML.OnnxRuntimeGenAI", dependencies); // the CPU native runtime by default
            Assert.Contains("Microsoft.Extensions.AI", dependencies);
        }

        // The scratch app: outside the repository (no Directory.Build.props/targets, no central versions). Its
        // nuget.config adds the feed and keeps the machine's default source (no <clear/>); the machine's package cache
        // is a read-only fallback, so third-party packages need no download and only LocalLlm* land in the fresh folder.
        string app = Path.Combine(temp.Path, "app");
        Directory.CreateDirectory(app);
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="localllm-test-feed" value="{feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine-cache" value="{globalPackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "ScratchApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="LocalLlm" Version="{version}" />
                <PackageReference Include="LocalLlm.Guardrails" Version="{version}" />
                <PackageReference Include="LocalLlm.Routing" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using LocalLlm.Guardrails;
            using LocalLlm.Guardrails.Attacks;
            using LocalLlm.Routing;
            using LocalLlm.Routing.Classifier;
            using LocalLlm.Routing.Strategies;
            using Microsoft.Extensions.AI;
            using Microsoft.Extensions.DependencyInjection;

            var services = new ServiceCollection();
            services.AddLocalLlm(o => o.ModelPath = args[0])
                .UseGuardrails(g => g.AddInputCheck(new PromptAttackCheck())); // the ONNX classifier inside the package
            await using var provider = services.BuildServiceProvider();
            IChatClient local = provider.GetRequiredService<IChatClient>();

            // Both tiers are the local model here; the packaged prompt classifier picks one.
            using var router = new HybridRoutingChatClient(
                [new RoutingTier("small", local), new RoutingTier("large", local)],
                new HybridRoutingOptions { Strategies = { new ClassifierRoutingStrategy(PromptClassifier.LoadDefault(), largeShare: 0.5) } });

            ChatResponse response = await router.GetResponseAsync("Packaged and restored: this text comes back from the model.");
            Console.WriteLine("answer: " + response.Text);
            Console.WriteLine("finish: " + response.FinishReason);
            Console.WriteLine("route: " + response.GetRouteDecision()?.Strategy + " " + response.GetRouteDecision()?.Reason);
            Console.WriteLine("attack threshold: " + PromptAttackClassifier.Shipped.Threshold);
            """);

        // A machine whose default source is unreachable still restores: LocalLlm* come from the feed, the rest from the cache.
        await SucceedAsync(["restore", "--ignore-failed-sources"], app, environment);
        await SucceedAsync(["build", "--no-restore", "-c", "Release", "--disable-build-servers"], app, environment);
        Assert.True(Directory.Exists(Path.Combine(temp.Path, "packages", "localllm", version)), "LocalLlm should restore from the test feed into the fresh package folder");
        string bin = Path.Combine(app, "bin", "Release", "net10.0");
        Assert.True(File.Exists(Path.Combine(bin, "runtimes", "linux-x64", "native", "libonnxruntime-genai.so")), "the CPU native runtime should come with the LocalLlm package");

        string model = ForgedModels.GetOrCreate(new ForgeOptions { Design = ModelDesign.Copy, Lag = 13 + 32 }); // repeats the last 32 bytes
        string output = await SucceedAsync([Path.Combine(bin, "ScratchApp.dll"), model], app, environment);
        Assert.Contains("answer:  text comes back from the model.\n", output, StringComparison.Ordinal);
        Assert.Contains("finish: stop\n", output, StringComparison.Ordinal);
        Assert.Contains("route: classifier score ", output, StringComparison.Ordinal);

        // The CUDA switch without the CUDA package fails the build with the command that fixes it.
        var cuda = await ChildProcess.DotnetAsync(["build", "--no-restore", "-c", "Release", "--disable-build-servers", "-p:LocalLlmRuntime=cuda"], s_commandTimeout, workingDirectory: app, environment: environment);
        Assert.NotEqual(0, cuda.ExitCode);
        Assert.Contains("dotnet add package Microsoft.ML.OnnxRuntimeGenAI.Cuda", cuda.All, StringComparison.Ordinal);
    }

    private static async Task PackAsync(string id, string project, string configuration, string version, string feed, string temp, IReadOnlyDictionary<string, string> environment)
    {
        foreach (string tfm in new[] { "net10.0" })
        {
            string dll = Path.Combine(RepoPaths.Root, Path.GetDirectoryName(project)!, "bin", configuration, tfm, id + ".dll");
            if (!File.Exists(dll))
                throw new FileNotFoundException($"{dll} is missing; the test packs built output: run dotnet build Sdk.sln -c {configuration} first.", dll);
        }
        // --no-build packs what the solution build made; the nuspec goes to the temp folder, not the repository's obj/.
        // The machine's package folder, where the repository's restore put the dependencies.
        var packEnvironment = environment.Where(e => e.Key != "NUGET_PACKAGES").ToDictionary();
        await SucceedAsync(["pack", Path.Combine(RepoPaths.Root, project), "-c", configuration, "--no-build", "-o", feed,
            $"-p:PackageVersion={version}", $"-p:NuspecOutputPath={Path.Combine(temp, "nuspec", id)}"], RepoPaths.Root, packEnvironment);
    }

    private static XDocument Nuspec(ZipArchive package)
    {
        using var stream = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }

    /// <summary>The child processes' environment: a fresh package folder, no build servers left running.</summary>
    private static Dictionary<string, string> Environment(string temp, out string globalPackages)
    {
        globalPackages = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured ? configured
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return new()
        {
            ["NUGET_PACKAGES"] = Path.Combine(temp, "packages"),
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
    }

    private static async Task<string> SucceedAsync(string[] args, string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var run = await ChildProcess.DotnetAsync(args, s_commandTimeout, workingDirectory: workingDirectory, environment: environment);
        Assert.True(run.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed ({run.ExitCode}):\n{run.All}");
        return run.Output;
    }
}
