using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>A server with a tiny GGUF model run by the real llama.cpp runtime as its default model.</summary>
public sealed class ModelFixture<TStore> : ServerFixture<TStore>
    where TStore : ITestStore, new()
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Sutazai:Models:DefaultModel"] = "tiny",
        ["Sutazai:Models:LlamaCpp:Models:tiny:Path"] = TinyGguf.InTemp(),
        ["Sutazai:Models:LlamaCpp:Models:tiny:ContextSize"] = "512",
        ["Sutazai:Models:LlamaCpp:Models:tiny:Threads"] = "2",
        ["Sutazai:Models:LlamaCpp:Models:missing:Path"] = "/nonexistent/missing.gguf",
    };
}

/// <summary>Models and chat through the API: the original shapes, streaming, usage recorded, failures as problems.</summary>
public abstract class ModelConformance<TStore>(ModelFixture<TStore> fixture) : IClassFixture<ModelFixture<TStore>>
    where TStore : ITestStore, new()
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Chat_answers_in_the_original_shape_and_records_who_asked_and_the_tokens()
    {
        var (user, client, _) = await fixture.Api.SignedInUserAsync("developer");

        using var response = await client.PostAsJsonAsync("/api/v1/chat", new { message = "hello model", temperature = 0, max_tokens = 10, seed = 3 }, Cancellation);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        using var other = await client.PostAsJsonAsync("/api/v1/chat", new { message = "the agent and the task", temperature = 0, max_tokens = 10, seed = 3 }, Cancellation);
        var otherAnswer = await other.Content.ReadFromJsonAsync<JsonElement>(Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tiny", answer.GetProperty("model").GetString());
        Assert.Equal(10, answer.GetProperty("completion_tokens").GetInt32());
        var prompt = answer.GetProperty("prompt_tokens").GetInt32();
        Assert.Equal(prompt + 10, answer.GetProperty("tokens_used").GetInt32());
        Assert.Equal("length", answer.GetProperty("finish_reason").GetString());
        Assert.NotEqual(answer.GetProperty("response").GetString(), otherAnswer.GetProperty("response").GetString());

        await using var db = await fixture.DatabaseWithRecordsAsync();
        var recorded = await db.ChatHistory.AsNoTracking().Where(c => c.UserId == user.Id).OrderBy(c => c.CreatedAt).ToListAsync(Cancellation);
        Assert.Equal(2, recorded.Count);
        Assert.Equal(("hello model", answer.GetProperty("response").GetString(), "tiny", "llamacpp", prompt, 10),
            (recorded[0].Message, recorded[0].Response, recorded[0].Model, recorded[0].Backend, recorded[0].PromptTokens, recorded[0].CompletionTokens));
    }

    [Fact]
    public async Task A_deterministic_call_asked_again_is_answered_from_the_cache_and_still_recorded()
    {
        var (user, client, _) = await fixture.Api.SignedInUserAsync("developer");
        async Task<JsonElement> CacheAsync() => (await client.GetFromJsonAsync<JsonElement>("/api/v1/models", Cancellation)).GetProperty("cache");
        var prompt = $"cache me {Guid.NewGuid():N}";
        var before = await CacheAsync();

        using var firstResponse = await client.PostAsJsonAsync("/api/v1/chat", new { message = prompt, temperature = 0, max_tokens = 8 }, Cancellation);
        var first = await firstResponse.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.True(firstResponse.IsSuccessStatusCode, first.ToString());
        var second = await (await client.PostAsJsonAsync("/api/v1/chat", new { message = prompt, temperature = 0, max_tokens = 8 }, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var longer = await (await client.PostAsJsonAsync("/api/v1/chat", new { message = prompt, temperature = 0, max_tokens = 9 }, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        await client.PostAsJsonAsync("/api/v1/chat", new { message = prompt, temperature = 0.9, max_tokens = 8 }, Cancellation);
        var after = await CacheAsync();

        Assert.Equal(first.ToString(), second.ToString());
        Assert.Equal(9, longer.GetProperty("completion_tokens").GetInt32());
        // One hit (the repeat); two misses (the first and the one with another limit); the random one is never looked up.
        Assert.Equal(1, after.GetProperty("hits").GetInt64() - before.GetProperty("hits").GetInt64());
        Assert.Equal(2, after.GetProperty("misses").GetInt64() - before.GetProperty("misses").GetInt64());
        await using var db = await fixture.DatabaseWithRecordsAsync();
        Assert.Equal(4, await db.ChatHistory.CountAsync(c => c.UserId == user.Id && c.Message == prompt, Cancellation));
    }

    [Fact]
    public async Task Streaming_sends_the_same_answer_piece_by_piece_and_then_its_usage()
    {
        using var admin = await fixture.Api.AdminAsync();
        var request = new { message = "stream to me", temperature = 0, max_tokens = 16, seed = 5 };
        var whole = await (await admin.PostAsJsonAsync("/api/v1/chat", request, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);

        using var streamed = await admin.PostAsJsonAsync("/api/v1/chat/stream", request, Cancellation);
        var events = ParseEvents(await streamed.Content.ReadAsStringAsync(Cancellation));

        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        var deltas = events.Where(e => e.Name == "delta").ToList();
        Assert.True(deltas.Count > 1);
        Assert.Equal(whole.GetProperty("response").GetString(), string.Concat(deltas.Select(d => d.Data.GetProperty("text").GetString())));
        var done = Assert.Single(events, e => e.Name == "done").Data;
        Assert.Equal(whole.GetProperty("tokens_used").GetInt32(), done.GetProperty("tokens_used").GetInt32());
        Assert.Equal("done", events[^1].Name);
    }

    [Fact]
    public async Task Models_are_listed_from_the_backends_with_the_default_and_a_missing_file_is_unreachable()
    {
        using var admin = await fixture.Api.AdminAsync();

        var list = await admin.GetFromJsonAsync<JsonElement>("/api/v1/models", Cancellation);
        using var unknown = await admin.GetAsync("/api/v1/models/no-such-model", Cancellation);

        Assert.Equal("tiny", list.GetProperty("default_model").GetString());
        var models = list.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal("llamacpp", models["tiny"].GetProperty("backend").GetString());
        Assert.Contains(models["tiny"].GetProperty("status").GetString(), new[] { "available", "loaded" });
        Assert.Equal(512, models["tiny"].GetProperty("context_size").GetInt32());
        Assert.Equal("unreachable", models["missing"].GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // The node stays up; health says which model cannot be reached and why.
        var health = await fixture.Api.Anonymous().GetFromJsonAsync<JsonElement>("/health", Cancellation);
        var entry = health.GetProperty("dependencies").GetProperty("models");
        Assert.Equal(("degraded", "degraded"), (health.GetProperty("status").GetString(), entry.GetProperty("status").GetString()));
        Assert.Equal("missing is unreachable", entry.GetProperty("description").GetString());
        Assert.Contains("/nonexistent/missing.gguf", entry.GetProperty("details").GetProperty("missing").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("unreachable", entry.GetProperty("details").GetProperty("tiny").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_are_problems_that_say_what_went_wrong()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (_, viewer, _) = await fixture.Api.SignedInUserAsync("viewer");

        using var unknown = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hi", model = "no-such-model" }, Cancellation);
        using var missingFile = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hi", model = "missing" }, Cancellation);
        using var tooLong = await admin.PostAsJsonAsync("/api/v1/chat", new { message = string.Join(' ', Enumerable.Repeat("hello world", 600)) }, Cancellation);
        using var invalid = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hi", max_tokens = 0, temperature = 9 }, Cancellation);
        using var forbidden = await viewer.PostAsJsonAsync("/api/v1/chat", new { message = "hi" }, Cancellation);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no-such-model", await unknown.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadGateway, missingFile.StatusCode);
        var failure = await missingFile.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.Equal("urn:sutazai:problem:backend-failed", failure.GetProperty("type").GetString());
        Assert.Contains("llamacpp", failure.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("/nonexistent/missing.gguf", failure.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("ContextSize", await tooLong.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("MaxTokens", out _) || errors.TryGetProperty("max_tokens", out _), errors.ToString());
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    private static List<(string Name, JsonElement Data)> ParseEvents(string body) =>
        [.. body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(block =>
        {
            var lines = block.Split('\n');
            var name = lines.FirstOrDefault(l => l.StartsWith("event: ", StringComparison.Ordinal))?["event: ".Length..] ?? "message";
            var data = string.Concat(lines.Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..]));
            return (name, JsonSerializer.Deserialize<JsonElement>(data));
        })];
}

public sealed class SqliteModelTests(ModelFixture<SqliteTestStore> fixture) : ModelConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlModelTests(ModelFixture<PostgreSqlTestStore> fixture) : ModelConformance<PostgreSqlTestStore>(fixture);
