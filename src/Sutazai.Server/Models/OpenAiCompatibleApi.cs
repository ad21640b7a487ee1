using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Server.Audit;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Models;

/// <summary>
/// OpenAI's chat completions and models endpoints, so OpenAI clients work unchanged: behind our authentication
/// (a bearer access token or an API key as the bearer key), the gateway's limits and its usage records. Unknown
/// request fields are ignored as OpenAI's servers do; errors come in OpenAI's <c>{"error": {...}}</c> shape.
/// </summary>
public static class OpenAiCompatibleApi
{
    public static IEndpointRouteBuilder MapOpenAiCompatibleApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("OpenAI-compatible");
        api.MapPost("/chat/completions", CompleteAsync).RequirePermission(Permissions.ModelUse).AuditedBehind("model.chat", "model")
            .WithSummary("OpenAI chat completions, whole or streamed (server-sent events ending with [DONE])");
        api.MapPost("/embeddings", EmbedAsync).RequirePermission(Permissions.ModelUse).AuditedBehind("model.embed", "model")
            .WithSummary("OpenAI embeddings: one vector per input string, as floats or base64");
        api.MapGet("/models", ListAsync).RequirePermission(Permissions.ModelView).WithSummary("OpenAI model list");
        return app;
    }

    private static async Task ListAsync(HttpContext http, ModelGateway gateway)
    {
        var models = await gateway.ListModelsAsync(http.RequestAborted);
        await WriteJsonAsync(http, StatusCodes.Status200OK, new
        {
            @object = "list",
            data = models.Where(m => m.Status != ModelStatus.Unreachable).Select(m => new { id = m.Name, @object = "model", created = 0, owned_by = m.Backend }),
        });
    }

    private static async Task CompleteAsync(HttpContext http, ClaimsPrincipal caller, ModelGateway gateway, TimeProvider time)
    {
        ChatCall call;
        bool stream, includeUsage;
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            (call, stream, includeUsage) = Parse(body.RootElement, caller);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, e.Message, "invalid_request_error");
            return;
        }

        call = call with { Model = call.Model ?? await gateway.DefaultModelAsync(http.RequestAborted), CallId = ChatApi.NewCallId(http) };
        var id = $"chatcmpl-{Guid.NewGuid():N}";
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var updates = gateway.StreamAsync(call, http.RequestAborted).GetAsyncEnumerator(http.RequestAborted);
        await using (updates)
        {
            bool any;
            try
            {
                any = await updates.MoveNextAsync();
            }
            catch (Exception e) when (ModelFailure.Of(e, http) is { } failure)
            {
                await ErrorAsync(http, failure.Status, e.Message, failure.Status < 500 ? "invalid_request_error" : "server_error");
                return;
            }

            if (!stream)
            {
                var collected = new List<ChatResponseUpdate>();
                try
                {
                    for (var more = any; more; more = await updates.MoveNextAsync())
                    {
                        collected.Add(updates.Current);
                    }
                }
                catch (Exception e) when (ModelFailure.Of(e, http) is { } failure)
                {
                    await ErrorAsync(http, failure.Status, e.Message, "server_error");
                    return;
                }

                var response = collected.ToChatResponse();
                await WriteJsonAsync(http, StatusCodes.Status200OK, new
                {
                    id,
                    @object = "chat.completion",
                    created,
                    model = response.ModelId ?? call.Model,
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = response.Text }, finish_reason = FinishReason(response.FinishReason) } },
                    usage = Usage(response.Usage),
                });
                return;
            }

            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            await ChunkAsync(new { role = "assistant", content = "" }, null);
            for (var more = any; more;)
            {
                var update = updates.Current;
                if (update.Text.Length > 0)
                {
                    await ChunkAsync(new { content = update.Text }, null);
                }

                if (update.FinishReason is { } finish)
                {
                    await ChunkAsync(new { }, FinishReason(finish));
                    if (includeUsage && update.Contents.OfType<UsageContent>().LastOrDefault() is { } usage)
                    {
                        await WriteEventAsync(http, new { id, @object = "chat.completion.chunk", created, model = update.ModelId, choices = Array.Empty<object>(), usage = Usage(usage.Details) });
                    }
                }

                try
                {
                    more = await updates.MoveNextAsync();
                }
                catch (Exception e) when (e is ModelBackendException or ModelCallCancelledException)
                {
                    await WriteEventAsync(http, new { error = new { message = e.Message, type = "server_error" } });
                    more = false;
                }
            }

            await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);

            Task ChunkAsync(object delta, string? finish) =>
                WriteEventAsync(http, new { id, @object = "chat.completion.chunk", created, model = call.Model, choices = new[] { new { index = 0, delta, finish_reason = finish } } });
        }
    }

    private static async Task EmbedAsync(HttpContext http, ClaimsPrincipal caller, ModelGateway gateway)
    {
        EmbedCall call;
        var base64 = false;
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            var root = body.RootElement;
            call = CompatibleApis.EmbedCall(root, caller, http);
            base64 = root.TryGetProperty("encoding_format", out var format) && format.ValueKind == JsonValueKind.String && format.GetString() switch
            {
                "float" => false,
                "base64" => true,
                var other => throw new FormatException($"encoding_format must be 'float' or 'base64' (got '{other}')."),
            };
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, e.Message, "invalid_request_error");
            return;
        }

        EmbedResult result;
        try
        {
            result = await gateway.EmbedAsync(call, http.RequestAborted);
        }
        catch (Exception e) when (ModelFailure.Of(e, http) is { } failure)
        {
            await ErrorAsync(http, failure.Status, e.Message, failure.Status < 500 ? "invalid_request_error" : "server_error");
            return;
        }

        await WriteJsonAsync(http, StatusCodes.Status200OK, new
        {
            @object = "list",
            // base64 is the vector's little-endian float32 bytes, as OpenAI sends it (and its .NET client asks for).
            data = result.Vectors.Select((v, i) => new
            {
                @object = "embedding",
                index = i,
                embedding = base64 ? (object)Convert.ToBase64String(MemoryMarshal.AsBytes(v.Span)) : v.ToArray(),
            }),
            model = result.Model,
            usage = new { prompt_tokens = result.PromptTokens, total_tokens = result.PromptTokens },
        });
    }

    /// <summary>The request as OpenAI defines it; fields we do not use are ignored, values we cannot honour are refused.</summary>
    private static (ChatCall Call, bool Stream, bool IncludeUsage) Parse(JsonElement body, ClaimsPrincipal caller)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("The body must be a JSON object.");
        }

        var model = body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        if (!body.TryGetProperty("messages", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw new FormatException("'messages' must be a non-empty array.");
        }

        var messages = list.EnumerateArray().Select((message, i) =>
        {
            var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : throw new FormatException($"messages[{i}].role is required.");
            var content = message.TryGetProperty("content", out var c) ? Text(c, i) : "";
            return new ChatMessage(new ChatRole(role), content);
        }).ToList();

        if (body.TryGetProperty("n", out var n) && n.ValueKind == JsonValueKind.Number && n.GetInt32() != 1)
        {
            throw new FormatException("Only n = 1 is supported.");
        }

        var options = new ChatOptions
        {
            Temperature = Number(body, "temperature", 0, 2),
            TopP = Number(body, "top_p", 0, 1),
            MaxOutputTokens = (int?)(Number(body, "max_completion_tokens", 1, 32_768) ?? Number(body, "max_tokens", 1, 32_768)) ?? 512,
            Seed = body.TryGetProperty("seed", out var seed) && seed.ValueKind == JsonValueKind.Number ? seed.GetInt64() : null,
            StopSequences = body.TryGetProperty("stop", out var stop) ? stop.ValueKind switch
            {
                JsonValueKind.String => [stop.GetString()!],
                JsonValueKind.Array => [.. stop.EnumerateArray().Select(s => s.GetString() ?? "")],
                JsonValueKind.Null => null,
                _ => throw new FormatException("'stop' must be a string or an array of strings."),
            } : null,
        };
        var stream = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var includeUsage = body.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        return (new ChatCall(model, messages, options, new ModelCaller(caller.UserId(), caller.ApiKeyIdOf())), stream, includeUsage);
    }

    /// <summary>A message's content: a string, or the text parts of an array of parts.</summary>
    private static string Text(JsonElement content, int index) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString()!,
        JsonValueKind.Null => "",
        JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(part =>
            part.TryGetProperty("type", out var t) && t.GetString() == "text" && part.TryGetProperty("text", out var text)
                ? text.GetString()
                : throw new FormatException($"messages[{index}].content: only text parts are supported."))),
        _ => throw new FormatException($"messages[{index}].content must be a string or an array of parts."),
    };

    private static float? Number(JsonElement body, string name, double min, double max)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var number = value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw new FormatException($"'{name}' must be a number.");
        return number >= min && number <= max ? (float)number : throw new FormatException($"'{name}' must be between {min} and {max} (got {number}).");
    }

    private static object? Usage(UsageDetails? usage) => usage is null ? null : new
    {
        prompt_tokens = usage.InputTokenCount ?? 0,
        completion_tokens = usage.OutputTokenCount ?? 0,
        total_tokens = usage.TotalTokenCount ?? ((usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0)),
    };

    private static string FinishReason(ChatFinishReason? reason) => reason == ChatFinishReason.Length ? "length" : "stop";

    private static Task ErrorAsync(HttpContext http, int status, string message, string type) =>
        WriteJsonAsync(http, status, new { error = new { message, type, param = (string?)null, code = (string?)null } });

    private static Task WriteJsonAsync(HttpContext http, int status, object value) => CompatibleApis.WriteAsync(http, status, value);

    private static Task WriteEventAsync(HttpContext http, object value) => CompatibleApis.WriteItemAsync(http, "data: ", value, "\n\n");
}
