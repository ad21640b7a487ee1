using Sutazai.Core.Agents;

namespace Sutazai.Core.Tasks;

/// <summary>
/// Where tasks live. Every change of state goes through here and is stored, with its transition event, in
/// one transaction before anyone acts on it. Implementations: EF Core on SQLite and on PostgreSQL.
/// </summary>
public interface ITaskStore
{
    /// <summary>
    /// Stores a new task as created and then queued. When the submitter already has a task with the same
    /// idempotency key, nothing is stored and that task is returned instead.
    /// </summary>
    Task<TaskCreation> CreateAsync(TaskItem task, CancellationToken cancellationToken);

    /// <summary>Queued tasks that are due, in dispatch order, without claiming them: what routing reads, not their payloads.</summary>
    Task<IReadOnlyList<TaskItem>> PeekDispatchableAsync(DispatchWindow window, CancellationToken cancellationToken);

    /// <summary>
    /// Moves each task that is still queued, at the attempt it was read at, to assigned with its agent, reason and a
    /// lease for this node, and on to running (this node starts it at once): both transitions are stored, in one
    /// transaction for the whole batch.
    /// </summary>
    /// <returns>The tasks this node now runs; tasks another node took first (or took, ran and queued again) are left out.</returns>
    Task<IReadOnlyList<TaskItem>> AssignAsync(IReadOnlyList<TaskAssignment> assignments, string node, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Leaves tasks queued, saying why nobody can take them, to be looked at again at their retry time.</summary>
    Task DeferAsync(IReadOnlyList<TaskDeferral> deferrals, CancellationToken cancellationToken);

    /// <summary>
    /// Records the ends of attempts, in one transaction: each execution always, and each task's new state and
    /// webhook delivery when this node still holds the lease (otherwise another node has taken the task over and
    /// its word counts).
    /// </summary>
    /// <returns>Per outcome, in order: false when the lease was lost and the task was left alone.</returns>
    Task<IReadOnlyList<bool>> FinishAsync(IReadOnlyList<TaskOutcome> outcomes, string node, CancellationToken cancellationToken);

    /// <summary>Extends this node's leases on the given tasks.</summary>
    /// <returns>Those of them someone asked to cancel, and those this node no longer holds.</returns>
    Task<LeaseRenewal> RenewLeasesAsync(IReadOnlyCollection<Guid> taskIds, string node, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>
    /// Puts tasks whose lease lapsed (their node died or hung) back in the queue, or fails them when their
    /// retries are used up (so a task that kills its node cannot loop forever).
    /// </summary>
    /// <returns>The tasks put back.</returns>
    /// <param name="lapseAllowance">Attempts allowed beyond the task's retries when its lease lapsed.</param>
    Task<IReadOnlyList<Guid>> RequeueLapsedAsync(DateTimeOffset now, int lapseAllowance, Func<TaskItem, WebhookDelivery?> webhook, CancellationToken cancellationToken);

    /// <summary>Cancels a task that has not started, or flags a running one so its node stops it.</summary>
    /// <param name="webhook">Builds the delivery for a task cancelled here and now, when it has a webhook.</param>
    Task<CancelResult> CancelAsync(Guid taskId, string reason, DateTimeOffset now, Func<TaskItem, WebhookDelivery?> webhook, CancellationToken cancellationToken);

    /// <summary>Times out queued tasks whose deadline passed before anyone started them.</summary>
    Task<IReadOnlyList<TaskItem>> ExpireOverdueAsync(DateTimeOffset now, Func<TaskItem, WebhookDelivery?> webhook, CancellationToken cancellationToken);

    /// <summary>Queues a failed, timed-out or cancelled task again.</summary>
    Task<bool> RetryAsync(Guid taskId, string reason, DateTimeOffset now, CancellationToken cancellationToken);
}

public sealed record TaskCreation(TaskItem Task, bool Created);

/// <summary>
/// Which due queued tasks a dispatch round reads, each part in dispatch order: for each agent, the first few
/// addressed to it (as many as it has room for, so tasks waiting for a full agent are never read); the first few
/// addressed to no agent, from a position on when paging; and the first few of all, which finds anything else.
/// </summary>
public sealed record DispatchWindow(DateTimeOffset Now)
{
    public IReadOnlyDictionary<Guid, int> PerAgent { get; init; } = new Dictionary<Guid, int>();

    public int Unaddressed { get; init; }

    /// <summary>Unaddressed tasks from this dispatch score on, leaving out <see cref="AlreadyRead"/>.</summary>
    public long? FromScore { get; init; }

    public IReadOnlyCollection<Guid> AlreadyRead { get; init; } = [];

    public int Head { get; init; }
}

/// <param name="Attempt">The task's attempt count when it was read: the claim takes it only if that is still so (and it is still queued).</param>
public sealed record TaskAssignment(Guid TaskId, int Attempt, Guid AgentId, string Reason);

public sealed record TaskDeferral(Guid TaskId, string Reason, DateTimeOffset RetryAt);

public sealed record LeaseRenewal(IReadOnlyList<Guid> CancelRequested, IReadOnlyList<Guid> Lost);

public enum CancelResult
{
    NotFound,
    Cancelled,
    CancelRequested,
    AlreadyFinished,
}

/// <summary>How one attempt ended and what happens next.</summary>
/// <param name="NextState">Completed, Failed, TimedOut, Cancelled, or Queued for another attempt.</param>
/// <param name="RetryAt">When <paramref name="NextState"/> is Queued: not before this.</param>
public sealed record TaskOutcome(
    Guid TaskId,
    Guid AgentId,
    int Attempt,
    TaskState NextState,
    string Reason,
    string? ResultJson,
    string? Error,
    string InputJson,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    DateTimeOffset? RetryAt,
    WebhookDelivery? Webhook);

/// <summary>What the router needs to know about agents, and what the health monitor records.</summary>
public interface IAgentCatalog
{
    Task<IReadOnlyList<Agent>> LoadAsync(CancellationToken cancellationToken);

    Task RecordHealthAsync(Guid agentId, AgentHealthReport report, double latencyMs, long successes, long errors, DateTimeOffset at, CancellationToken cancellationToken);
}
