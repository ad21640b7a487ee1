using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The HTTP basics, through real HTTP, run against every store provider.</summary>
public abstract class HttpConformance<TStore> : IAsyncLifetime
    where TStore : ITestStore, new()
{
    private readonly TStore _store = new();
    private ProbeFactory? _factory;

    protected HttpClient Client { get; private set; } = null!;

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _store.InitializeAsync(Cancellation);
        _factory = new ProbeFactory(_store);
        Client = await _factory.StartAsync(Cancellation);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Health_is_healthy_and_reports_the_database_with_its_latency()
    {
        var response = await Client.GetAsync("/health", Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var health = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.Equal("healthy", health.GetProperty("status").GetString());
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
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health/live", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health/ready", Cancellation)).StatusCode);
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
    public async Task Wrong_method_is_a_405_problem()
    {
        var response = await Client.DeleteAsync("/api/v1/agents", Cancellation);

        await AssertProblemAsync(response, HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    [Fact]
    public async Task Malformed_json_is_a_400_problem_that_says_where_it_broke()
    {
        var body = "{\n  \"name\": \"a\",\n  \"count\": 1,\n  \"tags\": [\"x\",, ]\n}";

        var response = await Client.PostAsync("/test/echo", new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Equal(4, problem.GetProperty("line").GetInt32());
        Assert.Equal(16, problem.GetProperty("column").GetInt32());
        Assert.Equal("$.tags[1]", problem.GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_a_400_problem_naming_the_field()
    {
        var response = await Client.PostAsync("/test/echo", new StringContent("""{"name":"a","count":"many","tags":[]}""", Encoding.UTF8, "application/json"), Cancellation);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Equal("$.count", problem.GetProperty("path").GetString());
        var detail = problem.GetProperty("detail").GetString();
        Assert.DoesNotContain("Sutazai", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_property_is_refused_rather_than_silently_dropped()
    {
        var response = await Client.PostAsync("/test/echo", new StringContent("""{"name":"a","count":1,"tags":[],"prioirty":3}""", Encoding.UTF8, "application/json"), Cancellation);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Contains("prioirty", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validation_failure_is_a_400_problem_with_field_errors()
    {
        var response = await Client.GetAsync("/api/v1/agents?limit=0&offset=-1", Cancellation);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("Limit", out _) || errors.TryGetProperty("limit", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("Offset", out _) || errors.TryGetProperty("offset", out _), errors.ToString());
    }

    [Fact]
    public async Task Wrong_content_type_is_a_415_problem()
    {
        var response = await Client.PostAsync("/test/echo", new StringContent("""{"name":"a"}""", Encoding.UTF8, "text/plain"), Cancellation);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task Oversized_body_is_a_413_problem()
    {
        var big = $$"""{"name":"{{new string('x', 20_000)}}","count":1,"tags":[]}""";

        var response = await Client.PostAsync("/test/echo", new StringContent(big, Encoding.UTF8, "application/json"), Cancellation);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Fact]
    public async Task Unhandled_exception_is_a_500_problem_with_a_trace_id_and_nothing_of_the_insides()
    {
        var response = await Client.GetAsync("/test/throw", Cancellation);

        var problem = await AssertProblemAsync(response, HttpStatusCode.InternalServerError, "internal");
        var text = problem.ToString();
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("trace_id").GetString());
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_keeps_serving_after_a_burst_of_bad_requests()
    {
        string[] bodies = ["{", "[]", "null", "{\"name\":", "\u0000\u0001", "{\"name\":\"\\uD800\"}", new string('[', 5000)];
        foreach (var body in bodies)
        {
            var response = await Client.PostAsync("/test/echo", new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{body[..Math.Min(body.Length, 20)]} gave {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var ok = await Client.PostAsJsonAsync("/test/echo", new { name = "still", count = 2, tags = new[] { "up" } }, Cancellation);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("still", (await ok.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task OpenApi_document_is_3_1_and_the_explorer_is_served()
    {
        var document = await Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Cancellation);
        var explorer = await Client.GetAsync("/docs/", Cancellation);

        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.True(document.GetProperty("paths").TryGetProperty("/api/v1/agents", out _));
        Assert.Equal(HttpStatusCode.OK, explorer.StatusCode);
        Assert.Contains("openapi/v1.json", await explorer.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

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

    private sealed class ProbeFactory(ITestStore store)
        : SutazaiFactory(store, new Dictionary<string, string?> { ["Sutazai:Server:MaxRequestBodyBytes"] = "16384" })
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureServices(ProbeEndpoints.AddTo);
        }
    }
}

public sealed class SqliteHttpTests : HttpConformance<SqliteTestStore>;

public sealed class PostgreSqlHttpTests : HttpConformance<PostgreSqlTestStore>;
