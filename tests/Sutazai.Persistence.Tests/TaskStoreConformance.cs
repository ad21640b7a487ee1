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
        Assert.Empty(await Tasks.PeekDispatchableAsync(Harness.Time.GetUtcNow(), 10, Cancellation));
        Assert.Single(await Tasks.PeekDispatchableAsync(retryAt, 10, Cancellation));
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
            Tasks.AssignAsync([new TaskAssignment(task.Id, agent, "a")], "node-a", now, now.AddSeconds(30), Cancellation),
            Tasks.AssignAsync([new TaskAssignment(task.Id, agent, "b")], "node-b", now, now.AddSeconds(30), Cancellation));

        Assert.Equal(1, results.Sum(r => r.Count));
        await using var check = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        Assert.Equal(4, await check.TaskEvents.CountAsync(e => e.TaskId == task.Id, Cancellation));
    }

    [Fact]
    public async Task A_lapsed_lease_puts_the_task_back_until_its_retries_and_the_lapse_allowance_are_used_up()
    {
        var task = await CreateAsync("lapsing", maxRetries: 1);
        var agent = await AgentAsync();
        var now = Harness.Time.GetUtcNow();
        await Tasks.AssignAsync([new TaskAssignment(task.Id, agent, "first")], "dead-node", now, now.AddSeconds(10), Cancellation);

        var first = await Tasks.RequeueLapsedAsync(now.AddSeconds(11), 1, _ => null, Cancellation);
        await Tasks.AssignAsync([new TaskAssignment(task.Id, agent, "second")], "dead-node", now, now.AddSeconds(20), Cancellation);
        var second = await Tasks.RequeueLapsedAsync(now.AddSeconds(21), 1, _ => null, Cancellation);
        await Tasks.AssignAsync([new TaskAssignment(task.Id, agent, "third")], "dead-node", now, now.AddSeconds(30), Cancellation);
        var third = await Tasks.RequeueLapsedAsync(now.AddSeconds(31), 1, _ => null, Cancellation);

        Assert.Equal([task.Id], first);
        Assert.Equal([task.Id], second);
        Assert.Empty(third);
        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        var stored = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == task.Id, Cancellation);
        Assert.Equal(TaskState.Failed, stored.Status);
        Assert.Contains("no retries are left", stored.ErrorMessage, StringComparison.Ordinal);
    }

    private async Task<Guid> AgentAsync()
    {
        await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        return (await db.Agents.FirstAsync(Cancellation)).Id;
    }

    private async Task<TaskItem> CreateAsync(string title, int maxRetries = 0)
    {
        var now = Harness.Time.GetUtcNow();
        var creation = await Tasks.CreateAsync(new TaskItem { Title = title, CreatedAt = now, DispatchScore = now.UtcTicks, MaxRetries = maxRetries }, Cancellation);
        return creation.Task;
    }
}

public sealed class SqliteTaskStoreTests : TaskStoreConformance<SqliteTestStore>;

public sealed class PostgreSqlTaskStoreTests : TaskStoreConformance<PostgreSqlTestStore>;
