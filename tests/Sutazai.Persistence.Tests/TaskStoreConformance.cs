using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>The task store's transitions, on every provider: each happens once, with its event, or not at all.</summary>
public abstract class TaskStoreConformance<TStore> : InitializedStoreTest<TStore>
    where TStore : ITestStore, new()
{
    private ITaskStore Tasks => Harness.Services.GetRequiredService<ITaskStore>();

    [Fact]
    public async Task Deferring_keeps_the_task_queued_with_its_reason_and_retry_time()
    {
        var task = await CreateAsync("deferred");
        var retryAt = Harness.Time.GetUtcNow().AddSeconds(30);

        await Tasks.DeferAsync([new TaskDeferral(task.Id, "nobody can", retryAt)], Cancellation);

        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        var stored = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == task.Id, Cancellation);
        Assert.Equal((TaskState.Queued, "nobody can", retryAt), (stored.Status, stored.RoutingReason, stored.NextAttemptAt));
        Assert.Empty(await Tasks.PeekDispatchableAsync(new DispatchWindow(Harness.Time.GetUtcNow()) { Head = 10 }, Cancellation));
        Assert.Single(await Tasks.PeekDispatchableAsync(new DispatchWindow(retryAt) { Head = 10 }, Cancellation));
    }

    [Fact]
    public async Task Only_one_of_two_nodes_assigning_the_same_task_wins()
    {
        var task = await CreateAsync("contested");
        var agent = Guid.Empty;
        await using (var db = await Harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            agent = (await db.Agents.FirstAsync(Cancellation)).Id;
        }

        var now = Harness.Time.GetUtcNow();
        var results = await Task.WhenAll(
            Tasks.AssignAsync([new TaskAssignment(task.Id, 0, agent, "a")], "node-a", now, now.AddSeconds(30), Cancellation),
            Tasks.AssignAsync([new TaskAssignment(task.Id, 0, agent, "b")], "node-b", now, now.AddSeconds(30), Cancellation));

        Assert.Equal(1, results.Sum(r => r.Count));
        await using var check = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        Assert.Equal(4, await check.TaskEvents.CountAsync(e => e.TaskId == task.Id, Cancellation));
    }

    [Fact]
    public async Task Every_value_of_a_task_is_stored_and_claimed_back_as_given()
    {
        // Text that a hand-made array or JSON literal could get wrong: separators, quotes, backslashes, braces, a NULL.
        string[] awkward = ["plain", "with space", "comma,inside", "quote\"inside", "back\\slash", "{brace}", "NULL", "", "é 漢"];
        var agent = await AgentAsync();
        var now = Harness.Time.GetUtcNow();
        TaskItem Task(int i) => new()
        {
            Title = $"all \"values\" {i}",
            Description = "line one\nline two\\ 漢",
            Type = "analysis",
            Action = "ping",
            AgentId = agent,
            RequiredCapabilities = [.. awkward.Skip(i)],
            SubmitterPermissions = ["task:create", $"quote\"{i}"],
            Priority = 3 + i,
            PayloadJson = $$"""{"text":"é \"q\" \\ 漢","n":{{i}}}""",
            ResourceNeedsJson = i == 0 ? null : """{"cpu_cores":1.5}""",
            IdempotencyKey = i == 0 ? null : $"key-{i}",
            MaxRetries = i,
            TimeoutSeconds = i == 0 ? null : 30,
            Deadline = i == 0 ? null : now.AddMinutes(5),
            WebhookUrl = i == 0 ? null : "https://example.test/hook?a=1&b='x'",
            WebhookSecretProtected = i == 0 ? null : "protected",
            CreatedAt = now,
            DispatchScore = now.UtcTicks + i,
        };
        TaskItem[] given = [Task(0), Task(1)];

        await System.Threading.Tasks.Task.WhenAll(given.Select(t => Tasks.CreateAsync(t, Cancellation)));
        var claimed = (await Tasks.AssignAsync([.. given.Select(t => new TaskAssignment(t.Id, 0, agent, "as given"))], "node-a", now, now.AddSeconds(30), Cancellation))
            .ToDictionary(t => t.Id);

        Assert.Equal(2, claimed.Count);
        foreach (var task in given)
        {
            var back = claimed[task.Id];
            Assert.Equal(
                (task.Title, task.Description, task.Type, task.Action, task.AgentId, task.Priority, task.IdempotencyKey, task.MaxRetries, task.TimeoutSeconds, task.Deadline, task.WebhookUrl, task.WebhookSecretProtected, task.CreatedAt, task.DispatchScore),
                (back.Title, back.Description, back.Type, back.Action, back.AgentId, back.Priority, back.IdempotencyKey, back.MaxRetries, back.TimeoutSeconds, back.Deadline, back.WebhookUrl, back.WebhookSecretProtected, back.CreatedAt, back.DispatchScore));
            Assert.Equal(task.RequiredCapabilities, back.RequiredCapabilities);
            Assert.Equal(task.SubmitterPermissions, back.SubmitterPermissions);
            Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(task.PayloadJson!), System.Text.Json.Nodes.JsonNode.Parse(back.PayloadJson!)), back.PayloadJson);
            Assert.Equal(task.ResourceNeedsJson is null, back.ResourceNeedsJson is null);
            Assert.Equal((TaskState.Running, 1, (string?)"node-a", (string?)"as given", (DateTimeOffset?)now), (back.Status, back.Attempt, back.LeaseOwner, back.RoutingReason, back.StartedAt));
        }
    }

    [Fact]
    public async Task A_claim_takes_a_task_only_at_the_attempt_it_was_read_at()
    {
        // Read at attempt 0; meanwhile another node ran it once and queued it again for a retry.
        var (stale, current) = (await CreateAsync("stale"), await CreateAsync("current"));
        var agent = await AgentAsync();
        var now = Harness.Time.GetUtcNow();
        var won = await Tasks.AssignAsync(
            [new TaskAssignment(stale.Id, 1, agent, "read before its first run"), new TaskAssignment(current.Id, 0, agent, "read now")], "node-a", now, now.AddSeconds(30), Cancellation);

        Assert.Equal([current.Id], won.Select(t => t.Id));
        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        var left = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == stale.Id, Cancellation);
        Assert.Equal((TaskState.Queued, 0, (string?)null), (left.Status, left.Attempt, left.LeaseOwner));
        Assert.Equal(2, await db.TaskEvents.CountAsync(e => e.TaskId == stale.Id, Cancellation));
        Assert.Equal(4, await db.TaskEvents.CountAsync(e => e.TaskId == current.Id, Cancellation));
    }

    [Fact]
    public async Task A_batch_is_assigned_and_finished_each_with_its_own_values_and_a_task_this_node_lost_is_left_alone()
    {
        var (kept, lost, retried) = (await CreateAsync("kept"), await CreateAsync("lost"), await CreateAsync("retried", maxRetries: 1));
        var agent = await AgentAsync();
        var now = Harness.Time.GetUtcNow();
        var won = await Tasks.AssignAsync(
            [new TaskAssignment(kept.Id, 0, agent, "reason k"), new TaskAssignment(lost.Id, 0, agent, "reason l"), new TaskAssignment(retried.Id, 0, agent, "reason r")],
            "node-a", now, now.AddSeconds(30), Cancellation);
        var reasons = won.ToDictionary(t => t.Id, t => (t.RoutingReason, t.Attempt, t.LeaseOwner));
        Assert.Equal(("reason k", 1, "node-a"), reasons[kept.Id]);
        Assert.Equal(("reason l", 1, "node-a"), reasons[lost.Id]);
        Assert.Equal(("reason r", 1, "node-a"), reasons[retried.Id]);
        Assert.All(won, t => Assert.Equal((TaskState.Running, now, now.AddSeconds(30)), (t.Status, t.StartedAt, t.LeaseExpiresAt)));

        // Another node takes one over (this node's lease on it lapsed) before this node's outcomes are stored.
        await Tasks.RequeueLapsedAsync(now.AddSeconds(31), 1, _ => null, Cancellation);
        await Tasks.AssignAsync([new TaskAssignment(lost.Id, 1, agent, "again")], "node-b", now.AddSeconds(31), now.AddSeconds(61), Cancellation);
        await Tasks.AssignAsync([new TaskAssignment(kept.Id, 1, agent, "again")], "node-a", now.AddSeconds(31), now.AddSeconds(61), Cancellation);
        await Tasks.AssignAsync([new TaskAssignment(retried.Id, 1, agent, "again")], "node-a", now.AddSeconds(31), now.AddSeconds(61), Cancellation);
        var finished = now.AddSeconds(32);
        TaskOutcome Outcome(TaskItem task, TaskState state, string? result, string? error, DateTimeOffset? retryAt = null) =>
            new(task.Id, agent, 2, state, $"{task.Title} ended", result, error, "{}", now.AddSeconds(31), finished, retryAt, null);
        var applied = await Tasks.FinishAsync(
            [Outcome(kept, TaskState.Completed, """{"n":1}""", null), Outcome(lost, TaskState.Completed, """{"n":2}""", null), Outcome(retried, TaskState.Queued, null, "flaky", finished.AddSeconds(5))],
            "node-a", Cancellation);

        Assert.Equal([true, false, true], applied);
        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        var stored = await db.Tasks.AsNoTracking().Where(t => t.Id == kept.Id || t.Id == lost.Id || t.Id == retried.Id).ToDictionaryAsync(t => t.Id, Cancellation);
        Assert.Equal((TaskState.Completed, (string?)"""{"n":1}""", (DateTimeOffset?)finished, (string?)null), (stored[kept.Id].Status, stored[kept.Id].ResultJson?.Replace(" ", "", StringComparison.Ordinal), stored[kept.Id].CompletedAt, stored[kept.Id].LeaseOwner));
        Assert.Equal((TaskState.Running, (string?)"node-b", (string?)null), (stored[lost.Id].Status, stored[lost.Id].LeaseOwner, stored[lost.Id].ResultJson));
        Assert.Equal((TaskState.Queued, (string?)"flaky", (DateTimeOffset?)finished.AddSeconds(5), (DateTimeOffset?)null), (stored[retried.Id].Status, stored[retried.Id].ErrorMessage, stored[retried.Id].NextAttemptAt, stored[retried.Id].CompletedAt));
        var executions = await db.AgentExecutions.AsNoTracking().Where(e => e.Attempt == 2).ToDictionaryAsync(e => e.TaskId!.Value, e => e.Status, Cancellation);
        Assert.Equal(("completed", "superseded", "failed_will_retry"), (executions[kept.Id], executions[lost.Id], executions[retried.Id]));
        Assert.Equal(0, await db.TaskEvents.CountAsync(e => e.TaskId == lost.Id && e.OccurredAt == finished, Cancellation));
        var history = await db.TaskEvents.AsNoTracking().Where(e => e.TaskId == kept.Id).OrderBy(e => e.Id).Select(e => e.ToStatus).ToListAsync(Cancellation);
        Assert.Equal([TaskState.Created, TaskState.Queued, TaskState.Assigned, TaskState.Running, TaskState.Queued, TaskState.Assigned, TaskState.Running, TaskState.Completed], history);
    }

    [Fact]
    public async Task A_finish_that_cannot_be_stored_whole_stores_none_of_it()
    {
        var (first, second) = (await CreateAsync("first"), await CreateAsync("second"));
        var agent = await AgentAsync();
        var now = Harness.Time.GetUtcNow();
        await Tasks.AssignAsync([new TaskAssignment(first.Id, 0, agent, "r"), new TaskAssignment(second.Id, 0, agent, "r")], "node-a", now, now.AddSeconds(30), Cancellation);

        // The second outcome names an agent that does not exist: its execution's row breaks a foreign key.
        var webhook = new WebhookDelivery { TaskId = second.Id, Event = "task.completed", Url = "http://127.0.0.1:9/", PayloadJson = "{}", CreatedAt = now, NextAttemptAt = now };
        TaskOutcome Outcome(TaskItem task, Guid agentId, WebhookDelivery? webhook) =>
            new(task.Id, agentId, 1, TaskState.Completed, "done", """{"ok":true}""", null, "{}", now, now.AddSeconds(1), null, webhook);
        await Assert.ThrowsAnyAsync<Exception>(() => Tasks.FinishAsync([Outcome(first, agent, null), Outcome(second, Guid.NewGuid(), webhook)], "node-a", Cancellation));

        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        var stored = await db.Tasks.AsNoTracking().Where(t => t.Id == first.Id || t.Id == second.Id).ToListAsync(Cancellation);
        Assert.All(stored, t => Assert.Equal((TaskState.Running, (string?)"node-a", (string?)null), (t.Status, t.LeaseOwner, t.ResultJson)));
        Assert.Equal(0, await db.AgentExecutions.CountAsync(e => e.TaskId == first.Id || e.TaskId == second.Id, Cancellation));
        Assert.Equal(0, await db.TaskEvents.CountAsync(e => (e.TaskId == first.Id || e.TaskId == second.Id) && e.ToStatus == TaskState.Completed, Cancellation));
        Assert.Equal(0, await db.WebhookDeliveries.CountAsync(Cancellation));
    }

    [Fact]
    public async Task A_lapsed_lease_puts_the_task_back_until_its_retries_and_the_lapse_allowance_are_used_up()
    {
        var task = await CreateAsync("lapsing", maxRetries: 1);
        var agent = await AgentAsync();
        var now = Harness.Time.GetUtcNow();
        await Tasks.AssignAsync([new TaskAssignment(task.Id, 0, agent, "first")], "dead-node", now, now.AddSeconds(10), Cancellation);

        var first = await Tasks.RequeueLapsedAsync(now.AddSeconds(11), 1, _ => null, Cancellation);
        await Tasks.AssignAsync([new TaskAssignment(task.Id, 1, agent, "second")], "dead-node", now, now.AddSeconds(20), Cancellation);
        var second = await Tasks.RequeueLapsedAsync(now.AddSeconds(21), 1, _ => null, Cancellation);
        await Tasks.AssignAsync([new TaskAssignment(task.Id, 2, agent, "third")], "dead-node", now, now.AddSeconds(30), Cancellation);
        var third = await Tasks.RequeueLapsedAsync(now.AddSeconds(31), 1, _ => null, Cancellation);

        Assert.Equal([task.Id], first);
        Assert.Equal([task.Id], second);
        Assert.Empty(third);
        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        var stored = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == task.Id, Cancellation);
        Assert.Equal(TaskState.Failed, stored.Status);
        Assert.Contains("no retries are left", stored.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dispatch_window_reads_each_agent_only_as_far_as_it_has_room_and_pages_through_the_unaddressed()
    {
        Guid[] agents;
        await using (var db = await Harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            agents = [.. (await db.Agents.OrderBy(a => a.Name).Take(2).ToListAsync(Cancellation)).Select(a => a.Id)];
        }

        // Interleaved in dispatch order: a0 b0 u0 a1 b1 u1 a2 b2 u2 (a, b addressed to two agents; u to none).
        var titles = new List<(string Title, Guid? Agent)>();
        for (var i = 0; i < 3; i++)
        {
            titles.AddRange([($"a{i}", agents[0]), ($"b{i}", agents[1]), ($"u{i}", null)]);
        }

        var ids = new Dictionary<Guid, string>();
        foreach (var (title, agent) in titles)
        {
            ids[(await CreateAsync(title, agent: agent)).Id] = title;
        }

        var now = Harness.Time.GetUtcNow();
        var first = await Tasks.PeekDispatchableAsync(new DispatchWindow(now) { PerAgent = new Dictionary<Guid, int> { [agents[0]] = 2, [agents[1]] = 1 }, Unaddressed = 2 }, Cancellation);
        Assert.Equal(["a0", "b0", "u0", "a1", "u1"], first.Select(t => ids[t.Id]));

        var next = await Tasks.PeekDispatchableAsync(
            new DispatchWindow(now) { Unaddressed = 2, FromScore = first[^1].DispatchScore, AlreadyRead = [first[^1].Id] }, Cancellation);
        Assert.Equal(["u2"], next.Select(t => ids[t.Id]));

        var head = await Tasks.PeekDispatchableAsync(new DispatchWindow(now) { Head = 2 }, Cancellation);
        Assert.Equal(["a0", "b0"], head.Select(t => ids[t.Id]));

        // The queue view shows the same order, tasks waiting for a retry included.
        await Tasks.DeferAsync([new TaskDeferral(first[0].Id, "waiting to retry", now.AddHours(1))], Cancellation);
        var queued = await Harness.Services.GetRequiredService<ITaskQueries>().QueuedAsync(4, Cancellation);
        Assert.Equal(["a0", "b0", "u0", "a1"], queued.Select(t => ids[t.Id]));
    }

    [Fact]
    public async Task Two_nodes_storing_tasks_with_the_same_keys_at_once_store_each_key_once_and_both_answer_with_it()
    {
        // Two stores, as on two nodes: each looks the key up, finds nothing and stores, and one of them finds the
        // key taken when it writes.
        await using var other = new Sutazai.Persistence.Tasks.EfTaskStore(Harness.Contexts);
        // Keys are per user (tasks of no user are never matched by key).
        var user = new Sutazai.Core.Identity.User { Username = "submitter", Email = "submitter@example.test", PasswordHash = "-" };
        await using (var users = await Harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            users.Users.Add(user);
            await users.SaveChangesAsync(Cancellation);
        }

        var now = Harness.Time.GetUtcNow();
        TaskItem Keyed(int i) => new() { Title = $"keyed {i}", UserId = user.Id, IdempotencyKey = $"key-{i}", CreatedAt = now, DispatchScore = now.UtcTicks + i };
        var pairs = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
            await Task.WhenAll(Tasks.CreateAsync(Keyed(i), Cancellation), other.CreateAsync(Keyed(i), Cancellation))));

        Assert.All(pairs, pair =>
        {
            Assert.Equal(pair[0].Task.Id, pair[1].Task.Id);
            Assert.Single(pair, c => c.Created);
        });
        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        Assert.Equal(20, await db.Tasks.CountAsync(t => t.IdempotencyKey != null, Cancellation));
        Assert.Equal(40, await db.TaskEvents.CountAsync(e => e.FromStatus == null || e.FromStatus == TaskState.Created, Cancellation));
    }

    private async Task<Guid> AgentAsync()
    {
        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        return (await db.Agents.FirstAsync(Cancellation)).Id;
    }

    private async Task<TaskItem> CreateAsync(string title, int maxRetries = 0, Guid? agent = null)
    {
        // Each task a tick later, so dispatch order is creation order.
        Harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        var now = Harness.Time.GetUtcNow();
        var creation = await Tasks.CreateAsync(
            new TaskItem { Title = title, AgentId = agent, CreatedAt = now, DispatchScore = now.UtcTicks, MaxRetries = maxRetries }, Cancellation);
        return creation.Task;
    }
}

public sealed class SqliteTaskStoreTests : TaskStoreConformance<SqliteTestStore>;

public sealed class PostgreSqlTaskStoreTests : TaskStoreConformance<PostgreSqlTestStore>;
