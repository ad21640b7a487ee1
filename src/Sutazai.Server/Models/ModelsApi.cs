using System.ComponentModel.DataAnnotations;
using System.Net.ServerSentEvents;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sutazai.Core.Chat;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Models;

/// <summary>The model registry and its administration: models, the default, pulls, backends, calls under way, usage.</summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/api/v1/models").WithTags("Models");
        models.MapGet("/", ListAsync).RequirePermission(Permissions.ModelView)
            .WithSummary("Every model the backends serve, with backend, status and context size, and which is the default");
        models.MapGet("/backends", BackendsAsync).RequirePermission(Permissions.ModelView)
            .WithSummary("Each backend: reachable, latency, circuit, last failure");
        models.MapPut("/default", SetDefaultAsync).RequirePermission(Permissions.ModelManage).Audited("model.set_default", "model")
            .WithSummary("Make a served model the default on every node");
        models.MapPost("/pull", PullAsync).RequirePermission(Permissions.ModelManage).Audited("model.pull", "model")
            .WithSummary("Fetch a model onto a backend that can (Ollama); progress as server-sent events");
        models.MapGet("/calls", Calls).RequirePermission(Permissions.ModelUse)
            .WithSummary("Model calls under way on this node (your own; everyone's with model:manage), with place in line");
        models.MapDelete("/calls/{id:guid}", Cancel).RequirePermission(Permissions.ModelUse).Audited("model.call_cancel", "model")
            .WithSummary("Stop a model call, waiting or running");
        models.MapGet("/usage", UsageAsync).RequirePermission(Permissions.ModelUse)
            .WithSummary("Calls, tokens and time per model, backend, user, key, agent, task or operation (your own; everyone's with model:manage)");
        models.MapGet("/{name}", GetAsync).RequirePermission(Permissions.ModelView).WithSummary("One model");
        return app;
    }

    private static async Task<ModelList> ListAsync(ModelGateway gateway, CancellationToken cancellationToken) =>
        new(await gateway.DefaultModelAsync(cancellationToken), [.. (await gateway.ListModelsAsync(cancellationToken)).Select(ModelView.From)], CacheView.From(gateway.Cache));

    private static async Task<Results<Ok<ModelView>, ProblemHttpResult>> GetAsync(string name, ModelGateway gateway, CancellationToken cancellationToken) =>
        (await gateway.ListModelsAsync(cancellationToken)).FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase)) is { } model
            ? TypedResults.Ok(ModelView.From(model))
            : Problems.NotFound($"No backend serves a model named '{name}'.");

    private static async Task<IReadOnlyList<BackendView>> BackendsAsync(ModelGateway gateway, CancellationToken cancellationToken) =>
        [.. (await gateway.BackendStatesAsync(cancellationToken)).Select(s => new BackendView(s.Backend, s.Reachable, Math.Round(s.LatencyMs, 2), s.Circuit, s.Error, s.LastFailureAt, s.Models.Count))];

    private static async Task<Results<Ok<DefaultModelView>, ProblemHttpResult>> SetDefaultAsync(
        DefaultModelRequest request, HttpContext http, ModelGateway gateway, CancellationToken cancellationToken)
    {
        try
        {
            await gateway.SetDefaultModelAsync(request.Model, cancellationToken);
            return TypedResults.Ok(new DefaultModelView(request.Model));
        }
        catch (Exception e) when (ModelFailure.Problem(e, http) is { } problem)
        {
            return problem;
        }
    }

    private static Results<ServerSentEventsResult<object>, ProblemHttpResult> PullAsync(PullRequest request, ModelGateway gateway, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.ServerSentEvents(Progress(gateway.Puller(request.Backend), request.Model, cancellationToken));
        }
        catch (NotSupportedException e)
        {
            return Problems.BadRequest(e.Message);
        }
    }

    private static async IAsyncEnumerable<SseItem<object>> Progress(IModelBackend backend, string model, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var progress = backend.PullAsync(model, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            string? failure = null;
            try
            {
                if (!await progress.MoveNextAsync())
                {
                    break;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failure = $"Backend '{backend.Name}' could not pull '{model}': {e.Message}";
            }

            if (failure is not null)
            {
                yield return new SseItem<object>(new { error = failure }, "error");
                yield break;
            }

            var p = progress.Current;
            yield return new SseItem<object>(new { status = p.Status, digest = p.Digest, total = p.Total, completed = p.Completed }, "progress");
        }

        yield return new SseItem<object>(new { model, backend = backend.Name }, "done");
    }

    private static IReadOnlyList<CallView> Calls(ClaimsPrincipal caller, ModelGateway gateway, ModelCalls calls) =>
        [.. calls.Snapshot()
            .Where(c => c.Caller.UserId == caller.UserId() || caller.HasPermission(Permissions.ModelManage))
            .Select(c => CallView.From(c, gateway))];

    private static Results<Accepted<CallView>, ProblemHttpResult> Cancel(Guid id, ClaimsPrincipal caller, ModelGateway gateway, ModelCalls calls)
    {
        if (calls.Find(id) is not { } call || (call.Caller.UserId != caller.UserId() && !caller.HasPermission(Permissions.ModelManage)))
        {
            return Problems.NotFound($"No model call {id} is under way on this node.");
        }

        var view = CallView.From(call, gateway);
        call.Cancel($"stopped by {(caller.Username() is { Length: > 0 } name ? name : caller.UserId().ToString())}");
        return TypedResults.Accepted((string?)null, view);
    }

    private static async Task<Results<Ok<UsageView>, ValidationProblem>> UsageAsync(
        ClaimsPrincipal caller,
        IChatHistoryStore history,
        [FromQuery(Name = "group_by")] string? groupBy,
        [FromQuery(Name = "from")] DateTimeOffset? from,
        [FromQuery(Name = "to")] DateTimeOffset? to,
        [FromQuery(Name = "model")] string? model,
        [FromQuery(Name = "user_id")] Guid? userId,
        CancellationToken cancellationToken)
    {
        var grouping = UsageGrouping.Model;
        if (groupBy is not null && !Enum.TryParse(groupBy.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out grouping))
        {
            return Problems.Validation("group_by", "Use one of: model, backend, user, api_key, agent, task, operation.");
        }

        if (from is { } f && to is { } t && t <= f)
        {
            return Problems.Validation("to", "'to' must come after 'from'.");
        }

        // Without model:manage a caller sees only its own calls, whatever user it names.
        var user = caller.HasPermission(Permissions.ModelManage) ? userId : caller.UserId();
        var rows = await history.UsageAsync(new UsageQuery(grouping, from, to, user, model), cancellationToken);
        return TypedResults.Ok(new UsageView(
            grouping.ToString().ToLowerInvariant(),
            [.. rows.Select(r => new UsageRowView(r.Key, r.Calls, r.PromptTokens, r.CompletionTokens, r.PromptTokens + r.CompletionTokens, Math.Round(r.AverageMs, 2), Math.Round(r.MaxMs, 2)))],
            rows.Sum(r => r.Calls),
            rows.Sum(r => r.PromptTokens + r.CompletionTokens)));
    }
}

public sealed record ModelList(string DefaultModel, IReadOnlyList<ModelView> Models, CacheView Cache);

/// <summary>How often deterministic calls were answered from the response cache on this node.</summary>
public sealed record CacheView(long Hits, long Misses, double HitRate)
{
    public static CacheView From(ResponseCache cache) =>
        new(cache.Hits, cache.Misses, cache.Hits + cache.Misses == 0 ? 0 : Math.Round((double)cache.Hits / (cache.Hits + cache.Misses), 4));
}

public sealed record ModelView(string Name, string Backend, ModelStatus Status, int? ContextSize, IReadOnlyList<string> Capabilities, string? Detail, long? SizeBytes, DateTimeOffset? LoadedUntil)
{
    public static ModelView From(BackendModel model) => new(model.Name, model.Backend, model.Status, model.ContextSize, model.Capabilities, model.Detail, model.SizeBytes, model.LoadedUntil);
}

public sealed record BackendView(string Name, bool Reachable, double LatencyMs, string Circuit, string? LastError, DateTimeOffset? LastFailureAt, int Models);

public sealed record DefaultModelRequest([property: Required, StringLength(200, MinimumLength = 1)] string Model);

public sealed record DefaultModelView(string DefaultModel);

public sealed record PullRequest([property: Required, StringLength(200, MinimumLength = 1)] string Model, [property: StringLength(64)] string? Backend = null);

/// <summary>A model call under way: waiting (with its place in line, 1 = next) or running.</summary>
public sealed record CallView(Guid Id, string Operation, string Model, Guid? UserId, string? Agent, int Priority, string State, int? Position, DateTimeOffset QueuedAt, DateTimeOffset? StartedAt)
{
    public static CallView From(ModelCall call, ModelGateway gateway) =>
        new(call.Id, call.Operation, call.Model, call.Caller.UserId, call.Caller.Agent, call.Priority, call.StartedAt is null ? "waiting" : "running", gateway.PositionOf(call), call.QueuedAt, call.StartedAt);
}

public sealed record UsageView(string GroupBy, IReadOnlyList<UsageRowView> Groups, long TotalCalls, long TotalTokens);

public sealed record UsageRowView(string? Key, long Calls, long PromptTokens, long CompletionTokens, long TotalTokens, double AverageMs, double MaxMs);
