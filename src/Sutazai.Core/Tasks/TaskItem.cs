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

    /// <summary>The key the client sent when creating the task (unique per user), if any.</summary>
    public string? IdempotencyKey { get; set; }

    public int MaxRetries { get; set; }

    /// <summary>How long one attempt may run before it is stopped and the task times out.</summary>
    public int? TimeoutSeconds { get; set; }

    /// <summary>
    /// Order of dispatch: creation time plus the priority in aging steps, in ticks. Lower goes first, so a task
    /// that has waited long enough overtakes newer tasks of better priority and nothing starves.
    /// </summary>
    public long DispatchScore { get; set; }

    /// <summary>Set when someone asks to cancel a task another node is running; that node's lease renewal sees it.</summary>
    public bool CancelRequested { get; set; }

    /// <summary>The permissions the submitter held when the task was created; agents check these.</summary>
    public List<string> SubmitterPermissions { get; set; } = [];

    /// <summary>Resources the task needs while it runs (JSON of cpu_cores, memory_mb, gpu_count, custom); it waits for the arbiter to grant them.</summary>
    public string? ResourceNeedsJson { get; set; }

    public string? WebhookUrl { get; set; }

    /// <summary>The secret that signs webhook deliveries, encrypted under the master key.</summary>
    public string? WebhookSecretProtected { get; set; }

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
