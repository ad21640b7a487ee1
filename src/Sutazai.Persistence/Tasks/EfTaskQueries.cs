using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Tasks;

public sealed class EfTaskQueries(IDbContextFactory<SutazaiDbContext> contexts) : ITaskQueries
{
    /// <summary>Statistics look at no more finished tasks than this in one window.</summary>
    private const int MaxFinished = 50_000;

    public async Task<IReadOnlyList<TaskItem>> QueuedAsync(int limit, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var queued = db.Database.IsNpgsql()
            ? EfTaskStore.QueueHeadOnPostgreSql(db, limit, DateTimeOffset.MaxValue).OrderBy(t => t.DispatchScore)
            : db.Tasks.Where(t => t.Status == TaskState.Queued).OrderBy(t => t.DispatchScore).Take(limit);
        return await queued.AsNoTracking().ToListAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<TaskItem>> ActiveAsync(int limit, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskState.Assigned || t.Status == TaskState.Running)
            .OrderBy(t => t.StartedAt ?? t.CreatedAt)
            .Take(limit)
            .ToListAsync(cancellationToken);
    }

    public async Task<TaskItem?> FindAsync(Guid taskId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Tasks.AsNoTracking().SingleOrDefaultAsync(t => t.Id == taskId, cancellationToken);
    }

    public async Task<IReadOnlyList<TaskItem>> ByIdempotencyKeysAsync(Guid? userId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Tasks.AsNoTracking()
            .Where(t => t.UserId == userId && t.IdempotencyKey != null && keys.Contains(t.IdempotencyKey))
            .ToListAsync(cancellationToken);
    }

    public async Task<TaskStatistics> StatisticsAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var byState = await db.Tasks.GroupBy(t => t.Status).Select(g => new { State = g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        var finished = await db.Tasks.AsNoTracking()
            .Where(t => t.CompletedAt != null && t.CompletedAt >= since)
            .OrderByDescending(t => t.CompletedAt)
            .Take(MaxFinished)
            .Select(t => new FinishedTask(t.AgentId, t.Status, t.CreatedAt, t.StartedAt, t.CompletedAt!.Value))
            .ToListAsync(cancellationToken);
        return new TaskStatistics(byState.ToDictionary(s => s.State, s => s.Count), finished);
    }
}
