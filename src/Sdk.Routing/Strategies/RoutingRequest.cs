using Microsoft.Extensions.AI;

namespace LocalLlm.Routing.Strategies;

/// <summary>The request a strategy routes: the conversation and its options, with the measures rules use.</summary>
public sealed class RoutingRequest
{
    private string? _lastUserText;
    private int _totalCharacters = -1;

    /// <summary>Initializes a new instance of the <see cref="RoutingRequest"/> class.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">The request options.</param>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is <see langword="null"/>.</exception>
    public RoutingRequest(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        Messages = messages ?? throw new ArgumentNullException(nameof(messages));
        Options = options;
    }

    /// <summary>Gets the conversation.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; }

    /// <summary>Gets the request options.</summary>
    public ChatOptions? Options { get; }

    /// <summary>Gets the text of the last user message (empty if there is none).</summary>
    public string LastUserText => _lastUserText ??=
        Messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";

    /// <summary>Gets the number of text characters in the whole conversation (a cheap proxy for context size).</summary>
    public int TotalCharacters
    {
        get
        {
            if (_totalCharacters < 0)
                _totalCharacters = Messages.Sum(m => m.Text.Length);
            return _totalCharacters;
        }
    }
}
