using System.Threading.Channels;

namespace Sutazai.Core.Tasks;

/// <summary>A change of a task's state, as live subscribers see it.</summary>
public sealed record TaskChange(Guid TaskId, Guid? UserId, TaskState State, string Reason, DateTimeOffset At, string? Agent, int Attempt);

/// <summary>
/// Fans task changes out to live subscribers on this node (SSE streams, the dashboard). Slow subscribers lose
/// their oldest events rather than holding anyone up; the stored history is the complete record.
/// </summary>
public sealed class TaskEventHub
{
    private const int SubscriberBuffer = 1024;
    private readonly Lock _gate = new();
    private Subscription[] _subscribers = [];

    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    public void Publish(TaskChange change)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Offer(change);
        }
    }

    /// <summary>
    /// Starts receiving the changes that pass <paramref name="filter"/> at once, before this returns, so a caller
    /// can subscribe, then read the current state, and miss nothing in between. Dispose to stop.
    /// </summary>
    public Subscription Subscribe(Func<TaskChange, bool> filter)
    {
        var subscription = new Subscription(filter, this);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscription];
        }

        return subscription;
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscription)];
        }
    }

    public sealed class Subscription : IDisposable
    {
        private readonly Func<TaskChange, bool> _filter;
        private readonly TaskEventHub _hub;
        private readonly Channel<TaskChange> _channel = Channel.CreateBounded<TaskChange>(
            new BoundedChannelOptions(SubscriberBuffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        internal Subscription(Func<TaskChange, bool> filter, TaskEventHub hub)
        {
            _filter = filter;
            _hub = hub;
        }

        public IAsyncEnumerable<TaskChange> ReadAllAsync(CancellationToken cancellationToken) => _channel.Reader.ReadAllAsync(cancellationToken);

        /// <summary>
        /// Waits until at least one change arrived (and takes all that did), or <paramref name="atMost"/> passed.
        /// </summary>
        /// <returns>True when changes were heard.</returns>
        public async Task<bool> WaitForChangesAsync(TimeSpan atMost, TimeProvider time, CancellationToken cancellationToken)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var timer = time.CreateTimer(_ => wait.Cancel(), null, atMost, Timeout.InfiniteTimeSpan);
            try
            {
                if (!await _channel.Reader.WaitToReadAsync(wait.Token))
                {
                    return false;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            while (_channel.Reader.TryRead(out _))
            {
            }

            return true;
        }

        public void Dispose()
        {
            _hub.Remove(this);
            _channel.Writer.TryComplete();
        }

        internal void Offer(TaskChange change)
        {
            if (_filter(change))
            {
                _channel.Writer.TryWrite(change);
            }
        }
    }
}
