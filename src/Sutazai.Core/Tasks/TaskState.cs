namespace Sutazai.Core.Tasks;

public enum TaskState
{
    Created,
    Queued,
    Assigned,
    Running,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
}
