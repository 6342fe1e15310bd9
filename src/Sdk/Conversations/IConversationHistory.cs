using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>
/// The history a chat client keeps under <see cref="ChatOptions.ConversationId"/> (get it with
/// <c>GetService&lt;IConversationHistory&gt;()</c>). A stage above the client that changes an answer after the model
/// (guardrails redacting or blocking it) records what the caller received, so that the next turn is built on that
/// and never on the text the stage removed.
/// </summary>
public interface IConversationHistory
{
    /// <summary>Records <paramref name="answer"/> as the reply to <paramref name="request"/>, replacing the reply the client stored for it, if any.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="request">The messages of the request, as the client received them.</param>
    /// <param name="answer">What the caller received instead of the model's answer.</param>
    void RecordAnswer(string conversationId, IReadOnlyList<ChatMessage> request, ChatMessage answer);
}
