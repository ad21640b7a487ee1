using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Tasks;

/// <summary>
/// The task store on EF Core. Transitions are conditional updates (<c>WHERE status = expected</c>), so when
/// nodes race for a task exactly one wins, on SQLite and on PostgreSQL alike; each transition and its event
/// commit together.
/// </summary>
public sealed partial class EfTaskStore(IDbContextFactory<SutazaiDbContext> contexts) : ITaskStore, IAsyncDisposable, IDisposable
{
    private static readonly TaskState[] Terminal = [TaskState.Completed, TaskState.Failed, TaskState.Cancelled, TaskState.TimedOut];
    private static readonly TaskState[] Held = [TaskState.Assigned, TaskState.Running];

    /// <summary>The execution status of an outcome that came after its task was no longer this node's.</summary>
    private const string Superseded = "superseded";

    /// <summary>Tasks submitted at the same moment are stored in one transaction.</summary>
    private readonly GroupCommit<TaskItem, TaskCreation> _creations = new((batch, cancellationToken) => CreateBatchAsync(contexts, batch, cancellationToken));

    public Task<TaskCreation> CreateAsync(TaskItem task, CancellationToken cancellationToken) => _creations.CommitAsync(task);

    public ValueTask DisposeAsync() => _creations.DisposeAsync();

    public void Dispose() => _creations.Dispose();

    private static async Task<IReadOnlyList<TaskCreation>> CreateBatchAsync(IDbContextFactory<SutazaiDbContext> contexts, IReadOnlyList<TaskItem> batch, CancellationToken cancellationToken)
    {
        // Tasks with an idempotency key are looked up first, one by one; the rest go in together (a failure sends
        // them back one at a time, see GroupCommit).
        if (batch.Count > 1 && batch.All(t => t.IdempotencyKey is null))
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            await StoreAsync(db, batch, cancellationToken);
            return [.. batch.Select(t => new TaskCreation(t, true))];
        }

        var creations = new List<TaskCreation>(batch.Count);
        foreach (var task in batch)
        {
            creations.Add(await CreateOneAsync(contexts, task, cancellationToken));
        }

        return creations;
    }

    private static async Task<TaskCreation> CreateOneAsync(IDbContextFactory<SutazaiDbContext> contexts, TaskItem task, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (task.IdempotencyKey is not null && await FindByKeyAsync(db, task, cancellationToken) is { } existing)
        {
            return new TaskCreation(existing, false);
        }

        try
        {
            await StoreAsync(db, [task], cancellationToken);
            return new TaskCreation(task, true);
        }
        catch (DbException) when (task.IdempotencyKey is not null)
        {
            // The same key arrived twice at once and the other request stored it first.
            await using var again = await contexts.CreateDbContextAsync(cancellationToken);
            return new TaskCreation(await FindByKeyAsync(again, task, cancellationToken) ?? throw new InvalidOperationException("The task could not be stored."), false);
        }
    }

    /// <summary>New tasks, stored as queued with both their first transitions, in one transaction (on PostgreSQL, one round trip).</summary>
    private static async Task StoreAsync(SutazaiDbContext db, IReadOnlyList<TaskItem> tasks, CancellationToken cancellationToken)
    {
        foreach (var task in tasks)
        {
            task.Status = TaskState.Queued;
        }

        await RowsInsert.ExecuteTogetherAsync(db, [tasks, tasks.SelectMany(task => new[]
        {
            new TaskEvent { TaskId = task.Id, FromStatus = null, ToStatus = TaskState.Created, Reason = "submitted", OccurredAt = task.CreatedAt },
            new TaskEvent { TaskId = task.Id, FromStatus = TaskState.Created, ToStatus = TaskState.Queued, Reason = "waiting for an agent", OccurredAt = task.CreatedAt },
        })], cancellationToken);
    }

    /// <summary>
    /// The first <paramref name="head"/> queued tasks due by <paramref name="dueBy"/>, read agent by agent, as PostgreSQL
    /// has no index of the whole queue (see <see cref="TasksModel"/>): each agent's first few from its own queue and the
    /// first few addressed to none, the first of them all taken.
    /// </summary>
    internal static IQueryable<TaskItem> QueueHeadOnPostgreSql(SutazaiDbContext db, int head, DateTimeOffset dueBy) =>
        db.Tasks.FromSql($"""
            SELECT h.* FROM (
                SELECT t.* FROM agents AS a
                CROSS JOIN LATERAL (
                    SELECT * FROM tasks
                    WHERE agent_id = a.id AND status = 'Queued' AND (next_attempt_at IS NULL OR next_attempt_at <= {dueBy})
                    ORDER BY dispatch_score
                    LIMIT {head}) AS t
                UNION ALL
                (SELECT * FROM tasks
                 WHERE agent_id IS NULL AND status = 'Queued' AND (next_attempt_at IS NULL OR next_attempt_at <= {dueBy})
                 ORDER BY dispatch_score
                 LIMIT {head})
            ) AS h
            ORDER BY h.dispatch_score
            LIMIT {head}
            """);

    public async Task<IReadOnlyList<TaskItem>> PeekDispatchableAsync(DispatchWindow window, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var now = window.Now;
        var due = db.Tasks.Where(t => t.Status == TaskState.Queued && (t.NextAttemptAt == null || t.NextAttemptAt <= now));
        var parts = new List<IQueryable<TaskItem>>();
        if (db.Database.IsNpgsql() && window.PerAgent.Count > 0)
        {
            // One statement whatever the number of agents (prepared once; a UNION branch per agent cost PostgreSQL
            // ~4 ms a round to plan): a lateral seek per agent in the queued-by-agent index, over array parameters (EF's
            // LINQ for the same query is a window over every queued task). The state is the partial indexes' literal
            // (TasksModel.QueuedFilter), not a parameter: only then may a generic plan use them. The agent is unknown
            // when this is planned; the PartialTaskIndexes migration keeps PostgreSQL from guessing it owns every task,
            // and there is no index of the whole queue for the plan to walk instead (TasksModel).
            var agentIds = window.PerAgent.Keys.ToArray();
            var counts = window.PerAgent.Values.ToArray();
            parts.Add(db.Tasks.FromSql($"""
                SELECT t.* FROM unnest({agentIds}, {counts}) AS a(id, n)
                CROSS JOIN LATERAL (
                    SELECT * FROM tasks
                    WHERE agent_id = a.id AND status = 'Queued' AND (next_attempt_at IS NULL OR next_attempt_at <= {now})
                    ORDER BY dispatch_score
                    LIMIT a.n) AS t
                """));
        }
        else
        {
            foreach (var (agentId, count) in window.PerAgent)
            {
                parts.Add(due.Where(t => t.AgentId == agentId).OrderBy(t => t.DispatchScore).Take(count));
            }
        }

        if (window.Unaddressed > 0)
        {
            var unaddressed = due.Where(t => t.AgentId == null);
            if (window.FromScore is { } from)
            {
                var seen = window.AlreadyRead;
                unaddressed = unaddressed.Where(t => t.DispatchScore >= from && !seen.Contains(t.Id));
            }

            parts.Add(unaddressed.OrderBy(t => t.DispatchScore).Take(window.Unaddressed));
        }

        if (window.Head > 0 && db.Database.IsNpgsql())
        {
            parts.Add(QueueHeadOnPostgreSql(db, window.Head, now));
        }
        else if (window.Head > 0)
        {
            parts.Add(due.OrderBy(t => t.DispatchScore).Take(window.Head));
        }

        if (parts.Count == 0)
        {
            return [];
        }

        // One statement (UNION ALL of index seeks). Only what routing and admission read: payloads and the
        // submitter's permissions are loaded for the tasks actually assigned, not for every one looked at.
        var read = await parts.Aggregate((all, part) => all.Concat(part)).AsNoTracking()
            .Select(t => new TaskItem
            {
                Id = t.Id,
                Title = t.Title,
                Description = t.Description,
                Type = t.Type,
                Action = t.Action,
                AgentId = t.AgentId,
                RequiredCapabilities = t.RequiredCapabilities,
                UserId = t.UserId,
                Status = t.Status,
                Priority = t.Priority,
                RoutingReason = t.RoutingReason,
                Attempt = t.Attempt,
                TimeoutSeconds = t.TimeoutSeconds,
                Deadline = t.Deadline,
                ResourceNeedsJson = t.ResourceNeedsJson,
                CreatedAt = t.CreatedAt,
                DispatchScore = t.DispatchScore,
            })
            .ToListAsync(cancellationToken);
        return [.. read.DistinctBy(t => t.Id).OrderBy(t => t.DispatchScore)];
    }

    public async Task<IReadOnlyList<TaskItem>> AssignAsync(
        IReadOnlyList<TaskAssignment> assignments, string node, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (assignments.Count == 0)
        {
            return [];
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var claim = new RowsUpdate<TaskItem>(db, t => t.Id, t => t.AgentId, t => t.RoutingReason)
            .Set(t => t.Status, TaskState.Running)
            .Set(t => t.StartedAt, now)
            .Set(t => t.LeaseOwner, node)
            .Set(t => t.LeaseExpiresAt, leaseUntil)
            .Set(t => t.NextAttemptAt, null)
            .Increment(t => t.Attempt)
            .Where(t => t.Status, TaskState.Queued)
            .WhereStill(t => t.Attempt);
        foreach (var assignment in assignments)
        {
            claim.Add(assignment.TaskId, assignment.AgentId, assignment.Reason, assignment.Attempt);
        }

        if (db.Database.IsNpgsql())
        {
            return await AssignInOneTripAsync(db, claim, assignments, node, now, cancellationToken);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await claim.ExecuteAsync(cancellationToken) == 0)
        {
            return [];
        }

        // Those still queued a moment ago are now running here; another node's claim would hold its own lease. The
        // transaction holds the rows, so nothing changes them between the update and this read.
        var reasons = assignments.ToDictionary(a => a.TaskId, a => a.Reason);
        var ids = reasons.Keys.ToList();
        var won = await db.Tasks.AsNoTracking()
            .Where(t => ids.Contains(t.Id) && t.Status == TaskState.Running && t.LeaseOwner == node)
            .ToListAsync(cancellationToken);
        await RowsInsert.ExecuteAsync(db, [.. won.SelectMany(task => Claimed(task.Id, reasons[task.Id], node, now))], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return won;
    }

    public async Task DeferAsync(IReadOnlyList<TaskDeferral> deferrals, CancellationToken cancellationToken)
    {
        if (deferrals.Count == 0)
        {
            return;
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var deferral in deferrals)
        {
            await db.Tasks
                .Where(t => t.Id == deferral.TaskId && t.Status == TaskState.Queued)
                .ExecuteUpdateAsync(t => t.SetProperty(x => x.RoutingReason, deferral.Reason).SetProperty(x => x.NextAttemptAt, deferral.RetryAt), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<bool>> FinishAsync(IReadOnlyList<TaskOutcome> outcomes, string node, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var finish = new RowsUpdate<TaskItem>(db, t => t.Id, t => t.Status, t => t.ResultJson, t => t.ErrorMessage, t => t.CompletedAt, t => t.NextAttemptAt)
            .Set(t => t.LeaseOwner, null)
            .Set(t => t.LeaseExpiresAt, null)
            .Set(t => t.CancelRequested, false)
            .Where(t => t.Status, TaskState.Assigned, TaskState.Running)
            .Where(t => t.LeaseOwner, node);
        foreach (var outcome in outcomes)
        {
            finish.Add(outcome.TaskId, outcome.NextState, outcome.ResultJson, outcome.Error, Terminal.Contains(outcome.NextState) ? outcome.FinishedAt : null, outcome.RetryAt);
        }

        if (db.Database.IsNpgsql())
        {
            return await FinishInOneTripAsync(db, finish, outcomes, cancellationToken);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var updated = await finish.ExecuteAsync(cancellationToken);
        if (updated != outcomes.Count && outcomes.Count > 1)
        {
            // Some of these tasks are no longer this node's (cancelled or taken over meanwhile): each on its own
            // tells which.
            await transaction.RollbackAsync(cancellationToken);
            var each = new List<bool>(outcomes.Count);
            foreach (var outcome in outcomes)
            {
                each.AddRange(await FinishAsync([outcome], node, cancellationToken));
            }

            return each;
        }

        var applied = updated == outcomes.Count;
        await RowsInsert.ExecuteAsync(db, [.. outcomes.Select(outcome => Execution(outcome, applied))], cancellationToken);
        if (applied)
        {
            await RowsInsert.ExecuteAsync(db, [.. outcomes.Select(Finished)], cancellationToken);
            db.WebhookDeliveries.AddRange(outcomes.Select(o => o.Webhook).OfType<WebhookDelivery>());
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return [.. outcomes.Select(_ => applied)];
    }

    public async Task<LeaseRenewal> RenewLeasesAsync(IReadOnlyCollection<Guid> taskIds, string node, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (taskIds.Count == 0)
        {
            return new LeaseRenewal([], []);
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var ids = taskIds.ToList();
        await db.Tasks
            .Where(t => ids.Contains(t.Id) && t.LeaseOwner == node && Held.Contains(t.Status))
            .ExecuteUpdateAsync(t => t.SetProperty(x => x.LeaseExpiresAt, leaseUntil), cancellationToken);
        var held = await db.Tasks.AsNoTracking()
            .Where(t => ids.Contains(t.Id) && t.LeaseOwner == node && Held.Contains(t.Status))
            .Select(t => new { t.Id, t.CancelRequested })
            .ToListAsync(cancellationToken);
        return new LeaseRenewal(
            [.. held.Where(t => t.CancelRequested).Select(t => t.Id)],
            [.. ids.Except(held.Select(t => t.Id))]);
    }

    public async Task<IReadOnlyList<Guid>> RequeueLapsedAsync(DateTimeOffset now, int lapseAllowance, Func<TaskItem, WebhookDelivery?> webhook, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var lapsed = await db.Tasks.AsNoTracking()
            .Where(t => Held.Contains(t.Status) && t.LeaseExpiresAt < now)
            .OrderBy(t => t.LeaseExpiresAt)
            .Take(500)
            .ToListAsync(cancellationToken);
        var requeued = new List<Guid>();
        foreach (var task in lapsed)
        {
            var reason = $"the lease of node {task.LeaseOwner} lapsed";
            var (next, why) = task.CancelRequested ? (TaskState.Cancelled, $"{reason} after cancellation was asked for")
                : task.Attempt > task.MaxRetries + lapseAllowance ? (TaskState.Failed, $"{reason} and no retries are left")
                : (TaskState.Queued, $"{reason}; queued again");
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var terminal = next != TaskState.Queued;
            var updated = await db.Tasks
                .Where(t => t.Id == task.Id && t.Status == task.Status && t.LeaseOwner == task.LeaseOwner && t.LeaseExpiresAt < now)
                .ExecuteUpdateAsync(t => t
                    .SetProperty(x => x.Status, next)
                    .SetProperty(x => x.LeaseOwner, (string?)null)
                    .SetProperty(x => x.LeaseExpiresAt, (DateTimeOffset?)null)
                    .SetProperty(x => x.RoutingReason, why)
                    .SetProperty(x => x.ErrorMessage, terminal && next == TaskState.Failed ? why : task.ErrorMessage)
                    .SetProperty(x => x.CompletedAt, terminal ? now : null), cancellationToken);
            if (updated == 1)
            {
                db.TaskEvents.Add(new TaskEvent { TaskId = task.Id, FromStatus = task.Status, ToStatus = next, Reason = why, OccurredAt = now });
                task.Status = next;
                if (terminal && webhook(task) is { } delivery)
                {
                    db.WebhookDeliveries.Add(delivery);
                }

                await db.SaveChangesAsync(cancellationToken);
                if (!terminal)
                {
                    requeued.Add(task.Id);
                }
            }

            await transaction.CommitAsync(cancellationToken);
            db.ChangeTracker.Clear();
        }

        return requeued;
    }

    public async Task<CancelResult> CancelAsync(Guid taskId, string reason, DateTimeOffset now, Func<TaskItem, WebhookDelivery?> webhook, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var task = await db.Tasks.AsNoTracking().SingleOrDefaultAsync(t => t.Id == taskId, cancellationToken);
        if (task is null)
        {
            return CancelResult.NotFound;
        }

        if (Terminal.Contains(task.Status))
        {
            return CancelResult.AlreadyFinished;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var cancelled = await db.Tasks
            .Where(t => t.Id == taskId && (t.Status == TaskState.Queued || t.Status == TaskState.Created))
            .ExecuteUpdateAsync(t => t.SetProperty(x => x.Status, TaskState.Cancelled).SetProperty(x => x.CompletedAt, now).SetProperty(x => x.ErrorMessage, reason), cancellationToken);
        if (cancelled == 1)
        {
            db.TaskEvents.Add(new TaskEvent { TaskId = taskId, FromStatus = task.Status, ToStatus = TaskState.Cancelled, Reason = reason, OccurredAt = now });
            task.Status = TaskState.Cancelled;
            if (webhook(task) is { } delivery)
            {
                db.WebhookDeliveries.Add(delivery);
            }

            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return CancelResult.Cancelled;
        }

        var flagged = await db.Tasks
            .Where(t => t.Id == taskId && Held.Contains(t.Status))
            .ExecuteUpdateAsync(t => t.SetProperty(x => x.CancelRequested, true), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return flagged == 1 ? CancelResult.CancelRequested : CancelResult.AlreadyFinished;
    }

    public async Task<IReadOnlyList<TaskItem>> ExpireOverdueAsync(DateTimeOffset now, Func<TaskItem, WebhookDelivery?> webhook, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var overdue = await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskState.Queued && t.Deadline != null && t.Deadline < now)
            .OrderBy(t => t.Deadline)
            .Take(500)
            .ToListAsync(cancellationToken);
        var expired = new List<TaskItem>();
        foreach (var task in overdue)
        {
            const string reason = "the deadline passed before an agent could start it";
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var updated = await db.Tasks
                .Where(t => t.Id == task.Id && t.Status == TaskState.Queued)
                .ExecuteUpdateAsync(t => t.SetProperty(x => x.Status, TaskState.TimedOut).SetProperty(x => x.CompletedAt, now).SetProperty(x => x.ErrorMessage, reason), cancellationToken);
            if (updated == 1)
            {
                db.TaskEvents.Add(new TaskEvent { TaskId = task.Id, FromStatus = TaskState.Queued, ToStatus = TaskState.TimedOut, Reason = reason, OccurredAt = now });
                task.Status = TaskState.TimedOut;
                if (webhook(task) is { } delivery)
                {
                    db.WebhookDeliveries.Add(delivery);
                }

                await db.SaveChangesAsync(cancellationToken);
                expired.Add(task);
            }

            await transaction.CommitAsync(cancellationToken);
            db.ChangeTracker.Clear();
        }

        return expired;
    }

    public async Task<bool> RetryAsync(Guid taskId, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var from = await db.Tasks.Where(t => t.Id == taskId).Select(t => (TaskState?)t.Status).SingleOrDefaultAsync(cancellationToken);
        var updated = await db.Tasks
            .Where(t => t.Id == taskId && (t.Status == TaskState.Failed || t.Status == TaskState.TimedOut || t.Status == TaskState.Cancelled))
            .ExecuteUpdateAsync(t => t
                .SetProperty(x => x.Status, TaskState.Queued)
                .SetProperty(x => x.Attempt, 0)
                .SetProperty(x => x.CompletedAt, (DateTimeOffset?)null)
                .SetProperty(x => x.NextAttemptAt, (DateTimeOffset?)null)
                .SetProperty(x => x.CancelRequested, false), cancellationToken);
        if (updated == 1)
        {
            db.TaskEvents.Add(new TaskEvent { TaskId = taskId, FromStatus = from, ToStatus = TaskState.Queued, Reason = reason, OccurredAt = now });
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return updated == 1;
    }

    private static Task<TaskItem?> FindByKeyAsync(SutazaiDbContext db, TaskItem task, CancellationToken cancellationToken) =>
        db.Tasks.AsNoTracking().SingleOrDefaultAsync(t => t.UserId == task.UserId && t.IdempotencyKey == task.IdempotencyKey, cancellationToken);

    /// <summary>The attempt as an agent execution; one whose outcome came too late to count is stored as superseded.</summary>
    private static AgentExecution Execution(TaskOutcome outcome, bool applied) => new()
    {
        AgentId = outcome.AgentId,
        TaskId = outcome.TaskId,
        Attempt = outcome.Attempt,
        Status = applied ? ExecutionStatus(outcome.NextState) : Superseded,
        InputJson = outcome.InputJson,
        OutputJson = outcome.ResultJson,
        ErrorMessage = outcome.Error,
        ExecutionTimeMs = (outcome.FinishedAt - outcome.StartedAt).TotalMilliseconds,
        CreatedAt = outcome.StartedAt,
        CompletedAt = outcome.FinishedAt,
    };

    private static TaskEvent Finished(TaskOutcome outcome) =>
        new() { TaskId = outcome.TaskId, FromStatus = TaskState.Running, ToStatus = outcome.NextState, Reason = outcome.Reason, OccurredAt = outcome.FinishedAt };

    /// <summary>The transitions of a claim: assigned (with the router's reason), then running on this node.</summary>
    private static TaskEvent[] Claimed(Guid taskId, string reason, string node, DateTimeOffset now) =>
    [
        new TaskEvent { TaskId = taskId, FromStatus = TaskState.Queued, ToStatus = TaskState.Assigned, Reason = reason, OccurredAt = now },
        new TaskEvent { TaskId = taskId, FromStatus = TaskState.Assigned, ToStatus = TaskState.Running, Reason = $"started on {node}", OccurredAt = now },
    ];

    private static string ExecutionStatus(TaskState next) => next switch
    {
        TaskState.Completed => "completed",
        TaskState.Cancelled => "cancelled",
        TaskState.TimedOut => "timed_out",
        TaskState.Queued => "failed_will_retry",
        _ => "failed",
    };
}
