using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sutazai.Core.Agents;
using Sutazai.Core.Tasks;

namespace Sutazai.Agents.Llm;

/// <summary>One tool call as the run reports it: what was asked, the task that did it, and how that ended.</summary>
public sealed record ToolCallRecord(string Tool, JsonElement Arguments, Guid? TaskId, string Status, string? Error);

/// <summary>
/// The tools of one run of an LLM agent. Every tool call is a task of the run's submitter (so their permissions,
/// the agents' limits and the audit apply), keyed by the run's attempt and the call's number, and bounded by the
/// run's deadline; calls nest at most <see cref="MaxDepth"/> deep (an agent that delegates to an agent that ...).
/// </summary>
internal sealed class TaskTools(SubTasks subTasks, AgentDirectory agents, string agentName, AgentRequest run)
{
    public const int MaxDepth = 4;
    private const string KeyPrefix = "tool:";
    private static readonly string[] ActionRequired = ["action"];
    private readonly ConcurrentQueue<ToolCallRecord> _calls = new();
    private int _count;

    public IReadOnlyList<ToolCallRecord> Calls => [.. _calls];

    /// <summary>How deep this run is: 0 for a task someone submitted, one more for each tool call that led to it.</summary>
    private int Depth => run.IdempotencyKey.StartsWith(KeyPrefix, StringComparison.Ordinal)
        && int.TryParse(run.IdempotencyKey.AsSpan(KeyPrefix.Length, Math.Max(0, run.IdempotencyKey.IndexOf(':', KeyPrefix.Length) - KeyPrefix.Length)), out var depth)
        ? depth : 0;

    public IList<AITool> For(IReadOnlyList<string> names) => [.. names.Select(Tool)];

    private AIFunction Tool(string name)
    {
        if (name == LlmAgentDefinition.SystemMetricsTool)
        {
            return new TaskFunction(name, "The host's metrics now: CPU (total, per core, load), memory, swap, filesystems, disk and network rates, top processes.",
                Schema(new { type = "object", properties = new { }, additionalProperties = false }),
                (_, token) => RunAsync(name, JsonSerializer.SerializeToElement(new { }), BuiltInAgents.HardwareResourceOptimizer, "collect_metrics",
                    JsonSerializer.SerializeToElement(new { interval_ms = 500, top = 5 }), token));
        }

        if (name == LlmAgentDefinition.DelegateTool)
        {
            return new TaskFunction(name, "Ask another agent to do something and wait for its answer. Name the agent, or give the capabilities it needs.",
                Schema(new
                {
                    type = "object",
                    properties = new
                    {
                        agent = new { type = "string", description = "The agent's name; leave it out to let the router choose by capabilities." },
                        capabilities = new { type = "array", items = new { type = "string" }, description = "What the agent must be able to do." },
                        action = new { type = "string", description = "The action to run." },
                        input = new { type = "object", description = "The action's input." },
                    },
                    required = ActionRequired,
                }),
                (arguments, token) => RunAsync(name, Json(arguments), Text(arguments, "agent"), Text(arguments, "action"), Value(arguments, "input"), token, Strings(arguments, "capabilities")));
        }

        var target = name[LlmAgentDefinition.AgentToolPrefix.Length..];
        var entry = agents.Find(target);
        var actions = entry?.Implementation?.Actions ?? [];
        var description = $"The agent '{target}'{(entry is null ? "" : $": {entry.Definition.Description}")}"
            + (actions.Count == 0 ? "" : $" Actions: {string.Join("; ", actions.Select(a => $"{a.Name}: {a.Description}"))}");
        object action = actions.Count == 0
            ? new { type = "string", description = "The action to run." }
            : new { type = "string", @enum = actions.Select(a => a.Name).ToArray(), description = "The action to run." };
        // Agent names (a-z, 0-9, '-') are function names every model accepts.
        return new TaskFunction(target, description,
            Schema(new { type = "object", properties = new { action, input = new { type = "object", description = "The action's input." } }, required = ActionRequired }),
            (arguments, token) => RunAsync(target, Json(arguments), target, Text(arguments, "action"), Value(arguments, "input"), token));
    }

    private async ValueTask<object?> RunAsync(
        string tool, JsonElement arguments, string? agent, string? action, JsonElement? input, CancellationToken cancellationToken, IReadOnlyList<string>? capabilities = null)
    {
        var number = Interlocked.Increment(ref _count);
        if (Depth + 1 > MaxDepth)
        {
            return Record(tool, arguments, null, "refused", $"tool calls nest at most {MaxDepth} deep; this one would be {Depth + 1}");
        }

        if (string.IsNullOrWhiteSpace(action))
        {
            return Record(tool, arguments, null, "refused", "give the 'action' to run");
        }

        if (agent == agentName)
        {
            return Record(tool, arguments, null, "refused", $"'{agentName}' cannot give work to itself");
        }

        var request = new TaskRequest(
            Title: $"{agentName}: {tool} {action}",
            Description: $"tool call {number} of task {run.TaskId} (agent {agentName})",
            Type: "tool-call",
            Action: action,
            Agent: string.IsNullOrWhiteSpace(agent) ? null : agent,
            RequiredCapabilities: capabilities,
            Input: input is { ValueKind: JsonValueKind.Object } ? input : JsonSerializer.SerializeToElement(new { }),
            Deadline: run.Deadline,
            IdempotencyKey: $"{KeyPrefix}{Depth + 1}:{run.TaskId}:{run.Attempt}:{number}");
        var outcome = await subTasks.RunAsync(request, new Submitter(run.Caller.UserId, run.Caller.Permissions), cancellationToken);
        if (outcome.Task is not { } task)
        {
            return Record(tool, arguments, null, "refused", outcome.Refusal);
        }

        var status = JsonNamingPolicy.SnakeCaseLower.ConvertName(task.Status.ToString());
        Record(tool, arguments, task.Id, status, task.Status == TaskState.Completed ? null : task.ErrorMessage ?? status);
        return task.Status == TaskState.Completed
            ? new { status, output = JsonSerializer.Deserialize<JsonElement>(task.ResultJson ?? "null") }
            : new { status, error = task.ErrorMessage ?? $"the task ended {status}" };
    }

    private object Record(string tool, JsonElement arguments, Guid? taskId, string status, string? error)
    {
        _calls.Enqueue(new ToolCallRecord(tool, arguments, taskId, status, error));
        return new { status, error };
    }

    private static JsonElement Schema(object schema) => JsonSerializer.SerializeToElement(schema);

    private static JsonElement Json(AIFunctionArguments arguments) => JsonSerializer.SerializeToElement(arguments.ToDictionary(a => a.Key, a => a.Value), AIJsonUtilities.DefaultOptions);

    private static JsonElement? Value(AIFunctionArguments arguments, string name) =>
        arguments.TryGetValue(name, out var value) && value is not null ? JsonSerializer.SerializeToElement(value, AIJsonUtilities.DefaultOptions) : null;

    private static string? Text(AIFunctionArguments arguments, string name) =>
        Value(arguments, name) is { ValueKind: JsonValueKind.String } text ? text.GetString() : null;

    private static List<string>? Strings(AIFunctionArguments arguments, string name) =>
        Value(arguments, name) is { ValueKind: JsonValueKind.Array } array
            ? [.. array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : null;

    /// <summary>A tool the model may call, described by a JSON Schema, run by <paramref name="invoke"/>.</summary>
    private sealed class TaskFunction(string name, string description, JsonElement schema, Func<AIFunctionArguments, CancellationToken, ValueTask<object?>> invoke) : AIFunction
    {
        public override string Name => name;

        public override string Description => description;

        public override JsonElement JsonSchema => schema;

        protected override ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken) => invoke(arguments, cancellationToken);
    }
}
