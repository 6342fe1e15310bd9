global using LocalLlm.Embeddings;
global using Microsoft.Extensions.AI;
