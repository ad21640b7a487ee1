using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sutazai.Server.Tests;

/// <summary>
/// An OpenAI-compatible model server that calls tools on cue, for testing function calling end to end over real
/// HTTP (a tiny random model cannot choose to call a tool). A user message <c>call NAME {json}</c> is answered
/// with a streamed tool call of NAME with those arguments; once the conversation ends in a tool result, the
/// answer is that result's content verbatim; <c>say nul</c> is answered with a NUL character inside; anything
/// else is answered <c>echo: TEXT</c>. It keeps every request. It also pulls models as Ollama does.
/// </summary>
public sealed class ScriptedModelServer : IAsyncDisposable
{
    public const string Model = "scripted";
    private readonly WebApplication _app;

    private ScriptedModelServer(WebApplication app)
    {
        _app = app;
    }

    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>The OpenAI base address (with /v1), as the OpenAI backend is configured.</summary>
    public string Endpoint => new Uri(Address, "/v1").ToString();

    public ConcurrentQueue<JsonElement> Requests { get; } = new();

    /// <summary>Models pulled so far; a pull of a name starting with <c>missing</c> fails as Ollama's does.</summary>
    public ConcurrentQueue<string> Pulled { get; } = new();

    public static async Task<ScriptedModelServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ScriptedModelServer(app);
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = Model, @object = "model", created = 0, owned_by = "tests" } } }));
        app.MapPost("/v1/chat/completions", (Func<HttpContext, Task>)server.CompleteAsync);
        // Enough of Ollama's API to pull a model: what it has, what runs, and a pull that reports progress.
        app.MapGet("/api/tags", () => Results.Json(new { models = server.Pulled.Select(m => new { name = m, model = m, modified_at = "2026-11-26T00:00:00Z", size = 1000, digest = "sha256:0a1b" }) }));
        app.MapGet("/api/ps", () => Results.Json(new { models = Array.Empty<object>() }));
        app.MapPost("/api/pull", (Func<HttpContext, Task>)server.PullAsync);
        await app.StartAsync();
        return server;
    }

    private async Task CompleteAsync(HttpContext context)
    {
        var request = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body);
        Requests.Enqueue(request);
        var last = request.GetProperty("messages").EnumerateArray().Last();
        var role = last.GetProperty("role").GetString();
        var text = Content(last);
        JsonObject delta;
        string finish;
        if (role == "tool")
        {
            (delta, finish) = (new JsonObject { ["role"] = "assistant", ["content"] = text }, "stop");
        }
        else if (text.StartsWith("call ", StringComparison.Ordinal))
        {
            var rest = text[5..];
            var space = rest.IndexOf(' ');
            var (name, arguments) = space < 0 ? (rest, "{}") : (rest[..space], rest[(space + 1)..]);
            var call = new JsonObject
            {
                ["index"] = 0,
                ["id"] = $"call_{Requests.Count}",
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
            };
            (delta, finish) = (new JsonObject { ["role"] = "assistant", ["tool_calls"] = new JsonArray(call) }, "tool_calls");
        }
        else if (text == "say nul")
        {
            // Models do produce NUL characters now and then.
            (delta, finish) = (new JsonObject { ["role"] = "assistant", ["content"] = "before\0after" }, "stop");
        }
        else
        {
            (delta, finish) = (new JsonObject { ["role"] = "assistant", ["content"] = $"echo: {text}" }, "stop");
        }

        context.Response.ContentType = "text/event-stream";
        await WriteAsync(context, Chunk(delta, null));
        await WriteAsync(context, Chunk(new JsonObject(), finish));
        await WriteAsync(context, new JsonObject
        {
            ["id"] = "scripted",
            ["object"] = "chat.completion.chunk",
            ["created"] = 0,
            ["model"] = Model,
            ["choices"] = new JsonArray(),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 11, ["completion_tokens"] = 7, ["total_tokens"] = 18 },
        });
        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    private async Task PullAsync(HttpContext context)
    {
        var model = (await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body)).GetProperty("model").GetString()!;
        context.Response.ContentType = "application/x-ndjson";
        async Task LineAsync(object line) => await context.Response.WriteAsync(JsonSerializer.Serialize(line) + "\n");
        await LineAsync(new { status = "pulling manifest" });
        if (model.StartsWith("missing", StringComparison.Ordinal))
        {
            await LineAsync(new { error = "pull model manifest: file does not exist" });
            return;
        }

        foreach (var completed in new[] { 0, 600, 1000 })
        {
            await LineAsync(new { status = "pulling 0a1b", digest = "sha256:0a1b", total = 1000, completed });
        }

        await LineAsync(new { status = "verifying sha256 digest" });
        await LineAsync(new { status = "writing manifest" });
        Pulled.Enqueue(model.Contains(':', StringComparison.Ordinal) ? model : model + ":latest");
        await LineAsync(new { status = "success" });
    }

    private static string Content(JsonElement message) =>
        message.TryGetProperty("content", out var content) ? content.ValueKind switch
        {
            JsonValueKind.String => content.GetString()!,
            JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : "")),
            _ => "",
        } : "";

    private static JsonObject Chunk(JsonObject delta, string? finish) => new()
    {
        ["id"] = "scripted",
        ["object"] = "chat.completion.chunk",
        ["created"] = 0,
        ["model"] = Model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
    };

    private static Task WriteAsync(HttpContext context, JsonObject chunk) => context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
