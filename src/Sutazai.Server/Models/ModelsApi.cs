using System.ComponentModel.DataAnnotations;
using System.Net.ServerSentEvents;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.AI;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Models;

/// <summary>The models the backends serve, and chatting with them in the original system's shape.</summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/api/v1/models").WithTags("Models");
        models.MapGet("/", ListAsync).RequirePermission(Permissions.ModelView)
            .WithSummary("Every model the backends serve, with backend, status and context size, and which is the default");
        models.MapGet("/{name}", GetAsync).RequirePermission(Permissions.ModelView).WithSummary("One model");

        var chat = app.MapGroup("/api/v1/chat").WithTags("Models");
        chat.MapPost("/", ChatAsync).RequirePermission(Permissions.ModelUse).Audited("model.chat", "model")
            .WithSummary("Ask a model (the default when none is named); answers with the text and the tokens used");
        chat.MapPost("/stream", StreamAsync).RequirePermission(Permissions.ModelUse).Audited("model.chat", "model")
            .WithSummary("Server-sent events: the answer piece by piece, then its usage");
        return app;
    }

    private static async Task<ModelList> ListAsync(ModelGateway gateway, CancellationToken cancellationToken) =>
        new(gateway.DefaultModel, [.. (await gateway.ListModelsAsync(cancellationToken)).Select(ModelView.From)], CacheView.From(gateway.Cache));

    private static async Task<Results<Ok<ModelView>, ProblemHttpResult>> GetAsync(string name, ModelGateway gateway, CancellationToken cancellationToken) =>
        (await gateway.ListModelsAsync(cancellationToken)).FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase)) is { } model
            ? TypedResults.Ok(ModelView.From(model))
            : Problems.NotFound($"No backend serves a model named '{name}'.");

    private static async Task<Results<Ok<ChatAnswer>, ProblemHttpResult>> ChatAsync(
        ChatRequest request, ClaimsPrincipal caller, HttpContext http, ModelGateway gateway, CancellationToken cancellationToken)
    {
        try
        {
            var response = await gateway.ChatAsync(request.ToCall(caller), cancellationToken);
            var prompt = (int)(response.Usage?.InputTokenCount ?? 0);
            var completion = (int)(response.Usage?.OutputTokenCount ?? 0);
            return TypedResults.Ok(new ChatAnswer(
                response.Text, response.ModelId ?? request.Model ?? gateway.DefaultModel, prompt + completion, prompt, completion, FinishReason(response.FinishReason)));
        }
        catch (Exception e) when (Failure(e, http) is { } problem)
        {
            return problem;
        }
    }

    private static async Task<Results<ServerSentEventsResult<object>, ProblemHttpResult>> StreamAsync(
        ChatRequest request, ClaimsPrincipal caller, HttpContext http, ModelGateway gateway, CancellationToken cancellationToken)
    {
        // The first piece is awaited here, so an unknown model or a full line is a problem answer, not a broken stream.
        var updates = gateway.StreamAsync(request.ToCall(caller), cancellationToken).GetAsyncEnumerator(cancellationToken);
        bool any;
        try
        {
            any = await updates.MoveNextAsync();
        }
        catch (Exception e) when (Failure(e, http) is { } problem)
        {
            await updates.DisposeAsync();
            return problem;
        }

        return TypedResults.ServerSentEvents(Events(updates, any));
    }

    private static async IAsyncEnumerable<SseItem<object>> Events(IAsyncEnumerator<ChatResponseUpdate> updates, bool any)
    {
        await using (updates)
        {
            var more = any;
            while (more)
            {
                var update = updates.Current;
                if (update.Text.Length > 0)
                {
                    yield return new SseItem<object>(new { text = update.Text }, "delta");
                }

                if (update.Contents.OfType<UsageContent>().LastOrDefault()?.Details is { } usage)
                {
                    var prompt = (int)(usage.InputTokenCount ?? 0);
                    var completion = (int)(usage.OutputTokenCount ?? 0);
                    yield return new SseItem<object>(
                        new { model = update.ModelId, tokens_used = prompt + completion, prompt_tokens = prompt, completion_tokens = completion, finish_reason = FinishReason(update.FinishReason) },
                        "done");
                }

                string? failure = null;
                try
                {
                    more = await updates.MoveNextAsync();
                }
                catch (Exception e) when (e is ModelBackendException or ArgumentException)
                {
                    failure = e.Message;
                    more = false;
                }

                if (failure is not null)
                {
                    yield return new SseItem<object>(new { error = failure }, "error");
                }
            }
        }
    }

    private static ProblemHttpResult? Failure(Exception e, HttpContext http) =>
        ModelFailure.Of(e, http) is { } failure ? TypedResults.Problem(e.Message, statusCode: failure.Status, title: failure.Title, type: failure.ProblemType) : null;

    private static string? FinishReason(ChatFinishReason? reason) => reason?.Value;
}

/// <summary>The original system's chat request, plus a system message, a seed and stop sequences.</summary>
public sealed record ChatRequest(
    [property: Required, StringLength(100_000, MinimumLength = 1)] string Message,
    [property: StringLength(200)] string? Model = null,
    [property: Range(0.0, 2.0)] double? Temperature = null,
    [property: Range(1, 32_768)] int? MaxTokens = null,
    [property: StringLength(100_000)] string? System = null,
    long? Seed = null,
    [property: MaxLength(8)] IReadOnlyList<string>? Stop = null,
    [property: Range(1, 10)] int? Priority = null)
{
    public ChatCall ToCall(ClaimsPrincipal caller)
    {
        List<ChatMessage> messages = System is null ? [] : [new ChatMessage(ChatRole.System, System)];
        messages.Add(new ChatMessage(ChatRole.User, Message));
        var options = new ChatOptions
        {
            Temperature = (float?)Temperature,
            MaxOutputTokens = MaxTokens ?? 512,
            Seed = Seed,
            StopSequences = Stop?.Where(s => s.Length > 0).ToList(),
        };
        return new ChatCall(Model, messages, options, new ModelCaller(caller.UserId(), caller.ApiKeyIdOf()), Priority ?? 5);
    }
}

/// <summary>The original system's answer (<c>response</c>, <c>model</c>, <c>tokens_used</c>) with the split of tokens.</summary>
public sealed record ChatAnswer(string Response, string Model, int TokensUsed, int PromptTokens, int CompletionTokens, string? FinishReason);

public sealed record ModelList(string DefaultModel, IReadOnlyList<ModelView> Models, CacheView Cache);

/// <summary>How often deterministic calls were answered from the response cache on this node.</summary>
public sealed record CacheView(long Hits, long Misses, double HitRate)
{
    public static CacheView From(ResponseCache cache) =>
        new(cache.Hits, cache.Misses, cache.Hits + cache.Misses == 0 ? 0 : Math.Round((double)cache.Hits / (cache.Hits + cache.Misses), 4));
}

public sealed record ModelView(string Name, string Backend, ModelStatus Status, int? ContextSize, IReadOnlyList<string> Capabilities, string? Detail)
{
    public static ModelView From(BackendModel model) => new(model.Name, model.Backend, model.Status, model.ContextSize, model.Capabilities, model.Detail);
}
