using System.Threading.Channels;

namespace Sutazai.Core;

/// <summary>
/// Writes that many callers make at once, committed together: while one batch is being stored the next ones
/// gather, and each is stored in one transaction. Every caller still waits until its own item is stored (or
/// hears why it was not), so nothing is acknowledged before it is durable. A batch that fails is stored again
/// item by item, so one bad item does not take the others with it.
/// </summary>
public sealed class GroupCommit<TItem, TResult> : IAsyncDisposable, IDisposable
{
    private readonly Channel<(TItem Item, TaskCompletionSource<TResult> Done)> _queue =
        Channel.CreateUnbounded<(TItem, TaskCompletionSource<TResult>)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _commit;
    private readonly int _maxBatch;
    private readonly Task _writer;

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
        if (!_queue.Writer.TryWrite((item, done)))
        {
            done.SetException(new ObjectDisposedException(nameof(GroupCommit<TItem, TResult>)));
        }

        return done.Task;
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
