using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The ai-agent-orchestrator: interactions delivered as real tasks and answered, timed out or refused; claims and conflicts.</summary>
public abstract class OrchestratorConformance<TStore>(TaskFixture<TStore> fixture) : IClassFixture<TaskFixture<TStore>>
    where TStore : ITestStore, new()
{
    private const string Orchestrator = "ai-agent-orchestrator";
    private const string Source = "multi-agent-coordinator";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_request_is_delivered_to_its_target_and_the_answer_comes_back_correlated()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin);
        object Ask(string id, string question) => new { interaction_id = id, source_agent = Source, target_agent = agent, interaction_type = "request", data = new { action = "echo", input = new { question } } };
        var first = $"ix-{Guid.NewGuid():N}";

        var answered = await fixture.ResultOfAsync(admin, Orchestrator, "interact", Ask(first, "how many cores?"));
        var calls = fixture.Agent.Calls.Count;
        var repeated = await fixture.ResultOfAsync(admin, Orchestrator, "interact", Ask(first, "ignored: same interaction"));
        var callsAfterRepeat = fixture.Agent.Calls.Count;
        var other = await fixture.ResultOfAsync(admin, Orchestrator, "interact", Ask($"ix-{Guid.NewGuid():N}", "what time is it?"));
        var thread = await fixture.ResultOfAsync(admin, Orchestrator, "conversation", new { correlation_id = first });

        Assert.Equal("answered", answered.GetProperty("status").GetString());
        Assert.Equal("how many cores?", answered.GetProperty("response").GetProperty("echo").GetProperty("question").GetString());
        Assert.Equal("what time is it?", other.GetProperty("response").GetProperty("echo").GetProperty("question").GetString());
        Assert.Equal(calls, callsAfterRepeat);
        Assert.Equal(answered.GetProperty("response").ToString(), repeated.GetProperty("response").ToString());
        var messages = thread.GetProperty("interactions").EnumerateArray().ToList();
        Assert.Equal(["request", "response"], messages.Select(m => m.GetProperty("interaction_type").GetString()));
        Assert.Equal((agent, Source), (messages[1].GetProperty("source_agent").GetString(), messages[1].GetProperty("target_agent").GetString()));
        Assert.All(messages, m => Assert.Equal(first, m.GetProperty("correlation_id").GetString()));
    }

    [Fact]
    public async Task A_target_that_fails_answers_with_an_error_and_one_that_does_not_answer_times_out()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin);

        var rejected = await fixture.ResultOfAsync(admin, Orchestrator, "interact", new { source_agent = Source, target_agent = agent, interaction_type = "request", data = new { action = "reject", input = new { amount = -5 } } });
        fixture.Agent.ExpectStart();
        var waiting = await fixture.SubmitAsync(admin, new { title = "ask", agent = Orchestrator, action = "interact", input = new { source_agent = Source, target_agent = agent, interaction_type = "request", timeout_seconds = 5, data = new { action = "hang" } } });
        var call = await fixture.Agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(6));
        var timedOut = await fixture.WaitForAsync(admin, waiting.GetProperty("id").GetGuid(), TaskState.Completed, TaskState.Failed);

        Assert.Equal("failed", rejected.GetProperty("status").GetString());
        Assert.Contains("input rejected: 'amount' must be positive", rejected.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("error", rejected.GetProperty("interactions")[1].GetProperty("interaction_type").GetString());
        Assert.Equal("timed_out", timedOut.GetProperty("result").GetProperty("status").GetString());
        await fixture.WaitForAsync(admin, call.TaskId, TaskState.TimedOut, TaskState.Cancelled);
    }

    [Fact]
    public async Task An_agent_can_answer_a_request_itself_once_and_the_delivery_is_called_off()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin);
        var id = $"ix-{Guid.NewGuid():N}";
        fixture.Agent.ExpectStart();
        var asking = await fixture.SubmitAsync(admin, new { title = "ask", agent = Orchestrator, action = "interact", input = new { interaction_id = id, source_agent = Source, target_agent = agent, interaction_type = "request", data = new { action = "hang" } } });
        var call = await fixture.Agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);

        var answer = new { source_agent = agent, target_agent = Source, interaction_type = "response", correlation_id = id, data = new { verdict = "approved" } };
        var answered = await fixture.ResultOfAsync(admin, Orchestrator, "interact", answer);
        var twice = await fixture.RunAsync(admin, Orchestrator, "interact", answer);
        var stranger = await fixture.RunAsync(admin, Orchestrator, "interact", new { source_agent = "task-assignment-coordinator", target_agent = Source, interaction_type = "error", correlation_id = id });
        var asked = await fixture.WaitForAsync(admin, asking.GetProperty("id").GetGuid(), TaskState.Completed, TaskState.Failed);
        var delivery = await fixture.WaitForAsync(admin, call.TaskId, TaskState.Cancelled, TaskState.Completed, TaskState.Failed);

        Assert.Equal("answered", answered.GetProperty("status").GetString());
        Assert.Equal("approved", answered.GetProperty("response").GetProperty("verdict").GetString());
        Assert.Contains("already answered; it takes one answer", twice.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains($"There is no request '{id}' from {Source} to task-assignment-coordinator", stranger.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("approved", asked.GetProperty("result").GetProperty("response").GetProperty("verdict").GetString());
        Assert.Equal("cancelled", delivery.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Notifications_are_delivered_without_waiting_and_bad_interactions_are_refused()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin);

        var note = await fixture.ResultOfAsync(admin, Orchestrator, "interact", new { source_agent = Source, target_agent = agent, interaction_type = "notification", data = new { action = "echo", input = new { note = "disk almost full" } } });
        var delivered = await fixture.WaitForAsync(admin, note.GetProperty("task_id").GetGuid(), TaskState.Completed);
        var badType = await fixture.RunAsync(admin, Orchestrator, "interact", new { source_agent = Source, target_agent = agent, interaction_type = "shout" });
        var nobody = await fixture.RunAsync(admin, Orchestrator, "interact", new { source_agent = Source, target_agent = "no-such-agent", interaction_type = "request", data = new { action = "echo" } });
        var noAction = await fixture.RunAsync(admin, Orchestrator, "interact", new { source_agent = Source, target_agent = agent, interaction_type = "request", data = new { text = "hi" } });
        var notOffered = await fixture.RunAsync(admin, Orchestrator, "interact", new { source_agent = Source, target_agent = agent, interaction_type = "request", data = new { action = "launch" } });
        var orphan = await fixture.RunAsync(admin, Orchestrator, "interact", new { source_agent = agent, target_agent = Source, interaction_type = "response", correlation_id = "never-asked" });
        var pipeline = await fixture.RunAsync(admin, Orchestrator, "run_pipeline", new { name = "empty" });

        Assert.Equal("delivered", note.GetProperty("status").GetString());
        Assert.Equal("disk almost full", delivered.GetProperty("result").GetProperty("echo").GetProperty("note").GetString());
        Assert.Contains("interaction_type must be request, response, notification or error (got 'shout')", badType.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("target_agent 'no-such-agent' is not a registered agent", nobody.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("must name the target's action", noAction.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("does not offer 'launch'", notOffered.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("There is no request 'never-asked'", orphan.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("A pipeline needs 1 to 50 steps", pipeline.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_agents_claiming_one_target_is_a_conflict_until_the_holder_lets_go()
    {
        using var admin = await fixture.Api.AdminAsync();
        var target = $"file:/srv/{Guid.NewGuid():N}.db";

        var first = await fixture.ResultOfAsync(admin, Orchestrator, "claim", new { agent = "indexer", target, mode = "exclusive", purpose = "reindex" });
        var second = await fixture.ResultOfAsync(admin, Orchestrator, "claim", new { agent = "backup", target, mode = "shared" });
        var renewed = await fixture.ResultOfAsync(admin, Orchestrator, "claim", new { agent = "indexer", target, mode = "shared", ttl_seconds = 600 });
        var reader = await fixture.ResultOfAsync(admin, Orchestrator, "claim", new { agent = "backup", target, mode = "shared" });
        var writer = await fixture.ResultOfAsync(admin, Orchestrator, "claim", new { agent = "migrator", target, mode = "exclusive" });
        var conflicts = await fixture.ResultOfAsync(admin, Orchestrator, "conflicts");
        var claims = await fixture.ResultOfAsync(admin, Orchestrator, "claims", new { target });
        await fixture.ResultOfAsync(admin, Orchestrator, "release_claim", new { agent = "indexer", target });
        await fixture.ResultOfAsync(admin, Orchestrator, "release_claim", new { agent = "backup", target });
        var afterRelease = await fixture.ResultOfAsync(admin, Orchestrator, "claim", new { agent = "migrator", target, mode = "exclusive" });
        var notHeld = await fixture.RunAsync(admin, Orchestrator, "release_claim", new { agent = "indexer", target });

        Assert.True(first.GetProperty("granted").GetBoolean());
        Assert.True(second.GetProperty("conflict").GetBoolean());
        Assert.Contains("indexer holds an exclusive claim", second.GetProperty("claim").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(renewed.GetProperty("granted").GetBoolean());
        Assert.True(reader.GetProperty("granted").GetBoolean());
        Assert.Equal(["backup", "indexer"], writer.GetProperty("claim").GetProperty("conflicts_with").EnumerateArray().Select(a => a.GetString()));
        var mine = conflicts.GetProperty("conflicts").EnumerateArray().Where(c => c.GetProperty("target").GetString() == target).ToList();
        Assert.Equal(["migrator", "backup"], mine.Select(c => c.GetProperty("agent").GetString()));
        Assert.Contains(conflicts.GetProperty("contested_now").EnumerateArray(), c => c.GetProperty("target").GetString() == target);
        Assert.Equal(2, claims.GetProperty("claims").GetArrayLength());
        Assert.True(afterRelease.GetProperty("granted").GetBoolean());
        Assert.Contains("holds no claim", notHeld.GetProperty("error").GetString(), StringComparison.Ordinal);
        await fixture.ResultOfAsync(admin, Orchestrator, "release_claim", new { agent = "migrator", target });
    }
}

public sealed class SqliteOrchestratorTests(TaskFixture<SqliteTestStore> fixture) : OrchestratorConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlOrchestratorTests(TaskFixture<PostgreSqlTestStore> fixture) : OrchestratorConformance<PostgreSqlTestStore>(fixture);
