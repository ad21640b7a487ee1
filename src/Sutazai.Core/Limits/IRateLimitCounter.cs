namespace Sutazai.Core.Limits;

/// <summary>
/// Counts hits per key in fixed time windows. In memory for one node; a shared implementation (Redis) makes
/// limits hold across nodes.
/// </summary>
public interface IRateLimitCounter
{
    /// <summary>Counts one hit for <paramref name="key"/> in the current window of length <paramref name="window"/>.</summary>
    ValueTask<RateLimitCount> HitAsync(string key, TimeSpan window, CancellationToken cancellationToken);
}

/// <param name="Count">Hits in the current window, this one included.</param>
/// <param name="ResetsAt">When the current window ends.</param>
public readonly record struct RateLimitCount(long Count, DateTimeOffset ResetsAt);
