namespace Sutazai.Core.Orchestration;

/// <summary>A multi-agent effort toward one goal: who took part, how, and how far it got.</summary>
public sealed class OrchestrationSession
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    public string TaskDescription { get; set; } = "";

    public List<string> AgentsInvolved { get; set; } = [];

    public string Strategy { get; set; } = "collaborative";

    public string Status { get; set; } = "pending";

    /// <summary>From 0 to 1.</summary>
    public double Progress { get; set; }

    public string? ResultJson { get; set; }

    public string? ErrorMessage { get; set; }

    public Guid? UserId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }
}
