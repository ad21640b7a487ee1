using System.Text.Json;
using Sutazai.Core.Agents;

namespace Sutazai.Core.Tasks;

/// <summary>The notification a task's webhook receives when the task ends.</summary>
public static class TaskWebhooks
{
    public static WebhookDelivery? For(TaskItem task, DateTimeOffset now)
    {
        if (task.WebhookUrl is null)
        {
            return null;
        }

        var name = $"task.{JsonNamingPolicy.SnakeCaseLower.ConvertName(task.Status.ToString())}";
        var payload = new
        {
            @event = name,
            occurred_at = now,
            task = new
            {
                id = task.Id,
                title = task.Title,
                type = task.Type,
                action = task.Action,
                status = task.Status,
                agent_id = task.AgentId,
                attempt = task.Attempt,
                result = task.ResultJson is null ? (JsonElement?)null : JsonSerializer.Deserialize<JsonElement>(task.ResultJson),
                error = task.ErrorMessage,
                created_at = task.CreatedAt,
                completed_at = task.CompletedAt ?? now,
            },
        };
        return new WebhookDelivery
        {
            TaskId = task.Id,
            Event = name,
            Url = task.WebhookUrl,
            PayloadJson = JsonSerializer.Serialize(payload, AgentJson.Options),
            CreatedAt = now,
            NextAttemptAt = now,
        };
    }
}
