// Placeholder until the forge lands: prints usage.
System.Console.WriteLine("ModelForge: writes ONNX Runtime GenAI model folders. (under construction)");
