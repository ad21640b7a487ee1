namespace Sutazai.Core.Tasks;

/// <summary>A reusable starting point for a task: its type, the capabilities it needs and a payload to fill in.</summary>
public sealed class TaskTemplate
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    public string Description { get; set; } = "";

    public required string TaskType { get; set; }

    public string? Action { get; set; }

    public List<string> RequiredCapabilities { get; set; } = [];

    public int DefaultPriority { get; set; } = TaskPriority.Default;

    public string? PayloadJson { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
