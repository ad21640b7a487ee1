using System.ComponentModel.DataAnnotations;
using System.Net.ServerSentEvents;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.AI;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Models;

/// <summary>
/// Chat, generate and embeddings in our own shapes (chat in the original system's). Each answer carries its call
/// id in <c>X-Sutazai-Call-Id</c>, by which the caller can see its place in line and stop it (<see cref="ModelsApi"/>).
/// </summary>
public static class ChatApi
{
    public const string CallIdHeader = "X-Sutazai-Call-Id";

    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var chat = app.MapGroup("/api/v1/chat").WithTags("Models");
        chat.MapPost("/", ChatAsync).RequirePermission(Permissions.ModelUse).AuditedBehind("model.chat", "model")
            .WithSummary("Ask a model (the default when none is named); answers with the text and the tokens used");
        chat.MapPost("/stream", StreamAsync).RequirePermission(Permissions.ModelUse).AuditedBehind("model.chat", "model")
            .WithSummary("Server-sent events: the answer piece by piece, then its usage");
        app.MapPost("/api/v1/generate", GenerateAsync).WithTags("Models").RequirePermission(Permissions.ModelUse).AuditedBehind("model.generate", "model")
            .WithSummary("Complete a single prompt (no conversation); the same answer as chat");
        app.MapPost("/api/v1/embeddings", EmbedAsync).WithTags("Models").RequirePermission(Permissions.ModelUse).AuditedBehind("model.embed", "model")
            .WithSummary("One embedding vector per input text");
        return app;
    }

    private static Task<Results<Ok<ChatAnswer>, ProblemHttpResult>> GenerateAsync(
        GenerateRequest request, ClaimsPrincipal caller, HttpContext http, ModelGateway gateway, CancellationToken cancellationToken) =>
        ChatAsync(request.AsChat(), caller, http, gateway, cancellationToken);

    private static async Task<Results<Ok<ChatAnswer>, ProblemHttpResult>> ChatAsync(
        ChatRequest request, ClaimsPrincipal caller, HttpContext http, ModelGateway gateway, CancellationToken cancellationToken)
    {
        try
        {
            var response = await gateway.ChatAsync(request.ToCall(caller, NewCallId(http)), cancellationToken);
            var prompt = (int)(response.Usage?.InputTokenCount ?? 0);
            var completion = (int)(response.Usage?.OutputTokenCount ?? 0);
            return TypedResults.Ok(new ChatAnswer(
                response.Text, response.ModelId ?? request.Model ?? await gateway.DefaultModelAsync(cancellationToken), prompt + completion, prompt, completion, response.FinishReason?.Value));
        }
        catch (Exception e) when (ModelFailure.Problem(e, http) is { } problem)
        {
            return problem;
        }
    }

    private static async Task<Results<ServerSentEventsResult<object>, ProblemHttpResult>> StreamAsync(
        ChatRequest request, ClaimsPrincipal caller, HttpContext http, ModelGateway gateway, CancellationToken cancellationToken)
    {
        // The first piece is awaited here, so an unknown model or a full line is a problem answer, not a broken stream.
        var updates = gateway.StreamAsync(request.ToCall(caller, NewCallId(http)), cancellationToken).GetAsyncEnumerator(cancellationToken);
        bool any;
        try
        {
            any = await updates.MoveNextAsync();
        }
        catch (Exception e) when (ModelFailure.Problem(e, http) is { } problem)
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
                        new { model = update.ModelId, tokens_used = prompt + completion, prompt_tokens = prompt, completion_tokens = completion, finish_reason = update.FinishReason?.Value },
                        "done");
                }

                string? failure = null;
                try
                {
                    more = await updates.MoveNextAsync();
                }
                catch (Exception e) when (e is ModelBackendException or ModelCallCancelledException or ArgumentException)
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

    private static async Task<Results<Ok<EmbeddingsAnswer>, ProblemHttpResult, ValidationProblem>> EmbedAsync(
        EmbeddingsRequest request, ClaimsPrincipal caller, HttpContext http, ModelGateway gateway, CancellationToken cancellationToken)
    {
        if (EmbedCall.ReadInputs(request.Input) is not { } inputs)
        {
            return Problems.Validation("input", "Give a non-empty string, or an array of 1 to 256 non-empty strings.");
        }

        try
        {
            var result = await gateway.EmbedAsync(new EmbedCall(request.Model, inputs, new ModelCaller(caller.UserId(), caller.ApiKeyIdOf()), CallId: NewCallId(http)), cancellationToken);
            return TypedResults.Ok(new EmbeddingsAnswer(
                result.Model, result.Backend, [.. result.Vectors.Select(v => v.ToArray())], result.Vectors.Count == 0 ? 0 : result.Vectors[0].Length, result.PromptTokens));
        }
        catch (Exception e) when (ModelFailure.Problem(e, http) is { } problem)
        {
            return problem;
        }
    }

    /// <summary>A new call id, told to the caller before the answer starts.</summary>
    internal static Guid NewCallId(HttpContext http)
    {
        var id = Guid.CreateVersion7();
        http.Response.Headers[CallIdHeader] = id.ToString();
        return id;
    }
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
    public ChatCall ToCall(ClaimsPrincipal caller, Guid callId = default)
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
        return new ChatCall(Model, messages, options, new ModelCaller(caller.UserId(), caller.ApiKeyIdOf()), Priority ?? 5, callId);
    }
}

/// <summary>A single prompt to complete; the other fields as in <see cref="ChatRequest"/>.</summary>
public sealed record GenerateRequest(
    [property: Required, StringLength(100_000, MinimumLength = 1)] string Prompt,
    [property: StringLength(200)] string? Model = null,
    [property: Range(0.0, 2.0)] double? Temperature = null,
    [property: Range(1, 32_768)] int? MaxTokens = null,
    [property: StringLength(100_000)] string? System = null,
    long? Seed = null,
    [property: MaxLength(8)] IReadOnlyList<string>? Stop = null,
    [property: Range(1, 10)] int? Priority = null)
{
    public ChatRequest AsChat() => new(Prompt, Model, Temperature, MaxTokens, System, Seed, Stop, Priority);
}

/// <summary>The original system's answer (<c>response</c>, <c>model</c>, <c>tokens_used</c>) with the split of tokens.</summary>
public sealed record ChatAnswer(string Response, string Model, int TokensUsed, int PromptTokens, int CompletionTokens, string? FinishReason);

/// <summary>Texts to embed: <c>input</c> is a string or an array of strings.</summary>
public sealed record EmbeddingsRequest(JsonElement Input, [property: StringLength(200)] string? Model = null);

public sealed record EmbeddingsAnswer(string Model, string Backend, IReadOnlyList<float[]> Embeddings, int Dimensions, int PromptTokens);
