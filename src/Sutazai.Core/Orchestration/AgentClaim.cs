namespace Sutazai.Core.Orchestration;

/// <summary>An agent's claim on a resource or target (a file, a host, a record): exclusive or shared, for a while.</summary>
public sealed class AgentClaim
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Target { get; set; }

    public required string Agent { get; set; }

    public ClaimMode Mode { get; set; }

    public ClaimStatus Status { get; set; }

    public string Purpose { get; set; } = "";

    /// <summary>For a refused claim: the agents whose claims it collided with.</summary>
    public List<string> ConflictsWith { get; set; } = [];

    public string? Reason { get; set; }

    public Guid? UserId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }
}

public enum ClaimMode
{
    Exclusive,
    Shared,
}

public enum ClaimStatus
{
    Active,
    Released,
    Expired,

    /// <summary>Refused because it conflicted with another agent's claim: a detected conflict.</summary>
    Conflict,
}
