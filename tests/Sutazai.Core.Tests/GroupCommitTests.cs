namespace Sutazai.Core.Tests;

public sealed class GroupCommitTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Items_that_arrive_together_are_committed_together_and_a_bad_one_fails_alone()
    {
        var firstStarted = new TaskCompletionSource();
        var firstHeld = new TaskCompletionSource();
        var batches = new List<IReadOnlyList<int>>();
        await using var commits = new GroupCommit<int, int>(async (items, _) =>
        {
            lock (batches)
            {
                batches.Add(items);
            }

            if (items.Contains(0))
            {
                firstStarted.SetResult();
                await firstHeld.Task;
            }

            return items.Contains(-1) ? throw new InvalidOperationException("-1 cannot be stored") : [.. items.Select(i => i * 10)];
        });

        var first = commits.CommitAsync(0);
        await firstStarted.Task.WaitAsync(Cancellation);
        var rest = new[] { 1, -1, 2 }.Select(commits.CommitAsync).ToList();
        firstHeld.SetResult();

        Assert.Equal(0, await first.WaitAsync(Cancellation));
        Assert.Equal(10, await rest[0].WaitAsync(Cancellation));
        Assert.Equal(20, await rest[2].WaitAsync(Cancellation));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => rest[1].WaitAsync(Cancellation));
        Assert.Equal("-1 cannot be stored", error.Message);
        Assert.Contains(batches, b => b.SequenceEqual([1, -1, 2]));
        Assert.Contains(batches, b => b.SequenceEqual([2]));
    }
}
