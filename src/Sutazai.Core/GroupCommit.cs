using System.Threading.Channels;

namespace Sutazai.Core;

/// <summary>
/// Writes that many callers make at once, committed together: while one batch is being stored the next ones
/// gather, and each is stored in one transaction. Every caller still waits until its own item is stored (or
/// hears why it was not), so nothing is acknowledged before it is durable. A batch that fails is stored again
/// item by item, so one bad item does not take the others with it.
/// <para>
/// Records too frequent to wait for one by one (a model call's usage and audit rows) can be written behind
/// instead (<see cref="CommitBehindAsync"/>): the caller goes on at once, and readers that need them call
/// <see cref="FlushAsync"/> first.
/// </para>
/// </summary>
public sealed class GroupCommit<TItem, TResult> : IAsyncDisposable, IDisposable
{
    private readonly Channel<(TItem Item, TaskCompletionSource<TResult> Done)> _queue =
        Channel.CreateUnbounded<(TItem, TaskCompletionSource<TResult>)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _commit;
    private readonly int _maxBatch;
    private readonly Task _writer;
    private readonly Lock _gate = new();

    /// <summary>The last item queued: once it is stored (or has failed), so is every item queued before it.</summary>
    private Task _tail = Task.CompletedTask;

    /// <summary>Items queued by <see cref="CommitBehindAsync"/> and not yet stored.</summary>
    private int _behind;

    /// <param name="commit">Stores a batch in one transaction and returns a result per item, in order.</param>
    public GroupCommit(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commit, int maxBatch = 256)
    {
        _commit = commit;
        _maxBatch = maxBatch;
        _writer = Task.Run(WriteAsync);
    }

    public Task<TResult> CommitAsync(TItem item)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (!_queue.Writer.TryWrite((item, done)))
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
        var stored = CommitAsync(item);
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

        await tail.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task WriteAsync()
    {
        var batch = new List<(TItem Item, TaskCompletionSource<TResult> Done)>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
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

    /// <summary>Takes no more items and waits until those taken are stored.</summary>
    /// <returns>False when the batch failed; with one item, that item has heard why.</returns>
    private async Task<bool> TryCommitAsync(List<(TItem Item, TaskCompletionSource<TResult> Done)> batch)
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
}
