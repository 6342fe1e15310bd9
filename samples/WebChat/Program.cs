System.Console.WriteLine("LocalLlm WebChat sample: under construction");
