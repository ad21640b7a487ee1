using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Server.Audit;
using Sutazai.Server.Hosting;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Models;

/// <summary>
/// Ollama's API, so Ollama clients work unchanged: chat and generate (NDJSON streaming by default, as Ollama does,
/// ending with the statistics line), embed, tags, ps, version and pull. Behind our authentication (a bearer
/// access token or API key), the gateway's limits, cache and usage records. Errors are Ollama's
/// <c>{"error": "..."}</c>. Durations are nanoseconds, as Ollama reports them.
/// </summary>
public static class OllamaCompatibleApi
{
    public static IEndpointRouteBuilder MapOllamaCompatibleApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Ollama-compatible");
        api.MapPost("/chat", ChatAsync).RequirePermission(Permissions.ModelUse).AuditedBehind("model.chat", "model").WithSummary("Ollama chat (NDJSON stream unless stream is false)");
        api.MapPost("/generate", GenerateAsync).RequirePermission(Permissions.ModelUse).AuditedBehind("model.generate", "model").WithSummary("Ollama generate (NDJSON stream unless stream is false)");
        api.MapPost("/embed", EmbedAsync).RequirePermission(Permissions.ModelUse).AuditedBehind("model.embed", "model").WithSummary("Ollama embeddings: one vector per input");
        api.MapGet("/tags", TagsAsync).RequirePermission(Permissions.ModelView).WithSummary("Ollama model list");
        api.MapGet("/ps", RunningAsync).RequirePermission(Permissions.ModelView).WithSummary("Ollama loaded models");
        api.MapGet("/version", () => TypedResults.Ok(new { version = NodeInfo.Version })).RequirePermission(Permissions.ModelView).WithSummary("Version");
        api.MapPost("/pull", PullAsync).RequirePermission(Permissions.ModelManage).Audited("model.pull", "model").WithSummary("Ollama pull, through a backend that can pull");
        return app;
    }

    private static async Task TagsAsync(HttpContext http, ModelGateway gateway)
    {
        var models = await gateway.ListModelsAsync(http.RequestAborted);
        await WriteAsync(http, StatusCodes.Status200OK, new { models = models.Where(m => m.Status != ModelStatus.Unreachable).Select(m => Describe(m, loaded: false)) });
    }

    private static async Task RunningAsync(HttpContext http, ModelGateway gateway)
    {
        var models = await gateway.ListModelsAsync(http.RequestAborted);
        await WriteAsync(http, StatusCodes.Status200OK, new { models = models.Where(m => m.Status == ModelStatus.Loaded).Select(m => Describe(m, loaded: true)) });
    }

    private static object Describe(BackendModel m, bool loaded) => new
    {
        name = m.Name,
        model = m.Name,
        modified_at = m.ModifiedAt,
        size = m.SizeBytes ?? 0,
        digest = "",
        details = new { format = m.Backend == "llamacpp" ? "gguf" : null, family = (string?)null, parameter_size = (string?)null, quantization_level = (string?)null },
        expires_at = loaded ? m.LoadedUntil : null,
        size_vram = loaded ? 0L : (long?)null,
        context_length = m.ContextSize,
    };

    private static Task ChatAsync(HttpContext http, ClaimsPrincipal caller, ModelGateway gateway, TimeProvider time) =>
        AnswerAsync(http, caller, gateway, time, chat: true);

    private static Task GenerateAsync(HttpContext http, ClaimsPrincipal caller, ModelGateway gateway, TimeProvider time) =>
        AnswerAsync(http, caller, gateway, time, chat: false);

    private static async Task AnswerAsync(HttpContext http, ClaimsPrincipal caller, ModelGateway gateway, TimeProvider time, bool chat)
    {
        ChatCall call;
        bool stream;
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            (call, stream) = Parse(body.RootElement, caller, chat);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, e.Message);
            return;
        }

        var model = call.Model ?? await gateway.DefaultModelAsync(http.RequestAborted);
        call = call with { Model = model, CallId = ChatApi.NewCallId(http) };
        var started = time.GetTimestamp();
        var updates = gateway.StreamAsync(call, http.RequestAborted).GetAsyncEnumerator(http.RequestAborted);
        await using (updates)
        {
            bool more;
            try
            {
                more = await updates.MoveNextAsync();
            }
            catch (Exception e) when (ModelFailure.Of(e, http) is { } failure)
            {
                await ErrorAsync(http, failure.Status, e.Message);
                return;
            }

            var firstToken = time.GetElapsedTime(started);
            var text = new System.Text.StringBuilder();
            UsageDetails? usage = null;
            ChatFinishReason? finish = null;
            string? answeredBy = null;
            if (stream)
            {
                http.Response.ContentType = "application/x-ndjson";
            }

            while (more)
            {
                var update = updates.Current;
                answeredBy ??= update.ModelId;
                usage = update.Contents.OfType<UsageContent>().LastOrDefault()?.Details ?? usage;
                finish = update.FinishReason ?? finish;
                text.Append(update.Text);
                if (stream && update.Text.Length > 0)
                {
                    await LineAsync(http, Piece(answeredBy ?? model, update.Text, chat, time.GetUtcNow(), done: false));
                }

                try
                {
                    more = await updates.MoveNextAsync();
                }
                catch (Exception e) when (ModelFailure.Of(e, http) is { } failure)
                {
                    if (!stream)
                    {
                        await ErrorAsync(http, failure.Status, e.Message);
                        return;
                    }

                    await LineAsync(http, new { error = e.Message });
                    return;
                }
            }

            // The closing line (or the whole answer) carries Ollama's statistics.
            var total = time.GetElapsedTime(started);
            var closing = Piece(answeredBy ?? model, stream ? "" : text.ToString(), chat, time.GetUtcNow(), done: true);
            closing["done_reason"] = finish == ChatFinishReason.Length ? "length" : "stop";
            closing["total_duration"] = Nanoseconds(total);
            closing["load_duration"] = 0L;
            closing["prompt_eval_count"] = usage?.InputTokenCount ?? 0;
            closing["prompt_eval_duration"] = Nanoseconds(firstToken);
            closing["eval_count"] = usage?.OutputTokenCount ?? 0;
            closing["eval_duration"] = Nanoseconds(total - firstToken);
            if (stream)
            {
                await LineAsync(http, closing);
            }
            else
            {
                await WriteAsync(http, StatusCodes.Status200OK, closing);
            }
        }
    }

    private static Dictionary<string, object?> Piece(string model, string text, bool chat, DateTimeOffset now, bool done)
    {
        var piece = new Dictionary<string, object?> { ["model"] = model, ["created_at"] = now };
        if (chat)
        {
            piece["message"] = new { role = "assistant", content = text };
        }
        else
        {
            piece["response"] = text;
        }

        piece["done"] = done;
        return piece;
    }

    private static long Nanoseconds(TimeSpan span) => span.Ticks * 100;

    /// <summary>Ollama's request: messages (chat) or prompt and system (generate), stream (default true), options.</summary>
    private static (ChatCall Call, bool Stream) Parse(JsonElement body, ClaimsPrincipal caller, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("The body must be a JSON object.");
        }

        var model = String(body, "model");
        List<ChatMessage> messages = [];
        if (chat)
        {
            if (!body.TryGetProperty("messages", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            {
                throw new FormatException("'messages' must be a non-empty array.");
            }

            messages.AddRange(list.EnumerateArray().Select((m, i) => new ChatMessage(
                new ChatRole(String(m, "role") ?? throw new FormatException($"messages[{i}].role is required.")),
                String(m, "content") ?? "")));
        }
        else
        {
            if (String(body, "system") is { } system)
            {
                messages.Add(new ChatMessage(ChatRole.System, system));
            }

            messages.Add(new ChatMessage(ChatRole.User, String(body, "prompt") is { Length: > 0 } prompt ? prompt : throw new FormatException("'prompt' must be a non-empty string.")));
        }

        var options = body.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Object ? o : default;
        var settings = new ChatOptions
        {
            Temperature = Number(options, "temperature", 0, 2),
            TopP = Number(options, "top_p", 0, 1),
            TopK = (int?)Number(options, "top_k", 1, 1000),
            MaxOutputTokens = Number(options, "num_predict", -2, 32_768) is { } n && n > 0 ? (int)n : 512,
            Seed = options.ValueKind == JsonValueKind.Object && options.TryGetProperty("seed", out var seed) && seed.ValueKind == JsonValueKind.Number ? seed.GetInt64() : null,
            StopSequences = options.ValueKind == JsonValueKind.Object && options.TryGetProperty("stop", out var stop) && stop.ValueKind == JsonValueKind.Array
                ? [.. stop.EnumerateArray().Select(s => s.GetString() ?? "").Where(s => s.Length > 0)]
                : null,
        };
        var stream = !body.TryGetProperty("stream", out var s) || s.ValueKind != JsonValueKind.False;
        return (new ChatCall(model, messages, settings, new ModelCaller(caller.UserId(), caller.ApiKeyIdOf())), stream);
    }

    private static async Task EmbedAsync(HttpContext http, ClaimsPrincipal caller, ModelGateway gateway)
    {
        EmbedCall call;
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            call = CompatibleApis.EmbedCall(body.RootElement, caller, http);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, e.Message);
            return;
        }

        try
        {
            var result = await gateway.EmbedAsync(call, http.RequestAborted);
            await WriteAsync(http, StatusCodes.Status200OK, new
            {
                model = result.Model,
                embeddings = result.Vectors.Select(v => v.ToArray()),
                total_duration = Nanoseconds(result.Duration),
                load_duration = 0L,
                prompt_eval_count = result.PromptTokens,
            });
        }
        catch (Exception e) when (ModelFailure.Of(e, http) is { } failure)
        {
            await ErrorAsync(http, failure.Status, e.Message);
        }
    }

    private static async Task PullAsync(HttpContext http, ModelGateway gateway)
    {
        string model;
        bool stream;
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            model = String(body.RootElement, "model") ?? String(body.RootElement, "name") ?? throw new FormatException("'model' is required.");
            stream = !body.RootElement.TryGetProperty("stream", out var s) || s.ValueKind != JsonValueKind.False;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, e.Message);
            return;
        }

        IModelBackend backend;
        try
        {
            backend = gateway.Puller(null);
        }
        catch (NotSupportedException e)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, e.Message);
            return;
        }

        PullProgress? last = null;
        try
        {
            await foreach (var progress in backend.PullAsync(model, http.RequestAborted))
            {
                last = progress;
                if (stream)
                {
                    http.Response.ContentType = "application/x-ndjson";
                    await LineAsync(http, new { status = progress.Status, digest = progress.Digest, total = progress.Total, completed = progress.Completed });
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (!http.Response.HasStarted)
            {
                await ErrorAsync(http, StatusCodes.Status502BadGateway, $"Backend '{backend.Name}' could not pull '{model}': {e.Message}");
            }
            else
            {
                await LineAsync(http, new { error = $"Backend '{backend.Name}' could not pull '{model}': {e.Message}" });
            }

            return;
        }

        if (!stream)
        {
            await WriteAsync(http, StatusCodes.Status200OK, new { status = last?.Status ?? "success" });
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static float? Number(JsonElement options, string name, double min, double max)
    {
        if (options.ValueKind != JsonValueKind.Object || !options.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var number = value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw new FormatException($"options.{name} must be a number.");
        return number >= min && number <= max ? (float)number : throw new FormatException($"options.{name} must be between {min} and {max} (got {number}).");
    }

    private static Task ErrorAsync(HttpContext http, int status, string message) => WriteAsync(http, status, new { error = message });

    private static Task WriteAsync(HttpContext http, int status, object value) => CompatibleApis.WriteAsync(http, status, value);

    private static Task LineAsync(HttpContext http, object value) => CompatibleApis.WriteItemAsync(http, "", value, "\n");
}
