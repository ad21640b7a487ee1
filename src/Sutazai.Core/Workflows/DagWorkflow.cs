using System.Text.Json;
using System.Text.Json.Serialization;
using Sutazai.Core.Tasks;

namespace Sutazai.Core.Workflows;

/// <summary>
/// The original multi-agent coordinator's workflow: tasks with dependencies, run as a DAG of real tasks with at
/// most <see cref="MaxConcurrentTasks"/> running at once. The full workflow engine builds on this shape.
/// </summary>
public sealed record DagWorkflow(
    string WorkflowId,
    string Name,
    IReadOnlyList<DagTask> Tasks,
    int MaxConcurrentTasks = 5,
    bool ContinueOnFailure = false)
{
    public const int MaxTasks = 500;
    public const int MaxConcurrencyLimit = 100;

    /// <summary>Every problem with the workflow, by field; empty when it can run.</summary>
    public IReadOnlyDictionary<string, string> Validate()
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(WorkflowId) || WorkflowId.Length > 100)
        {
            errors["workflow_id"] = "Give a workflow_id of 1 to 100 characters.";
        }

        if (MaxConcurrentTasks is < 1 or > MaxConcurrencyLimit)
        {
            errors["max_concurrent_tasks"] = $"Use 1 to {MaxConcurrencyLimit}.";
        }

        if (Tasks is not { Count: > 0 and <= MaxTasks })
        {
            errors["tasks"] = $"Give 1 to {MaxTasks} tasks.";
            return errors;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Tasks.Count; i++)
        {
            var task = Tasks[i];
            var at = $"tasks[{i}]";
            if (string.IsNullOrWhiteSpace(task.TaskId) || task.TaskId.Length > 100)
            {
                errors[$"{at}.task_id"] = "Give a task_id of 1 to 100 characters.";
            }
            else if (!ids.Add(task.TaskId))
            {
                errors[$"{at}.task_id"] = $"'{task.TaskId}' is used by an earlier task.";
            }

            if (task.AgentId is null && task.RequiredCapabilities is not { Count: > 0 } && task.Action is null)
            {
                errors[$"{at}.agent_id"] = "Name the agent, its required_capabilities or an action, so the task can be routed.";
            }

            if (task.Priority is < TaskPriority.Highest or > TaskPriority.Lowest)
            {
                errors[$"{at}.priority"] = "Use 1 (runs first) to 10 (runs last).";
            }

            if (task.Timeout is < 1)
            {
                errors[$"{at}.timeout"] = "Give a positive number of seconds.";
            }
        }

        for (var i = 0; i < Tasks.Count; i++)
        {
            foreach (var dependency in Tasks[i].Dependencies ?? [])
            {
                if (dependency == Tasks[i].TaskId)
                {
                    errors[$"tasks[{i}].dependencies"] = $"'{dependency}' depends on itself.";
                }
                else if (!ids.Contains(dependency))
                {
                    errors[$"tasks[{i}].dependencies"] = $"'{dependency}' is not a task of this workflow.";
                }
            }
        }

        if (errors.Count == 0 && FindCycle() is { } cycle)
        {
            errors["tasks"] = $"The dependencies form a cycle: {string.Join(" -> ", cycle)}.";
        }

        return errors;
    }

    /// <summary>A dependency cycle as the task ids along it (first repeated at the end), or null.</summary>
    private List<string>? FindCycle()
    {
        var byId = Tasks.ToDictionary(t => t.TaskId, StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 on the path, 2 done
        var path = new List<string>();

        List<string>? Visit(string id)
        {
            state[id] = 1;
            path.Add(id);
            foreach (var dependency in byId[id].Dependencies ?? [])
            {
                if (state.GetValueOrDefault(dependency) == 1)
                {
                    return [.. path[path.IndexOf(dependency)..], dependency];
                }

                if (state.GetValueOrDefault(dependency) == 0 && Visit(dependency) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[id] = 2;
            return null;
        }

        return Tasks.Select(t => state.GetValueOrDefault(t.TaskId) == 0 ? Visit(t.TaskId) : null).FirstOrDefault(c => c is not null);
    }
}

/// <param name="AgentId">The agent's name (the original's agent_id); or leave it to the router.</param>
/// <param name="TaskData">The task's input; an <c>action</c> inside it names the action when none is given.</param>
/// <param name="Timeout">Seconds.</param>
public sealed record DagTask(
    string TaskId,
    string? AgentId = null,
    string? Action = null,
    IReadOnlyList<string>? RequiredCapabilities = null,
    JsonElement? TaskData = null,
    int Priority = TaskPriority.Default,
    int? Timeout = null,
    int MaxRetries = 0,
    IReadOnlyList<string>? Dependencies = null)
{
    [JsonIgnore]
    public string? ActionOrFromData => Action
        ?? (TaskData is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty("action", out var action) && action.ValueKind == JsonValueKind.String ? action.GetString() : null);
}

/// <summary>Where each task of a workflow stands, and what to do next.</summary>
public static class DagPlanner
{
    public static DagPlan Plan(DagWorkflow workflow, IReadOnlyDictionary<string, TaskState> states)
    {
        var status = new Dictionary<string, DagTaskStatus>(StringComparer.Ordinal);
        var byId = workflow.Tasks.ToDictionary(t => t.TaskId, StringComparer.Ordinal);

        DagTaskStatus StatusOf(string id)
        {
            if (status.TryGetValue(id, out var known))
            {
                return known;
            }

            var computed = states.TryGetValue(id, out var state)
                ? state switch
                {
                    TaskState.Completed => DagTaskStatus.Completed,
                    TaskState.Failed or TaskState.TimedOut => DagTaskStatus.Failed,
                    TaskState.Cancelled => DagTaskStatus.Cancelled,
                    _ => DagTaskStatus.Active,
                }
                : (byId[id].Dependencies ?? []).Select(StatusOf).ToList() switch
                {
                    var deps when deps.Any(d => d is DagTaskStatus.Failed or DagTaskStatus.Cancelled or DagTaskStatus.Skipped) => DagTaskStatus.Skipped,
                    var deps when deps.All(d => d == DagTaskStatus.Completed) => DagTaskStatus.Ready,
                    _ => DagTaskStatus.Blocked,
                };
            status[id] = computed;
            return computed;
        }

        foreach (var task in workflow.Tasks)
        {
            StatusOf(task.TaskId);
        }

        var failed = status.Values.Any(s => s is DagTaskStatus.Failed or DagTaskStatus.Cancelled);
        var stopping = failed && !workflow.ContinueOnFailure;
        var active = status.Values.Count(s => s == DagTaskStatus.Active);
        var start = stopping
            ? []
            : workflow.Tasks
                .Select((task, index) => (task, index))
                .Where(t => status[t.task.TaskId] == DagTaskStatus.Ready)
                .OrderBy(t => t.task.Priority).ThenBy(t => t.index)
                .Take(Math.Max(0, workflow.MaxConcurrentTasks - active))
                .Select(t => t.task)
                .ToList();
        var finished = active == 0 && start.Count == 0;
        return new DagPlan(status, start, stopping, finished, failed);
    }
}

/// <param name="Stopping">A task failed and the workflow does not continue on failure: start nothing new, stop the rest.</param>
/// <param name="Finished">Nothing runs and nothing more will start.</param>
public sealed record DagPlan(
    IReadOnlyDictionary<string, DagTaskStatus> Status,
    IReadOnlyList<DagTask> Start,
    bool Stopping,
    bool Finished,
    bool Failed)
{
    public double Progress => Status.Count == 0 ? 1 : (double)Status.Values.Count(s => s is DagTaskStatus.Completed or DagTaskStatus.Failed or DagTaskStatus.Cancelled or DagTaskStatus.Skipped) / Status.Count;
}

public enum DagTaskStatus
{
    /// <summary>Waiting for dependencies.</summary>
    Blocked,

    /// <summary>Its dependencies are done; it starts when there is room.</summary>
    Ready,

    /// <summary>Its task exists and has not ended.</summary>
    Active,
    Completed,
    Failed,
    Cancelled,

    /// <summary>A dependency failed, so it never runs.</summary>
    Skipped,
}
