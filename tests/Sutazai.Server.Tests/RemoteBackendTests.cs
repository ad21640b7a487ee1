using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// Our Ollama and OpenAI-compatible backends over real HTTP, each pointed at another SutazAI server's compatible
/// endpoint (which runs the tiny model with llama.cpp): chat, streaming, embeddings and the model list travel
/// through both servers' gateways, and the upstream records the calls against the key.
/// </summary>
public sealed class RemoteBackendTests(ModelFixture<SqliteTestStore> upstream) : IClassFixture<ModelFixture<SqliteTestStore>>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_Ollama_backend_serves_the_upstream_models_and_passes_on_a_refused_pull()
    {
        await using var downstream = await DownstreamAsync("ollama", (endpoint, key) => new()
        {
            ["Sutazai:Models:Ollama:Endpoint"] = endpoint.ToString(),
            ["Sutazai:Models:Ollama:ApiKey"] = key,
        });
        using var admin = await downstream.Api.AdminAsync();

        await AssertServedLikeUpstreamAsync(admin, "ollama");
        using var pull = await admin.PostAsJsonAsync("/api/v1/models/pull", new { model = "tiny" }, Cancellation);
        var events = await pull.Content.ReadAsStringAsync(Cancellation);

        // The upstream has nothing that can pull; its refusal comes back as the pull's error event.
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        Assert.Contains("event: error", events, StringComparison.Ordinal);
        Assert.Contains("No configured backend can pull models", events, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_OpenAI_backend_serves_the_upstream_models()
    {
        await using var downstream = await DownstreamAsync("openai", (endpoint, key) => new()
        {
            ["Sutazai:Models:OpenAi:Servers:upstream:Endpoint"] = new Uri(endpoint, "/v1").ToString(),
            ["Sutazai:Models:OpenAi:Servers:upstream:ApiKey"] = key,
        });
        using var admin = await downstream.Api.AdminAsync();

        await AssertServedLikeUpstreamAsync(admin, "upstream");
    }

    private async Task AssertServedLikeUpstreamAsync(HttpClient admin, string backend)
    {
        using var upstreamAdmin = await upstream.Api.AdminAsync();
        var request = new { message = $"through two gateways via {backend}", temperature = 0, max_tokens = 9 };

        var models = await admin.GetFromJsonAsync<JsonElement>("/api/v1/models", Cancellation);
        var answer = await (await admin.PostAsJsonAsync("/api/v1/chat", request, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var direct = await (await upstreamAdmin.PostAsJsonAsync("/api/v1/chat", request, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var streamed = await (await admin.PostAsJsonAsync("/api/v1/chat/stream", request with { message = request.message + " streamed" }, Cancellation)).Content.ReadAsStringAsync(Cancellation);
        var embedded = await (await admin.PostAsJsonAsync("/api/v1/embeddings", new { input = "a cat sat" }, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var directEmbedded = await (await upstreamAdmin.PostAsJsonAsync("/api/v1/embeddings", new { input = "a cat sat" }, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var backends = await admin.GetFromJsonAsync<JsonElement>("/api/v1/models/backends", Cancellation);

        var tiny = models.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "tiny");
        Assert.Equal(backend, tiny.GetProperty("backend").GetString());
        Assert.DoesNotContain(models.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == "missing");
        Assert.Equal(direct.GetProperty("response").GetString(), answer.GetProperty("response").GetString());
        Assert.Equal((9, direct.GetProperty("prompt_tokens").GetInt32()), (answer.GetProperty("completion_tokens").GetInt32(), answer.GetProperty("prompt_tokens").GetInt32()));
        Assert.Contains("event: delta", streamed, StringComparison.Ordinal);
        Assert.Contains("event: done", streamed, StringComparison.Ordinal);
        Assert.True(embedded.TryGetProperty("embeddings", out var vectors), embedded.ToString());
        Assert.Equal(directEmbedded.GetProperty("embeddings").ToString(), vectors.ToString());
        var state = backends.EnumerateArray().Single(b => b.GetProperty("name").GetString() == backend);
        Assert.Equal((true, "closed"), (state.GetProperty("reachable").GetBoolean(), state.GetProperty("circuit").GetString()));
    }

    private async Task<Downstream> DownstreamAsync(string name, Func<Uri, string, Dictionary<string, string?>> settings)
    {
        using var upstreamAdmin = await upstream.Api.AdminAsync();
        var (_, key) = await OllamaCompatibleConformance<SqliteTestStore>.ApiKeyAsync(upstreamAdmin, $"downstream-{name}", "model:use", "model:view", "model:manage");
        var store = new SqliteTestStore();
        await store.InitializeAsync(Cancellation);
        var configuration = settings(upstreamAdmin.BaseAddress!, key);
        configuration["Sutazai:Models:DefaultModel"] = "tiny";
        var factory = new SutazaiFactory(store, configuration);
        (await factory.StartAsync(Cancellation)).Dispose();
        return new Downstream(factory, store);
    }

    private sealed class Downstream(SutazaiFactory factory, SqliteTestStore store) : IAsyncDisposable
    {
        public TestApi Api { get; } = new(factory);

        public async ValueTask DisposeAsync()
        {
            await factory.DisposeAsync();
            await store.DisposeAsync();
        }
    }
}
