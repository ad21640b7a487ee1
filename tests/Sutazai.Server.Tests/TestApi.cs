using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Sutazai.Server.Tests;

/// <summary>Signing in and making users through the real API, for tests that need a caller of some role.</summary>
public sealed class TestApi(SutazaiFactory factory)
{
    private static int _counter;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public Microsoft.Extensions.Time.Testing.FakeTimeProvider Time => factory.Time;

    /// <summary>A client with no credentials.</summary>
    public HttpClient Anonymous() => factory.CreateClient();

    /// <summary>A client that sends <paramref name="accessToken"/> as a bearer token.</summary>
    public HttpClient WithBearer(string accessToken)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
    }

    public HttpClient WithApiKey(string key)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", key);
        return client;
    }

    public async Task<Tokens> SignInAsync(string username, string password, string? totpCode = null, string? recoveryCode = null)
    {
        using var client = Anonymous();
        var response = await client.PostAsJsonAsync("/api/v1/auth/token", new { username, password, totp_code = totpCode, recovery_code = recoveryCode }, Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"sign-in as {username} gave {response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancellation)}");
        return Tokens.From(await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation));
    }

    public Task<Tokens> SignInAsAdminAsync() => SignInAsync("admin", SutazaiFactory.AdminPassword);

    public async Task<HttpClient> AdminAsync() => WithBearer((await SignInAsAdminAsync()).AccessToken);

    /// <summary>Creates a user with the given roles through the admin API and returns who they are.</summary>
    public async Task<TestUser> CreateUserAsync(params string[] roles)
    {
        var name = $"user{Interlocked.Increment(ref _counter)}-{Guid.NewGuid().ToString("N")[..6]}";
        var password = $"Pw-{Guid.NewGuid():N}";
        using var admin = await AdminAsync();
        var response = await admin.PostAsJsonAsync("/api/v1/users", new { username = name, email = $"{name}@example.com", password, roles }, Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"creating {name} gave {response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancellation)}");
        var user = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        return new TestUser(user.GetProperty("id").GetGuid(), name, password);
    }

    public async Task<(TestUser User, HttpClient Client, Tokens Tokens)> SignedInUserAsync(params string[] roles)
    {
        var user = await CreateUserAsync(roles);
        var tokens = await SignInAsync(user.Username, user.Password);
        return (user, WithBearer(tokens.AccessToken), tokens);
    }
}

public sealed record TestUser(Guid Id, string Username, string Password);

public sealed record Tokens(string AccessToken, string RefreshToken, Guid SessionId, long ExpiresIn)
{
    public static Tokens From(JsonElement json) => new(
        json.GetProperty("access_token").GetString()!,
        json.GetProperty("refresh_token").GetString()!,
        json.GetProperty("session_id").GetGuid(),
        json.GetProperty("expires_in").GetInt64());
}

public static class Responses
{
    /// <summary>
    /// The JSON body of a successful answer; a failed one fails the test showing its status and body, and what the
    /// server logged under its trace id when <paramref name="logs"/> is given.
    /// </summary>
    public static async Task<JsonElement> SucceededAsync(this Task<HttpResponseMessage> call, LogCapture? logs = null)
    {
        using var response = await call;
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var traceId = body.Contains("trace_id", StringComparison.Ordinal) ? JsonDocument.Parse(body).RootElement.GetProperty("trace_id").GetString() : null;
            var logged = traceId is null || logs is null ? "" : "\nserver log: " + string.Join("\n", logs.Rendered.Where(e => e.Contains(traceId, StringComparison.Ordinal)));
            Assert.Fail($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} gave {(int)response.StatusCode}: {body}{logged}");
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
