using System.Text.Json;
using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The multi-agent coordinator running the original workflow shape as a DAG of real tasks, on every store.</summary>
public abstract class DagWorkflowConformance<TStore>(TaskFixture<TStore> fixture) : IClassFixture<TaskFixture<TStore>>
    where TStore : ITestStore, new()
{
    private const string Coordinator = "multi-agent-coordinator";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Tasks_start_when_their_dependencies_completed_never_more_than_the_limit_at_once()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin);
        var gate = $"g-{Guid.NewGuid():N}";
        object Gated(string id) => new { task_id = id, agent_id = agent, action = "gate", task_data = new { gate, step = id } };
        var workflow = new
        {
            workflow_id = $"wf-{Guid.NewGuid():N}",
            name = "fan-in",
            max_concurrent_tasks = 2,
            tasks = new object[]
            {
                Gated("a"), Gated("b"), Gated("c"),
                new { task_id = "d", agent_id = agent, action = "echo", task_data = new { joined = true }, dependencies = new[] { "a", "b", "c" } },
            },
        };

        var submitted = await fixture.ResultOfAsync(admin, Coordinator, "submit", workflow);
        var again = await fixture.ResultOfAsync(admin, Coordinator, "submit", workflow);
        await fixture.Agent.WaitForCallsAsync(c => c.Action == "gate" && c.Input.GetProperty("gate").GetString() == gate, 2, Cancellation);
        var during = await fixture.ResultOfAsync(admin, Coordinator, "status", new { workflow_id = workflow.workflow_id });
        fixture.Agent.Open(gate);
        var run = await fixture.WaitForAsync(admin, submitted.GetProperty("run_task_id").GetGuid(), TaskState.Completed, TaskState.Failed);

        Assert.Equal(submitted.GetProperty("run_task_id").GetGuid(), again.GetProperty("run_task_id").GetGuid());
        Assert.False(again.GetProperty("created").GetBoolean());
        var report = during.GetProperty("report");
        Assert.Equal("running", report.GetProperty("status").GetString());
        Assert.Equal(2, report.GetProperty("counts").GetProperty("active").GetInt32());
        Assert.Equal(1, report.GetProperty("counts").GetProperty("ready").GetInt32());
        Assert.Equal("blocked", Step(report, "d").GetProperty("status").GetString());

        Assert.True(run.GetProperty("status").GetString() == "completed", run.ToString());
        var result = run.GetProperty("result");
        Assert.Equal(1.0, result.GetProperty("progress").GetDouble());
        Assert.All(result.GetProperty("tasks").EnumerateArray(), t => Assert.Equal("completed", t.GetProperty("status").GetString()));
        Assert.True(Step(result, "d").GetProperty("result").GetProperty("echo").GetProperty("joined").GetBoolean());
        var calls = fixture.Agent.Calls.Where(c => c.Input.TryGetProperty("gate", out var g) && g.GetString() == gate || c.Input.TryGetProperty("joined", out _)).ToList();
        var joinedAt = calls.FindIndex(c => c.Action == "echo" && c.TaskId == Step(result, "d").GetProperty("platform_task_id").GetGuid());
        Assert.Equal(3, calls.Take(joinedAt).Count(c => c.Action == "gate"));
    }

    [Fact]
    public async Task A_failed_task_skips_its_dependents_and_fails_the_run_with_its_error()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin);
        var workflow = new
        {
            workflow_id = $"wf-{Guid.NewGuid():N}",
            name = "partial",
            continue_on_failure = true,
            tasks = new object[]
            {
                new { task_id = "pay", agent_id = agent, action = "reject", task_data = new { amount = -1 } },
                new { task_id = "ship", agent_id = agent, action = "echo", dependencies = new[] { "pay" } },
                new { task_id = "log", agent_id = agent, action = "echo", task_data = new { line = "independent" } },
            },
        };

        var run = await fixture.RunAsync(admin, Coordinator, "run", workflow);
        var status = await fixture.ResultOfAsync(admin, Coordinator, "status", new { run_task_id = run.GetProperty("id").GetGuid() });

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("'pay' failed: input rejected: 'amount' must be positive", run.GetProperty("error").GetString(), StringComparison.Ordinal);
        var report = status.GetProperty("report");
        Assert.Equal("failed", report.GetProperty("status").GetString());
        Assert.Equal("skipped", Step(report, "ship").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, Step(report, "ship").GetProperty("platform_task_id").ValueKind);
        Assert.Equal("independent", Step(report, "log").GetProperty("result").GetProperty("echo").GetProperty("line").GetString());
    }

    [Fact]
    public async Task Cancelling_a_run_cancels_the_tasks_it_started()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin);
        var gate = $"g-{Guid.NewGuid():N}";
        var workflow = new { workflow_id = $"wf-{Guid.NewGuid():N}", name = "stopped", tasks = new object[] { new { task_id = "wait", agent_id = agent, action = "gate", task_data = new { gate } } } };

        var submitted = await fixture.ResultOfAsync(admin, Coordinator, "submit", workflow);
        var call = (await fixture.Agent.WaitForCallsAsync(c => c.Action == "gate" && c.Input.GetProperty("gate").GetString() == gate, 1, Cancellation))[0];
        await admin.PostAsync($"/api/v1/tasks/{submitted.GetProperty("run_task_id").GetGuid()}/cancel", null, Cancellation);
        var run = await fixture.WaitForAsync(admin, submitted.GetProperty("run_task_id").GetGuid(), TaskState.Cancelled, TaskState.Failed, TaskState.Completed);
        var child = await fixture.WaitForAsync(admin, call.TaskId, TaskState.Cancelled, TaskState.Failed, TaskState.Completed);

        Assert.True(run.GetProperty("status").GetString() == "cancelled", run.ToString());
        Assert.Equal("cancelled", child.GetProperty("status").GetString());
        Assert.Contains("its workflow was cancelled", child.GetProperty("error").GetString() ?? (await admin.GetStringAsync($"/api/v1/tasks/{call.TaskId}/events", Cancellation)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_workflows_fail_with_what_is_wrong_and_start_nothing()
    {
        using var admin = await fixture.Api.AdminAsync();
        var before = fixture.Agent.Calls.Count;

        var cycle = await fixture.RunAsync(admin, Coordinator, "run", new
        {
            workflow_id = "cyclic",
            name = "cyclic",
            tasks = new object[]
            {
                new { task_id = "a", action = "echo", dependencies = new[] { "c" } },
                new { task_id = "b", action = "echo", dependencies = new[] { "a" } },
                new { task_id = "c", action = "echo", dependencies = new[] { "b" } },
            },
        });
        var unknown = await fixture.RunAsync(admin, Coordinator, "run", new { workflow_id = "x", name = "x", max_concurrent_tasks = 0, tasks = new object[] { new { task_id = "a", action = "echo", dependencies = new[] { "nope" } } } });
        var shape = await fixture.RunAsync(admin, Coordinator, "run", new { workflow_id = "y", tasks = "not a list" });

        Assert.Contains("cycle: a -> c -> b -> a", cycle.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("'nope' is not a task of this workflow", unknown.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("max_concurrent_tasks: Use 1 to 100", unknown.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("The input does not fit 'run'", shape.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, fixture.Agent.Calls.Count);
    }

    private static JsonElement Step(JsonElement report, string taskId) =>
        report.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("task_id").GetString() == taskId);
}

public sealed class SqliteDagWorkflowTests(TaskFixture<SqliteTestStore> fixture) : DagWorkflowConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlDagWorkflowTests(TaskFixture<PostgreSqlTestStore> fixture) : DagWorkflowConformance<PostgreSqlTestStore>(fixture);
