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

    [Fact]
    public async Task Items_written_behind_do_not_wait_until_too_many_wait_and_a_flush_waits_for_all_of_them()
    {
        var held = new TaskCompletionSource();
        var stored = new List<int>();
        var lost = new TaskCompletionSource<(int Item, string Why)>();
        await using var commits = new GroupCommit<int, bool>(async (items, _) =>
        {
            await held.Task;
            if (items.Contains(-1))
            {
                throw new InvalidOperationException("-1 cannot be stored");
            }

            lock (stored)
            {
                stored.AddRange(items);
            }

            return [.. items.Select(_ => true)];
        });

        void Lost(int item, Exception e) => lost.SetResult((item, e.Message));

        // Nothing is stored while the store is held, yet the first three return at once.
        foreach (var item in new[] { 1, -1, 2 })
        {
            Assert.True(commits.CommitBehindAsync(item, limit: 3, Lost).AsTask().IsCompleted);
        }

        var fourth = commits.CommitBehindAsync(4, limit: 3, Lost).AsTask();
        var flushed = commits.FlushAsync();
        Assert.False(fourth.IsCompleted);
        Assert.False(flushed.IsCompleted);
        Assert.Empty(stored);

        held.SetResult();
        await fourth.WaitAsync(Cancellation);
        await flushed.WaitAsync(Cancellation);
        Assert.Equal([1, 2, 4], stored.Order());
        Assert.Equal((-1, "-1 cannot be stored"), await lost.Task.WaitAsync(Cancellation));
    }

    [Fact]
    public async Task Items_written_behind_linger_for_company_until_somebody_waits_a_flush_comes_or_it_stops()
    {
        var batches = new List<int[]>();
        var commits = new GroupCommit<int, bool>(
            (items, _) =>
            {
                lock (batches)
                {
                    batches.Add([.. items]);
                }

                return Task.FromResult<IReadOnlyList<bool>>([.. items.Select(_ => true)]);
            },
            linger: TimeSpan.FromHours(1));
        static void Lost(int item, Exception e) => throw new InvalidOperationException($"{item} was lost: {e.Message}");

        // Written behind, they wait for more (an hour here); the item somebody waits for goes with them at once.
        foreach (var item in new[] { 1, 2, 3 })
        {
            await commits.CommitBehindAsync(item, limit: 100, Lost);
        }

        Assert.True(await commits.CommitAsync(10).WaitAsync(Cancellation));
        Assert.Equal([[1, 2, 3, 10]], batches);

        // A flush ends the wait.
        await commits.CommitBehindAsync(4, limit: 100, Lost);
        await commits.CommitBehindAsync(5, limit: 100, Lost);
        await commits.FlushAsync().WaitAsync(Cancellation);
        Assert.Equal([4, 5], batches[^1]);

        // So does stopping: what lingers is stored.
        await commits.CommitBehindAsync(6, limit: 100, Lost);
        await commits.DisposeAsync().AsTask().WaitAsync(Cancellation);
        Assert.Equal([6], batches[^1]);
    }
}
