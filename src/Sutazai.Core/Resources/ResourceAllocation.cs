namespace Sutazai.Core.Resources;

/// <summary>
/// A lease on part of the resource pool: asked for, then granted (or rejected), then released, or expired when
/// its time runs out. Pending requests wait in line until the pool has room.
/// </summary>
public sealed class ResourceAllocation
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>The requester's own id for this request; asking again with it returns the same allocation.</summary>
    public required string RequestId { get; set; }

    /// <summary>Who asks: an agent name, a user, or <c>task:{id}</c>. Fair sharing is between requesters.</summary>
    public required string Requester { get; set; }

    public Guid? TaskId { get; set; }

    public Guid? UserId { get; set; }

    public double CpuCores { get; set; }

    public long MemoryMb { get; set; }

    public int GpuCount { get; set; }

    /// <summary>Amounts of configured custom resources, by name.</summary>
    public Dictionary<string, double> Custom { get; set; } = [];

    /// <summary>1 is served first, 10 last.</summary>
    public int Priority { get; set; } = 5;

    public int DurationMinutes { get; set; }

    public AllocationStatus Status { get; set; } = AllocationStatus.Pending;

    /// <summary>Why it waits, or why it was refused.</summary>
    public string? Reason { get; set; }

    public DateTimeOffset RequestedAt { get; set; }

    public DateTimeOffset? GrantedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public ResourceAmounts Amounts => new(CpuCores, MemoryMb, GpuCount, Custom);
}

public enum AllocationStatus
{
    Pending,
    Granted,
    Released,
    Expired,
    Rejected,
}

/// <summary>An amount of every kind of resource.</summary>
public sealed record ResourceAmounts(double CpuCores, long MemoryMb, int GpuCount, IReadOnlyDictionary<string, double> Custom)
{
    public static ResourceAmounts None { get; } = new(0, 0, 0, new Dictionary<string, double>());

    public bool IsEmpty => CpuCores <= 0 && MemoryMb <= 0 && GpuCount <= 0 && Custom.Values.All(v => v <= 0);

    public IEnumerable<(string Name, double Amount)> Parts()
    {
        yield return ("cpu_cores", CpuCores);
        yield return ("memory_mb", MemoryMb);
        yield return ("gpu_count", GpuCount);
        foreach (var (name, amount) in Custom)
        {
            yield return (name, amount);
        }
    }

    public double Of(string name) => name switch
    {
        "cpu_cores" => CpuCores,
        "memory_mb" => MemoryMb,
        "gpu_count" => GpuCount,
        _ => Custom.TryGetValue(name, out var amount) ? amount : 0,
    };

    public static ResourceAmounts Sum(IEnumerable<ResourceAmounts> amounts)
    {
        var list = amounts.ToList();
        var custom = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, amount) in list.SelectMany(a => a.Custom))
        {
            custom[name] = custom.GetValueOrDefault(name) + amount;
        }

        return new ResourceAmounts(list.Sum(a => a.CpuCores), list.Sum(a => a.MemoryMb), list.Sum(a => a.GpuCount), custom);
    }
}
