using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// A large backlog lives in the store; the engine holds a page of it at a time. Alone, so that the managed memory
/// it measures is its own.
/// </summary>
[Collection(nameof(QueueScaleTests))]
public sealed class QueueScaleTests(ServerFixture<SqliteTestStore> server) : IClassFixture<ServerFixture<SqliteTestStore>>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_thousand_queued_tasks_are_held_in_the_store_not_in_memory()
    {
        var store = server.Factory.Services.GetRequiredService<ITaskStore>();
        var engine = server.Factory.Services.GetRequiredService<TaskEngine>();
        var now = server.Factory.Time.GetUtcNow();
        var payload = JsonSerializer.Serialize(new { blob = new string('x', 2000) });
        var before = GC.GetTotalMemory(forceFullCollection: true);
        await using (var db = server.Database())
        {
            for (var batch = 0; batch < 10; batch++)
            {
                db.Tasks.AddRange(Enumerable.Range(0, 1000).Select(i => new TaskItem
                {
                    Title = $"bulk {batch}-{i}",
                    RequiredCapabilities = ["nobody-has-this"],
                    Status = TaskState.Queued,
                    PayloadJson = payload,
                    CreatedAt = now,
                    DispatchScore = now.UtcTicks + (batch * 1000) + i,
                }));
                await db.SaveChangesAsync(Cancellation);
                db.ChangeTracker.Clear();
            }
        }

        // Let the dispatcher go through the whole backlog once: every task is looked at and set aside with a reason.
        var hub = server.Factory.Services.GetRequiredService<TaskEventHub>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(180));
        using var subscription = hub.Subscribe(c => c.State == TaskState.Queued);
        var watching = Task.Run(async () =>
        {
            // A burst can overflow a subscriber's buffer, so the store has the last word: it is asked each time the
            // changes heard so far are taken, and the last deferrals are published after they are stored.
            while (await subscription.WaitForChangesAsync(TimeSpan.FromSeconds(180), TimeProvider.System, timeout.Token) && await DeferredAsync() < 10_000)
            {
            }
        }, Cancellation);
        engine.Wake();
        await watching;
        var after = GC.GetTotalMemory(forceFullCollection: true);

        Assert.Equal(0, engine.RunningCount);
        Assert.Empty(await store.PeekDispatchableAsync(new DispatchWindow(now) { Head = 100 }, Cancellation));
        Assert.Equal(10_000, await DeferredAsync());
        // Held all at once, 10,000 tasks of 2 KB would be over 20 MB of strings alone.
        Assert.True(after - before < 15_000_000, $"managed memory grew by {(after - before) / 1_000_000.0:0.0} MB");


        async Task<int> DeferredAsync()
        {
            await using var check = server.Database();
            return await check.Tasks.CountAsync(t => t.RoutingReason != null && t.RoutingReason.StartsWith("no active agent has the capabilities [nobody-has-this]"), Cancellation);
        }
    }
}

[CollectionDefinition(nameof(QueueScaleTests), DisableParallelization = true)]
public sealed class QueueScaleCollection;
