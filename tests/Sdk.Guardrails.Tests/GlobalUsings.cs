global using LocalLlm.Guardrails;
