using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>A node whose database does not answer: alive, not ready, honest about why, and serving nothing that needs the store.</summary>
public sealed class UnreachableStoreTests : IAsyncLifetime
{
    private readonly SqliteTestStore _store = new();
    private SutazaiFactory? _factory;
    private HttpClient _client = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _factory = new SutazaiFactory(_store, new Dictionary<string, string?>
        {
            ["Sutazai:Storage:Provider"] = "PostgreSql",
            ["Sutazai:Storage:ConnectionString"] = $"Host=127.0.0.1;Port={ClosedPort()};Username=nobody;Timeout=2",
        });
        _client = await _factory.StartAsync(Cancellation, waitUntilReady: false);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _factory!.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Liveness_answers_while_readiness_and_health_say_unhealthy_with_the_database_named()
    {
        var live = await _client.GetAsync("/health/live", Cancellation);
        var ready = await _client.GetAsync("/health/ready", Cancellation);
        var health = await _client.GetAsync("/health", Cancellation);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var report = await health.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        Assert.Equal("unhealthy", report.GetProperty("status").GetString());
        Assert.False(report.GetProperty("ready").GetBoolean());
        var database = report.GetProperty("dependencies").GetProperty("database");
        Assert.Equal("unhealthy", database.GetProperty("status").GetString());
        Assert.Contains("PostgreSql", database.GetProperty("description").GetString(), StringComparison.Ordinal);
        // The model registry lives in the store: it is not asked (and does not throw) before the node is ready.
        var models = report.GetProperty("dependencies").GetProperty("models");
        Assert.Equal("degraded", models.GetProperty("status").GetString());
        Assert.StartsWith("not checked until the node is ready", models.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_answers_503_with_retry_after_until_the_node_is_ready()
    {
        var response = await _client.GetAsync("/api/v1/agents", Cancellation);

        var problem = await HttpConformance<SqliteTestStore>.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "unavailable");
        Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
        // Either still on its first attempt or already retrying: both say so.
        Assert.Matches("^(starting|not ready)", problem.GetProperty("detail").GetString());
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
