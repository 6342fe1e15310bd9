// Namespaces that many of this project's test files use.
global using LocalLlm.Routing.Cascade;
global using LocalLlm.Routing.Strategies;
global using LocalLlm.Routing.Tests.Fakes;
global using Microsoft.Extensions.AI;
