System.Console.WriteLine("LocalLlm Chat sample: under construction");
