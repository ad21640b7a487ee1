using System.Text.Json;
using Sutazai.Agents.BuiltIn;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Core.Orchestration;
using Sutazai.Core.Tasks;

namespace Sutazai.Agents.Orchestration;

/// <summary>
/// Agent-to-agent interactions in the original shape: a request is delivered to its target as a real task and
/// answered by a correlated response or error (or times out); notifications are delivered without waiting; agents
/// may also answer later with their own response. Claims on targets detect two agents going for the same thing.
/// </summary>
public sealed class AiAgentOrchestrator : BuiltInAgent
{
    private const int DefaultTimeoutSeconds = 60;
    private const int MaxTimeoutSeconds = 3600;
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(2);

    private readonly IInteractionStore _interactions;
    private readonly IClaimStore _claims;
    private readonly TaskSubmissions _submissions;
    private readonly ITaskQueries _queries;
    private readonly TaskEventHub _events;
    private readonly AgentDirectory _agents;
    private readonly ModelPipeline _pipelines;

    public AiAgentOrchestrator(
        IInteractionStore interactions, IClaimStore claims, TaskSubmissions submissions, ITaskQueries queries, TaskEventHub events, AgentDirectory agents, ModelGateway gateway, TimeProvider time)
        : base(BuiltInAgents.AiAgentOrchestrator, time)
    {
        _interactions = interactions;
        _claims = claims;
        _submissions = submissions;
        _queries = queries;
        _events = events;
        _agents = agents;
        _pipelines = new ModelPipeline(gateway, time);
        Handle<InteractInput>(new("interact", "Route {interaction_id, source_agent, target_agent, interaction_type: request|response|notification|error, data, correlation_id, timeout_seconds}. A request's data names the target's action and input; it waits for the answer.", Permissions.TaskCreate), InteractAsync);
        Handle<ConversationInput>(new("conversation", "A request and everything correlated with it, in order."), ConversationAsync);
        Handle<RecentInput>(new("interactions", "The newest interactions, optionally of one agent."), RecentAsync);
        Handle<ClaimInput>(new("claim", "Claim a target {agent, target, mode: exclusive|shared, ttl_seconds, purpose}; a collision with another agent's claim is refused and recorded as a conflict."), ClaimAsync);
        Handle<ReleaseInput>(new("release_claim", "Give up an agent's claim on a target."), ReleaseAsync);
        Handle<ClaimsInput>(new("claims", "Live claims, optionally on one target."), ClaimsAsync);
        Handle<ConflictsInput>(new("conflicts", "Conflicts detected in a window, and the targets contested now."), ConflictsAsync);
        Handle<PipelineDefinition>(
            new("run_pipeline", "Run {name, input, steps: [{name, type: llm_generate|classify|aggregate, ..., output_key, fallbacks}], on_failure: stop|continue} through the model gateway.", Permissions.ModelUse),
            (pipeline, request, token) => _pipelines.RunAsync(pipeline, new ModelCaller(request.Caller.UserId, Agent: Name, TaskId: request.TaskId), token));
    }

    private async Task<AgentResult> InteractAsync(InteractInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (!Enum.TryParse<InteractionType>(input.InteractionType, ignoreCase: true, out var type) || int.TryParse(input.InteractionType, out _))
        {
            return AgentResult.Failure($"interaction_type must be request, response, notification or error (got '{input.InteractionType}').");
        }

        if ((Unknown(input.SourceAgent, "source_agent") ?? Unknown(input.TargetAgent, "target_agent")) is { } unknown)
        {
            return AgentResult.Failure(unknown);
        }

        if (input.TimeoutSeconds is < 1 or > MaxTimeoutSeconds)
        {
            return AgentResult.Failure($"timeout_seconds must be 1 to {MaxTimeoutSeconds}.");
        }

        var interactionId = input.InteractionId ?? $"ix-{request.TaskId}";
        if (interactionId.Length > 200 || input.CorrelationId is { Length: > 200 })
        {
            return AgentResult.Failure("interaction_id and correlation_id must be at most 200 characters.");
        }

        var now = Time.GetUtcNow();
        var interaction = new AgentInteraction
        {
            InteractionId = interactionId,
            CorrelationId = input.CorrelationId ?? interactionId,
            SourceAgent = input.SourceAgent!,
            TargetAgent = input.TargetAgent!,
            Type = type,
            DataJson = (input.Data ?? JsonSerializer.SerializeToElement(new { })).GetRawText(),
            UserId = request.Caller.UserId,
            CreatedAt = now,
        };
        return type switch
        {
            InteractionType.Request => await RequestAsync(interaction, input, request, cancellationToken),
            InteractionType.Notification => await NotifyAsync(interaction, input, request, cancellationToken),
            _ => await AnswerAsync(interaction, input, cancellationToken),
        };
    }

    private async Task<AgentResult> RequestAsync(AgentInteraction interaction, InteractInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (Delivery(input) is not { } delivery)
        {
            return AgentResult.Failure("A request's data must name the target's action: {\"action\": \"...\", \"input\": {...}}.");
        }

        if (_agents.Find(interaction.TargetAgent) is { } target && !target.Offers(delivery.Action))
        {
            return AgentResult.Failure($"{interaction.TargetAgent} does not offer '{delivery.Action}' (it offers {string.Join(", ", target.ActionNames.Order(StringComparer.Ordinal))}).");
        }

        var timeout = input.TimeoutSeconds ?? DefaultTimeoutSeconds;
        interaction.Status = InteractionStatus.Open;
        interaction.Deadline = interaction.CreatedAt.AddSeconds(timeout);
        var (stored, _) = await _interactions.AddAsync(interaction, cancellationToken);
        if (stored.Type != InteractionType.Request)
        {
            return AgentResult.Failure($"'{stored.InteractionId}' is already a {stored.Type.ToString().ToLowerInvariant()}; use a new interaction_id.");
        }

        if (stored.Status == InteractionStatus.Open)
        {
            var submitted = await _submissions.SubmitAsync(DeliveryTask(stored, delivery, timeout), new Submitter(request.Caller.UserId, request.Caller.Permissions), cancellationToken);
            if (submitted is not SubmissionResult.Accepted accepted)
            {
                await _interactions.CloseAsync(stored.InteractionId, InteractionStatus.Failed, submitted.Refusal, Time.GetUtcNow(), CancellationToken.None);
                return AgentResult.Failure($"The request could not be delivered to {stored.TargetAgent}: {submitted.Refusal}");
            }

            await _interactions.SetTaskAsync(stored.InteractionId, accepted.Task.Id, cancellationToken);
            await AwaitAnswerAsync(stored, accepted.Task, cancellationToken);
        }

        return AgentResult.Success(await ThreadViewAsync(stored.CorrelationId, cancellationToken));
    }

    /// <summary>Waits until the delivery task ends, the request is answered some other way, or its deadline passes.</summary>
    private async Task AwaitAnswerAsync(AgentInteraction request, TaskItem delivery, CancellationToken cancellationToken)
    {
        using var changes = _events.Subscribe(c => c.TaskId == delivery.Id);
        while (true)
        {
            var task = await _queries.FindAsync(delivery.Id, cancellationToken);
            var current = await _interactions.FindAsync(request.InteractionId, cancellationToken);
            var now = Time.GetUtcNow();
            if (current is not { Status: InteractionStatus.Open })
            {
                // Answered another way (the target sent its own response): the delivery is no longer needed.
                if (task is { Status: not (TaskState.Completed or TaskState.Failed or TaskState.Cancelled or TaskState.TimedOut) })
                {
                    await _submissions.CancelAsync(task, $"request {request.InteractionId} was answered by {request.TargetAgent}", CancellationToken.None);
                }

                return;
            }

            if (task is { Status: TaskState.Completed })
            {
                await AnswerFromTaskAsync(request, InteractionType.Response, task.ResultJson ?? "null", null, now, InteractionStatus.Answered);
                return;
            }

            if (task is { Status: TaskState.Failed or TaskState.Cancelled or TaskState.TimedOut })
            {
                var error = $"{request.TargetAgent} {JsonNamingPolicy.SnakeCaseLower.ConvertName(task.Status.ToString())}: {task.ErrorMessage ?? "no reason given"}";
                await AnswerFromTaskAsync(request, InteractionType.Error, JsonSerializer.Serialize(new { error }), error, now, task.Status == TaskState.TimedOut ? InteractionStatus.TimedOut : InteractionStatus.Failed);
                return;
            }

            if (now >= request.Deadline!.Value)
            {
                var error = $"no answer from {request.TargetAgent} within {(request.Deadline.Value - request.CreatedAt).TotalSeconds:0} s";
                if (await _interactions.CloseAsync(request.InteractionId, InteractionStatus.TimedOut, error, now, CancellationToken.None))
                {
                    await AddAnswerAsync(request, InteractionType.Error, JsonSerializer.Serialize(new { error }), now);
                }

                if (task is not null)
                {
                    await _submissions.CancelAsync(task, $"its interaction {request.InteractionId} timed out", CancellationToken.None);
                }

                return;
            }

            var untilDeadline = request.Deadline!.Value - now;
            await changes.WaitForChangesAsync(untilDeadline < Recheck ? untilDeadline : Recheck, Time, cancellationToken);
        }
    }

    private async Task AnswerFromTaskAsync(AgentInteraction request, InteractionType type, string dataJson, string? error, DateTimeOffset now, InteractionStatus status)
    {
        if (await _interactions.CloseAsync(request.InteractionId, status, error, now, CancellationToken.None))
        {
            await AddAnswerAsync(request, type, dataJson, now);
        }
    }

    private async Task AddAnswerAsync(AgentInteraction request, InteractionType type, string dataJson, DateTimeOffset now) =>
        await _interactions.AddAsync(
            new AgentInteraction
            {
                InteractionId = $"{request.InteractionId}:{JsonNamingPolicy.SnakeCaseLower.ConvertName(type.ToString())}",
                CorrelationId = request.CorrelationId,
                SourceAgent = request.TargetAgent,
                TargetAgent = request.SourceAgent,
                Type = type,
                DataJson = dataJson,
                Status = InteractionStatus.Delivered,
                TaskId = request.TaskId,
                UserId = request.UserId,
                CreatedAt = now,
            },
            CancellationToken.None);

    private async Task<AgentResult> NotifyAsync(AgentInteraction interaction, InteractInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        interaction.Status = InteractionStatus.Delivered;
        var (stored, created) = await _interactions.AddAsync(interaction, cancellationToken);
        if (created && Delivery(input) is { } delivery)
        {
            // A notification that names an action is delivered as a task; nobody waits for it.
            var submitted = await _submissions.SubmitAsync(
                DeliveryTask(stored, delivery, input.TimeoutSeconds ?? DefaultTimeoutSeconds), new Submitter(request.Caller.UserId, request.Caller.Permissions), cancellationToken);
            if (submitted is not SubmissionResult.Accepted accepted)
            {
                return AgentResult.Failure($"The notification was stored but could not be delivered to {stored.TargetAgent}: {submitted.Refusal}");
            }

            await _interactions.SetTaskAsync(stored.InteractionId, accepted.Task.Id, cancellationToken);
        }

        return AgentResult.Success(View(await _interactions.FindAsync(stored.InteractionId, cancellationToken) ?? stored));
    }

    /// <summary>A response or error an agent sends itself: it must answer an open request made to it.</summary>
    private async Task<AgentResult> AnswerAsync(AgentInteraction answer, InteractInput input, CancellationToken cancellationToken)
    {
        if (input.CorrelationId is null)
        {
            return AgentResult.Failure($"A {answer.Type.ToString().ToLowerInvariant()} needs the correlation_id of the request it answers.");
        }

        var question = await _interactions.FindAsync(input.CorrelationId, cancellationToken);
        if (question is not { Type: InteractionType.Request } || question.SourceAgent != answer.TargetAgent || question.TargetAgent != answer.SourceAgent)
        {
            return AgentResult.Failure($"There is no request '{input.CorrelationId}' from {answer.TargetAgent} to {answer.SourceAgent} to answer.");
        }

        var status = answer.Type == InteractionType.Response ? InteractionStatus.Answered : InteractionStatus.Failed;
        var error = answer.Type == InteractionType.Error ? ErrorText(answer.DataJson) : null;
        if (!await _interactions.CloseAsync(question.InteractionId, status, error, answer.CreatedAt, cancellationToken))
        {
            return AgentResult.Failure($"Request '{question.InteractionId}' was already {question.Status.ToString().ToLowerInvariant()}; it takes one answer.");
        }

        answer.Status = InteractionStatus.Delivered;
        answer.CorrelationId = question.CorrelationId;
        await _interactions.AddAsync(answer, cancellationToken);
        // The delivery task is no longer needed; found by its key, since the answer may come before the request
        // has even noted which task carries it. Cancelling it also wakes the request that waits on it.
        foreach (var delivery in await _queries.ByIdempotencyKeysAsync(question.UserId, [DeliveryKey(question.InteractionId)], cancellationToken))
        {
            await _submissions.CancelAsync(delivery, $"request {question.InteractionId} was answered by {answer.SourceAgent}", CancellationToken.None);
        }

        return AgentResult.Success(await ThreadViewAsync(question.CorrelationId, cancellationToken));
    }

    private async Task<AgentResult> ConversationAsync(ConversationInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var thread = await _interactions.ThreadAsync(input.CorrelationId, cancellationToken);
        return thread.Count == 0
            ? AgentResult.Failure($"There is no conversation '{input.CorrelationId}'.")
            : AgentResult.Success(await ThreadViewAsync(input.CorrelationId, cancellationToken));
    }

    private async Task<AgentResult> RecentAsync(RecentInput input, AgentRequest request, CancellationToken cancellationToken) =>
        AgentResult.Success(new { interactions = (await _interactions.RecentAsync(input.Agent, Math.Clamp(input.Limit, 1, 500), cancellationToken)).Select(View) });

    private async Task<AgentResult> ClaimAsync(ClaimInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(input.Agent) || string.IsNullOrWhiteSpace(input.Target) || input.Target.Length > 500 || input.Agent.Length > 200)
        {
            return AgentResult.Failure("Give the agent (up to 200 characters) and the target it claims (up to 500).");
        }

        if (!Enum.TryParse<ClaimMode>(input.Mode, ignoreCase: true, out var mode) || int.TryParse(input.Mode, out _))
        {
            return AgentResult.Failure($"mode must be exclusive or shared (got '{input.Mode}').");
        }

        if (input.TtlSeconds is < 1 or > 86_400)
        {
            return AgentResult.Failure("ttl_seconds must be 1 to 86400.");
        }

        var now = Time.GetUtcNow();
        var claim = await _claims.ClaimAsync(
            new AgentClaim { Target = input.Target, Agent = input.Agent, Mode = mode, Purpose = input.Purpose ?? "", UserId = request.Caller.UserId, ExpiresAt = now.AddSeconds(input.TtlSeconds) },
            now,
            cancellationToken);
        return AgentResult.Success(new { granted = claim.Status == ClaimStatus.Active, conflict = claim.Status == ClaimStatus.Conflict, claim = View(claim) });
    }

    private async Task<AgentResult> ReleaseAsync(ReleaseInput input, AgentRequest request, CancellationToken cancellationToken) =>
        await _claims.ReleaseAsync(input.Agent, input.Target, Time.GetUtcNow(), cancellationToken) is { } released
            ? AgentResult.Success(View(released))
            : AgentResult.Failure($"{input.Agent} holds no claim on '{input.Target}'.");

    private async Task<AgentResult> ClaimsAsync(ClaimsInput input, AgentRequest request, CancellationToken cancellationToken) =>
        AgentResult.Success(new { claims = (await _claims.ActiveAsync(input.Target, Time.GetUtcNow(), cancellationToken)).Select(View) });

    private async Task<AgentResult> ConflictsAsync(ConflictsInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var conflicts = await _claims.ConflictsAsync(now.AddMinutes(-Math.Clamp(input.SinceMinutes, 1, 10_080)), Math.Clamp(input.Limit, 1, 500), cancellationToken);
        var live = await _claims.ActiveAsync(null, now, cancellationToken);
        return AgentResult.Success(new
        {
            conflicts = conflicts.Select(View),
            contested_now = conflicts
                .Where(c => live.Any(l => l.Target == c.Target && c.ConflictsWith.Contains(l.Agent)))
                .GroupBy(c => c.Target)
                .Select(g => new { target = g.Key, holders = live.Where(l => l.Target == g.Key).Select(l => l.Agent), refused = g.Select(c => c.Agent).Distinct() }),
        });
    }

    private string? Unknown(string? agent, string field) =>
        string.IsNullOrWhiteSpace(agent) ? $"{field} is required."
        : _agents.Find(agent) is null ? $"{field} '{agent}' is not a registered agent."
        : null;

    private static (string Action, JsonElement? Input)? Delivery(InteractInput input) =>
        input.Data is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty("action", out var action) && action.ValueKind == JsonValueKind.String
            ? (action.GetString()!, data.TryGetProperty("input", out var body) ? body : null)
            : null;

    private static TaskRequest DeliveryTask(AgentInteraction interaction, (string Action, JsonElement? Input) delivery, int timeoutSeconds) => new(
        Title: $"{interaction.SourceAgent} → {interaction.TargetAgent}: {delivery.Action}",
        Description: $"{interaction.Type.ToString().ToLowerInvariant()} {interaction.InteractionId}",
        Type: "agent-interaction",
        Action: delivery.Action,
        Agent: interaction.TargetAgent,
        Input: delivery.Input,
        TimeoutSeconds: timeoutSeconds,
        IdempotencyKey: DeliveryKey(interaction.InteractionId));

    private static string DeliveryKey(string interactionId) => $"interaction:{interactionId}";

    private static string ErrorText(string dataJson)
    {
        var data = JsonSerializer.Deserialize<JsonElement>(dataJson);
        return data.ValueKind == JsonValueKind.Object && data.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString()! : dataJson;
    }

    private async Task<object> ThreadViewAsync(string correlationId, CancellationToken cancellationToken)
    {
        var thread = await _interactions.ThreadAsync(correlationId, cancellationToken);
        var request = thread.FirstOrDefault(i => i.Type == InteractionType.Request);
        return new
        {
            correlation_id = correlationId,
            status = request?.Status,
            error = request?.Error,
            response = thread.LastOrDefault(i => i.Type == InteractionType.Response) is { } response ? JsonSerializer.Deserialize<JsonElement>(response.DataJson) : (JsonElement?)null,
            interactions = thread.Select(View),
        };
    }

    private static object View(AgentInteraction i) => new
    {
        interaction_id = i.InteractionId,
        correlation_id = i.CorrelationId,
        source_agent = i.SourceAgent,
        target_agent = i.TargetAgent,
        interaction_type = i.Type,
        status = i.Status,
        data = JsonSerializer.Deserialize<JsonElement>(i.DataJson),
        task_id = i.TaskId,
        error = i.Error,
        created_at = i.CreatedAt,
        deadline = i.Deadline,
        closed_at = i.ClosedAt,
    };

    private static object View(AgentClaim c) => new
    {
        target = c.Target,
        agent = c.Agent,
        mode = c.Mode,
        status = c.Status,
        purpose = c.Purpose,
        conflicts_with = c.ConflictsWith,
        reason = c.Reason,
        created_at = c.CreatedAt,
        expires_at = c.ExpiresAt,
        ended_at = c.EndedAt,
    };

    public sealed record InteractInput(
        string? InteractionId = null,
        string? SourceAgent = null,
        string? TargetAgent = null,
        string? InteractionType = null,
        JsonElement? Data = null,
        string? CorrelationId = null,
        int? TimeoutSeconds = null);

    public sealed record ConversationInput(string CorrelationId = "");

    public sealed record RecentInput(string? Agent = null, int Limit = 50);

    public sealed record ClaimInput(string Agent = "", string Target = "", string Mode = "exclusive", int TtlSeconds = 300, string? Purpose = null);

    public sealed record ReleaseInput(string Agent = "", string Target = "");

    public sealed record ClaimsInput(string? Target = null);

    public sealed record ConflictsInput(int SinceMinutes = 60, int Limit = 100);
}
