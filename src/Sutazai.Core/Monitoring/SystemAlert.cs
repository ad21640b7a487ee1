namespace Sutazai.Core.Monitoring;

/// <summary>Something an operator should look at, until somebody resolves it.</summary>
public sealed class SystemAlert
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string AlertType { get; set; }

    public AlertSeverity Severity { get; set; }

    public required string Title { get; set; }

    public string Description { get; set; } = "";

    public required string Source { get; set; }

    public string Status { get; set; } = "open";

    public DateTimeOffset? ResolvedAt { get; set; }

    public Guid? ResolvedBy { get; set; }

    public string? MetadataJson { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

public enum AlertSeverity
{
    Info,
    Warning,
    Critical,
}
