// Namespaces that many of this project's test files use.
global using Microsoft.Extensions.AI;
