namespace Sutazai.Core.Monitoring;

/// <summary>A sampled value of a named metric, with its labels.</summary>
public sealed class SystemMetric
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public double Value { get; set; }

    public Dictionary<string, string> Tags { get; set; } = [];

    public DateTimeOffset RecordedAt { get; set; }
}
