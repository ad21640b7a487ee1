using System.Net;
using System.Net.Http.Json;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

public sealed class RateLimitedServer : ServerFixture<SqliteTestStore>
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Sutazai:RateLimits:AuthenticatedPerMinute"] = "5",
        ["Sutazai:RateLimits:AnonymousPerMinute"] = "3",
        ["Sutazai:RateLimits:Groups:auth:AuthenticatedPerMinute"] = "1000",
        ["Sutazai:RateLimits:Groups:auth:AnonymousPerMinute"] = "6",
    };
}

/// <summary>Per-user, per-key and per-address limits in one-minute windows. The counters live in memory, whatever the store.</summary>
public sealed class RateLimitTests(RateLimitedServer server) : IClassFixture<RateLimitedServer>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_user_has_their_own_budget_and_the_window_resets()
    {
        NextWindow();
        var first = await server.Api.CreateUserAsync("viewer");
        var second = await server.Api.CreateUserAsync("viewer");
        using var a = server.Api.WithBearer((await server.Api.SignInAsync(first.Username, first.Password)).AccessToken);
        using var b = server.Api.WithBearer((await server.Api.SignInAsync(second.Username, second.Password)).AccessToken);
        NextWindow();

        var remaining = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var ok = await a.GetAsync("/api/v1/agents", Cancellation);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            remaining.Add(ok.Headers.GetValues("RateLimit-Remaining").Single());
        }

        var limited = await a.GetAsync("/api/v1/agents", Cancellation);

        Assert.Equal(["4", "3", "2", "1", "0"], remaining);
        await HttpConformance<SqliteTestStore>.AssertProblemAsync(limited, HttpStatusCode.TooManyRequests, "too-many-requests");
        Assert.Equal("60", limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal("5", limited.Headers.GetValues("RateLimit-Limit").Single());
        Assert.Equal("5;w=60", limited.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        server.Factory.Time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal("15", (await a.GetAsync("/api/v1/agents", Cancellation)).Headers.GetValues("Retry-After").Single());
        server.Factory.Time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task An_api_key_is_limited_apart_from_its_owner()
    {
        NextWindow();
        var owner = await server.Api.CreateUserAsync("developer");
        using var user = server.Api.WithBearer((await server.Api.SignInAsync(owner.Username, owner.Password)).AccessToken);
        var created = await user.PostAsJsonAsync("/api/v1/api-keys", new { name = "k", scopes = new[] { "agent:view" } }, Cancellation);
        var key = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Cancellation)).GetProperty("key").GetString()!;
        using var keyClient = server.Api.WithApiKey(key);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await user.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await keyClient.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Anonymous_calls_are_limited_per_address_and_health_is_exempt()
    {
        NextWindow();
        using var anonymous = server.Api.Anonymous();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            var attempt = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = $"stranger{i}", password = "wrong-password" }, Cancellation);
            statuses.Add(attempt.StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 6), HttpStatusCode.TooManyRequests], statuses);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live", Cancellation)).StatusCode);
        }

        // Unauthenticated calls to protected endpoints spend the address's api budget (3), so tokens cannot be guessed fast.
        var guesses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            guesses.Add((await anonymous.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], guesses);
    }

    /// <summary>Moves the clock to the start of the next minute, so each test starts with fresh windows.</summary>
    private void NextWindow()
    {
        var now = server.Factory.Time.GetUtcNow();
        server.Factory.Time.Advance(TimeSpan.FromMinutes(1) - TimeSpan.FromTicks(now.UtcTicks % TimeSpan.TicksPerMinute));
    }
}
