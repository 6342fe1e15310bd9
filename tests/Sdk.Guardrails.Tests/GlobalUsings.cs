global using LocalLlm.Guardrails;
global using Microsoft.Extensions.AI;
