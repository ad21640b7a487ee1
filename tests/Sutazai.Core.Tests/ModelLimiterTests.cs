using Sutazai.Core.Models;

namespace Sutazai.Core.Tests;

public sealed class ModelLimiterTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Waiting_calls_get_their_turn_by_priority_then_arrival_and_a_full_line_refuses()
    {
        var limiter = new ModelLimiter(concurrency: 1, queueLimit: 3);
        var running = await limiter.EnterAsync(5, Cancellation);
        var order = new List<string>();
        async Task<IDisposable> Wait(string name, int priority)
        {
            var turn = await limiter.EnterAsync(priority, Cancellation);
            lock (order)
            {
                order.Add(name);
            }

            return turn;
        }

        var later = Wait("normal-first", 5);
        var second = Wait("normal-second", 5);
        var urgent = Wait("urgent", 1);

        Assert.Equal((1, 3), (limiter.Running, limiter.Waiting));
        await Assert.ThrowsAsync<ModelBusyException>(async () => await limiter.EnterAsync(1, Cancellation));

        running.Dispose();
        (await urgent).Dispose();
        (await later).Dispose();
        (await second).Dispose();

        Assert.Equal(["urgent", "normal-first", "normal-second"], order);
        Assert.Equal((0, 0), (limiter.Running, limiter.Waiting));
    }

    [Fact]
    public async Task A_caller_that_gives_up_leaves_the_line_and_never_takes_a_turn()
    {
        var limiter = new ModelLimiter(concurrency: 1, queueLimit: 1);
        var running = await limiter.EnterAsync(5, Cancellation);
        using var giveUp = new CancellationTokenSource();

        var waiting = limiter.EnterAsync(5, giveUp.Token).AsTask();
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, limiter.Waiting);
        // The place it held is free again, and the turn goes to whoever comes next.
        var next = limiter.EnterAsync(5, Cancellation).AsTask();
        running.Dispose();
        (await next).Dispose();
        Assert.Equal(0, limiter.Running);
        (await limiter.EnterAsync(5, Cancellation)).Dispose();
    }
}
