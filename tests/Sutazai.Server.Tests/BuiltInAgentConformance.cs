using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The built-in agents through the task API, with real work behind every answer, on every store.</summary>
public abstract class BuiltInAgentConformance<TStore>(TaskFixture<TStore> fixture) : IClassFixture<TaskFixture<TStore>>
    where TStore : ITestStore, new()
{
    private const string Coordinator = "task-assignment-coordinator";
    private const string Arbiter = "resource-arbitration-agent";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_coordinator_submits_tasks_in_the_original_shape_once_per_task_id()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, capability) = await fixture.RegisterAgentAsync(admin);
        var original = new { task_id = $"orig-{Guid.NewGuid():N}", task_type = "echo", description = "say hello", required_capabilities = new[] { capability }, priority = 2, max_retries = 1, data = new { word = "hi" } };

        var first = await fixture.ResultOfAsync(admin, Coordinator, "submit", original);
        var again = await fixture.ResultOfAsync(admin, Coordinator, "submit", original);
        var submitted = await fixture.WaitForAsync(admin, first.GetProperty("task_id").GetGuid(), TaskState.Completed);

        Assert.True(first.GetProperty("created").GetBoolean());
        Assert.False(again.GetProperty("created").GetBoolean());
        Assert.Equal(first.GetProperty("task_id").GetGuid(), again.GetProperty("task_id").GetGuid());
        Assert.Equal("echo", first.GetProperty("action").GetString());
        Assert.Equal(agent, submitted.GetProperty("agent").GetString());
        Assert.Equal(2, submitted.GetProperty("priority").GetInt32());
        Assert.Equal("hi", submitted.GetProperty("result").GetProperty("echo").GetProperty("word").GetString());
    }

    [Fact]
    public async Task The_coordinator_explains_routes_and_the_answer_follows_the_agents()
    {
        using var admin = await fixture.Api.AdminAsync();
        var capability = $"route-{Guid.NewGuid():N}"[..16];
        var question = new { task_type = "echo", required_capabilities = new[] { capability } };

        var before = await fixture.ResultOfAsync(admin, Coordinator, "route", question);
        var response = await admin.PostAsJsonAsync("/api/v1/agents", new { name = capability, kind = "http", endpoint = fixture.Agent.Address.ToString(), capabilities = new[] { capability }, actions = new[] { "echo" } }, Cancellation);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var after = await fixture.ResultOfAsync(admin, Coordinator, "route", question);
        var metrics = await fixture.ResultOfAsync(admin, Coordinator, "route", new { task_type = "collect metrics", action = "collect_metrics" });

        Assert.Equal(JsonValueKind.Null, before.GetProperty("agent").ValueKind);
        Assert.Contains($"no active agent has the capabilities [{capability}]", before.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(capability, after.GetProperty("agent").GetString());
        Assert.Equal("hardware-resource-optimizer", metrics.GetProperty("agent").GetString());
    }

    [Fact]
    public async Task The_coordinator_shows_the_queue_in_dispatch_order_the_assignments_and_statistics()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, capability) = await fixture.RegisterAgentAsync(admin);
        var waiting = $"wait-{Guid.NewGuid():N}"[..16];
        var low = await fixture.SubmitAsync(admin, new { title = "low", action = "ping", required_capabilities = new[] { waiting }, priority = 9 });
        var high = await fixture.SubmitAsync(admin, new { title = "high", action = "ping", required_capabilities = new[] { waiting }, priority = 1 });
        fixture.Agent.ExpectStart();
        var hanging = await fixture.SubmitAsync(admin, new { title = "hanging", action = "hang", required_capabilities = new[] { capability } });
        await fixture.Agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        var done = await fixture.SubmitAsync(admin, new { title = "done", action = "echo", required_capabilities = new[] { capability } });
        await fixture.WaitForAsync(admin, done.GetProperty("id").GetGuid(), TaskState.Completed);

        var queue = await fixture.ResultOfAsync(admin, Coordinator, "queue", new { limit = 500 });
        var assignments = await fixture.ResultOfAsync(admin, Coordinator, "assignments");
        var statistics = await fixture.ResultOfAsync(admin, Coordinator, "statistics", new { window_minutes = 60 });

        var order = queue.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("task_id").GetGuid()).ToList();
        Assert.True(order.IndexOf(high.GetProperty("id").GetGuid()) < order.IndexOf(low.GetProperty("id").GetGuid()), queue.ToString());
        var hangingAssignment = Assert.Single(assignments.GetProperty("assignments").EnumerateArray(), a => a.GetProperty("task_id").GetGuid() == hanging.GetProperty("id").GetGuid());
        Assert.Equal(agent, hangingAssignment.GetProperty("agent").GetString());
        Assert.Equal("running", hangingAssignment.GetProperty("status").GetString());
        Assert.True(statistics.GetProperty("completed").GetInt32() >= 1);
        Assert.True(statistics.GetProperty("by_state").GetProperty("queued").GetInt32() >= 2);
        Assert.Contains(statistics.GetProperty("by_agent").EnumerateArray(), a => a.GetProperty("agent").GetString() == agent && a.GetProperty("completed").GetInt32() >= 1);
        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync($"/api/v1/tasks/{hanging.GetProperty("id").GetGuid()}/cancel", null, Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Host_metrics_come_from_the_optimizer_and_optimizations_are_admin_only_and_audited()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (_, operatorClient, _) = await fixture.Api.SignedInUserAsync("operator");

        var metrics = await fixture.ResultOfAsync(operatorClient, "hardware-resource-optimizer", "collect_metrics", new { interval_ms = 200 });
        var refused = await operatorClient.PostAsJsonAsync("/api/v1/tasks", new { title = "clean", agent = "hardware-resource-optimizer", action = "optimize_memory" }, Cancellation);
        var memory = await fixture.RunAsync(admin, "hardware-resource-optimizer", "optimize_memory");
        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=agent.hardware-resource-optimizer.optimize_memory", Cancellation);

        Assert.Equal(Environment.ProcessorCount, metrics.GetProperty("cpu").GetProperty("cores").GetInt32());
        var problem = await HttpConformance<TStore>.AssertProblemAsync(refused, HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains("system:admin", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("completed", memory.GetProperty("status").GetString());
        var entry = Assert.Single(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("target_id").GetString() == memory.GetProperty("id").GetString());
        Assert.Equal("admin", entry.GetProperty("actor_name").GetString());
        Assert.Equal("success", entry.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Tasks_that_declare_resource_needs_wait_for_admission_and_start_when_the_holder_ends()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);
        var licence = new { custom = new Dictionary<string, double> { ["licence"] = 1 } };
        fixture.Agent.ExpectStart();
        var holder = await fixture.SubmitAsync(admin, new { title = "holds the licence", action = "hang", required_capabilities = new[] { capability }, resources = licence });
        await fixture.Agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        var waiter = await fixture.SubmitAsync(admin, new { title = "needs it too", action = "echo", required_capabilities = new[] { capability }, resources = licence, input = new { n = 7 } });
        var waiting = await fixture.WaitUntilAsync(admin, waiter.GetProperty("id").GetGuid(), t => t.GetProperty("routing_reason").GetString()?.StartsWith("waiting for resources", StringComparison.Ordinal) == true);
        var usage = await fixture.ResultOfAsync(admin, Arbiter, "usage");
        var tooBig = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "never fits", action = "echo", resources = new { custom = new Dictionary<string, double> { ["licence"] = 2 } } }, Cancellation);

        Assert.Equal("queued", waiting.GetProperty("status").GetString());
        Assert.Contains("licence 1 wanted, 0 available", waiting.GetProperty("routing_reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, waiting.GetProperty("resources").GetProperty("custom").GetProperty("licence").GetDouble());
        Assert.Contains(usage.GetProperty("leases").EnumerateArray(), l => l.GetProperty("task_id").GetGuid() == holder.GetProperty("id").GetGuid());
        Assert.Contains(usage.GetProperty("waiting").EnumerateArray(), l => l.GetProperty("task_id").GetGuid() == waiter.GetProperty("id").GetGuid());
        var problem = await HttpConformance<TStore>.AssertProblemAsync(tooBig, HttpStatusCode.BadRequest, "validation");
        Assert.Contains("licence 2 wanted, 1 available", problem.GetProperty("errors").GetProperty("resources")[0].GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync($"/api/v1/tasks/{holder.GetProperty("id").GetGuid()}/cancel", null, Cancellation)).StatusCode);
        var done = await fixture.WaitForAsync(admin, waiter.GetProperty("id").GetGuid(), TaskState.Completed, TaskState.Failed);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(7, done.GetProperty("result").GetProperty("echo").GetProperty("n").GetInt32());
        var after = await fixture.ResultOfAsync(admin, Arbiter, "usage");
        Assert.Equal(0, after.GetProperty("granted").GetProperty("custom").EnumerateObject().Sum(p => p.Value.GetDouble()));
    }

    [Fact]
    public async Task The_arbiter_grants_leases_queues_what_does_not_fit_extends_and_releases()
    {
        using var admin = await fixture.Api.AdminAsync();
        var run = Guid.NewGuid().ToString("N")[..8];
        object Seats(string id, string agent, int seats, int priority = 5) =>
            new { request_id = $"{run}-{id}", agent_id = $"{run}-{agent}", custom = new Dictionary<string, double> { ["seats"] = seats }, priority, duration_minutes = 10 };

        var big = await fixture.ResultOfAsync(admin, Arbiter, "allocate", Seats("big", "a", 8));
        var small = await fixture.ResultOfAsync(admin, Arbiter, "allocate", Seats("small", "a", 2));
        var lowLater = await fixture.ResultOfAsync(admin, Arbiter, "allocate", Seats("low", "b", 6, priority: 9));
        var urgent = await fixture.ResultOfAsync(admin, Arbiter, "allocate", Seats("urgent", "c", 6, priority: 1));
        var usage = await fixture.ResultOfAsync(admin, Arbiter, "usage");
        var extended = await fixture.ResultOfAsync(admin, Arbiter, "extend", new { request_id = $"{run}-small", minutes = 20 });
        await fixture.ResultOfAsync(admin, Arbiter, "release", new { request_id = $"{run}-big" });
        var urgentNow = await fixture.ResultOfAsync(admin, Arbiter, "status", new { request_id = $"{run}-urgent" });
        var lowNow = await fixture.ResultOfAsync(admin, Arbiter, "status", new { request_id = $"{run}-low" });
        var unknown = await fixture.RunAsync(admin, Arbiter, "status", new { request_id = $"{run}-nothing" });
        var empty = await fixture.RunAsync(admin, Arbiter, "allocate", new { request_id = $"{run}-empty" });

        Assert.Equal(("granted", "granted"), (big.GetProperty("status").GetString(), small.GetProperty("status").GetString()));
        Assert.Equal("pending", lowLater.GetProperty("status").GetString());
        Assert.Contains("seats 6 wanted, 0 available", lowLater.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("pending", urgent.GetProperty("status").GetString());
        Assert.Equal(1.0, usage.GetProperty("requesters").EnumerateArray().Single(r => r.GetProperty("requester").GetString() == $"{run}-a").GetProperty("dominant_share").GetDouble());
        Assert.Equal(30, extended.GetProperty("duration_minutes").GetInt32());
        Assert.Equal("granted", urgentNow.GetProperty("status").GetString());
        Assert.Equal("pending", lowNow.GetProperty("status").GetString());
        Assert.Contains("seats 6 wanted, 2 available", lowNow.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("no request", unknown.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("positive amount", empty.GetProperty("error").GetString(), StringComparison.Ordinal);
        foreach (var id in new[] { "small", "low", "urgent" })
        {
            await fixture.ResultOfAsync(admin, Arbiter, "release", new { request_id = $"{run}-{id}" });
        }
    }

    [Fact]
    public async Task Agents_whose_work_cannot_be_done_here_fail_clearly_instead_of_inventing_output()
    {
        using var admin = await fixture.Api.AdminAsync();

        var generate = await fixture.RunAsync(admin, "ollama-integration-specialist", "generate", new { prompt = "hello" });
        var ping = await fixture.ResultOfAsync(admin, "ai-metrics-exporter", "ping", new { n = 42 });

        Assert.Equal("failed", generate.GetProperty("status").GetString());
        // This server has no model file and no model server.
        Assert.Contains("serves a model named", generate.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, generate.GetProperty("result").ValueKind);
        Assert.Equal(42, ping.GetProperty("echo").GetProperty("n").GetInt32());
    }
}

public sealed class SqliteBuiltInAgentTests(TaskFixture<SqliteTestStore> fixture) : BuiltInAgentConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlBuiltInAgentTests(TaskFixture<PostgreSqlTestStore> fixture) : BuiltInAgentConformance<PostgreSqlTestStore>(fixture);
