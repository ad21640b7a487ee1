namespace Sutazai.Core.Models;

/// <summary>
/// How many calls one model runs at once, and a bounded line of the ones waiting: urgent first (priority 1 before
/// 10), then first come. A caller that gives up while waiting leaves the line; a full line refuses at once.
/// </summary>
public sealed class ModelLimiter(int concurrency, int queueLimit)
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<Waiter, (int Priority, long Order)> _line = new();
    private long _order;
    private int _running;

    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return LiveWaiters();
            }
        }
    }

    private int LiveWaiters() => _line.UnorderedItems.Count(w => !w.Element.Done.Task.IsCompleted);

    /// <summary>Where a waiting call stands in line (1 = next), or null when it is not waiting.</summary>
    public int? PositionOf(Guid callId)
    {
        lock (_lock)
        {
            Waiter? mine = null;
            (int, long) key = default;
            foreach (var (waiter, order) in _line.UnorderedItems)
            {
                if (waiter.CallId == callId && !waiter.Done.Task.IsCompleted)
                {
                    (mine, key) = (waiter, order);
                }
            }

            return mine is null
                ? null
                : 1 + _line.UnorderedItems.Count(w => !w.Element.Done.Task.IsCompleted && Comparer<(int, long)>.Default.Compare(w.Priority, key) < 0);
        }
    }

    /// <summary>Waits for a turn; dispose the result to give it back.</summary>
    /// <param name="callId">Names the call while it waits, for <see cref="PositionOf"/>.</param>
    /// <exception cref="ModelBusyException">The line is full.</exception>
    public async ValueTask<IDisposable> EnterAsync(int priority, CancellationToken cancellationToken, Guid callId = default)
    {
        Waiter waiter;
        lock (_lock)
        {
            while (_line.TryPeek(out var head, out _) && head.Done.Task.IsCompleted)
            {
                _line.Dequeue();
            }

            if (_running < concurrency && _line.Count == 0)
            {
                _running++;
                return new Turn(this);
            }

            if (LiveWaiters() >= queueLimit)
            {
                throw new ModelBusyException(concurrency, queueLimit);
            }

            waiter = new Waiter(callId);
            _line.Enqueue(waiter, (priority, _order++));
        }

        await using (cancellationToken.Register(() => waiter.Done.TrySetCanceled(cancellationToken)))
        {
            await waiter.Done.Task;
        }

        return new Turn(this);
    }

    private void Leave()
    {
        lock (_lock)
        {
            // The turn passes straight to the next live waiter; one that gave up is skipped.
            while (_line.TryDequeue(out var next, out _))
            {
                if (next.Done.TrySetResult())
                {
                    return;
                }
            }

            _running--;
        }
    }

    private sealed class Waiter(Guid callId)
    {
        public Guid CallId { get; } = callId;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Turn(ModelLimiter limiter) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                limiter.Leave();
            }
        }
    }
}

/// <summary>A model's line of waiting calls is full.</summary>
public sealed class ModelBusyException(int concurrency, int queueLimit)
    : Exception($"The model is busy: {concurrency} call(s) running and {queueLimit} waiting, the most it takes; try again shortly.");
