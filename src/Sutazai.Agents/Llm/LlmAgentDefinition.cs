using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Sutazai.Core.Agents;

namespace Sutazai.Agents.Llm;

/// <summary>
/// What an LLM agent is: its model (the default when none), its instructions, the tools it may call, and the
/// JSON Schema its answer must meet, if any. Stored as the agent's definition JSON (snake_case).
/// </summary>
/// <param name="Tools">
/// <c>system_metrics</c> (the host's metrics, through hardware-resource-optimizer), <c>delegate</c> (any agent's
/// action), and <c>agent:NAME</c> (that agent as a tool of its own name). Each call runs as a task of the
/// submitter's, so the submitter's permissions and the agents' limits apply.
/// </param>
/// <param name="MaxToolCalls">Round trips to the model that may end in tool calls before the agent gives up.</param>
public sealed partial record LlmAgentDefinition(
    string Instructions,
    string? Model = null,
    IReadOnlyList<string>? Tools = null,
    JsonElement? OutputSchema = null,
    double? Temperature = null,
    int? MaxTokens = null,
    int? MaxToolCalls = null)
{
    public const string SystemMetricsTool = "system_metrics";
    public const string DelegateTool = "delegate";
    public const string AgentToolPrefix = "agent:";
    public const int DefaultMaxToolCalls = 8;

    public IReadOnlyList<string> ToolNames => Tools ?? [];

    public int ToolCallLimit => MaxToolCalls ?? DefaultMaxToolCalls;

    /// <summary>What is wrong with the definition, per field (as in <c>definition.tools[1]</c>); empty when nothing.</summary>
    public Dictionary<string, string[]> Problems(string prefix = "definition")
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(Instructions) || Instructions.Length > 100_000)
        {
            errors[$"{prefix}.instructions"] = ["Give the agent's instructions: 1 to 100000 characters."];
        }

        if (Model is { } model && (model.Length is 0 or > 200 || string.IsNullOrWhiteSpace(model)))
        {
            errors[$"{prefix}.model"] = ["Name a model of 1 to 200 characters, or leave it out for the default model."];
        }

        var tools = ToolNames;
        if (tools.Count > 32)
        {
            errors[$"{prefix}.tools"] = ["Give at most 32 tools."];
        }

        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i] ?? "";
            var known = tool is SystemMetricsTool or DelegateTool
                || (tool.StartsWith(AgentToolPrefix, StringComparison.Ordinal) && AgentName().IsMatch(tool[AgentToolPrefix.Length..]));
            if (!known)
            {
                errors[$"{prefix}.tools[{i}]"] = [$"'{tool}' is not a tool: use {SystemMetricsTool}, {DelegateTool}, or agent:NAME (an agent's name)."];
            }
            else if (tools.Take(i).Contains(tool, StringComparer.Ordinal))
            {
                errors[$"{prefix}.tools[{i}]"] = [$"'{tool}' is given twice."];
            }
        }

        if (OutputSchema is { } schema && SchemaProblem(schema) is { } problem)
        {
            errors[$"{prefix}.output_schema"] = [problem];
        }

        if (Temperature is < 0 or > 2)
        {
            errors[$"{prefix}.temperature"] = ["Use 0 to 2."];
        }

        if (MaxTokens is < 1 or > 32_768)
        {
            errors[$"{prefix}.max_tokens"] = ["Use 1 to 32768."];
        }

        if (MaxToolCalls is < 1 or > 32)
        {
            errors[$"{prefix}.max_tool_calls"] = ["Use 1 to 32."];
        }

        return errors;
    }

    /// <summary>The output schema, built; null when there is none.</summary>
    public JsonSchema? BuildOutputSchema() => OutputSchema is { } schema ? Build(schema) : null;

    /// <summary>Reads a stored definition; null with the reason when it cannot be used.</summary>
    public static LlmAgentDefinition? FromJson(string? json, out string? problem)
    {
        problem = null;
        LlmAgentDefinition? definition = null;
        try
        {
            definition = json is null ? null : JsonSerializer.Deserialize<LlmAgentDefinition>(json, AgentJson.Options);
        }
        catch (JsonException e)
        {
            problem = $"its stored definition cannot be read: {e.Message}";
            return null;
        }

        if (definition is null)
        {
            problem = "it has no definition (model, instructions, tools)";
            return null;
        }

        var errors = definition.Problems();
        if (errors.Count > 0)
        {
            problem = "its definition is not valid: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
            return null;
        }

        return definition;
    }

    private static string? SchemaProblem(JsonElement schema)
    {
        if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
        {
            return "Give a JSON Schema: an object such as {\"type\": \"object\", \"properties\": {...}}.";
        }

        try
        {
            Build(schema);
            return null;
        }
        catch (Exception e) when (e is JsonSchemaException or JsonException or ArgumentException or InvalidOperationException)
        {
            return $"This is not a JSON Schema that can be used: {e.Message}";
        }
    }

    // Each schema gets its own registry: nothing is registered globally, and no $ref is fetched from anywhere.
    private static JsonSchema Build(JsonElement schema) => JsonSchema.Build(schema, new BuildOptions { SchemaRegistry = new SchemaRegistry() });

    [GeneratedRegex("^[a-z][a-z0-9-]{2,63}$")]
    private static partial Regex AgentName();
}
