using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OllamaSharp.Models;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The Ollama-compatible endpoints, driven by the real OllamaSharp client with an API key as its bearer key.</summary>
public abstract class OllamaCompatibleConformance<TStore>(ModelFixture<TStore> fixture) : IClassFixture<ModelFixture<TStore>>
    where TStore : ITestStore, new()
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OllamaSharp_lists_chats_streams_generates_and_embeds_through_our_gateway()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (keyId, key) = await ApiKeyAsync(admin, "ollama-client", "model:use", "model:view");
        using var http = fixture.Api.WithBearer(key);
        using var ollama = new OllamaApiClient(http, "tiny");
        IChatClient chat = ollama;
        IEmbeddingGenerator<string, Embedding<float>> embedder = ollama;
        var settings = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };

        var version = await ollama.GetVersionAsync(Cancellation);
        var models = (await ollama.ListLocalModelsAsync(Cancellation)).Select(m => m.Name).ToList();
        var whole = await chat.GetResponseAsync("hello model", settings, Cancellation);
        var pieces = await chat.GetStreamingResponseAsync("hello model", settings, Cancellation).ToListAsync(Cancellation);
        var running = (await ollama.ListRunningModelsAsync(Cancellation)).Select(m => m.Name).ToList();
        var generated = await ollama.GenerateAsync(new GenerateRequest { Prompt = "hello model", Options = new RequestOptions { Temperature = 0, NumPredict = 7 } }, Cancellation).ToListAsync(Cancellation);
        var vectors = await embedder.GenerateAsync(["a cat sat", "the dog ran far"], cancellationToken: Cancellation);
        var ours = await (await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hello model", temperature = 0, max_tokens = 12 }, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var ourVectors = await (await admin.PostAsJsonAsync("/api/v1/embeddings", new { input = new[] { "a cat sat", "the dog ran far" } }, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);

        Assert.Equal(Sutazai.Server.Hosting.NodeInfo.Version, version);
        Assert.Contains("tiny", models);
        Assert.DoesNotContain("missing", models);
        Assert.Contains("tiny", running);
        // The same model, prompt and greedy settings give the same text on every route, whole or streamed.
        Assert.Equal(ours.GetProperty("response").GetString(), whole.Text);
        Assert.Equal(whole.Text, string.Concat(pieces.Select(p => p.Text)));
        Assert.True(pieces.Count(p => p.Text.Length > 0) > 1);
        Assert.Equal((12L, ours.GetProperty("prompt_tokens").GetInt64()), (whole.Usage?.OutputTokenCount, whole.Usage?.InputTokenCount));
        var done = Assert.IsType<GenerateDoneResponseStream>(generated[^1]);
        Assert.Equal(7, done.EvalCount);
        Assert.True(done.PromptEvalCount > 0);
        Assert.Equal(ourVectors.GetProperty("embeddings")[1].EnumerateArray().Select(x => x.GetSingle()).ToArray(), vectors[1].Vector.ToArray());

        await using var db = await fixture.DatabaseWithRecordsAsync();
        Assert.Equal(4, await db.ChatHistory.CountAsync(c => c.ApiKeyId == keyId, Cancellation));
    }

    [Fact]
    public async Task Streaming_is_NDJSON_ending_with_Ollamas_statistics_and_errors_are_Ollamas_shape()
    {
        using var admin = await fixture.Api.AdminAsync();

        using var streamed = await admin.PostAsJsonAsync("/api/chat", new { model = "tiny", messages = new[] { new { role = "user", content = "count" } }, options = new { temperature = 0, num_predict = 6 } }, Cancellation);
        var lines = (await streamed.Content.ReadAsStringAsync(Cancellation)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        using var unknown = await admin.PostAsJsonAsync("/api/generate", new { model = "no-such-model", prompt = "hi", stream = false }, Cancellation);
        using var malformed = await admin.PostAsJsonAsync("/api/chat", new { model = "tiny", messages = "not a list" }, Cancellation);

        Assert.Equal("application/x-ndjson", streamed.Content.Headers.ContentType?.MediaType);
        Assert.All(lines[..^1], l => Assert.False(l.GetProperty("done").GetBoolean()));
        var last = lines[^1];
        Assert.True(last.GetProperty("done").GetBoolean());
        Assert.Equal(("length", 6), (last.GetProperty("done_reason").GetString(), last.GetProperty("eval_count").GetInt32()));
        Assert.True(last.GetProperty("prompt_eval_count").GetInt32() > 0);
        Assert.True(last.GetProperty("total_duration").GetInt64() >= last.GetProperty("eval_duration").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no-such-model", (await unknown.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("'messages' must be a non-empty array.", (await malformed.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("error").GetString());
    }

    internal static async Task<(Guid Id, string Key)> ApiKeyAsync(HttpClient admin, string name, params string[] scopes)
    {
        using var created = await admin.PostAsJsonAsync("/api/v1/api-keys", new { name, scopes }, Cancellation);
        var key = await created.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        return (key.GetProperty("api_key").GetProperty("id").GetGuid(), key.GetProperty("key").GetString()!);
    }
}

public sealed class SqliteOllamaCompatibleTests(ModelFixture<SqliteTestStore> fixture) : OllamaCompatibleConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlOllamaCompatibleTests(ModelFixture<PostgreSqlTestStore> fixture) : OllamaCompatibleConformance<PostgreSqlTestStore>(fixture);
