namespace Sutazai.Core.Tasks;

/// <summary>A stored transition of a task from one state to another, with when and why.</summary>
public sealed class TaskEvent
{
    public long Id { get; set; }

    public Guid TaskId { get; set; }

    public TaskState? FromStatus { get; set; }

    public TaskState ToStatus { get; set; }

    public string Reason { get; set; } = "";

    public DateTimeOffset OccurredAt { get; set; }
}
