namespace Sutazai.Core.Tasks;

/// <summary>How a task run on another's behalf ended: the finished task, or why it was never accepted.</summary>
public sealed record SubTaskOutcome(TaskItem? Task, string? Refusal);

/// <summary>
/// Runs a task to its end for work that needs another agent's answer (an LLM agent's tool call): submits it as
/// the same submitter, waits for its changes here (and looks again now and then, since it may run on another
/// node), and cancels it when the waiter gives up, so nothing is left running for nobody.
/// </summary>
public sealed class SubTasks(TaskSubmissions submissions, ITaskQueries queries, TaskEventHub events, TimeProvider time)
{
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(2);

    public async Task<SubTaskOutcome> RunAsync(TaskRequest request, Submitter submitter, CancellationToken cancellationToken)
    {
        Guid? id = null;
        using var changes = events.Subscribe(c => c.TaskId == id);
        var submitted = await submissions.SubmitAsync(request, submitter, cancellationToken);
        if (submitted is not SubmissionResult.Accepted accepted)
        {
            return new SubTaskOutcome(null, submitted.Refusal);
        }

        id = accepted.Task.Id;
        try
        {
            while (true)
            {
                var task = await queries.FindAsync(accepted.Task.Id, cancellationToken);
                if (task is null or { Status: TaskState.Completed or TaskState.Failed or TaskState.Cancelled or TaskState.TimedOut })
                {
                    return new SubTaskOutcome(task, task is null ? "the task was deleted before it finished" : null);
                }

                await changes.WaitForChangesAsync(Recheck, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (await queries.FindAsync(accepted.Task.Id, CancellationToken.None) is { } task)
            {
                await submissions.CancelAsync(task, "the task that asked for it stopped waiting", CancellationToken.None);
            }

            throw;
        }
    }
}
