using System.Text.Json;
using Sutazai.Agents.BuiltIn;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Tasks;

namespace Sutazai.Agents.Coordination;

/// <summary>
/// The router and the queue as an agent: takes tasks in the original system's shape and submits them for real,
/// explains where a task would go, and shows the queue, the active assignments and statistics.
/// </summary>
public sealed class TaskAssignmentCoordinator : BuiltInAgent
{
    private readonly TaskSubmissions _submissions;
    private readonly ITaskQueries _queries;
    private readonly AgentDirectory _agents;

    public TaskAssignmentCoordinator(TaskSubmissions submissions, ITaskQueries queries, AgentDirectory agents, TimeProvider time)
        : base(BuiltInAgents.TaskAssignmentCoordinator, time)
    {
        _submissions = submissions;
        _queries = queries;
        _agents = agents;
        Handle<SubmitInput>(new("submit", "Submit a task in the original shape {task_id, task_type, description, required_capabilities, priority, max_retries, data, deadline}; it is routed like any other.", Permissions.TaskCreate), SubmitAsync);
        Handle<RouteInput>(new("route", "Say which agent would take a task like this now, and why, without submitting it."), RouteAsync);
        Handle<LimitInput>(new("queue", "Queued tasks in dispatch order, with why each waits.", Permissions.TaskManage), QueueAsync);
        Handle<LimitInput>(new("assignments", "Tasks assigned to or running on agents now.", Permissions.TaskManage), AssignmentsAsync);
        Handle<StatisticsInput>(new("statistics", "Tasks per state, and per agent over a window: finished, failed, throughput, wait and run times.", Permissions.TaskManage), StatisticsAsync);
    }

    private async Task<AgentResult> SubmitAsync(SubmitInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(input.TaskType))
        {
            return AgentResult.Failure("task_type is required.");
        }

        // The original shape names no action: when an agent offers the task type as an action, that is the action.
        var action = input.Action ?? (_agents.Entries.Any(a => a.ActionNames.Contains(input.TaskType)) ? input.TaskType : null);
        var result = await _submissions.SubmitAsync(
            new TaskRequest(
                Title: string.IsNullOrWhiteSpace(input.Description) ? input.TaskType : input.Description[..Math.Min(input.Description.Length, 500)],
                Description: input.Description,
                Type: input.TaskType,
                Action: action,
                Agent: input.Agent,
                RequiredCapabilities: input.RequiredCapabilities,
                Priority: input.Priority,
                Input: input.Data,
                MaxRetries: input.MaxRetries,
                TimeoutSeconds: input.EstimatedDuration is > 0 and var estimate ? (int)Math.Ceiling(estimate * 3) : null,
                Deadline: input.Deadline,
                IdempotencyKey: input.TaskId),
            new Submitter(request.Caller.UserId, request.Caller.Permissions),
            cancellationToken);
        return result switch
        {
            SubmissionResult.Accepted accepted => AgentResult.Success(new
            {
                task_id = accepted.Task.Id,
                original_task_id = input.TaskId,
                status = accepted.Task.Status,
                created = accepted.Created,
                action,
                priority = accepted.Task.Priority,
                queued_at = accepted.Task.CreatedAt,
            }),
            _ => AgentResult.Failure(result.Refusal!),
        };
    }

    private Task<AgentResult> RouteAsync(RouteInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var task = new TaskItem
        {
            Title = input.Description ?? input.TaskType ?? "",
            Description = input.Description ?? "",
            Type = input.TaskType ?? "",
            Action = input.Action,
            RequiredCapabilities = [.. input.RequiredCapabilities ?? []],
            Priority = input.Priority,
        };
        var decision = TaskRouter.Route(task, _agents.Entries);
        return Task.FromResult(AgentResult.Success(new
        {
            agent = decision.Agent?.Definition.Name,
            score = decision.Agent is null ? (double?)null : Math.Round(decision.Score, 1),
            busy = decision.Busy,
            reason = decision.Reason,
        }));
    }

    private async Task<AgentResult> QueueAsync(LimitInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var queued = await _queries.QueuedAsync(Math.Clamp(input.Limit, 1, 500), cancellationToken);
        return AgentResult.Success(new
        {
            count = queued.Count,
            tasks = queued.Select((t, position) => new
            {
                position = position + 1,
                task_id = t.Id,
                title = t.Title,
                type = t.Type,
                priority = t.Priority,
                waiting_seconds = Math.Round((now - t.CreatedAt).TotalSeconds, 1),
                attempt = t.Attempt,
                not_before = t.NextAttemptAt,
                reason = t.RoutingReason,
            }),
        });
    }

    private async Task<AgentResult> AssignmentsAsync(LimitInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var active = await _queries.ActiveAsync(Math.Clamp(input.Limit, 1, 500), cancellationToken);
        return AgentResult.Success(new
        {
            count = active.Count,
            assignments = active.Select(t => new
            {
                task_id = t.Id,
                title = t.Title,
                status = t.Status,
                agent = t.AgentId is { } id ? _agents.Find(id)?.Definition.Name : null,
                node = t.LeaseOwner,
                attempt = t.Attempt,
                running_seconds = t.StartedAt is { } started ? Math.Round((now - started).TotalSeconds, 1) : (double?)null,
                reason = t.RoutingReason,
            }),
        });
    }

    private async Task<AgentResult> StatisticsAsync(StatisticsInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (input.WindowMinutes is < 1 or > 10_080)
        {
            return AgentResult.Failure("window_minutes must be 1 to 10080.");
        }

        var now = Time.GetUtcNow();
        var statistics = await _queries.StatisticsAsync(now.AddMinutes(-input.WindowMinutes), cancellationToken);
        var finished = statistics.Finished;
        return AgentResult.Success(new
        {
            window_minutes = input.WindowMinutes,
            by_state = Enum.GetValues<TaskState>().ToDictionary(s => JsonNamingPolicy.SnakeCaseLower.ConvertName(s.ToString()), s => statistics.ByState.GetValueOrDefault(s)),
            finished = finished.Count,
            completed = finished.Count(f => f.State == TaskState.Completed),
            failed = finished.Count(f => f.State is TaskState.Failed or TaskState.TimedOut),
            throughput_per_minute = Math.Round(finished.Count / (double)input.WindowMinutes, 2),
            average_wait_seconds = Average(finished.Where(f => f.StartedAt is not null).Select(f => (f.StartedAt!.Value - f.CreatedAt).TotalSeconds)),
            average_run_seconds = Average(finished.Where(f => f.StartedAt is not null).Select(f => (f.CompletedAt - f.StartedAt!.Value).TotalSeconds)),
            by_agent = finished.Where(f => f.AgentId is not null).GroupBy(f => f.AgentId!.Value).Select(g => new
            {
                agent = _agents.Find(g.Key)?.Definition.Name ?? g.Key.ToString(),
                completed = g.Count(f => f.State == TaskState.Completed),
                failed = g.Count(f => f.State is TaskState.Failed or TaskState.TimedOut),
                cancelled = g.Count(f => f.State == TaskState.Cancelled),
                average_run_seconds = Average(g.Where(f => f.StartedAt is not null).Select(f => (f.CompletedAt - f.StartedAt!.Value).TotalSeconds)),
                in_flight_here = _agents.Find(g.Key)?.InFlight ?? 0,
            }).OrderByDescending(a => a.completed + a.failed),
        });
    }

    private static double? Average(IEnumerable<double> values)
    {
        var list = values.ToList();
        return list.Count == 0 ? null : Math.Round(list.Average(), 3);
    }

    /// <param name="TaskId">The caller's own id for the task; submitting it again returns the same task.</param>
    /// <param name="EstimatedDuration">Seconds; the task may run three times as long before it times out.</param>
    public sealed record SubmitInput(
        string? TaskId = null,
        string TaskType = "",
        string? Description = null,
        IReadOnlyList<string>? RequiredCapabilities = null,
        int Priority = TaskPriority.Default,
        double? EstimatedDuration = null,
        int MaxRetries = 0,
        JsonElement? Data = null,
        DateTimeOffset? Deadline = null,
        string? Agent = null,
        string? Action = null);

    public sealed record RouteInput(string? TaskType = null, string? Description = null, string? Action = null, IReadOnlyList<string>? RequiredCapabilities = null, int Priority = TaskPriority.Default);

    public sealed record LimitInput(int Limit = 50);

    public sealed record StatisticsInput(int WindowMinutes = 60);
}
