namespace LocalLlm;

/// <summary>
/// What <see cref="DegenerationGuardChatClient"/> found and did, attached under <see cref="DegenerationGuardChatClient.ReportKey"/>
/// to the response (or to the last streamed update) whenever a loop was seen.
/// </summary>
/// <param name="Finding">The last loop found.</param>
/// <param name="Attempts">Requests made, the first included.</param>
/// <param name="Remedies">Remedies in force on the last attempt, in the order they were added.</param>
/// <param name="Resolved">True when the last attempt finished without a loop.</param>
/// <param name="LoopStartCharacter">When unresolved: where in the returned (or shown) text the loop begins, if it is in it.</param>
public sealed record DegenerationReport(DegenerationFinding Finding, int Attempts, IReadOnlyList<DegenerationRemedy> Remedies, bool Resolved, int? LoopStartCharacter);
