// ModelForge command line; see docs/modelforge.md.
return LocalLlm.ModelForge.Cli.ForgeCommand.Run(args);
