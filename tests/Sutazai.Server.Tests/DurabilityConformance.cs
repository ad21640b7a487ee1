using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// Work survives the process: a real server is killed with SIGKILL while tasks run and others wait, and a new
/// process on the same store runs every one of them.
/// </summary>
public abstract class DurabilityConformance<TStore>
    where TStore : ITestStore, new()
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_SIGKILL_queued_tasks_run_and_tasks_whose_lease_lapsed_run_again_with_the_same_idempotency_key()
    {
        await using var store = new TStore();
        await store.InitializeAsync(Cancellation);
        await using var agent = await ExternalAgent.StartAsync();
        using var workingDirectory = new TempDirectory();
        var environment = store.Settings.ToDictionary(s => "SUTAZAI__" + s.Key["Sutazai:".Length..].Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant(), s => s.Value);
        environment["SUTAZAI__SERVER__PORT"] = "0";
        environment["SUTAZAI__BOOTSTRAP__ADMINPASSWORD"] = SutazaiFactory.AdminPassword;
        environment["SUTAZAI__TASKS__LEASESECONDS"] = "3";
        var gate = $"crash-{Guid.NewGuid():N}";
        List<Guid> running = [];
        List<Guid> queued = [];

        await using (var doomed = ServerProcess.Start(workingDirectory.Path, environment))
        {
            await doomed.WaitForLogAsync("SutazAI is ready", StartTimeout, Cancellation);
            using var admin = await SignInAsync(doomed.Address!);
            var registered = await admin.PostAsJsonAsync("/api/v1/agents", new { name = "durable", kind = "http", endpoint = agent.Address.ToString(), capabilities = new[] { "durable" }, actions = new[] { "gate", "echo" }, max_concurrency = 2 }, Cancellation);
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
            for (var i = 0; i < 2; i++)
            {
                running.Add(await SubmitAsync(admin, new { title = $"running {i}", agent = "durable", action = "gate", input = new { gate } }, $"run-{i}"));
            }

            await agent.WaitForCallsAsync(c => c.Action == "gate", 2, Cancellation);
            for (var i = 0; i < 3; i++)
            {
                queued.Add(await SubmitAsync(admin, new { title = $"queued {i}", agent = "durable", action = "echo", input = new { n = i } }, $"queue-{i}"));
            }

            await doomed.KillAsync();
        }

        agent.Open(gate);
        await using var revived = ServerProcess.Start(workingDirectory.Path, environment);
        await revived.WaitForLogAsync("SutazAI is ready", StartTimeout, Cancellation);
        using var client = await SignInAsync(revived.Address!);
        var finished = new Dictionary<Guid, JsonElement>();
        foreach (var id in running.Concat(queued))
        {
            finished[id] = await FinishedAsync(client, id);
        }

        Assert.All(finished.Values, t => Assert.True(t.GetProperty("status").GetString() == "completed", t.ToString()));
        foreach (var id in running)
        {
            var calls = agent.Calls.Where(c => c.TaskId == id).ToList();
            Assert.Equal([1, 2], calls.Select(c => c.Attempt));
            Assert.Single(calls.Select(c => c.IdempotencyKey).Distinct());
            Assert.Equal(gate, finished[id].GetProperty("result").GetProperty("passed").GetString());
            var events = await client.GetStringAsync($"/api/v1/tasks/{id}/events", Cancellation);
            Assert.Contains("lapsed; queued again", events, StringComparison.Ordinal);
        }

        for (var i = 0; i < queued.Count; i++)
        {
            Assert.Single(agent.Calls, c => c.TaskId == queued[i]);
            Assert.Equal(i, finished[queued[i]].GetProperty("result").GetProperty("echo").GetProperty("n").GetInt32());
        }
    }

    private static async Task<HttpClient> SignInAsync(Uri address)
    {
        var client = new HttpClient { BaseAddress = address };
        var response = await client.PostAsJsonAsync("/api/v1/auth/token", new { username = "admin", password = SutazaiFactory.AdminPassword }, Cancellation);
        var tokens = await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.GetProperty("access_token").GetString());
        return client;
    }

    private static async Task<Guid> SubmitAsync(HttpClient client, object task, string idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks") { Content = JsonContent.Create(task) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await client.SendAsync(request, Cancellation);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("id").GetGuid();
    }

    /// <summary>Follows the task's live stream until it ends (it ends when the task does), then reads the task.</summary>
    private static async Task<JsonElement> FinishedAsync(HttpClient client, Guid id)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await using (var stream = await client.GetStreamAsync($"/api/v1/tasks/{id}/stream", timeout.Token))
        {
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(timeout.Token) is not null)
            {
            }
        }

        return await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{id}", Cancellation);
    }
}

public sealed class SqliteDurabilityTests : DurabilityConformance<SqliteTestStore>;

public sealed class PostgreSqlDurabilityTests : DurabilityConformance<PostgreSqlTestStore>;
