using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OtpNet;
using Microsoft.Extensions.AI;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Core.Tasks;
using Sutazai.Server.Audit;
using Sutazai.Server.Identity;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// Walks every endpoint the server maps: each is either deliberately public or declares what it needs, every
/// state-changing one is audited, and every role gets exactly the 2xx or 403 the permission matrix says.
/// </summary>
public abstract class EndpointSecurityConformance<TStore>(ModelFixture<TStore> server) : IClassFixture<ModelFixture<TStore>>
    where TStore : ITestStore, new()
{
    /// <summary>Endpoints whose sample a permitted caller cannot make succeed on this server, what they answer, and why.</summary>
    private static readonly Dictionary<string, HttpStatusCode> AllowedButRefused = new()
    {
        // No backend here can pull (llama.cpp cannot); the pull through Ollama is tested in RemoteBackendTests.
        ["POST /api/v1/models/pull"] = HttpStatusCode.BadRequest,
        ["POST /api/pull"] = HttpStatusCode.BadRequest,
    };

    /// <summary>Endpoints anyone may call, and why.</summary>
    private static readonly Dictionary<string, string> PublicEndpoints = new()
    {
        ["GET /health"] = "probes and load balancers",
        ["HEAD /health"] = "probes and load balancers",
        ["GET /health/live"] = "probes and load balancers",
        ["HEAD /health/live"] = "probes and load balancers",
        ["GET /health/ready"] = "probes and load balancers",
        ["HEAD /health/ready"] = "probes and load balancers",
        ["GET /openapi/{documentName}.json"] = "the API description; lists routes, holds no data",
        ["GET /docs/{documentName?}"] = "the API explorer page",
        ["GET /docs/scalar.js"] = "the API explorer's script",
        ["GET /docs/scalar.aspnetcore.js"] = "the API explorer's script",
        ["GET /docs/favicon.svg"] = "the API explorer's icon",
        ["POST /api/v1/auth/token"] = "signing in",
        ["POST /api/v1/auth/refresh"] = "exchanging a refresh token, which is the credential",
    };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public void Every_endpoint_is_deliberately_public_or_declares_what_it_needs_and_changes_are_audited()
    {
        var problems = new List<string>();
        foreach (var (key, endpoint) in Endpoints())
        {
            var isPublic = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var declared = endpoint.Metadata.GetMetadata<RequiredPermission>() is not null;
            if (isPublic != PublicEndpoints.ContainsKey(key))
            {
                problems.Add(isPublic ? $"{key} is public but not in the list of deliberately public endpoints" : $"{key} is listed as public but requires authentication");
            }

            if (!isPublic && !declared)
            {
                problems.Add($"{key} declares neither RequirePermission nor RequireSignedIn");
            }

            if (!key.StartsWith("GET ", StringComparison.Ordinal) && !key.StartsWith("HEAD ", StringComparison.Ordinal) && endpoint.Metadata.GetMetadata<Audited>() is null)
            {
                problems.Add($"{key} changes state but is not audited");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Each_role_gets_exactly_the_matrix_answer_from_each_protected_endpoint()
    {
        var protectedEndpoints = Endpoints()
            .Where(e => e.Endpoint.Metadata.GetMetadata<RequiredPermission>() is not null)
            .Select(e => (e.Key, e.Endpoint.Metadata.GetMetadata<RequiredPermission>()!.Permission))
            .ToList();
        Assert.Empty(protectedEndpoints.Where(e => !Samples.ContainsKey(e.Key)).Select(e => $"no sample request for {e.Key}"));

        var callers = new Dictionary<string, Caller>();
        foreach (var role in BuiltInRoles.All)
        {
            callers[role.Name] = await Caller.CreateAsync(server.Api, server.Factory.Services, role.Name);
        }

        var mismatches = new List<string>();
        using var http = server.Api.Anonymous();
        foreach (var (key, permission) in protectedEndpoints)
        {
            foreach (var role in BuiltInRoles.All)
            {
                var allowed = permission is null || role.Permissions.Contains(permission);
                using var request = await Samples[key](callers[role.Name]);
                request.Headers.Authorization ??= new AuthenticationHeaderValue("Bearer", callers[role.Name].Tokens.AccessToken);
                // Headers are enough to judge, and live streams never end.
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
                var ok = allowed
                    ? response.IsSuccessStatusCode || AllowedButRefused.GetValueOrDefault(key) == response.StatusCode
                    : response.StatusCode == HttpStatusCode.Forbidden;
                if (!ok)
                {
                    mismatches.Add($"{key} as {role.Name}: expected {(allowed ? "2xx" : "403")}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancellation)}");
                }
            }
        }

        foreach (var held in callers.Values.SelectMany(c => c.Held))
        {
            await held.DisposeAsync();
        }

        TestContext.Current.SendDiagnosticMessage($"Permission matrix: {protectedEndpoints.Count} endpoints x {BuiltInRoles.All.Count} roles = {protectedEndpoints.Count * BuiltInRoles.All.Count} calls");
        Assert.Empty(mismatches);
    }

    private IEnumerable<(string Key, RouteEndpoint Endpoint)> Endpoints() =>
        server.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["ANY"]).Select(m => ($"{m} {Normalize(e.RoutePattern.RawText)}", e)));

    private static string Normalize(string? pattern) => "/" + (pattern ?? "").Trim('/');

    /// <summary>A request per protected endpoint that succeeds for a caller who may make it.</summary>
    private static readonly Dictionary<string, Func<Caller, Task<HttpRequestMessage>>> Samples = new()
    {
        ["GET /api/v1/agents"] = _ => Get("/api/v1/agents"),
        ["GET /metrics"] = _ => Get("/metrics"),
        ["GET /api/v1/agents/{name}"] = _ => Get("/api/v1/agents/hardware-resource-optimizer"),
        ["GET /api/v1/auth/me"] = _ => Get("/api/v1/auth/me"),
        ["GET /api/v1/auth/sessions"] = _ => Get("/api/v1/auth/sessions"),
        ["POST /api/v1/auth/logout"] = async c => WithToken(new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/logout"), (await c.FreshSessionAsync()).AccessToken),
        ["POST /api/v1/auth/revoke"] = async c => Post("/api/v1/auth/revoke", new { token = (await c.FreshSessionAsync()).RefreshToken }),
        ["DELETE /api/v1/auth/sessions/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/auth/sessions/{(await c.FreshSessionAsync()).SessionId}"),
        ["POST /api/v1/auth/password"] = async c =>
        {
            var (user, tokens) = await c.FreshUserAsync();
            return WithToken(Post("/api/v1/auth/password", new { current_password = user.Password, new_password = "another-Passw0rd-" + Guid.NewGuid() }), tokens.AccessToken);
        },
        ["POST /api/v1/auth/mfa/enroll"] = async c =>
        {
            var (user, tokens) = await c.FreshUserAsync();
            return WithToken(Post("/api/v1/auth/mfa/enroll", new { password = user.Password }), tokens.AccessToken);
        },
        ["POST /api/v1/auth/mfa/confirm"] = async c =>
        {
            var (user, tokens, secret) = await c.EnrolledUserAsync();
            return WithToken(Post("/api/v1/auth/mfa/confirm", new { code = c.Code(secret) }), tokens.AccessToken);
        },
        ["POST /api/v1/auth/mfa/disable"] = async c =>
        {
            var (user, tokens, recovery) = await c.MfaUserAsync();
            return WithToken(Post("/api/v1/auth/mfa/disable", new { password = user.Password, code = recovery }), tokens.AccessToken);
        },
        ["GET /api/v1/users"] = _ => Get("/api/v1/users"),
        ["POST /api/v1/users"] = _ =>
        {
            var name = "matrix-" + Guid.NewGuid().ToString("N")[..12];
            return Task.FromResult(Post("/api/v1/users", new { username = name, email = $"{name}@example.com", password = "matrix-Passw0rd-1" }));
        },
        ["GET /api/v1/users/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/users/{(await c.Api.CreateUserAsync("viewer")).Id}"),
        ["PATCH /api/v1/users/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/users/{(await c.Api.CreateUserAsync("viewer")).Id}")
        {
            Content = JsonContent.Create(new { email = $"patched-{Guid.NewGuid():N}@example.com" }),
        },
        ["DELETE /api/v1/users/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/users/{(await c.Api.CreateUserAsync("viewer")).Id}"),
        ["PUT /api/v1/users/{id:guid}/roles"] = async c => new HttpRequestMessage(HttpMethod.Put, $"/api/v1/users/{(await c.Api.CreateUserAsync("viewer")).Id}/roles")
        {
            Content = JsonContent.Create(new { roles = new[] { "developer" } }),
        },
        ["GET /api/v1/roles"] = _ => Get("/api/v1/roles"),
        ["POST /api/v1/api-keys"] = _ => Task.FromResult(Post("/api/v1/api-keys", new { name = "matrix", scopes = Array.Empty<string>() })),
        ["GET /api/v1/api-keys"] = _ => Get("/api/v1/api-keys"),
        ["GET /api/v1/api-keys/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/api-keys/{await c.OwnKeyAsync()}"),
        ["DELETE /api/v1/api-keys/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/api-keys/{await c.OwnKeyAsync()}"),
        ["GET /api/v1/audit"] = _ => Get("/api/v1/audit"),
        ["POST /api/v1/agents"] = _ => Task.FromResult(Post("/api/v1/agents", NewAgent())),
        ["PATCH /api/v1/agents/{name}"] = async c => new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/agents/{await c.AdminAgentAsync()}")
        {
            Content = JsonContent.Create(new { description = "patched" }),
        },
        ["DELETE /api/v1/agents/{name}"] = async c => new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/agents/{await c.AdminAgentAsync()}"),
        ["GET /api/v1/agents/{name}/health"] = _ => Get("/api/v1/agents/hardware-resource-optimizer/health"),
        ["POST /api/v1/tasks"] = _ => Task.FromResult(Post("/api/v1/tasks", new { title = "matrix", action = "ping" })),
        ["GET /api/v1/tasks"] = _ => Get("/api/v1/tasks"),
        ["GET /api/v1/tasks/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{await c.OwnWaitingTaskAsync()}"),
        ["POST /api/v1/tasks/{id:guid}/cancel"] = async c => new HttpRequestMessage(HttpMethod.Post, $"/api/v1/tasks/{await c.OwnWaitingTaskAsync()}/cancel"),
        ["POST /api/v1/tasks/{id:guid}/retry"] = async c => new HttpRequestMessage(HttpMethod.Post, $"/api/v1/tasks/{await c.OwnCancelledTaskAsync()}/retry"),
        ["GET /api/v1/tasks/{id:guid}/events"] = async c => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{await c.OwnWaitingTaskAsync()}/events"),
        ["GET /api/v1/tasks/{id:guid}/executions"] = async c => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{await c.OwnWaitingTaskAsync()}/executions"),
        ["GET /api/v1/tasks/{id:guid}/webhooks"] = async c => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{await c.OwnWaitingTaskAsync()}/webhooks"),
        ["GET /api/v1/tasks/{id:guid}/stream"] = async c => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{await c.OwnWaitingTaskAsync()}/stream"),
        ["GET /api/v1/tasks/stream"] = _ => Get("/api/v1/tasks/stream"),
        ["GET /api/v1/models"] = _ => Get("/api/v1/models"),
        ["GET /api/v1/models/{name}"] = _ => Get("/api/v1/models/tiny"),
        ["POST /api/v1/chat"] = _ => Task.FromResult(Post("/api/v1/chat", new { message = "matrix", max_tokens = 2 })),
        ["POST /api/v1/chat/stream"] = _ => Task.FromResult(Post("/api/v1/chat/stream", new { message = "matrix", max_tokens = 2 })),
        ["POST /v1/chat/completions"] = _ => Task.FromResult(Post("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "matrix" } }, max_tokens = 2 })),
        ["GET /v1/models"] = _ => Get("/v1/models"),
        ["POST /v1/embeddings"] = _ => Task.FromResult(Post("/v1/embeddings", new { input = "matrix" })),
        ["POST /api/v1/generate"] = _ => Task.FromResult(Post("/api/v1/generate", new { prompt = "matrix", max_tokens = 2 })),
        ["POST /api/v1/embeddings"] = _ => Task.FromResult(Post("/api/v1/embeddings", new { input = new[] { "matrix" } })),
        ["GET /api/v1/models/backends"] = _ => Get("/api/v1/models/backends"),
        ["PUT /api/v1/models/default"] = _ => Task.FromResult(new HttpRequestMessage(HttpMethod.Put, "/api/v1/models/default") { Content = JsonContent.Create(new { model = "tiny" }) }),
        ["POST /api/v1/models/pull"] = _ => Task.FromResult(Post("/api/v1/models/pull", new { model = "tiny" })),
        ["GET /api/v1/models/calls"] = _ => Get("/api/v1/models/calls"),
        ["DELETE /api/v1/models/calls/{id:guid}"] = async c => new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/models/calls/{await c.OwnRunningModelCallAsync()}"),
        ["GET /api/v1/models/usage"] = _ => Get("/api/v1/models/usage?group_by=user"),
        ["POST /api/chat"] = _ => Task.FromResult(Post("/api/chat", new { messages = new[] { new { role = "user", content = "matrix" } }, stream = false, options = new { num_predict = 2 } })),
        ["POST /api/generate"] = _ => Task.FromResult(Post("/api/generate", new { prompt = "matrix", stream = false, options = new { num_predict = 2 } })),
        ["POST /api/embed"] = _ => Task.FromResult(Post("/api/embed", new { input = "matrix" })),
        ["GET /api/tags"] = _ => Get("/api/tags"),
        ["GET /api/ps"] = _ => Get("/api/ps"),
        ["GET /api/version"] = _ => Get("/api/version"),
        ["POST /api/pull"] = _ => Task.FromResult(Post("/api/pull", new { model = "tiny", stream = false })),
    };

    private static object NewAgent()
    {
        var name = "matrix-" + Guid.NewGuid().ToString("N")[..10];
        return new { name, kind = "http", endpoint = "http://127.0.0.1:9/", capabilities = new[] { "matrix" } };
    }

    private static Task<HttpRequestMessage> Get(string path) => Task.FromResult(new HttpRequestMessage(HttpMethod.Get, path));

    private static HttpRequestMessage Post(string path, object body) => new(HttpMethod.Post, path) { Content = JsonContent.Create(body) };

    private static HttpRequestMessage WithToken(HttpRequestMessage request, string token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    /// <summary>A signed-in user of one role, able to make more of itself when a request would use itself up.</summary>
    private sealed class Caller(TestApi api, IServiceProvider services, string role, TestUser user, Tokens tokens)
    {
        public TestApi Api { get; } = api;

        public Tokens Tokens { get; } = tokens;

        public static async Task<Caller> CreateAsync(TestApi api, IServiceProvider services, string role)
        {
            var user = await api.CreateUserAsync(role);
            return new Caller(api, services, role, user, await api.SignInAsync(user.Username, user.Password));
        }

        /// <summary>A task of this caller's that no agent can take, so it waits: made behind the API, since viewers cannot submit.</summary>
        public async Task<Guid> OwnWaitingTaskAsync()
        {
            var result = await services.GetRequiredService<TaskSubmissions>().SubmitAsync(
                new TaskRequest("matrix task", RequiredCapabilities: ["nobody-has-this"]), new Submitter(user.Id, new HashSet<string>()), Cancellation);
            return ((SubmissionResult.Accepted)result).Task.Id;
        }

        /// <summary>A model call of this caller's that has started and is not being read, so it runs until stopped or dropped.</summary>
        public async Task<Guid> OwnRunningModelCallAsync()
        {
            var id = Guid.CreateVersion7();
            var call = new ChatCall("tiny", [new ChatMessage(ChatRole.User, "matrix")], new ChatOptions { MaxOutputTokens = 16 }, new ModelCaller(user.Id), CallId: id);
            var held = services.GetRequiredService<ModelGateway>().StreamAsync(call, Cancellation).GetAsyncEnumerator(Cancellation);
            await held.MoveNextAsync();
            Held.Add(held);
            return id;
        }

        /// <summary>Model calls started for samples; dropped when the matrix is done.</summary>
        public List<IAsyncDisposable> Held { get; } = [];

        public async Task<Guid> OwnCancelledTaskAsync()
        {
            var id = await OwnWaitingTaskAsync();
            var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
            await services.GetRequiredService<ITaskStore>().CancelAsync(id, "matrix", now, _ => null, Cancellation);
            return id;
        }

        public async Task<string> AdminAgentAsync()
        {
            using var admin = await Api.AdminAsync();
            var body = NewAgent();
            var response = await admin.PostAsJsonAsync("/api/v1/agents", body, Cancellation);
            return (await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("name").GetString()!;
        }

        public Task<Tokens> FreshSessionAsync() => Api.SignInAsync(user.Username, user.Password);

        public async Task<(TestUser User, Tokens Tokens)> FreshUserAsync()
        {
            var fresh = await Api.CreateUserAsync(role);
            return (fresh, await Api.SignInAsync(fresh.Username, fresh.Password));
        }

        public async Task<(TestUser User, Tokens Tokens, string Secret)> EnrolledUserAsync()
        {
            var (fresh, freshTokens) = await FreshUserAsync();
            using var client = Api.WithBearer(freshTokens.AccessToken);
            var enrolment = await client.PostAsJsonAsync("/api/v1/auth/mfa/enroll", new { password = fresh.Password }, Cancellation);
            var secret = (await enrolment.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("secret").GetString()!;
            return (fresh, freshTokens, secret);
        }

        public async Task<(TestUser User, Tokens Tokens, string RecoveryCode)> MfaUserAsync()
        {
            var (fresh, freshTokens, secret) = await EnrolledUserAsync();
            using var client = Api.WithBearer(freshTokens.AccessToken);
            var confirmed = await client.PostAsJsonAsync("/api/v1/auth/mfa/confirm", new { code = Code(secret) }, Cancellation);
            var codes = (await confirmed.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("recovery_codes");
            return (fresh, freshTokens, codes[0].GetString()!);
        }

        public string Code(string secret) => new Totp(Base32Encoding.ToBytes(secret)).ComputeTotp(Api.Time.GetUtcNow().UtcDateTime);

        public async Task<Guid> OwnKeyAsync()
        {
            using var client = Api.WithBearer(Tokens.AccessToken);
            var created = await client.PostAsJsonAsync("/api/v1/api-keys", new { name = "own", scopes = Array.Empty<string>() }, Cancellation);
            return (await created.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("api_key").GetProperty("id").GetGuid();
        }
    }
}

public sealed class SqliteEndpointSecurityTests(ModelFixture<SqliteTestStore> server) : EndpointSecurityConformance<SqliteTestStore>(server);

public sealed class PostgreSqlEndpointSecurityTests(ModelFixture<PostgreSqlTestStore> server) : EndpointSecurityConformance<PostgreSqlTestStore>(server);
