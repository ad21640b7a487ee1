using System.Text.Json;

namespace Sutazai.Core.Agents;

/// <summary>Something that can do work: a built-in agent, an external service over HTTP, or an LLM agent.</summary>
public interface IAgent
{
    /// <summary>The unique name the agent is registered under.</summary>
    string Name { get; }

    /// <summary>What the agent can be asked to do; empty when it takes any action (an HTTP agent that declared none).</summary>
    IReadOnlyList<AgentAction> Actions { get; }

    /// <summary>Does the work. Cancellation reaches the work through <paramref name="cancellationToken"/>.</summary>
    Task<AgentResult> ExecuteAsync(AgentRequest request, CancellationToken cancellationToken);

    /// <summary>Whether the agent can take work now, and why not.</summary>
    Task<AgentHealthReport> CheckHealthAsync(CancellationToken cancellationToken);
}

/// <param name="Name">For example <c>collect_metrics</c>.</param>
/// <param name="RequiredPermission">A permission the submitter must hold, beyond task:create (for example system:admin).</param>
/// <param name="Audited">Each run is written to the audit log, with what it did.</param>
public sealed record AgentAction(string Name, string Description, string? RequiredPermission = null, bool Audited = false);

/// <param name="TaskId">The task this run belongs to.</param>
/// <param name="Input">The task's payload, as JSON (an empty object when none was given).</param>
/// <param name="IdempotencyKey">The same on every attempt of the task, so side effects can be made exactly-once.</param>
/// <param name="Attempt">1 for the first run, then one more for each retry or lease takeover.</param>
/// <param name="Caller">Who submitted the task, with the permissions they held then.</param>
public sealed record AgentRequest(
    Guid TaskId,
    string Action,
    JsonElement Input,
    string IdempotencyKey,
    int Attempt,
    DateTimeOffset? Deadline,
    AgentCaller Caller);

public sealed record AgentCaller(Guid? UserId, string? Username, IReadOnlySet<string> Permissions)
{
    public static AgentCaller System { get; } = new(null, "system", new HashSet<string>(StringComparer.Ordinal));

    public bool Has(string permission) => Permissions.Contains(permission);
}

/// <summary>How a run ended. Failures say whether trying again could help.</summary>
public abstract record AgentResult
{
    public sealed record Succeeded(JsonElement Output) : AgentResult;

    public sealed record Failed(string Error, bool Retryable = false) : AgentResult;

    public static AgentResult Success<T>(T output) => new Succeeded(JsonSerializer.SerializeToElement(output, AgentJson.Options));

    public static AgentResult Failure(string error, bool retryable = false) => new Failed(error, retryable);
}

public sealed record AgentHealthReport(AgentHealthStatus Status, string? Detail = null)
{
    public static AgentHealthReport Healthy { get; } = new(AgentHealthStatus.Healthy);
}

public enum AgentHealthStatus
{
    Unknown,
    Healthy,
    Degraded,
    Unhealthy,
}

/// <summary>The JSON agents read and write: snake_case, like the API.</summary>
public static class AgentJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Reads the input as <typeparamref name="T"/>, or says what is wrong with it.</summary>
    public static bool TryRead<T>(JsonElement input, out T? value, out string? error)
    {
        try
        {
            value = input.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? default : input.Deserialize<T>(Options);
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            value = default;
            error = $"The input does not fit this action: {e.Message}";
            return false;
        }
    }
}
