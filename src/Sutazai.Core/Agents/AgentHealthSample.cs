namespace Sutazai.Core.Agents;

/// <summary>One heartbeat of an agent, kept over time so health can be charted and judged.</summary>
public sealed class AgentHealthSample
{
    public long Id { get; set; }

    public Guid AgentId { get; set; }

    public required string Status { get; set; }

    public DateTimeOffset RecordedAt { get; set; }

    public double? CpuUsage { get; set; }

    public double? MemoryUsage { get; set; }

    public double? DiskUsage { get; set; }

    public double? ResponseTimeMs { get; set; }

    public long ErrorCount { get; set; }

    public long SuccessCount { get; set; }

    public string? MetadataJson { get; set; }
}
