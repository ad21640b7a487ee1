using System.Text.Json;
using Sutazai.Core.Tasks;

namespace Sutazai.Server.Tasks;

public sealed record TaskView(
    Guid Id,
    string Title,
    string Description,
    string Type,
    string? Action,
    Guid? AgentId,
    string? Agent,
    IReadOnlyList<string> RequiredCapabilities,
    TaskState Status,
    int Priority,
    JsonElement? Input,
    JsonElement? Result,
    string? Error,
    string? RoutingReason,
    int Attempt,
    int MaxRetries,
    int? TimeoutSeconds,
    DateTimeOffset? Deadline,
    DateTimeOffset? NextAttemptAt,
    bool CancelRequested,
    Guid? UserId,
    string? WebhookUrl,
    JsonElement? Resources,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt)
{
    public static TaskView From(TaskItem task, string? agentName) => new(
        task.Id, task.Title, task.Description, task.Type, task.Action, task.AgentId, agentName, task.RequiredCapabilities, task.Status, task.Priority,
        Json(task.PayloadJson), Json(task.ResultJson), task.ErrorMessage, task.RoutingReason, task.Attempt, task.MaxRetries, task.TimeoutSeconds,
        task.Deadline, task.NextAttemptAt, task.CancelRequested, task.UserId, task.WebhookUrl, Json(task.ResourceNeedsJson), task.CreatedAt, task.StartedAt, task.CompletedAt);

    private static JsonElement? Json(string? text) => text is null ? null : JsonSerializer.Deserialize<JsonElement>(text);
}

public sealed record TaskEventView(TaskState? FromStatus, TaskState ToStatus, string Reason, DateTimeOffset OccurredAt)
{
    public static TaskEventView Of(TaskEvent e) => new(e.FromStatus, e.ToStatus, e.Reason, e.OccurredAt);
}

public sealed record ExecutionView(Guid Id, Guid AgentId, int Attempt, string Status, JsonElement? Output, string? Error, double? ExecutionTimeMs, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt)
{
    public static ExecutionView From(AgentExecution e) => new(
        e.Id, e.AgentId, e.Attempt, e.Status, e.OutputJson is null ? null : JsonSerializer.Deserialize<JsonElement>(e.OutputJson), e.ErrorMessage, e.ExecutionTimeMs, e.CreatedAt, e.CompletedAt);
}

public sealed record WebhookDeliveryView(Guid Id, string Event, string Url, WebhookDeliveryStatus Status, int Attempts, int? LastStatusCode, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset NextAttemptAt, DateTimeOffset? DeliveredAt)
{
    public static WebhookDeliveryView From(WebhookDelivery d) => new(d.Id, d.Event, d.Url, d.Status, d.Attempts, d.LastStatusCode, d.LastError, d.CreatedAt, d.NextAttemptAt, d.DeliveredAt);
}

public sealed record TaskChangeView(Guid TaskId, TaskState Status, string Reason, DateTimeOffset At, string? Agent, int Attempt)
{
    public static TaskChangeView From(TaskChange c) => new(c.TaskId, c.State, c.Reason, c.At, c.Agent, c.Attempt);
}
