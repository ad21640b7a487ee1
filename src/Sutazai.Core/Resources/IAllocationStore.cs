namespace Sutazai.Core.Resources;

/// <summary>The pool's capacity: measured from the host plus configured custom resources.</summary>
public interface IResourcePool
{
    ResourceAmounts Capacity { get; }
}

/// <summary>
/// Allocations, stored. Every change runs the scheduler inside one serialized transaction, so nodes sharing the
/// store never grant the same room twice.
/// </summary>
public interface IAllocationStore
{
    /// <summary>Adds a request (or finds the one with the same request id) and schedules; returns it as it stands after.</summary>
    Task<ResourceAllocation> RequestAsync(ResourceAllocation request, ResourceAmounts capacity, DateTimeOffset now, CancellationToken cancellationToken);

    /// <returns>The allocation after the change, or null when there is no such request.</returns>
    Task<ResourceAllocation?> ReleaseAsync(string requestId, ResourceAmounts capacity, DateTimeOffset now, CancellationToken cancellationToken);

    /// <returns>The allocation after the change, or null when there is no such request.</returns>
    Task<ResourceAllocation?> ExtendAsync(string requestId, int minutes, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Expires lapsed grants and grants what now fits.</summary>
    Task<IReadOnlyList<ResourceAllocation>> ScheduleAsync(ResourceAmounts capacity, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Allocations that are granted or waiting.</summary>
    Task<IReadOnlyList<ResourceAllocation>> OpenAsync(CancellationToken cancellationToken);

    Task<ResourceAllocation?> FindAsync(string requestId, CancellationToken cancellationToken);
}
