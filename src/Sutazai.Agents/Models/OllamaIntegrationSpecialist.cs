using System.Text.Json;
using Microsoft.Extensions.AI;
using Sutazai.Agents.BuiltIn;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;

namespace Sutazai.Agents.Models;

/// <summary>
/// Model management and generation as tasks: every call goes through the gateway (cache, limits, retries,
/// fallbacks, usage recorded against the task, its submitter and this agent), so a task gets exactly what the
/// API would answer. A failed call fails the task with the gateway's reason; busy models and failing backends
/// are retryable.
/// </summary>
public sealed class OllamaIntegrationSpecialist : BuiltInAgent
{
    private const int DefaultMaxTokens = 512;
    private readonly ModelGateway _gateway;

    public OllamaIntegrationSpecialist(ModelGateway gateway, TimeProvider time)
        : base(BuiltInAgents.OllamaIntegrationSpecialist, time)
    {
        _gateway = gateway;
        Handle<ListInput>(new("list_models", "The models every backend serves now, with status, and the default model.", Permissions.ModelView), ListAsync);
        Handle<PullInput>(new("pull_model", "Pull {model, backend?} onto a backend that can (Ollama); reports each stage of progress.", Permissions.ModelManage, Audited: true), PullAsync);
        Handle<SwitchInput>(new("switch_model", "Make {model} the default model on every node.", Permissions.ModelManage, Audited: true), SwitchAsync);
        Handle<GenerateInput>(new("generate", "Complete {prompt, model?, system?, temperature?, max_tokens?, seed?, stop?}.", Permissions.ModelUse), GenerateAsync);
        Handle<ChatInput>(new("chat", "Answer {messages: [{role, content}]} (or {message}), with the same settings as generate.", Permissions.ModelUse), ChatAsync);
        Handle<EmbedInput>(new("embed", "One unit vector per text of {input: text or [texts], model?}.", Permissions.ModelUse), EmbedAsync);
    }

    private async Task<AgentResult> ListAsync(ListInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var backends = await _gateway.BackendStatesAsync(cancellationToken);
        return AgentResult.Success(new
        {
            default_model = await _gateway.DefaultModelAsync(cancellationToken),
            models = backends.SelectMany(b => b.Models).OrderBy(m => m.Name, StringComparer.OrdinalIgnoreCase)
                .Select(m => new { name = m.Name, backend = m.Backend, status = m.Status, context_size = m.ContextSize, capabilities = m.Capabilities, size_bytes = m.SizeBytes }),
            backends = backends.Select(b => new { name = b.Backend, reachable = b.Reachable, latency_ms = b.LatencyMs, circuit = b.Circuit, error = b.Error }),
        });
    }

    private async Task<AgentResult> PullAsync(PullInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(input.Model))
        {
            return AgentResult.Failure("pull_model needs a 'model' to pull, for example 'llama3.2:1b'.");
        }

        return await GatewayFailures.RunAsync(async () =>
        {
            var backend = _gateway.Puller(input.Backend);
            var stages = new List<PullProgress>();
            await foreach (var progress in backend.PullAsync(input.Model, cancellationToken))
            {
                // Byte counts repeat per layer; keep each change of stage, and the last word.
                if (stages.Count == 0 || stages[^1].Status != progress.Status)
                {
                    stages.Add(progress);
                }
                else
                {
                    stages[^1] = progress;
                }
            }

            return AgentResult.Success(new { model = input.Model, backend = backend.Name, status = stages.LastOrDefault()?.Status, stages });
        });
    }

    private Task<AgentResult> SwitchAsync(SwitchInput input, AgentRequest request, CancellationToken cancellationToken) =>
        string.IsNullOrWhiteSpace(input.Model)
            ? Task.FromResult(AgentResult.Failure("switch_model needs the 'model' to make the default."))
            : GatewayFailures.RunAsync(async () =>
            {
                var previous = await _gateway.DefaultModelAsync(cancellationToken);
                await _gateway.SetDefaultModelAsync(input.Model, cancellationToken);
                return AgentResult.Success(new { default_model = input.Model, previous });
            });

    private Task<AgentResult> GenerateAsync(GenerateInput input, AgentRequest request, CancellationToken cancellationToken) =>
        string.IsNullOrWhiteSpace(input.Prompt)
            ? Task.FromResult(AgentResult.Failure("generate needs a non-empty 'prompt'."))
            : AnswerAsync(input.Settings, [new ChatMessage(ChatRole.User, input.Prompt)], request, cancellationToken);

    private Task<AgentResult> ChatAsync(ChatInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        List<ChatMessage> messages = [];
        foreach (var (message, index) in (input.Messages ?? []).Select((m, i) => (m, i)))
        {
            if (!ChatRoles.TryGetValue(message.Role ?? "", out var role) || string.IsNullOrEmpty(message.Content))
            {
                return Task.FromResult(AgentResult.Failure($"messages[{index}] needs a role (system, user or assistant) and non-empty content."));
            }

            messages.Add(new ChatMessage(role, message.Content));
        }

        if (!string.IsNullOrEmpty(input.Message))
        {
            messages.Add(new ChatMessage(ChatRole.User, input.Message));
        }

        return messages.Count == 0
            ? Task.FromResult(AgentResult.Failure("chat needs 'messages' ([{role, content}]) or a 'message'."))
            : AnswerAsync(input.Settings, messages, request, cancellationToken);
    }

    private Task<AgentResult> AnswerAsync(ModelSettings settings, List<ChatMessage> messages, AgentRequest request, CancellationToken cancellationToken)
    {
        if (settings.Invalid() is { } invalid)
        {
            return Task.FromResult(AgentResult.Failure(invalid));
        }

        if (settings.System is { Length: > 0 } system)
        {
            messages.Insert(0, new ChatMessage(ChatRole.System, system));
        }

        var options = new ChatOptions
        {
            Temperature = (float?)settings.Temperature,
            MaxOutputTokens = settings.MaxTokens ?? DefaultMaxTokens,
            Seed = settings.Seed,
            StopSequences = settings.Stop?.Where(s => s.Length > 0).ToList(),
        };
        return GatewayFailures.RunAsync(async () =>
        {
            var response = await _gateway.ChatAsync(new ChatCall(settings.Model, messages, options, CallerOf(request)), cancellationToken);
            var prompt = response.Usage?.InputTokenCount ?? 0;
            var completion = response.Usage?.OutputTokenCount ?? 0;
            return AgentResult.Success(new
            {
                response = response.Text,
                model = response.ModelId,
                tokens_used = prompt + completion,
                prompt_tokens = prompt,
                completion_tokens = completion,
                finish_reason = response.FinishReason?.Value,
            });
        });
    }

    private async Task<AgentResult> EmbedAsync(EmbedInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (EmbedCall.ReadInputs(input.Input) is not { } texts)
        {
            return AgentResult.Failure("embed needs 'input': a non-empty text, or an array of 1 to 256 non-empty texts.");
        }

        return await GatewayFailures.RunAsync(async () =>
        {
            var result = await _gateway.EmbedAsync(new EmbedCall(input.Model, texts, CallerOf(request)), cancellationToken);
            return AgentResult.Success(new
            {
                model = result.Model,
                backend = result.Backend,
                dimensions = result.Vectors.Count == 0 ? 0 : result.Vectors[0].Length,
                embeddings = result.Vectors.Select(v => v.ToArray()),
                prompt_tokens = result.PromptTokens,
            });
        });
    }

    private ModelCaller CallerOf(AgentRequest request) => new(request.Caller.UserId, Agent: Name, TaskId: request.TaskId);

    private static readonly Dictionary<string, ChatRole> ChatRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["system"] = ChatRole.System,
        ["user"] = ChatRole.User,
        ["assistant"] = ChatRole.Assistant,
    };

    public sealed record ListInput;

    public sealed record PullInput(string Model = "", string? Backend = null);

    public sealed record SwitchInput(string Model = "");

    /// <summary>Settings shared by generate and chat.</summary>
    public sealed record ModelSettings(string? Model, string? System, double? Temperature, int? MaxTokens, long? Seed, IReadOnlyList<string>? Stop)
    {
        public string? Invalid() =>
            Temperature is < 0 or > 2 ? "temperature must be between 0 and 2."
            : MaxTokens is < 1 or > 32_768 ? "max_tokens must be between 1 and 32768."
            : Stop is { Count: > 8 } ? "Give at most 8 stop sequences."
            : null;
    }

    public sealed record GenerateInput(
        string Prompt = "", string? Model = null, string? System = null, double? Temperature = null, int? MaxTokens = null, long? Seed = null, IReadOnlyList<string>? Stop = null)
    {
        public ModelSettings Settings => new(Model, System, Temperature, MaxTokens, Seed, Stop);
    }

    public sealed record ChatInput(
        IReadOnlyList<ChatInputMessage>? Messages = null, string? Message = null, string? Model = null, string? System = null,
        double? Temperature = null, int? MaxTokens = null, long? Seed = null, IReadOnlyList<string>? Stop = null)
    {
        public ModelSettings Settings => new(Model, System, Temperature, MaxTokens, Seed, Stop);
    }

    public sealed record ChatInputMessage(string? Role, string? Content);

    public sealed record EmbedInput(JsonElement Input = default, string? Model = null);
}
