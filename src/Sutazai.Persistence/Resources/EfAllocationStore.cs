using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Resources;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Resources;

/// <summary>
/// Allocations on EF Core. Every change takes the pool's lock (a transaction-scoped advisory lock on PostgreSQL;
/// SQLite serializes writers itself) and reschedules, so what is granted never exceeds the pool.
/// </summary>
public sealed class EfAllocationStore(IDbContextFactory<SutazaiDbContext> contexts) : IAllocationStore
{
    public Task<ResourceAllocation> RequestAsync(ResourceAllocation request, ResourceAmounts capacity, DateTimeOffset now, CancellationToken cancellationToken) =>
        InLockAsync(async db =>
        {
            var existing = await db.ResourceAllocations.SingleOrDefaultAsync(a => a.RequestId == request.RequestId, cancellationToken);
            if (existing is null)
            {
                request.Status = AllocationStatus.Pending;
                request.RequestedAt = now;
                db.ResourceAllocations.Add(request);
                await db.SaveChangesAsync(cancellationToken);
            }
            else if (existing.Status is AllocationStatus.Released or AllocationStatus.Expired)
            {
                // A lease that ended is asked for anew (a task's next attempt, a renewed request): back in line.
                existing.CpuCores = request.CpuCores;
                existing.MemoryMb = request.MemoryMb;
                existing.GpuCount = request.GpuCount;
                existing.Custom = request.Custom;
                existing.Priority = request.Priority;
                existing.DurationMinutes = request.DurationMinutes;
                existing.Status = AllocationStatus.Pending;
                existing.RequestedAt = now;
                (existing.GrantedAt, existing.ExpiresAt, existing.EndedAt, existing.Reason) = (null, null, null, null);
                await db.SaveChangesAsync(cancellationToken);
            }

            await ScheduleAsync(db, capacity, now, cancellationToken);
            return await db.ResourceAllocations.AsNoTracking().SingleAsync(a => a.RequestId == request.RequestId, cancellationToken);
        }, cancellationToken);

    public Task<ResourceAllocation?> ReleaseAsync(string requestId, ResourceAmounts capacity, DateTimeOffset now, CancellationToken cancellationToken) =>
        InLockAsync(async db =>
        {
            var allocation = await db.ResourceAllocations.SingleOrDefaultAsync(a => a.RequestId == requestId, cancellationToken);
            if (allocation is null)
            {
                return null;
            }

            if (allocation.Status is AllocationStatus.Granted or AllocationStatus.Pending)
            {
                allocation.Status = AllocationStatus.Released;
                allocation.EndedAt = now;
                allocation.Reason = null;
                await db.SaveChangesAsync(cancellationToken);
                await ScheduleAsync(db, capacity, now, cancellationToken);
            }

            return await db.ResourceAllocations.AsNoTracking().SingleAsync(a => a.RequestId == requestId, cancellationToken);
        }, cancellationToken);

    public Task<ResourceAllocation?> ExtendAsync(string requestId, int minutes, DateTimeOffset now, CancellationToken cancellationToken) =>
        InLockAsync(async db =>
        {
            var allocation = await db.ResourceAllocations.SingleOrDefaultAsync(a => a.RequestId == requestId, cancellationToken);
            if (allocation is { Status: AllocationStatus.Granted } && allocation.ExpiresAt > now)
            {
                allocation.ExpiresAt = allocation.ExpiresAt.Value.AddMinutes(minutes);
                allocation.DurationMinutes += minutes;
                await db.SaveChangesAsync(cancellationToken);
            }
            else if (allocation is { Status: AllocationStatus.Pending })
            {
                allocation.DurationMinutes += minutes;
                await db.SaveChangesAsync(cancellationToken);
            }

            return allocation;
        }, cancellationToken);

    public Task<IReadOnlyList<ResourceAllocation>> ScheduleAsync(ResourceAmounts capacity, DateTimeOffset now, CancellationToken cancellationToken) =>
        InLockAsync(db => ScheduleAsync(db, capacity, now, cancellationToken), cancellationToken);

    public async Task<IReadOnlyList<ResourceAllocation>> OpenAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.ResourceAllocations.AsNoTracking()
            .Where(a => a.Status == AllocationStatus.Granted || a.Status == AllocationStatus.Pending)
            .OrderBy(a => a.Status).ThenBy(a => a.Priority).ThenBy(a => a.RequestedAt)
            .ToListAsync(cancellationToken);
    }

    public async Task<ResourceAllocation?> FindAsync(string requestId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.ResourceAllocations.AsNoTracking().SingleOrDefaultAsync(a => a.RequestId == requestId, cancellationToken);
    }

    private static async Task<IReadOnlyList<ResourceAllocation>> ScheduleAsync(SutazaiDbContext db, ResourceAmounts capacity, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var open = await db.ResourceAllocations
            .Where(a => a.Status == AllocationStatus.Granted || a.Status == AllocationStatus.Pending)
            .ToListAsync(cancellationToken);
        foreach (var lapsed in open.Where(a => a.Status == AllocationStatus.Granted && a.ExpiresAt <= now))
        {
            lapsed.Status = AllocationStatus.Expired;
            lapsed.EndedAt = now;
        }

        // A task that ended without giving its lease back (cancelled while waiting, its node gone) holds nothing.
        var taskIds = open.Where(a => a.TaskId is not null && a.Status is AllocationStatus.Granted or AllocationStatus.Pending).Select(a => a.TaskId!.Value).ToList();
        if (taskIds.Count > 0)
        {
            var ended = await db.Tasks
                .Where(t => taskIds.Contains(t.Id) && (t.Status == TaskState.Completed || t.Status == TaskState.Failed || t.Status == TaskState.Cancelled || t.Status == TaskState.TimedOut))
                .Select(t => t.Id)
                .ToListAsync(cancellationToken);
            foreach (var orphan in open.Where(a => a.TaskId is { } id && ended.Contains(id) && a.Status is AllocationStatus.Granted or AllocationStatus.Pending))
            {
                orphan.Status = AllocationStatus.Released;
                orphan.EndedAt = now;
                orphan.Reason = "its task ended";
            }
        }

        var decision = FairShareScheduler.Decide(
            capacity,
            [.. open.Where(a => a.Status == AllocationStatus.Granted)],
            [.. open.Where(a => a.Status == AllocationStatus.Pending)]);
        foreach (var grant in decision.Grant)
        {
            grant.Status = AllocationStatus.Granted;
            grant.GrantedAt = now;
            grant.ExpiresAt = now.AddMinutes(grant.DurationMinutes);
            grant.Reason = null;
        }

        foreach (var (rejected, reason) in decision.Reject)
        {
            rejected.Status = AllocationStatus.Rejected;
            rejected.EndedAt = now;
            rejected.Reason = $"it can never fit the pool: {reason}";
        }

        foreach (var (waiting, reason) in decision.Wait)
        {
            waiting.Reason = reason;
        }

        await db.SaveChangesAsync(cancellationToken);
        return decision.Grant;
    }

    private Task<T> InLockAsync<T>(Func<SutazaiDbContext, Task<T>> work, CancellationToken cancellationToken) =>
        SerializedWork.RunAsync(contexts, SerializedWork.ResourcePool, work, cancellationToken);
}
