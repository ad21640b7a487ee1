namespace Sutazai.Core.Orchestration;

/// <summary>
/// One message between agents, in the original orchestrator's shape: a request (delivered to the target as a
/// task), the response or error that answers it (same correlation id), or a notification.
/// </summary>
public sealed class AgentInteraction
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>The sender's id for this message; sending it again returns the stored one.</summary>
    public required string InteractionId { get; set; }

    /// <summary>Ties a conversation together: a request's own interaction id, carried by its answer.</summary>
    public required string CorrelationId { get; set; }

    public required string SourceAgent { get; set; }

    public required string TargetAgent { get; set; }

    public InteractionType Type { get; set; }

    public string DataJson { get; set; } = "{}";

    public InteractionStatus Status { get; set; }

    /// <summary>For a delivered request or notification: the task that carries it to the target.</summary>
    public Guid? TaskId { get; set; }

    public string? Error { get; set; }

    public Guid? UserId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>A request not answered by then times out.</summary>
    public DateTimeOffset? Deadline { get; set; }

    public DateTimeOffset? ClosedAt { get; set; }
}

public enum InteractionType
{
    Request,
    Response,
    Notification,
    Error,
}

public enum InteractionStatus
{
    /// <summary>A request waiting for its answer.</summary>
    Open,

    /// <summary>A request that got its response.</summary>
    Answered,

    /// <summary>A request answered with an error.</summary>
    Failed,

    /// <summary>A request nobody answered in time.</summary>
    TimedOut,

    /// <summary>A response, error or notification: nothing further is expected.</summary>
    Delivered,
}

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
