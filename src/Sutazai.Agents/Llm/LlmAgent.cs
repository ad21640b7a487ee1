using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Agents.Models;
using Sutazai.Core.Agents;
using Sutazai.Core.Definitions;
using Sutazai.Core.Models;
using Sutazai.Core.Tasks;

namespace Sutazai.Agents.Llm;

/// <summary>
/// An agent that is a model with instructions and tools. Its one action, <c>run</c>, gives the model the task's
/// input (a <c>prompt</c>, or any JSON), lets it call its tools (each call a task, see <see cref="TaskTools"/>)
/// until it answers, and checks the answer against the output schema when there is one: an answer that does not
/// meet it fails the task, saying why, rather than passing on something made up.
/// </summary>
public sealed class LlmAgent(string name, LlmAgentDefinition definition, ModelGateway gateway, SubTasks subTasks, AgentDirectory agents) : IAgent
{
    public const string RunAction = "run";
    private const int DefaultMaxTokens = 1024;
    private readonly JsonSchema? _outputSchema = definition.BuildOutputSchema();

    public string Name => name;

    public IReadOnlyList<AgentAction> Actions { get; } =
    [
        new(RunAction, $"Ask the agent: {{prompt}} (or any JSON input). Model {definition.Model ?? "(the default)"}; tools: {(definition.ToolNames.Count == 0 ? "none" : string.Join(", ", definition.ToolNames))}."),
    ];

    /// <summary>Unhealthy (so it gets no work, and the API says why) while no backend serves its model.</summary>
    public async Task<AgentHealthReport> CheckHealthAsync(CancellationToken cancellationToken) =>
        await gateway.BackendOfAsync(definition.Model, cancellationToken) is null
            ? new AgentHealthReport(AgentHealthStatus.Unhealthy, $"no backend serves its model '{definition.Model ?? await gateway.DefaultModelAsync(cancellationToken)}'")
            : AgentHealthReport.Healthy;

    public async Task<AgentResult> ExecuteAsync(AgentRequest request, CancellationToken cancellationToken)
    {
        if (request.Action != RunAction)
        {
            return AgentResult.Failure($"'{request.Action}' is not an action of {Name}; it offers {RunAction}.");
        }

        if (Prompt(request.Input) is not { } prompt)
        {
            return AgentResult.Failure("Give the agent a non-empty 'prompt' (or any other JSON input).");
        }

        var tools = new TaskTools(subTasks, agents, Name, request);
        List<ChatMessage> messages = [new(ChatRole.System, Instructions()), new(ChatRole.User, prompt)];
        var options = new ChatOptions
        {
            Temperature = (float?)definition.Temperature,
            MaxOutputTokens = definition.MaxTokens ?? DefaultMaxTokens,
            Tools = definition.ToolNames.Count == 0 ? null : tools.For(definition.ToolNames),
            ResponseFormat = definition.OutputSchema is { } schema ? ChatResponseFormat.ForJsonSchema(schema, "output") : null,
        };
        var caller = new ModelCaller(request.Caller.UserId, Agent: Name, TaskId: request.TaskId);
        using var client = new FunctionInvokingChatClient(new GatewayChatClient(gateway, definition.Model, caller))
        {
            MaximumIterationsPerRequest = definition.ToolCallLimit,
            IncludeDetailedErrors = true,
        };
        return await GatewayFailures.RunAsync(async () =>
        {
            var response = await client.GetResponseAsync(messages, options, cancellationToken);
            var last = response.Messages.LastOrDefault();
            if (last?.Contents.OfType<FunctionCallContent>().Any() == true)
            {
                return AgentResult.Failure($"The model was still calling tools after {definition.ToolCallLimit} rounds (max_tool_calls); it gave no answer.");
            }

            var text = response.Text;
            JsonElement? output = null;
            if (_outputSchema is not null)
            {
                if (Check(text) is { } problem)
                {
                    return AgentResult.Failure($"The model's answer does not meet the agent's output schema: {problem}. The answer was: {Shorten(text)}");
                }

                output = JsonSerializer.Deserialize<JsonElement>(Json(text));
            }

            return AgentResult.Success(new
            {
                output = output ?? JsonSerializer.SerializeToElement(text),
                text,
                model = response.ModelId,
                tool_calls = tools.Calls,
                prompt_tokens = response.Usage?.InputTokenCount ?? 0,
                completion_tokens = response.Usage?.OutputTokenCount ?? 0,
                finish_reason = response.FinishReason?.Value,
            });
        });
    }

    private string Instructions() => definition.OutputSchema is { } schema
        ? $"{definition.Instructions}\n\nAnswer with only a JSON value that meets this JSON Schema, and nothing else:\n{schema.GetRawText()}"
        : definition.Instructions;

    /// <summary>What is wrong with the answer as the schema sees it; null when it meets it.</summary>
    private string? Check(string text)
    {
        JsonElement answer;
        try
        {
            answer = JsonSerializer.Deserialize<JsonElement>(Json(text));
        }
        catch (JsonException e)
        {
            return $"it is not JSON ({JsonReason.Of(e)})";
        }

        var result = _outputSchema!.Evaluate(answer, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return null;
        }

        var errors = (result.Details ?? []).Prepend(result)
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{(d.InstanceLocation.ToString() is { Length: > 0 } at ? at : "/")}: {e.Value}"))
            .Distinct()
            .Take(5);
        return string.Join("; ", errors);
    }

    /// <summary>The JSON of an answer, without the Markdown fence some models put around it.</summary>
    private static string Json(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.StartsWith("```", StringComparison.Ordinal) && trimmed.EndsWith("```", StringComparison.Ordinal) && trimmed.Length >= 6)
        {
            var body = trimmed[3..^3];
            var newline = body.IndexOf('\n');
            return newline < 0 ? body : body[(newline + 1)..];
        }

        return trimmed;
    }

    private static string Shorten(string text) => text.Length <= 500 ? text : text[..500] + "...";

    /// <summary>The text the model is given: the input's prompt (or message), a string input, or the input as JSON.</summary>
    private static string? Prompt(JsonElement input)
    {
        var text = input.ValueKind switch
        {
            JsonValueKind.String => input.GetString(),
            JsonValueKind.Object when input.EnumerateObject().Count() == 1
                && (input.TryGetProperty("prompt", out var prompt) || input.TryGetProperty("message", out prompt))
                && prompt.ValueKind == JsonValueKind.String => prompt.GetString(),
            JsonValueKind.Undefined or JsonValueKind.Null => null,
            _ => input.GetRawText(),
        };
        return string.IsNullOrWhiteSpace(text) || text == "{}" ? null : text;
    }
}

/// <summary>Builds the agent that serves a registered LLM agent, from its stored definition.</summary>
public sealed class LlmAgentFactory(ModelGateway gateway, IServiceProvider services) : ILlmAgentFactory
{
    public IAgent? Create(Agent definition, out string? problem)
    {
        var declared = LlmAgentDefinition.FromJson(definition.DefinitionJson, out problem);
        return declared is null
            ? null
            : new LlmAgent(definition.Name, declared, gateway, services.GetRequiredService<SubTasks>(), services.GetRequiredService<AgentDirectory>());
    }
}
