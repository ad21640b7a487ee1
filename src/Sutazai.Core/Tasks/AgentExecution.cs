namespace Sutazai.Core.Tasks;

/// <summary>One attempt of an agent at a task: what went in, what came out, how long it took.</summary>
public sealed class AgentExecution
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid AgentId { get; set; }

    public Guid? TaskId { get; set; }

    public int Attempt { get; set; }

    public required string Status { get; set; }

    public string? InputJson { get; set; }

    public string? OutputJson { get; set; }

    public double? ExecutionTimeMs { get; set; }

    public string? ErrorMessage { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }
}
