using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The HTTP basics, through real HTTP, run against every store provider.</summary>
public abstract class HttpConformance<TStore> : IAsyncLifetime
    where TStore : ITestStore, new()
{
    private readonly TStore _store = new();
    private SutazaiFactory? _factory;

    /// <summary>Signed in as the administrator.</summary>
    protected HttpClient Client { get; private set; } = null!;

    protected HttpClient Anonymous { get; private set; } = null!;

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _store.InitializeAsync(Cancellation);
        _factory = new SutazaiFactory(_store, new Dictionary<string, string?> { ["Sutazai:Server:MaxRequestBodyBytes"] = "16384" });
        Anonymous = await _factory.StartAsync(Cancellation);
        Client = await new TestApi(_factory).AdminAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Health_reports_the_database_with_its_latency_and_is_degraded_while_no_backend_serves_the_default_model()
    {
        var response = await Anonymous.GetAsync("/health", Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var health = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        var models = health.GetProperty("dependencies").GetProperty("models");
        Assert.Equal("degraded", models.GetProperty("status").GetString());
        Assert.Contains("default model 'tinyllama'", models.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(health.GetProperty("ready").GetBoolean());
        Assert.False(string.IsNullOrEmpty(health.GetProperty("version").GetString()));
        Assert.True(health.GetProperty("uptime_seconds").GetDouble() >= 0);
        var database = health.GetProperty("dependencies").GetProperty("database");
        Assert.Equal("healthy", database.GetProperty("status").GetString());
        Assert.True(database.GetProperty("latency_ms").GetDouble() > 0);
        Assert.Equal(_store.Provider, database.GetProperty("details").GetProperty("provider").GetString());
    }

    [Fact]
    public async Task Live_and_ready_answer_200_once_started()
    {
        Assert.Equal(HttpStatusCode.OK, (await Anonymous.GetAsync("/health/live", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Anonymous.GetAsync("/health/ready", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Agents_list_reads_the_seeded_agents_page_by_page()
    {
        var first = await Client.GetFromJsonAsync<JsonElement>("/api/v1/agents?limit=5", Cancellation);
        var second = await Client.GetFromJsonAsync<JsonElement>("/api/v1/agents?limit=5&offset=5", Cancellation);

        Assert.Equal(7, first.GetProperty("total").GetInt32());
        var names = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(a => a.GetProperty("name").GetString()).ToList();
        Assert.Equal(Core.Agents.BuiltInAgents.All.Select(a => a.Name).Order(), names);
        Assert.Equal("built_in", first.GetProperty("items")[0].GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Agent_by_name_is_found_and_an_unknown_one_is_a_404_problem()
    {
        var agent = await Client.GetFromJsonAsync<JsonElement>("/api/v1/agents/hardware-resource-optimizer", Cancellation);
        var missing = await Client.GetAsync("/api/v1/agents/no-such-agent", Cancellation);

        Assert.Contains("system-metrics", agent.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        var problem = await AssertProblemAsync(missing, HttpStatusCode.NotFound, "not-found");
        Assert.Contains("no-such-agent", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_route_is_a_404_problem()
    {
        var response = await Client.GetAsync("/api/v1/nothing-here", Cancellation);

        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        Assert.Equal("/api/v1/nothing-here", problem.GetProperty("instance").GetString());
    }

    [Fact]
    public async Task An_anonymous_caller_gets_404_for_an_unknown_route_and_401_for_a_protected_one()
    {
        var unknown = await Anonymous.GetAsync("/api/v1/nothing-here", Cancellation);
        var protectedRoute = await Anonymous.GetAsync("/api/v1/agents", Cancellation);

        await AssertProblemAsync(unknown, HttpStatusCode.NotFound, "not-found");
        await AssertProblemAsync(protectedRoute, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Wrong_method_is_a_405_problem()
    {
        var response = await Client.DeleteAsync("/api/v1/agents", Cancellation);

        await AssertProblemAsync(response, HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    [Fact]
    public async Task Malformed_json_is_a_400_problem_that_says_where_it_broke()
    {
        var body = "{\n  \"username\": \"a\",\n  \"password\": ,\n}";

        var response = await PostTokenAsync(body);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Equal(3, problem.GetProperty("line").GetInt32());
        Assert.Equal(15, problem.GetProperty("column").GetInt32());
        Assert.Equal("$.password", problem.GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_a_400_problem_naming_the_field()
    {
        var response = await PostTokenAsync("""{"username":"a","password":123}""");

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Equal("$.password", problem.GetProperty("path").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.DoesNotContain("Sutazai", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_property_is_refused_rather_than_silently_dropped()
    {
        var response = await PostTokenAsync("""{"username":"a","password":"b","pasword":"c"}""");

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Contains("pasword", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validation_failure_is_a_400_problem_with_field_errors()
    {
        var query = await Client.GetAsync("/api/v1/agents?limit=0&offset=-1", Cancellation);
        var body = await PostTokenAsync("""{"username":"","password":null}""");

        var errors = (await AssertProblemAsync(query, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        Assert.True(errors.TryGetProperty("Limit", out _) || errors.TryGetProperty("limit", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("Offset", out _) || errors.TryGetProperty("offset", out _), errors.ToString());
        var bodyErrors = (await AssertProblemAsync(body, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        Assert.True(bodyErrors.TryGetProperty("Username", out _) || bodyErrors.TryGetProperty("username", out _), bodyErrors.ToString());
        Assert.True(bodyErrors.TryGetProperty("Password", out _) || bodyErrors.TryGetProperty("password", out _), bodyErrors.ToString());
    }

    [Fact]
    public async Task Wrong_content_type_is_a_415_problem()
    {
        var response = await Anonymous.PostAsync("/api/v1/auth/token", new StringContent("""{"username":"a"}""", Encoding.UTF8, "text/plain"), Cancellation);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task Oversized_body_is_a_413_problem()
    {
        var response = await PostTokenAsync($$"""{"username":"{{new string('x', 20_000)}}","password":"p"}""");

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Fact]
    public async Task Unhandled_exception_is_a_500_problem_with_a_trace_id_and_nothing_of_the_insides()
    {
        // A store that breaks under the server: the query the endpoint makes fails with the database's own message.
        await _store.ExecuteAsync("ALTER TABLE agents RENAME TO agents_gone", Cancellation);

        var response = await Client.GetAsync("/api/v1/agents", Cancellation);

        var problem = await AssertProblemAsync(response, HttpStatusCode.InternalServerError, "internal");
        var text = problem.ToString();
        Assert.DoesNotContain("agents", text.Replace("/api/v1/agents", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Anonymous.GetAsync("/health/live", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Server_keeps_serving_after_a_burst_of_bad_requests()
    {
        string[] bodies = ["{", "[]", "null", "{\"username\":", "\u0000\u0001", "{\"username\":\"\\uD800\"}", new string('[', 5000), "{\"username\":{\"$gt\":\"\"}}"];
        foreach (var body in bodies)
        {
            var response = await PostTokenAsync(body);
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{body[..Math.Min(body.Length, 20)]} gave {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var ok = await Anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = "admin", password = SutazaiFactory.AdminPassword }, Cancellation);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task OpenApi_document_is_3_1_and_the_explorer_is_served()
    {
        var document = await Anonymous.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Cancellation);
        var explorer = await Anonymous.GetAsync("/docs/", Cancellation);

        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.True(document.GetProperty("paths").TryGetProperty("/api/v1/agents", out _));
        Assert.Equal(HttpStatusCode.OK, explorer.StatusCode);
        Assert.Contains("openapi/v1.json", await explorer.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> PostTokenAsync(string body) =>
        Anonymous.PostAsync("/api/v1/auth/token", new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.Equal($"urn:sutazai:problem:{type}", problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("trace_id").GetString());
        return problem;
    }
}

public sealed class SqliteHttpTests : HttpConformance<SqliteTestStore>;

public sealed class PostgreSqlHttpTests : HttpConformance<PostgreSqlTestStore>;
