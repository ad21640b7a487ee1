namespace Sutazai.Core.Tasks;

/// <summary>Read-only views of the queue and of recent work, for the coordinator agent and the dashboard.</summary>
public interface ITaskQueries
{
    /// <summary>Queued tasks in the order they will be dispatched.</summary>
    Task<IReadOnlyList<TaskItem>> QueuedAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Tasks assigned to or running on an agent now, oldest first.</summary>
    Task<IReadOnlyList<TaskItem>> ActiveAsync(int limit, CancellationToken cancellationToken);

    Task<TaskItem?> FindAsync(Guid taskId, CancellationToken cancellationToken);

    /// <summary>The user's tasks created with any of these idempotency keys.</summary>
    Task<IReadOnlyList<TaskItem>> ByIdempotencyKeysAsync(Guid? userId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>How many tasks are in each state, and what finished since <paramref name="since"/>.</summary>
    Task<TaskStatistics> StatisticsAsync(DateTimeOffset since, CancellationToken cancellationToken);
}

/// <param name="Finished">Tasks that ended since the window began, with their agent, times and outcome.</param>
public sealed record TaskStatistics(IReadOnlyDictionary<TaskState, int> ByState, IReadOnlyList<FinishedTask> Finished);

public sealed record FinishedTask(Guid? AgentId, TaskState State, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset CompletedAt);
