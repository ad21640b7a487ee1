using System.Threading.Channels;

namespace Sutazai.Core;

/// <summary>Settings shared by every <see cref="GroupCommit{TItem, TResult}"/>.</summary>
public static class GroupCommit
{
    /// <summary>The linger for records written behind: at a thousand calls a second, twenty to a transaction.</summary>
    public static readonly TimeSpan BehindLinger = TimeSpan.FromMilliseconds(20);
}

/// <summary>
/// Writes that many callers make at once, committed together: while one batch is being stored the next ones
/// gather, and each is stored in one transaction. Every caller still waits until its own item is stored (or
/// hears why it was not), so nothing is acknowledged before it is durable. A batch that fails is stored again
/// item by item, so one bad item does not take the others with it.
/// <para>
/// Records too frequent to wait for one by one (a model call's usage and audit rows) can be written behind
/// instead (<see cref="CommitBehindAsync"/>): the caller goes on at once, and readers that need them call
/// <see cref="FlushAsync"/> first. Since nobody waits for them, a batch of only such records lingers a moment
/// (<c>linger</c>) to gather more: one transaction for many calls instead of one for every call or two, which
/// at thousands of calls a second was a large share of what a cached model call cost.
/// </para>
/// </summary>
public sealed class GroupCommit<TItem, TResult> : IAsyncDisposable, IDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _commit;
    private readonly int _maxBatch;
    private readonly TimeSpan _linger;
    private readonly Task _writer;
    private readonly Lock _gate = new();

    /// <summary>The last item queued: once it is stored (or has failed), so is every item queued before it.</summary>
    private Task _tail = Task.CompletedTask;

    /// <summary>Items queued by <see cref="CommitBehindAsync"/> and not yet stored.</summary>
    private int _behind;

    /// <summary>Cancelled to end a linger at once: somebody waits for what lingers.</summary>
    private volatile CancellationTokenSource _hurry = new();

    /// <summary>1 when somebody has waited for lingering items since the last linger began.</summary>
    private int _hurried;

    /// <param name="commit">Stores a batch in one transaction and returns a result per item, in order.</param>
    /// <param name="linger">
    /// How long a batch of items written behind waits for more before it is stored; an item somebody waits for,
    /// a full batch or a flush ends the wait. Zero: never.
    /// </param>
    public GroupCommit(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commit, int maxBatch = 256, TimeSpan linger = default)
    {
        _commit = commit;
        _maxBatch = maxBatch;
        _linger = linger;
        _writer = Task.Run(WriteAsync);
    }

    public Task<TResult> CommitAsync(TItem item) => Queue(item, behind: false);

    private Task<TResult> Queue(TItem item, bool behind)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (!_queue.Writer.TryWrite(new Pending(item, done, behind)))
            {
                done.SetException(new ObjectDisposedException(nameof(GroupCommit<TItem, TResult>)));
            }

            _tail = done.Task;
        }

        return done.Task;
    }

    /// <summary>
    /// Queues the item and returns without waiting for it to be stored, while fewer than <paramref name="limit"/>
    /// items written this way are waiting; past that it waits for its own, so a store that falls behind slows its
    /// callers down instead of filling memory. An item that cannot be stored is reported to <paramref name="failed"/>.
    /// </summary>
    public async ValueTask CommitBehindAsync(TItem item, int limit, Action<TItem, Exception> failed)
    {
        var stored = Queue(item, behind: true);
        var waiting = Interlocked.Increment(ref _behind);
        _ = stored.ContinueWith(
            (task, _) =>
            {
                Interlocked.Decrement(ref _behind);
                if (task.Exception is { } e)
                {
                    failed(item, e.InnerException ?? e);
                }
            },
            null,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        if (waiting > limit)
        {
            await HurryAsync();
            await ((Task)stored).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Waits until every item queued before now is stored, or has failed.</summary>
    public async Task FlushAsync()
    {
        Task tail;
        lock (_gate)
        {
            tail = _tail;
        }

        await HurryAsync();
        await tail.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Ends the current linger, or the next one before it waits (a flush may come before the writer lingers).</summary>
    private Task HurryAsync()
    {
        Volatile.Write(ref _hurried, 1);
        return _hurry.CancelAsync();
    }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            Take(batch);
            if (_linger > TimeSpan.Zero)
            {
                await LingerAsync(batch);
            }

            if (!await TryCommitAsync(batch) && batch.Count > 1)
            {
                // The batch was rolled back: store each on its own, so only an item that cannot be stored fails.
                foreach (var one in batch)
                {
                    await TryCommitAsync([one]);
                }
            }

            batch.Clear();
        }
    }

    private void Take(List<Pending> batch)
    {
        while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var next))
        {
            batch.Add(next);
        }
    }

    /// <summary>While nobody waits for the batch, gathers more items for up to the linger time.</summary>
    private async Task LingerAsync(List<Pending> batch)
    {
        if (!batch.TrueForAll(p => p.Behind))
        {
            return;
        }

        // Published before the flag is read: a hurry either is seen here or cancels this linger's source.
        var hurry = new CancellationTokenSource();
        _hurry = hurry;
        if (Interlocked.Exchange(ref _hurried, 0) == 1)
        {
            return;
        }

        // Real time, not the injected clock: a batching window, which a test that holds its clock still must see end.
        using var until = CancellationTokenSource.CreateLinkedTokenSource(hurry.Token);
        until.CancelAfter(_linger);
        while (batch.Count < _maxBatch && batch.TrueForAll(p => p.Behind) && !until.IsCancellationRequested)
        {
            try
            {
                if (!await _queue.Reader.WaitToReadAsync(until.Token))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Take(batch);
        }
    }

    /// <summary>Takes no more items and waits until those taken are stored.</summary>
    /// <returns>False when the batch failed; with one item, that item has heard why.</returns>
    private async Task<bool> TryCommitAsync(List<Pending> batch)
    {
        try
        {
            var results = await _commit([.. batch.Select(b => b.Item)], CancellationToken.None);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(results[i]);
            }

            return true;
        }
        catch (Exception e)
        {
            if (batch.Count == 1)
            {
                batch[0].Done.TrySetException(e);
            }

            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }

    /// <summary>Takes no more items; those taken are still stored.</summary>
    public void Dispose() => _queue.Writer.TryComplete();

    /// <param name="Behind">Queued by <see cref="CommitBehindAsync"/>: nobody waits for it.</param>
    private readonly record struct Pending(TItem Item, TaskCompletionSource<TResult> Done, bool Behind);
}
