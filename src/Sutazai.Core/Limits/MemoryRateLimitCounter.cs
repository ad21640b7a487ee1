using System.Collections.Concurrent;

namespace Sutazai.Core.Limits;

/// <summary>Fixed-window counters in this process, timed by <see cref="TimeProvider"/>.</summary>
public sealed class MemoryRateLimitCounter(TimeProvider time) : IRateLimitCounter
{
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private long _hitsSinceSweep;

    public ValueTask<RateLimitCount> HitAsync(string key, TimeSpan window, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // Windows are aligned to the clock, as a shared counter's would be, so every node agrees on their edges.
        var start = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % window.Ticks), TimeSpan.Zero);
        var resetsAt = start + window;
        var current = _windows.AddOrUpdate(
            key,
            static (_, state) => new Window(state.resetsAt, 1),
            static (_, existing, state) => existing.ResetsAt == state.resetsAt ? existing with { Count = existing.Count + 1 } : new Window(state.resetsAt, 1),
            (resetsAt, now));
        if (Interlocked.Increment(ref _hitsSinceSweep) % 10_000 == 0)
        {
            Sweep(now);
        }

        return ValueTask.FromResult(new RateLimitCount(current.Count, current.ResetsAt));
    }

    /// <summary>Forgets windows that have ended, so idle keys do not pile up.</summary>
    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, window) in _windows)
        {
            if (window.ResetsAt <= now)
            {
                _windows.TryRemove(new KeyValuePair<string, Window>(key, window));
            }
        }
    }

    private sealed record Window(DateTimeOffset ResetsAt, long Count);
}
