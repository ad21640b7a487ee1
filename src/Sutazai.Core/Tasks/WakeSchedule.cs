namespace Sutazai.Core.Tasks;

/// <summary>
/// Calls back when each of the given times comes, with one timer however many are pending: the dispatcher is woken
/// when a retry comes due instead of finding it at its next poll.
/// </summary>
public sealed class WakeSchedule : IDisposable
{
    private readonly PriorityQueue<DateTimeOffset, DateTimeOffset> _due = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Action _wake;
    private readonly ITimer _timer;

    public WakeSchedule(TimeProvider time, Action wake)
    {
        _time = time;
        _wake = wake;
        _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How many times are still to come.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _due.Count;
            }
        }
    }

    public void At(DateTimeOffset due)
    {
        lock (_gate)
        {
            _due.Enqueue(due, due);
            if (_due.Peek() == due)
            {
                Arm();
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Fire()
    {
        var came = false;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            while (_due.TryPeek(out var next, out _) && next <= now)
            {
                _due.Dequeue();
                came = true;
            }

            Arm();
        }

        if (came)
        {
            _wake();
        }
    }

    /// <summary>Sets the timer for the earliest time to come; under the gate.</summary>
    private void Arm()
    {
        if (_due.TryPeek(out var next, out _))
        {
            var delay = next - _time.GetUtcNow();
            _timer.Change(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }
}
