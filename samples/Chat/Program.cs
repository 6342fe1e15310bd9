// LocalLlm console chat: a streaming REPL over a local model (or the built-in demo model). See docs/samples.md.
using System.CommandLine;
using LocalLlm.Samples.Chat;

// Ctrl+C is handled by the session (it stops the current answer), not by System.CommandLine.
return await ChatCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
