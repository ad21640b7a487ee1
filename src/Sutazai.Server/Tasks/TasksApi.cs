using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Resources;
using Sutazai.Core.Tasks;
using Sutazai.Persistence;
using Sutazai.Server.Api;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Tasks;

/// <summary>
/// Submitting, following and steering tasks. Callers see and act on their own tasks; task:manage sees and
/// acts on everyone's.
/// </summary>
public static class TasksApi
{
    private static readonly TaskState[] Finished = [TaskState.Completed, TaskState.Failed, TaskState.Cancelled, TaskState.TimedOut];

    public static RouteGroupBuilder MapTasksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/tasks").WithTags("Tasks");
        api.MapPost("/", CreateAsync).RequirePermission(Permissions.TaskCreate).Audited("task.create", "task")
            .WithSummary("Submit a task; send Idempotency-Key to make retries of this call safe");
        api.MapGet("/", ListAsync).RequirePermission(Permissions.TaskView)
            .WithSummary("Tasks, newest first, filtered by status, agent, priority and time");
        api.MapGet("/{id:guid}", GetAsync).RequirePermission(Permissions.TaskView).WithSummary("One task");
        api.MapPost("/{id:guid}/cancel", CancelAsync).RequirePermission(Permissions.TaskCreate).Audited("task.cancel", "task")
            .WithSummary("Cancel a task; a running one is stopped through its agent's cancellation token");
        api.MapPost("/{id:guid}/retry", RetryAsync).RequirePermission(Permissions.TaskCreate).Audited("task.retry", "task")
            .WithSummary("Queue a failed, timed-out or cancelled task again");
        api.MapGet("/{id:guid}/events", EventsAsync).RequirePermission(Permissions.TaskView).WithSummary("Every state change of a task, with time and reason");
        api.MapGet("/{id:guid}/executions", ExecutionsAsync).RequirePermission(Permissions.TaskView).WithSummary("Each attempt an agent made, with output or error");
        api.MapGet("/{id:guid}/webhooks", WebhooksAsync).RequirePermission(Permissions.TaskView).WithSummary("The task's webhook deliveries and their attempts");
        api.MapGet("/{id:guid}/stream", StreamOneAsync).RequirePermission(Permissions.TaskView)
            .WithSummary("Server-sent events: the task's state now, then each change until it ends");
        api.MapGet("/stream", StreamAllAsync).RequirePermission(Permissions.TaskView)
            .WithSummary("Server-sent events: changes of every task you may see");
        return api;
    }

    private static async Task<Results<Created<TaskView>, Ok<TaskView>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateTaskRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        ClaimsPrincipal caller,
        HttpContext http,
        TaskSubmissions submissions,
        AgentDirectory agents,
        CancellationToken cancellationToken)
    {
        var result = await submissions.SubmitAsync(
            new TaskRequest(
                request.Title, request.Description, request.Type, request.Action, request.Agent, request.RequiredCapabilities, request.Priority ?? TaskPriority.Default,
                request.Input, request.MaxRetries ?? 0, request.TimeoutSeconds, request.Deadline, request.WebhookUrl, request.WebhookSecret, idempotencyKey,
                request.Resources?.ToAmounts()),
            new Submitter(caller.UserId(), caller.PermissionsOf()),
            cancellationToken);
        switch (result)
        {
            case SubmissionResult.Accepted { Created: true } accepted:
                return TypedResults.Created($"/api/v1/tasks/{accepted.Task.Id}", View(accepted.Task, agents));
            case SubmissionResult.Accepted accepted:
                http.Response.Headers["Idempotency-Replayed"] = "true";
                return TypedResults.Ok(View(accepted.Task, agents));
            case SubmissionResult.Invalid invalid:
                return TypedResults.ValidationProblem(invalid.Errors, type: ProblemTypes.Validation);
            case SubmissionResult.Forbidden forbidden:
                return Problems.Forbidden(forbidden.Detail);
            default:
                throw new InvalidOperationException($"Unexpected submission result {result}.");
        }
    }

    private static async Task<Results<Ok<Page<TaskView>>, ValidationProblem>> ListAsync(
        [AsParameters] PageQuery page, [AsParameters] TaskQuery filter, ClaimsPrincipal caller, SutazaiDbContext db, AgentDirectory agents, CancellationToken cancellationToken)
    {
        var query = Visible(db.Tasks.AsNoTracking(), caller);
        if (filter.Status is { Length: > 0 })
        {
            var states = new List<TaskState>();
            foreach (var name in filter.Status.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Enum.TryParse<TaskState>(name.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var state) || !Enum.IsDefined(state))
                {
                    return Problems.Validation("status", $"Unknown status '{name}'. Use created, queued, assigned, running, completed, failed, cancelled or timed_out.");
                }

                states.Add(state);
            }

            query = query.Where(t => states.Contains(t.Status));
        }

        if (filter.Agent is { Length: > 0 })
        {
            if (agents.Find(filter.Agent) is not { } agent)
            {
                return Problems.Validation("agent", $"No agent is named '{filter.Agent}'.");
            }

            query = query.Where(t => t.AgentId == agent.Definition.Id);
        }

        if (filter.Priority is { } priority)
        {
            query = query.Where(t => t.Priority == priority);
        }

        if (filter.From is { } from)
        {
            query = query.Where(t => t.CreatedAt >= from);
        }

        if (filter.To is { } to)
        {
            query = query.Where(t => t.CreatedAt < to);
        }

        if (filter.UserId is { } userId)
        {
            query = query.Where(t => t.UserId == userId);
        }

        var total = await query.CountAsync(cancellationToken);
        var tasks = await query.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id).Skip(page.Offset).Take(page.Limit).ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<TaskView>([.. tasks.Select(t => View(t, agents))], total, page.Limit, page.Offset));
    }

    private static async Task<Results<Ok<TaskView>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal caller, SutazaiDbContext db, AgentDirectory agents, CancellationToken cancellationToken) =>
        await FindAsync(db, id, caller, cancellationToken) is { } task ? TypedResults.Ok(View(task, agents)) : Missing(id);

    private static async Task<Results<Accepted<TaskActionView>, ProblemHttpResult>> CancelAsync(
        Guid id, ClaimsPrincipal caller, SutazaiDbContext db, TaskSubmissions submissions, CancellationToken cancellationToken)
    {
        if (await FindAsync(db, id, caller, cancellationToken) is not { } task)
        {
            return Missing(id);
        }

        return await submissions.CancelAsync(task, $"cancelled by {caller.Username()}", cancellationToken) switch
        {
            CancelResult.Cancelled => TypedResults.Accepted($"/api/v1/tasks/{id}", new TaskActionView(id, "cancelled")),
            CancelResult.CancelRequested => TypedResults.Accepted($"/api/v1/tasks/{id}", new TaskActionView(id, "cancel_requested")),
            CancelResult.AlreadyFinished => Problems.Conflict($"Task {id} has already finished ({task.Status})."),
            _ => Missing(id),
        };
    }

    private static async Task<Results<Accepted<TaskActionView>, ProblemHttpResult>> RetryAsync(
        Guid id, ClaimsPrincipal caller, SutazaiDbContext db, ITaskStore store, TaskEngine engine, TaskEventHub events, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await FindAsync(db, id, caller, cancellationToken) is not { } task)
        {
            return Missing(id);
        }

        if (task.Deadline is { } deadline && deadline <= time.GetUtcNow())
        {
            return Problems.Conflict($"Task {id}'s deadline has passed; submit a new task instead.");
        }

        var reason = $"retried by {caller.Username()}";
        if (!await store.RetryAsync(id, reason, time.GetUtcNow(), cancellationToken))
        {
            return Problems.Conflict($"Task {id} is {task.Status}; only failed, timed-out or cancelled tasks can be retried.");
        }

        events.Publish(new TaskChange(id, task.UserId, TaskState.Queued, reason, time.GetUtcNow(), null, 0));
        engine.Wake();
        return TypedResults.Accepted($"/api/v1/tasks/{id}", new TaskActionView(id, "queued"));
    }

    private static async Task<Results<Ok<IReadOnlyList<TaskEventView>>, ProblemHttpResult>> EventsAsync(Guid id, ClaimsPrincipal caller, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        if (await FindAsync(db, id, caller, cancellationToken) is null)
        {
            return Missing(id);
        }

        var events = await db.TaskEvents.AsNoTracking().Where(e => e.TaskId == id).OrderBy(e => e.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok<IReadOnlyList<TaskEventView>>([.. events.Select(TaskEventView.Of)]);
    }

    private static async Task<Results<Ok<IReadOnlyList<ExecutionView>>, ProblemHttpResult>> ExecutionsAsync(Guid id, ClaimsPrincipal caller, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        if (await FindAsync(db, id, caller, cancellationToken) is null)
        {
            return Missing(id);
        }

        var executions = await db.AgentExecutions.AsNoTracking().Where(e => e.TaskId == id).OrderBy(e => e.CreatedAt).ThenBy(e => e.Attempt).ToListAsync(cancellationToken);
        return TypedResults.Ok<IReadOnlyList<ExecutionView>>([.. executions.Select(ExecutionView.From)]);
    }

    private static async Task<Results<Ok<IReadOnlyList<WebhookDeliveryView>>, ProblemHttpResult>> WebhooksAsync(Guid id, ClaimsPrincipal caller, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        if (await FindAsync(db, id, caller, cancellationToken) is null)
        {
            return Missing(id);
        }

        var deliveries = await db.WebhookDeliveries.AsNoTracking().Where(d => d.TaskId == id).OrderBy(d => d.CreatedAt).ToListAsync(cancellationToken);
        return TypedResults.Ok<IReadOnlyList<WebhookDeliveryView>>([.. deliveries.Select(WebhookDeliveryView.From)]);
    }

    private static async Task<Results<ServerSentEventsResult<object>, ProblemHttpResult>> StreamOneAsync(
        Guid id, ClaimsPrincipal caller, SutazaiDbContext db, TaskEventHub events, TimeProvider time, CancellationToken cancellationToken)
    {
        // Subscribe before reading the current state, so no change can fall between the two.
        var subscription = events.Subscribe(c => c.TaskId == id);
        if (await FindAsync(db, id, caller, cancellationToken) is not { } task)
        {
            subscription.Dispose();
            return Missing(id);
        }

        var current = new TaskChangeView(task.Id, task.Status, task.RoutingReason ?? "current state", task.CompletedAt ?? task.StartedAt ?? task.CreatedAt, null, task.Attempt);
        return TypedResults.ServerSentEvents(LiveEvents.Follow(subscription, current, change => Finished.Contains(change.Status), time, cancellationToken));
    }

    private static ServerSentEventsResult<object> StreamAllAsync(ClaimsPrincipal caller, TaskEventHub events, TimeProvider time, CancellationToken cancellationToken)
    {
        var everyone = caller.HasPermission(Permissions.TaskManage);
        var userId = caller.UserId();
        var subscription = events.Subscribe(c => everyone || c.UserId == userId);
        return TypedResults.ServerSentEvents(LiveEvents.Follow(subscription, first: null, isLast: _ => false, time, cancellationToken));
    }

    private static IQueryable<TaskItem> Visible(IQueryable<TaskItem> tasks, ClaimsPrincipal caller)
    {
        if (caller.HasPermission(Permissions.TaskManage))
        {
            return tasks;
        }

        var userId = caller.UserId();
        return tasks.Where(t => t.UserId == userId);
    }

    /// <summary>A task the caller may not see is reported as missing, so ids cannot be probed.</summary>
    private static Task<TaskItem?> FindAsync(SutazaiDbContext db, Guid id, ClaimsPrincipal caller, CancellationToken cancellationToken) =>
        Visible(db.Tasks.AsNoTracking(), caller).SingleOrDefaultAsync(t => t.Id == id, cancellationToken);

    private static ProblemHttpResult Missing(Guid id) => Problems.NotFound($"You have no task {id}.");

    private static TaskView View(TaskItem task, AgentDirectory agents) =>
        TaskView.From(task, task.AgentId is { } agentId ? agents.Find(agentId)?.Definition.Name : null);
}

/// <summary>A task to run. <c>input</c> is handed to the agent; <c>agent</c> pins it to one agent by name.</summary>
public sealed record CreateTaskRequest(
    [property: Required, StringLength(500, MinimumLength = 1)] string Title,
    [property: StringLength(10_000)] string? Description = null,
    [property: StringLength(200)] string? Type = null,
    [property: StringLength(200)] string? Action = null,
    [property: StringLength(200)] string? Agent = null,
    IReadOnlyList<string>? RequiredCapabilities = null,
    [property: Range(1, 10)] int? Priority = null,
    JsonElement? Input = null,
    [property: Range(0, 1000)] int? MaxRetries = null,
    [property: Range(1, int.MaxValue)] int? TimeoutSeconds = null,
    DateTimeOffset? Deadline = null,
    [property: StringLength(2000)] string? WebhookUrl = null,
    [property: StringLength(256)] string? WebhookSecret = null,
    TaskResources? Resources = null);

/// <summary>What a task needs while it runs; it waits until the resource arbiter grants it.</summary>
public sealed record TaskResources(
    [property: Range(0, 1_000_000)] double CpuCores = 0,
    [property: Range(0, long.MaxValue)] long MemoryMb = 0,
    [property: Range(0, 1024)] int GpuCount = 0,
    IReadOnlyDictionary<string, double>? Custom = null)
{
    public ResourceAmounts ToAmounts() => new(CpuCores, MemoryMb, GpuCount, Custom ?? new Dictionary<string, double>());
}

public sealed record TaskQuery(
    [FromQuery(Name = "status")] string? Status = null,
    [FromQuery(Name = "agent")] string? Agent = null,
    [FromQuery(Name = "priority")] int? Priority = null,
    [FromQuery(Name = "from")] DateTimeOffset? From = null,
    [FromQuery(Name = "to")] DateTimeOffset? To = null,
    [FromQuery(Name = "user_id")] Guid? UserId = null);

public sealed record TaskActionView(Guid TaskId, string Status);
