namespace Sutazai.Core.Orchestration;

public interface IInteractionStore
{
    /// <summary>Stores the interaction, or returns the one already stored with its interaction id.</summary>
    Task<(AgentInteraction Interaction, bool Created)> AddAsync(AgentInteraction interaction, CancellationToken cancellationToken);

    Task<AgentInteraction?> FindAsync(string interactionId, CancellationToken cancellationToken);

    Task SetTaskAsync(string interactionId, Guid taskId, CancellationToken cancellationToken);

    /// <summary>Closes an open request; false when it was not open (answered, failed or timed out already).</summary>
    Task<bool> CloseAsync(string interactionId, InteractionStatus status, string? error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>A conversation in order: the request and everything correlated with it.</summary>
    Task<IReadOnlyList<AgentInteraction>> ThreadAsync(string correlationId, CancellationToken cancellationToken);

    /// <summary>The newest interactions, optionally only those an agent sent or received.</summary>
    Task<IReadOnlyList<AgentInteraction>> RecentAsync(string? agent, int limit, CancellationToken cancellationToken);
}

public interface IClaimStore
{
    /// <summary>
    /// Claims a target for an agent, serialized with every other claim: granted (or renewed) when it does not
    /// collide with another agent's live claim, otherwise stored as a conflict naming the holders.
    /// </summary>
    Task<AgentClaim> ClaimAsync(AgentClaim claim, DateTimeOffset now, CancellationToken cancellationToken);

    /// <returns>The released claim, or null when the agent held none on the target.</returns>
    Task<AgentClaim?> ReleaseAsync(string agent, string target, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Live claims, optionally on one target.</summary>
    Task<IReadOnlyList<AgentClaim>> ActiveAsync(string? target, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Conflicts detected since a time, newest first.</summary>
    Task<IReadOnlyList<AgentClaim>> ConflictsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken);
}

/// <summary>When two claims on one target collide.</summary>
public static class ClaimRules
{
    /// <returns>The live claims of other agents that <paramref name="claim"/> collides with.</returns>
    public static IReadOnlyList<AgentClaim> Collisions(AgentClaim claim, IEnumerable<AgentClaim> live) =>
        [.. live.Where(other => other.Target == claim.Target && other.Agent != claim.Agent
            && (claim.Mode == ClaimMode.Exclusive || other.Mode == ClaimMode.Exclusive))];
}
