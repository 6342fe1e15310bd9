using System.CommandLine;
using LocalLlm.Bench.Decoding;

// The benchmark lab is under construction; subcommands land here as they are ready.
var root = new RootCommand("LocalLlm benchmark lab.");
root.Subcommands.Add(DecodingCostCommand.Create());
return await root.Parse(args).InvokeAsync();
