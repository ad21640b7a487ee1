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
