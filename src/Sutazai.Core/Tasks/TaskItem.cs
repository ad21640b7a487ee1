namespace Sutazai.Core.Tasks;

/// <summary>One unit of work. The row exists before anything is dispatched; it is the source of truth.</summary>
public sealed class TaskItem
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Title { get; set; }

    public string Description { get; set; } = "";

    /// <summary>What kind of work this is (for example <c>system_metrics</c>); the router matches on it.</summary>
    public string Type { get; set; } = "";

    /// <summary>The action the assigned agent performs.</summary>
    public string? Action { get; set; }

    public List<string> RequiredCapabilities { get; set; } = [];

    public Guid? AgentId { get; set; }

    public Guid? UserId { get; set; }

    public TaskState Status { get; set; } = TaskState.Created;

    /// <summary>1 runs first, 10 last.</summary>
    public int Priority { get; set; } = TaskPriority.Default;

    public string? PayloadJson { get; set; }

    public string? ResultJson { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>Why the router chose the agent, or why the task is still waiting.</summary>
    public string? RoutingReason { get; set; }

    public string? IdempotencyKey { get; set; }

    public int MaxRetries { get; set; }

    public int Attempt { get; set; }

    public DateTimeOffset? Deadline { get; set; }

    public DateTimeOffset? NextAttemptAt { get; set; }

    /// <summary>The node currently running the task; its lease lapses at <see cref="LeaseExpiresAt"/>.</summary>
    public string? LeaseOwner { get; set; }

    public DateTimeOffset? LeaseExpiresAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }
}
