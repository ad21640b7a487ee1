using System.Collections.Concurrent;
using System.Text.Json;
using Sutazai.Agents.BuiltIn;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Tasks;
using Sutazai.Core.Workflows;

namespace Sutazai.Agents.Coordination;

/// <summary>
/// Runs the original coordinator's workflows (tasks with dependencies and <c>max_concurrent_tasks</c>) as a DAG of
/// real tasks. All its state is in those tasks: each is created with the idempotency key
/// <c>dag:{run task id}:{task_id}</c>, so a run taken over after a crash finds what was already started and
/// carries on from there.
/// </summary>
public sealed class MultiAgentCoordinator : BuiltInAgent
{
    /// <summary>How often a run looks at its tasks when no change was heard (changes on other nodes are not).</summary>
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(2);

    private readonly TaskSubmissions _submissions;
    private readonly ITaskQueries _queries;
    private readonly TaskEventHub _events;
    private readonly AgentDirectory _agents;

    public MultiAgentCoordinator(TaskSubmissions submissions, ITaskQueries queries, TaskEventHub events, AgentDirectory agents, TimeProvider time)
        : base(BuiltInAgents.MultiAgentCoordinator, time)
    {
        _submissions = submissions;
        _queries = queries;
        _events = events;
        _agents = agents;
        Handle<DagWorkflow>(new("submit", "Submit a workflow {workflow_id, name, tasks:[{task_id, agent_id, action, task_data, priority, timeout, dependencies}], max_concurrent_tasks}; it runs as its own task. Once per workflow_id.", Permissions.WorkflowExecute), SubmitAsync);
        Handle<DagWorkflow>(new("run", "Run a workflow in this task: start each task when its dependencies completed, at most max_concurrent_tasks at once; fail (or, with continue_on_failure, skip dependents) when one fails.", Permissions.WorkflowExecute), RunAsync);
        Handle<StatusInput>(new("status", "A workflow's live status: each task's state, progress, results and errors.", Permissions.WorkflowView), StatusAsync);
    }

    private static string RunKey(string workflowId) => $"workflow:{workflowId}";

    private static string StepKey(Guid runTaskId, string stepId) => $"dag:{runTaskId}:{stepId}";

    private async Task<AgentResult> SubmitAsync(DagWorkflow workflow, AgentRequest request, CancellationToken cancellationToken)
    {
        if (Invalid(workflow) is { } invalid)
        {
            return invalid;
        }

        var result = await _submissions.SubmitAsync(
            new TaskRequest(
                Title: $"workflow {workflow.Name}".Trim(),
                Description: $"{workflow.Tasks.Count} tasks, at most {workflow.MaxConcurrentTasks} at once",
                Type: "workflow",
                Action: "run",
                Agent: Name,
                Input: JsonSerializer.SerializeToElement(workflow, AgentJson.Options),
                IdempotencyKey: RunKey(workflow.WorkflowId)),
            new Submitter(request.Caller.UserId, request.Caller.Permissions),
            cancellationToken);
        return result is SubmissionResult.Accepted accepted
            ? AgentResult.Success(new { workflow_id = workflow.WorkflowId, run_task_id = accepted.Task.Id, created = accepted.Created, status = accepted.Task.Status })
            : AgentResult.Failure(result.Refusal!);
    }

    private async Task<AgentResult> RunAsync(DagWorkflow workflow, AgentRequest request, CancellationToken cancellationToken)
    {
        if (Invalid(workflow) is { } invalid)
        {
            return invalid;
        }

        var keys = workflow.Tasks.ToDictionary(t => StepKey(request.TaskId, t.TaskId), t => t.TaskId, StringComparer.Ordinal);
        var children = new ConcurrentDictionary<Guid, bool>();
        using var changes = _events.Subscribe(c => children.ContainsKey(c.TaskId));
        var stopped = false;
        try
        {
            while (true)
            {
                var (plan, steps) = await ReadAsync(workflow, request.TaskId, request.Caller.UserId, keys, cancellationToken);
                foreach (var step in steps.Values)
                {
                    children.TryAdd(step.Id, true);
                }

                if (plan.Stopping && !stopped)
                {
                    stopped = true;
                    await CancelAsync(steps.Values, "another task of its workflow failed");
                }

                if (plan.Finished)
                {
                    // A failed run's error says which tasks failed and why; its status action shows the whole picture.
                    return plan.Failed
                        ? AgentResult.Failure($"workflow {workflow.WorkflowId} failed: {FailureSummary(plan, steps)}")
                        : AgentResult.Success(Report(workflow, request.TaskId, plan, steps));
                }

                foreach (var step in plan.Start)
                {
                    var submitted = await _submissions.SubmitAsync(StepRequest(workflow, step, request.TaskId), new Submitter(request.Caller.UserId, request.Caller.Permissions), cancellationToken);
                    if (submitted is not SubmissionResult.Accepted accepted)
                    {
                        await CancelAsync(steps.Values, $"task '{step.TaskId}' of its workflow could not be submitted");
                        return AgentResult.Failure($"workflow {workflow.WorkflowId}: task '{step.TaskId}' could not be submitted: {submitted.Refusal}");
                    }

                    children.TryAdd(accepted.Task.Id, true);
                }

                if (plan.Start.Count == 0)
                {
                    // Wait for one of its tasks to change here, or look again after a while (they may run elsewhere).
                    await changes.WaitForChangesAsync(Recheck, Time, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run was cancelled or timed out: so is what it started.
            var (_, steps) = await ReadAsync(workflow, request.TaskId, request.Caller.UserId, keys, CancellationToken.None);
            await CancelAsync(steps.Values, "its workflow was cancelled");
            throw;
        }
    }

    private async Task<AgentResult> StatusAsync(StatusInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        TaskItem? run = null;
        if (input.RunTaskId is { } runTaskId)
        {
            run = await _queries.FindAsync(runTaskId, cancellationToken);
        }
        else if (!string.IsNullOrWhiteSpace(input.WorkflowId))
        {
            run = (await _queries.ByIdempotencyKeysAsync(request.Caller.UserId, [RunKey(input.WorkflowId)], cancellationToken)).SingleOrDefault();
        }

        var what = input.RunTaskId?.ToString() ?? input.WorkflowId ?? "(none given)";
        if (run is null || run.Action != "run" || run.AgentId != _agents.Find(Name)?.Definition.Id
            || (run.UserId != request.Caller.UserId && !request.Caller.Has(Permissions.TaskManage)))
        {
            return AgentResult.Failure($"There is no workflow run '{what}' that you can see; give its workflow_id or run_task_id.");
        }

        var workflow = JsonSerializer.Deserialize<DagWorkflow>(run.PayloadJson ?? "{}", AgentJson.Options)!;
        var keys = workflow.Tasks.ToDictionary(t => StepKey(run.Id, t.TaskId), t => t.TaskId, StringComparer.Ordinal);
        var (plan, steps) = await ReadAsync(workflow, run.Id, run.UserId, keys, cancellationToken);
        return AgentResult.Success(new
        {
            run_status = run.Status,
            report = Report(workflow, run.Id, plan, steps),
        });
    }

    private async Task<(DagPlan Plan, Dictionary<string, TaskItem> Steps)> ReadAsync(
        DagWorkflow workflow, Guid runTaskId, Guid? userId, Dictionary<string, string> keys, CancellationToken cancellationToken)
    {
        var tasks = await _queries.ByIdempotencyKeysAsync(userId, keys.Keys, cancellationToken);
        var steps = tasks.ToDictionary(t => keys[t.IdempotencyKey!], StringComparer.Ordinal);
        var plan = DagPlanner.Plan(workflow, steps.ToDictionary(s => s.Key, s => s.Value.Status, StringComparer.Ordinal));
        return (plan, steps);
    }

    private async Task CancelAsync(IEnumerable<TaskItem> steps, string reason)
    {
        foreach (var step in steps.Where(s => s.Status is not (TaskState.Completed or TaskState.Failed or TaskState.Cancelled or TaskState.TimedOut)))
        {
            await _submissions.CancelAsync(step, reason, CancellationToken.None);
        }
    }

    private static TaskRequest StepRequest(DagWorkflow workflow, DagTask step, Guid runTaskId) => new(
        Title: $"{workflow.Name} / {step.TaskId}".Trim(' ', '/'),
        Description: $"task '{step.TaskId}' of workflow {workflow.WorkflowId} (run {runTaskId})",
        Type: step.ActionOrFromData ?? "workflow-step",
        Action: step.ActionOrFromData,
        Agent: step.AgentId,
        RequiredCapabilities: step.RequiredCapabilities,
        Priority: step.Priority,
        Input: step.TaskData,
        MaxRetries: step.MaxRetries,
        TimeoutSeconds: step.Timeout,
        IdempotencyKey: StepKey(runTaskId, step.TaskId));

    private static object Report(DagWorkflow workflow, Guid runTaskId, DagPlan plan, Dictionary<string, TaskItem> steps) => new
    {
        workflow_id = workflow.WorkflowId,
        name = workflow.Name,
        run_task_id = runTaskId,
        status = plan.Finished ? (plan.Failed ? "failed" : "completed") : plan.Stopping ? "stopping" : "running",
        progress = Math.Round(plan.Progress, 4),
        counts = plan.Status.GroupBy(s => s.Value).ToDictionary(g => JsonNamingPolicy.SnakeCaseLower.ConvertName(g.Key.ToString()), g => g.Count()),
        tasks = workflow.Tasks.Select(t =>
        {
            steps.TryGetValue(t.TaskId, out var task);
            return new
            {
                task_id = t.TaskId,
                status = plan.Finished && plan.Status[t.TaskId] is DagTaskStatus.Ready or DagTaskStatus.Blocked ? DagTaskStatus.Skipped : plan.Status[t.TaskId],
                dependencies = t.Dependencies ?? [],
                platform_task_id = task?.Id,
                task_status = task?.Status,
                result = task?.ResultJson is { } json ? JsonSerializer.Deserialize<JsonElement>(json) : (JsonElement?)null,
                error = task?.ErrorMessage,
                started_at = task?.StartedAt,
                completed_at = task?.CompletedAt,
            };
        }),
    };

    private static string FailureSummary(DagPlan plan, Dictionary<string, TaskItem> steps) => string.Join("; ", plan.Status
        .Where(s => s.Value is DagTaskStatus.Failed or DagTaskStatus.Cancelled)
        .Select(s => $"'{s.Key}' {steps[s.Key].Status.ToString().ToLowerInvariant()}{(steps[s.Key].ErrorMessage is { } error ? $": {error}" : "")}"));

    private static AgentResult? Invalid(DagWorkflow workflow) => workflow.Validate() is { Count: > 0 } errors
        ? AgentResult.Failure("The workflow is not valid: " + string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}")))
        : null;

    public sealed record StatusInput(string? WorkflowId = null, Guid? RunTaskId = null);
}
