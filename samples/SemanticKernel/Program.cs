System.Console.WriteLine("LocalLlm SemanticKernel sample: under construction");
