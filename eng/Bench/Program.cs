System.Console.WriteLine("LocalLlm bench: under construction");
