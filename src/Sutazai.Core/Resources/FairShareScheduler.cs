using System.Globalization;

namespace Sutazai.Core.Resources;

/// <summary>
/// Decides which waiting requests the pool can grant now. Requests that could never fit are rejected. The rest
/// wait in one line: better priority first; within a priority, the requester with the smallest dominant share
/// (the largest fraction of any one resource it already holds) first; then first come, first served. The head of
/// the line is never passed by a smaller request behind it, so a large request is not starved.
/// </summary>
public static class FairShareScheduler
{
    public static ScheduleDecision Decide(ResourceAmounts capacity, IReadOnlyList<ResourceAllocation> granted, IReadOnlyList<ResourceAllocation> pending)
    {
        var rejected = new List<(ResourceAllocation Allocation, string Reason)>();
        var waiting = new List<ResourceAllocation>();
        foreach (var request in pending)
        {
            if (Exceeds(request.Amounts, capacity) is { } reason)
            {
                rejected.Add((request, reason));
            }
            else
            {
                waiting.Add(request);
            }
        }

        var held = granted.GroupBy(g => g.Requester).ToDictionary(g => g.Key, g => ResourceAmounts.Sum(g.Select(a => a.Amounts)), StringComparer.Ordinal);
        var used = ResourceAmounts.Sum(granted.Select(g => g.Amounts));
        var grants = new List<ResourceAllocation>();
        var blocked = new List<(ResourceAllocation Allocation, string Reason)>();
        // The line's order: priority, then the requester's dominant share so far, then arrival.
        (int, double, DateTimeOffset, Guid) Place(ResourceAllocation r) =>
            (r.Priority, DominantShare(held.GetValueOrDefault(r.Requester) ?? ResourceAmounts.None, capacity), r.RequestedAt, r.Id);

        var queue = waiting.ToList();
        while (queue.Count > 0)
        {
            var next = queue.MinBy(Place)!;
            if (Exceeds(next.Amounts, Subtract(capacity, used)) is { } shortage)
            {
                // The head waits for room; nobody behind it jumps ahead.
                blocked.Add((next, $"waiting for room: {shortage}"));
                var position = 1;
                foreach (var behind in queue.Where(r => r != next).OrderBy(Place))
                {
                    blocked.Add((behind, $"in line behind {position++} earlier or more urgent request(s)"));
                }

                break;
            }

            grants.Add(next);
            queue.Remove(next);
            used = ResourceAmounts.Sum([used, next.Amounts]);
            held[next.Requester] = ResourceAmounts.Sum([held.GetValueOrDefault(next.Requester) ?? ResourceAmounts.None, next.Amounts]);
        }

        return new ScheduleDecision(grants, rejected, blocked);
    }

    public static double DominantShare(ResourceAmounts held, ResourceAmounts capacity) =>
        held.Parts().Select(p => capacity.Of(p.Name) > 0 ? p.Amount / capacity.Of(p.Name) : 0).DefaultIfEmpty(0).Max();

    public static ResourceAmounts Subtract(ResourceAmounts capacity, ResourceAmounts used) => new(
        capacity.CpuCores - used.CpuCores,
        capacity.MemoryMb - used.MemoryMb,
        capacity.GpuCount - used.GpuCount,
        capacity.Custom.ToDictionary(c => c.Key, c => c.Value - used.Of(c.Key), StringComparer.Ordinal));

    /// <returns>What does not fit, in words, or null when everything fits.</returns>
    public static string? Exceeds(ResourceAmounts wanted, ResourceAmounts available)
    {
        var short_ = wanted.Parts()
            .Where(p => p.Amount > 0 && p.Amount > available.Of(p.Name) + 1e-9)
            .Select(p => $"{p.Name} {Format(p.Amount)} wanted, {Format(Math.Max(0, available.Of(p.Name)))} {(available.Custom.ContainsKey(p.Name) || p.Name is "cpu_cores" or "memory_mb" or "gpu_count" ? "available" : "configured (unknown resource)")}")
            .ToList();
        return short_.Count == 0 ? null : string.Join("; ", short_);
    }

    private static string Format(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}

public sealed record ScheduleDecision(
    IReadOnlyList<ResourceAllocation> Grant,
    IReadOnlyList<(ResourceAllocation Allocation, string Reason)> Reject,
    IReadOnlyList<(ResourceAllocation Allocation, string Reason)> Wait);
