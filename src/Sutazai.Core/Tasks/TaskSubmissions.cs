using System.Text.Json;
using Microsoft.Extensions.Options;
using Sutazai.Core.Agents;
using Sutazai.Core.Resources;
using Sutazai.Core.Security;

namespace Sutazai.Core.Tasks;

/// <summary>What someone asks the platform to do.</summary>
public sealed record TaskRequest(
    string Title,
    string? Description = null,
    string? Type = null,
    string? Action = null,
    string? Agent = null,
    IReadOnlyList<string>? RequiredCapabilities = null,
    int Priority = TaskPriority.Default,
    JsonElement? Input = null,
    int MaxRetries = 0,
    int? TimeoutSeconds = null,
    DateTimeOffset? Deadline = null,
    string? WebhookUrl = null,
    string? WebhookSecret = null,
    string? IdempotencyKey = null,
    ResourceAmounts? Resources = null);

/// <summary>Who submits a task, with the permissions they hold now (kept with the task for the agent to check).</summary>
public sealed record Submitter(Guid? UserId, IReadOnlySet<string> Permissions);

public abstract record SubmissionResult
{
    public sealed record Accepted(TaskItem Task, bool Created) : SubmissionResult;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : SubmissionResult;

    public sealed record Forbidden(string Detail) : SubmissionResult;

    /// <summary>Why the task was not accepted, in one line; null when it was.</summary>
    public string? Refusal => this switch
    {
        Invalid invalid => "The task is not valid: " + string.Join("; ", invalid.Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        Forbidden forbidden => forbidden.Detail,
        _ => null,
    };
}

/// <summary>Checks a task request against the agents and limits, stores it, and wakes the dispatcher.</summary>
public sealed class TaskSubmissions(
    ITaskStore store,
    AgentDirectory agents,
    TaskEngine engine,
    TaskEventHub events,
    ISecretProtector secrets,
    IResourcePool pool,
    IOptions<TaskOptions> options,
    TimeProvider time)
{
    public async Task<SubmissionResult> SubmitAsync(TaskRequest request, Submitter submitter, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var errors = new Dictionary<string, string[]>();
        void Error(string field, string message) => errors[field] = [message];

        if (string.IsNullOrWhiteSpace(request.Title) || request.Title.Length > 500)
        {
            Error("title", "Give a title of 1 to 500 characters.");
        }

        if (request.Priority is < TaskPriority.Highest or > TaskPriority.Lowest)
        {
            Error("priority", "Use 1 (runs first) to 10 (runs last).");
        }

        if (request.MaxRetries < 0 || request.MaxRetries > settings.MaxRetriesLimit)
        {
            Error("max_retries", $"Use 0 to {settings.MaxRetriesLimit}.");
        }

        if (request.TimeoutSeconds is { } timeout && (timeout < 1 || timeout > settings.MaxTimeoutSeconds))
        {
            Error("timeout_seconds", $"Use 1 to {settings.MaxTimeoutSeconds} seconds.");
        }

        if (request.Deadline is { } deadline && deadline <= now)
        {
            Error("deadline", "The deadline has already passed.");
        }

        if (request.Type is { Length: > 200 })
        {
            Error("type", "Use at most 200 characters.");
        }

        if (request.IdempotencyKey is { Length: 0 or > 200 })
        {
            Error("idempotency_key", "Use 1 to 200 characters.");
        }

        var capabilities = (request.RequiredCapabilities ?? []).Select(c => c.Trim()).Distinct(StringComparer.Ordinal).ToList();
        if (capabilities.Count > 20 || capabilities.Any(c => c.Length is 0 or > 100))
        {
            Error("required_capabilities", "Give at most 20 capabilities of 1 to 100 characters.");
        }

        if (request.Input is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null) })
        {
            Error("input", "The input must be a JSON object.");
        }

        if (request.WebhookUrl is not null)
        {
            if (!Uri.TryCreate(request.WebhookUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || request.WebhookUrl.Length > 2000)
            {
                Error("webhook_url", "Use an absolute http or https URL of at most 2000 characters.");
            }

            if (request.WebhookSecret is not { Length: >= 16 and <= 256 })
            {
                Error("webhook_secret", "Give a secret of 16 to 256 characters; deliveries are signed with it (HMAC-SHA256).");
            }
        }

        if (request.Resources is { } resources)
        {
            if (resources.Parts().Any(p => p.Amount < 0 || double.IsNaN(p.Amount)))
            {
                Error("resources", "Amounts must not be negative.");
            }
            else if (FairShareScheduler.Exceeds(resources, pool.Capacity) is { } tooBig)
            {
                Error("resources", $"The pool can never hold this: {tooBig}.");
            }
        }

        if (agents.Entries.Count == 0)
        {
            await agents.RefreshAsync(cancellationToken);
        }

        AgentEntry? target = null;
        if (request.Agent is not null)
        {
            target = agents.Find(request.Agent);
            if (target is null)
            {
                Error("agent", $"No agent is named '{request.Agent}'.");
            }
        }

        if (request.Action is not null)
        {
            var offering = target is null ? agents.Entries.Where(a => a.Offers(request.Action)).ToList() : (target.Offers(request.Action) ? [target] : []);
            if (offering.Count == 0)
            {
                var known = (target is null ? agents.Entries : [target]).SelectMany(a => a.ActionNames).Distinct().Order(StringComparer.Ordinal);
                Error("action", $"No {(target is null ? "agent" : $"agent named '{request.Agent}'")} offers '{request.Action}'. Known actions: {string.Join(", ", known)}.");
            }
            else
            {
                var needed = offering.Select(a => a.Action(request.Action)?.RequiredPermission).ToList();
                if (needed.All(p => p is not null && !submitter.Permissions.Contains(p)))
                {
                    return new SubmissionResult.Forbidden($"The action '{request.Action}' needs the permission '{needed[0]}'.");
                }
            }
        }

        if (errors.Count > 0)
        {
            return new SubmissionResult.Invalid(errors);
        }

        var priority = request.Priority;
        var task = new TaskItem
        {
            Title = request.Title.Trim(),
            Description = request.Description ?? "",
            Type = request.Type ?? "",
            Action = request.Action,
            AgentId = target?.Definition.Id,
            RequiredCapabilities = capabilities,
            UserId = submitter.UserId,
            Priority = priority,
            PayloadJson = request.Input is { ValueKind: JsonValueKind.Object } input ? input.GetRawText() : null,
            IdempotencyKey = request.IdempotencyKey,
            MaxRetries = request.MaxRetries,
            TimeoutSeconds = request.TimeoutSeconds,
            Deadline = request.Deadline,
            SubmitterPermissions = [.. submitter.Permissions.Order(StringComparer.Ordinal)],
            ResourceNeedsJson = request.Resources is { IsEmpty: false } needs ? ResourceAdmission.Serialize(needs) : null,
            WebhookUrl = request.WebhookUrl,
            WebhookSecretProtected = request.WebhookUrl is null ? null : secrets.ProtectString(request.WebhookSecret!),
            CreatedAt = now,
            DispatchScore = now.UtcTicks + ((priority - TaskPriority.Highest) * TimeSpan.FromSeconds(settings.AgingSeconds).Ticks),
        };

        var creation = await store.CreateAsync(task, cancellationToken);
        if (creation.Created)
        {
            events.Publish(new TaskChange(task.Id, task.UserId, TaskState.Queued, "waiting for an agent", now, target?.Definition.Name, 0));
            engine.Queued(task.AgentId, task.DispatchScore);
        }

        return new SubmissionResult.Accepted(creation.Task, creation.Created);
    }

    /// <summary>
    /// Cancels a task: a queued one ends now; a running one is stopped through its agent's cancellation token here,
    /// or by its node at the next lease renewal.
    /// </summary>
    public async Task<CancelResult> CancelAsync(TaskItem task, string reason, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var result = await store.CancelAsync(task.Id, reason, now, t => TaskWebhooks.For(t, now), cancellationToken);
        switch (result)
        {
            case CancelResult.Cancelled:
                events.Publish(new TaskChange(task.Id, task.UserId, TaskState.Cancelled, reason, now, null, task.Attempt));
                break;
            case CancelResult.CancelRequested:
                engine.CancelLocal(task.Id, reason);
                break;
        }

        return result;
    }
}
