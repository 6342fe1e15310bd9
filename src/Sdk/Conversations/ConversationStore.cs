using Microsoft.Extensions.AI;

namespace LocalLlm;

/// <summary>
/// Message histories of conversations named by <see cref="ChatOptions.ConversationId"/>, so callers can send only the
/// new messages (the Microsoft.Extensions.AI convention for a response that carries a ConversationId). Bounded:
/// the least recently used conversation is forgotten first.
/// </summary>
internal sealed class ConversationStore(int capacity) : IConversationHistory
{
    private readonly Dictionary<string, LinkedListNode<(string Id, ChatMessage[] Messages)>> _byId = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Id, ChatMessage[] Messages)> _lru = new(); // First = least recently used.
    private readonly object _lock = new();

    public int Count { get { lock (_lock) return _byId.Count; } }

    /// <summary>
    /// The full history for a request: the stored messages followed by <paramref name="incoming"/>. When the caller
    /// sent the whole history anyway (it starts with the stored messages), it is used as it is.
    /// </summary>
    public IReadOnlyList<ChatMessage> Resolve(string conversationId, IReadOnlyList<ChatMessage> incoming)
    {
        ChatMessage[] stored;
        lock (_lock)
        {
            if (!_byId.TryGetValue(conversationId, out var node)) return incoming;
            stored = node.Value.Messages;
        }
        if (incoming.Count >= stored.Length && stored.Select((m, i) => SameMessage(m, incoming[i])).All(same => same)) return incoming;
        return [.. stored, .. incoming];
    }

    /// <summary>Records the history after a finished turn (the request's messages and the answer).</summary>
    public void Save(string conversationId, IEnumerable<ChatMessage> history)
    {
        ChatMessage[] messages = [.. history];
        lock (_lock)
        {
            if (_byId.Remove(conversationId, out var old)) _lru.Remove(old);
            _byId[conversationId] = _lru.AddLast((conversationId, messages));
            while (_byId.Count > capacity)
            {
                _byId.Remove(_lru.First!.Value.Id);
                _lru.RemoveFirst();
            }
        }
    }

    /// <inheritdoc />
    public void RecordAnswer(string conversationId, IReadOnlyList<ChatMessage> request, ChatMessage answer)
    {
        ArgumentNullException.ThrowIfNull(conversationId);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(answer);
        lock (_lock)
        {
            // The client saved this turn (its last messages are the request's, then the model's answer): replace the answer.
            if (_byId.TryGetValue(conversationId, out var node) && node.Value.Messages is { } stored
                && stored.Length > request.Count && stored[^1].Role == ChatRole.Assistant
                && request.Select((m, i) => SameMessage(stored[stored.Length - 1 - request.Count + i], m)).All(same => same))
            {
                ChatMessage[] messages = [.. stored[..^1], answer];
                _lru.Remove(node);
                _byId[conversationId] = _lru.AddLast((conversationId, messages));
                return;
            }
        }
        // Not saved (the stream was stopped before the model finished): the turn is the request and what the caller got.
        Save(conversationId, [.. Resolve(conversationId, request), answer]);
    }

    private static bool SameMessage(ChatMessage a, ChatMessage b) =>
        ReferenceEquals(a, b) || (a.Role == b.Role && a.Text == b.Text && a.Contents.Count == b.Contents.Count);
}
