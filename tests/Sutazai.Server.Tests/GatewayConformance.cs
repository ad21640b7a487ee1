using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Models;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// A server whose tiny model takes one call at a time with one waiting, a second name for the same file, and an
/// OpenAI-compatible backend ("dead") on a loopback port nothing listens on: a backend that really fails.
/// </summary>
public sealed class GatewayFixture<TStore> : ServerFixture<TStore>
    where TStore : ITestStore, new()
{
    private static readonly int DeadPort = ClosedPort();

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Sutazai:Models:DefaultModel"] = "tiny",
        ["Sutazai:Models:MaxConcurrentCalls"] = "1",
        ["Sutazai:Models:MaxQueuedCalls"] = "1",
        ["Sutazai:Models:Retries"] = "1",
        ["Sutazai:Models:RetryDelayMilliseconds"] = "0",
        ["Sutazai:Models:CircuitMinimumCalls"] = "2",
        ["Sutazai:Models:CircuitBreakSeconds"] = "30",
        ["Sutazai:Models:Fallbacks:remote:0"] = "tiny",
        ["Sutazai:Models:LlamaCpp:Models:tiny:Path"] = TinyGguf.InTemp(),
        ["Sutazai:Models:LlamaCpp:Models:tiny:ContextSize"] = "512",
        ["Sutazai:Models:LlamaCpp:Models:tiny-b:Path"] = TinyGguf.InTemp(),
        ["Sutazai:Models:LlamaCpp:Models:tiny-b:ContextSize"] = "256",
        ["Sutazai:Models:OpenAi:Servers:dead:Endpoint"] = $"http://127.0.0.1:{DeadPort}/v1",
        ["Sutazai:Models:OpenAi:Servers:dead:Models:0"] = "remote",
        ["Sutazai:Models:OpenAi:Servers:dead:Models:1"] = "remote-only",
    };

    /// <summary>A port that was free a moment ago and that nothing here listens on.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The gateway's pipeline through the API: fallback, circuit breaker, the line, embeddings, the default, usage.</summary>
public abstract class GatewayConformance<TStore>(GatewayFixture<TStore> fixture) : IClassFixture<GatewayFixture<TStore>>
    where TStore : ITestStore, new()
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_failing_backend_is_retried_then_its_circuit_opens_and_a_fallback_answers()
    {
        using var admin = await fixture.Api.AdminAsync();

        using var failed = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hi", model = "remote-only", max_tokens = 4 }, Cancellation);
        var failure = await failed.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var backends = await admin.GetFromJsonAsync<JsonElement>("/api/v1/models/backends", Cancellation);
        using var fellBack = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hi", model = "remote", max_tokens = 4 }, Cancellation);
        var answer = await fellBack.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        using var refused = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hi", model = "remote-only", max_tokens = 4 }, Cancellation);
        var refusal = await refused.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var health = await fixture.Api.Anonymous().GetFromJsonAsync<JsonElement>("/health", Cancellation);

        // Two attempts (one retry) failed to connect: the caller hears which backend, which model and why.
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.Contains("Backend 'dead' failed while serving model 'remote-only'", failure.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var dead = backends.EnumerateArray().Single(b => b.GetProperty("name").GetString() == "dead");
        Assert.Equal(("open", false), (dead.GetProperty("circuit").GetString(), dead.GetProperty("reachable").GetBoolean()));
        // The fallback answered, and says so; the usage record names the model and backend that did the work.
        Assert.Equal(HttpStatusCode.OK, fellBack.StatusCode);
        Assert.Equal("tiny", answer.GetProperty("model").GetString());
        Assert.Equal(4, answer.GetProperty("completion_tokens").GetInt32());
        // With the circuit open the backend is not called at all: 503 with when to try again.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("30", refused.Headers.RetryAfter?.ToString());
        Assert.Contains("circuit is open", refusal.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var models = health.GetProperty("dependencies").GetProperty("models");
        Assert.Equal("degraded", models.GetProperty("status").GetString());
        Assert.Contains("backend dead is unreachable", models.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("circuit open", models.GetProperty("details").GetProperty("backend:dead").GetString(), StringComparison.Ordinal);

        // After the break the circuit lets a call through to try the backend again (it fails again here).
        var lastFailure = dead.GetProperty("last_failure_at").GetDateTimeOffset();
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(31));
        using var tried = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hi", model = "remote-only", max_tokens = 4 }, Cancellation);
        var after = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/models/backends", Cancellation)).EnumerateArray().Single(b => b.GetProperty("name").GetString() == "dead");
        Assert.Contains("Connection refused", (await tried.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(after.GetProperty("last_failure_at").GetDateTimeOffset() > lastFailure);
    }

    [Fact]
    public async Task A_waiting_call_shows_its_place_in_line_a_full_line_refuses_and_a_call_can_be_stopped()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (developer, client, _) = await fixture.Api.SignedInUserAsync("developer");
        var gateway = fixture.Factory.Services.GetRequiredService<ModelGateway>();

        // Someone holds the model's only slot by reading an answer slowly.
        var holder = gateway.StreamAsync(new ChatCall("tiny", [new ChatMessage(ChatRole.User, "hold")], new ChatOptions { MaxOutputTokens = 64 }, new ModelCaller(null)), Cancellation)
            .GetAsyncEnumerator(Cancellation);
        Assert.True(await holder.MoveNextAsync());
        try
        {
            var waiting = client.PostAsJsonAsync("/api/v1/chat", new { message = "wait for me", max_tokens = 4 }, Cancellation);
            var mine = await WaitForAsync(client, calls => calls.Where(c => c.GetProperty("state").GetString() == "waiting").Select(c => (JsonElement?)c).FirstOrDefault());
            using var full = await admin.PostAsJsonAsync("/api/v1/chat", new { message = "no room", max_tokens = 4 }, Cancellation);
            var everyone = await admin.GetFromJsonAsync<JsonElement>("/api/v1/models/calls", Cancellation);
            using var notYours = await admin.DeleteAsync($"/api/v1/models/calls/{Guid.NewGuid()}", Cancellation);
            using var stop = await client.DeleteAsync($"/api/v1/models/calls/{mine.GetProperty("id").GetGuid()}", Cancellation);
            using var stopped = await waiting;

            Assert.Equal((1, "tiny", developer.Id), (mine.GetProperty("position").GetInt32(), mine.GetProperty("model").GetString(), mine.GetProperty("user_id").GetGuid()));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
            Assert.Equal("1", full.Headers.RetryAfter?.ToString());
            // The admin sees the running holder and the waiting call; the developer saw only its own.
            Assert.Equal(["running", "waiting"], everyone.EnumerateArray().Select(c => c.GetProperty("state").GetString()).Order().ToList());
            Assert.Equal(HttpStatusCode.NotFound, notYours.StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
            Assert.Equal(HttpStatusCode.Conflict, stopped.StatusCode);
            Assert.Contains($"stopped by {developer.Username}", await stopped.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
            Assert.Equal(mine.GetProperty("id").GetString(), stopped.Headers.GetValues("X-Sutazai-Call-Id").Single());
        }
        finally
        {
            await holder.DisposeAsync();
        }

        // The slot is free again once the holder lets go.
        using var next = await client.PostAsJsonAsync("/api/v1/chat", new { message = "my turn", max_tokens = 4 }, Cancellation);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Embeddings_are_one_unit_vector_per_input_that_follows_the_text_and_are_recorded()
    {
        var (user, client, _) = await fixture.Api.SignedInUserAsync("developer");

        using var response = await client.PostAsJsonAsync("/api/v1/embeddings", new { input = new[] { "a cat sat", "the dog ran far", "a cat sat" } }, Cancellation);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        using var empty = await client.PostAsJsonAsync("/api/v1/embeddings", new { input = Array.Empty<string>() }, Cancellation);
        using var wrongShape = await client.PostAsJsonAsync("/api/v1/embeddings", new { input = 42 }, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var vectors = answer.GetProperty("embeddings").EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList();
        Assert.Equal(3, vectors.Count);
        Assert.All(vectors, v => Assert.Equal(answer.GetProperty("dimensions").GetInt32(), v.Length));
        Assert.All(vectors, v => Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 3));
        Assert.Equal(vectors[0], vectors[2]);
        Assert.NotEqual(vectors[0], vectors[1]);
        Assert.Equal(("tiny", "llamacpp"), (answer.GetProperty("model").GetString(), answer.GetProperty("backend").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrongShape.StatusCode);
        Assert.Contains("input", await wrongShape.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);

        await using var db = await fixture.DatabaseWithRecordsAsync();
        var recorded = await db.ChatHistory.AsNoTracking().SingleAsync(c => c.UserId == user.Id, Cancellation);
        Assert.Equal(("embed", "a cat sat", answer.GetProperty("prompt_tokens").GetInt32()), (recorded.Operation, recorded.Message, recorded.PromptTokens));
        Assert.True(recorded.PromptTokens > 3);

        // Model calls are audited behind their answers; the audit API still shows every one made before it was asked.
        using var admin = await fixture.Api.AdminAsync();
        var audited = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?action=model.embed&actor={user.Username}", Cancellation);
        var outcomes = audited.GetProperty("items").EnumerateArray().Select(e => (e.GetProperty("outcome").GetString(), e.GetProperty("details").GetProperty("status").GetInt32())).Order().ToList();
        Assert.Equal([("failure", 400), ("failure", 400), ("success", 200)], outcomes);
    }

    [Fact]
    public async Task An_admin_switches_the_default_model_at_run_time_for_every_caller()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (_, developer, _) = await fixture.Api.SignedInUserAsync("developer");
        try
        {
            using var denied = await developer.PutAsJsonAsync("/api/v1/models/default", new { model = "tiny-b" }, Cancellation);
            using var unknown = await admin.PutAsJsonAsync("/api/v1/models/default", new { model = "no-such-model" }, Cancellation);
            using var switched = await admin.PutAsJsonAsync("/api/v1/models/default", new { model = "tiny-b" }, Cancellation);
            var list = await developer.GetFromJsonAsync<JsonElement>("/api/v1/models", Cancellation);
            var answer = await developer.PostAsJsonAsync("/api/v1/chat", new { message = "who answers", max_tokens = 3 }, Cancellation).SucceededAsync(fixture.Factory.Logs);

            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal(HttpStatusCode.OK, switched.StatusCode);
            Assert.Equal("tiny-b", list.GetProperty("default_model").GetString());
            Assert.Equal("tiny-b", answer.GetProperty("model").GetString());
            await using var db = fixture.Database();
            Assert.Equal("tiny-b", await db.Models.Where(m => m.IsDefault).Select(m => m.Name).SingleAsync(Cancellation));
        }
        finally
        {
            await admin.PutAsJsonAsync("/api/v1/models/default", new { model = "tiny" }, Cancellation);
        }
    }

    [Fact]
    public async Task Usage_is_summed_per_group_and_a_caller_without_model_manage_sees_only_its_own()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (user, developer, _) = await fixture.Api.SignedInUserAsync("developer");
        await developer.PostAsJsonAsync("/api/v1/chat", new { message = "count me", max_tokens = 3 }, Cancellation).SucceededAsync(fixture.Factory.Logs);
        await developer.PostAsJsonAsync("/api/v1/generate", new { prompt = "and me", max_tokens = 5 }, Cancellation).SucceededAsync(fixture.Factory.Logs);
        await admin.PostAsJsonAsync("/api/v1/chat", new { message = "not theirs", max_tokens = 2 }, Cancellation).SucceededAsync(fixture.Factory.Logs);

        var own = await developer.GetFromJsonAsync<JsonElement>($"/api/v1/models/usage?group_by=user&user_id={Guid.NewGuid()}", Cancellation);
        var byUser = await admin.GetFromJsonAsync<JsonElement>("/api/v1/models/usage?group_by=user", Cancellation);
        using var bad = await admin.GetAsync("/api/v1/models/usage?group_by=colour", Cancellation);

        var mine = Assert.Single(own.GetProperty("groups").EnumerateArray());
        Assert.Equal((user.Id.ToString(), 2L, 8L), (mine.GetProperty("key").GetString(), mine.GetProperty("calls").GetInt64(), mine.GetProperty("completion_tokens").GetInt64()));
        var theirs = byUser.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("key").GetString() == user.Id.ToString());
        Assert.Equal(2L, theirs.GetProperty("calls").GetInt64());
        Assert.True(byUser.GetProperty("groups").GetArrayLength() > 1);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient client, Func<List<JsonElement>, JsonElement?> pick)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            var calls = (await client.GetFromJsonAsync<JsonElement>("/api/v1/models/calls", timeout.Token)).EnumerateArray().ToList();
            if (pick(calls) is { } found)
            {
                return found;
            }

            await Task.Delay(10, timeout.Token);
        }
    }
}

public sealed class SqliteGatewayTests(GatewayFixture<SqliteTestStore> fixture) : GatewayConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlGatewayTests(GatewayFixture<PostgreSqlTestStore> fixture) : GatewayConformance<PostgreSqlTestStore>(fixture);
