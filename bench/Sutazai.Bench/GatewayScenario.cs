using System.CommandLine;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sutazai.Bench;

/// <summary>
/// The model gateway's own cost: the same OpenAI chat completion sent straight to a fast backend and through
/// SutazAI's <c>/v1/chat/completions</c> (authenticated with an API key, limited, audited, recorded, then passed to
/// that backend by the OpenAI backend), and a deterministic request answered from the response cache. The
/// backend answers at once, so what SutazAI adds is what is measured.
/// </summary>
internal static class GatewayScenario
{
    public static Command Command()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients", DefaultValueFactory = _ => 32 };
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds per case", DefaultValueFactory = _ => 10 };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string; SQLite when absent" };
        var warmup = new Option<int>("--warmup-seconds") { Description = "Seconds of calls through SutazAI before measuring; the JIT's tiering settles about 30 s after start", DefaultValueFactory = _ => 30 };
        var only = new Option<string?>("--only") { Description = "Run one case for a while (to profile it): direct, through or cached" };
        var command = new Command("gateway", "Latency SutazAI's model gateway adds over a fast backend, and cache-hit latency.") { concurrency, seconds, warmup, postgres, only };
        command.SetAction((parse, cancellationToken) =>
            RunAsync(parse.GetValue(concurrency), TimeSpan.FromSeconds(parse.GetValue(seconds)), TimeSpan.FromSeconds(parse.GetValue(warmup)), parse.GetValue(postgres), parse.GetValue(only), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int concurrency, TimeSpan duration, TimeSpan warmup, string? postgres, string? only, CancellationToken cancellationToken)
    {
        await using var backend = await FastBackend.StartAsync(cancellationToken);
        await using var server = await ServerUnderTest.StartAsync(postgres, cancellationToken, new Dictionary<string, string>
        {
            ["SUTAZAI__MODELS__OLLAMA__ENDPOINT"] = "",
            ["SUTAZAI__MODELS__DEFAULTMODEL"] = "fast",
            ["SUTAZAI__MODELS__OPENAI__SERVERS__fast__ENDPOINT"] = new Uri(backend.Address, "/v1").ToString(),
            ["SUTAZAI__MODELS__OPENAI__SERVERS__fast__MODELS__0"] = "fast",
            // The direct path has no limit either: a line would measure waiting, not the gateway.
            ["SUTAZAI__MODELS__MAXCONCURRENTCALLS"] = "1000",
        });
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency });
        var key = await ApiKeyAsync(http, server, cancellationToken);
        var storage = postgres is null ? "sqlite" : "postgresql";
        var counter = 0;
        // What SutazAI's OpenAI backend itself does for each call, measured apart: the OpenAI .NET client, streaming.
        var backendClient = new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential("none"), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(backend.Address, "/v1") })
            .GetChatClient("fast").AsIChatClient();

        HttpRequestMessage Completion(Uri baseAddress, bool deterministic)
        {
            var message = deterministic ? "the same question" : $"question {Interlocked.Increment(ref counter)}";
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "/v1/chat/completions"))
            {
                Content = JsonContent.Create(new { model = "fast", messages = new[] { new { role = "user", content = message } }, temperature = deterministic ? 0 : 0.7, max_tokens = 16 }),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            return request;
        }

        Func<CancellationToken, Task<bool>> Send(Uri baseAddress, bool deterministic) => async ct =>
        {
            using var request = Completion(baseAddress, deterministic);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            return response.StatusCode == HttpStatusCode.OK;
        };

        // Both of SutazAI's paths, until the JIT has compiled them for good; each case then warms up for 3 s more.
        await LoadRun.RunAsync(concurrency, TimeSpan.Zero, warmup / 2, Send(server.Address, false), cancellationToken);
        await LoadRun.RunAsync(concurrency, TimeSpan.Zero, warmup / 2, Send(server.Address, true), cancellationToken);
        Console.WriteLine($"{"case",-32} {"storage",-11} {"clients",7} {"requests",9} {"req/s",9} {"p50 ms",8} {"p99 ms",8} {"errors",7}");
        if (only is not null)
        {
            Console.WriteLine($"server pid {server.ProcessId}");
            var one = await LoadRun.RunAsync(concurrency, TimeSpan.FromSeconds(3), duration, only switch
            {
                "direct" => Send(backend.Address, false),
                "through" => Send(server.Address, false),
                "cached" => Send(server.Address, true),
                _ => throw new ArgumentException($"--only takes direct, through or cached, not '{only}'"),
            }, cancellationToken);
            Print(only, storage, concurrency, one);
            return 0;
        }

        foreach (var clients in new[] { 1, concurrency })
        {
            var direct = await LoadRun.RunAsync(clients, TimeSpan.FromSeconds(3), duration, Send(backend.Address, false), cancellationToken);
            var sdk = await LoadRun.RunAsync(clients, TimeSpan.FromSeconds(3), duration, async ct =>
            {
                var message = $"question {Interlocked.Increment(ref counter)}";
                var text = new StringBuilder();
                await foreach (var update in backendClient.GetStreamingResponseAsync(message, new ChatOptions { Temperature = 0.7f, MaxOutputTokens = 16 }, ct))
                {
                    text.Append(update.Text);
                }

                return text.Length > 0;
            }, cancellationToken);
            var through = await LoadRun.RunAsync(clients, TimeSpan.FromSeconds(3), duration, Send(server.Address, false), cancellationToken);
            var cached = await LoadRun.RunAsync(clients, TimeSpan.FromSeconds(3), duration, Send(server.Address, true), cancellationToken);
            Print("backend directly", storage, clients, direct);
            Print("backend, OpenAI client streamed", storage, clients, sdk);
            Print("through SutazAI", storage, clients, through);
            Print("through SutazAI, cache hit", storage, clients, cached);
            Console.WriteLine($"{"added by SutazAI",-32} {storage,-11} {clients,7} {"",9} {"",9} {through.P50Ms - direct.P50Ms,8:0.00} {through.P99Ms - direct.P99Ms,8:0.00}");
        }

        return 0;
    }

    private static void Print(string name, string storage, int clients, LoadResult result) =>
        Console.WriteLine($"{name,-32} {storage,-11} {clients,7} {result.Requests,9} {result.RequestsPerSecond,9:0} {result.P50Ms,8:0.00} {result.P99Ms,8:0.00} {result.Errors,7}");

    private static readonly string[] Scopes = ["model:use", "model:view"];

    /// <summary>An API key with model:use, as OpenAI clients authenticate.</summary>
    private static async Task<string> ApiKeyAsync(HttpClient http, ServerUnderTest server, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Address, "/api/v1/api-keys"))
        {
            Content = JsonContent.Create(new { name = "bench", scopes = Scopes }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await server.SignInAsync(http, cancellationToken));
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return body.RootElement.GetProperty("key").GetString()!;
    }

    /// <summary>
    /// An OpenAI-compatible backend that answers at once: the model list, and a completion of the request's own
    /// last message (so answers differ per request), with its usage.
    /// </summary>
    private sealed class FastBackend(WebApplication app) : IAsyncDisposable
    {
        public Uri Address { get; } = new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        public static async Task<FastBackend> StartAsync(CancellationToken cancellationToken)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.MapGet("/v1/models", () => Results.Text("""{"object":"list","data":[{"id":"fast","object":"model","created":0,"owned_by":"bench"}]}""", "application/json"));
            app.MapPost("/v1/chat/completions", async (HttpContext http) =>
            {
                using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
                var question = body.RootElement.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString();
                var text = $"an answer to {question}";
                var usage = new { prompt_tokens = 8, completion_tokens = 6, total_tokens = 14 };
                if (body.RootElement.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
                {
                    // What SutazAI's backend asks for: the answer as chunks, the usage, then [DONE].
                    http.Response.ContentType = "text/event-stream";
                    object Chunk(object delta, string? finish) => new { id = "chatcmpl-bench", @object = "chat.completion.chunk", created = 0, model = "fast", choices = new[] { new { index = 0, delta, finish_reason = finish } } };
                    var events = new StringBuilder();
                    foreach (var chunk in new[] { Chunk(new { role = "assistant", content = text }, null), Chunk(new { }, "stop") })
                    {
                        events.Append("data: ").Append(JsonSerializer.Serialize(chunk)).Append("\n\n");
                    }

                    events.Append("data: ").Append(JsonSerializer.Serialize(new { id = "chatcmpl-bench", @object = "chat.completion.chunk", created = 0, model = "fast", choices = Array.Empty<object>(), usage })).Append("\n\n");
                    events.Append("data: [DONE]\n\n");
                    await http.Response.WriteAsync(events.ToString(), http.RequestAborted);
                    return;
                }

                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    id = "chatcmpl-bench",
                    @object = "chat.completion",
                    created = 0,
                    model = "fast",
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
                    usage,
                }), http.RequestAborted);
            });
            await app.StartAsync(cancellationToken);
            return new FastBackend(app);
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
