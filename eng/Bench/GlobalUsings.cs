// What most suites and runners open with: the bench's own folders, the raw ORT GenAI API and Microsoft.Extensions.AI.
global using System.Diagnostics;
global using System.Text;
global using LocalLlm.Bench.Generation;
global using LocalLlm.Bench.Reporting;
global using LocalLlm.Bench.Running;
global using Microsoft.Extensions.AI;
global using Microsoft.ML.OnnxRuntimeGenAI;
global using static LocalLlm.Bench.Running.BenchContext;
