// LocalLlm web chat: an OpenAI-compatible API (/v1/chat/completions, /v1/models), health probes and a chat page,
// over the model given by --model <id|folder> or appsettings.json ("LocalLlm:Model"; empty = the built-in demo model).
using LocalLlm.Samples.WebChat;

await WebChatApp.Build(args).RunAsync();
