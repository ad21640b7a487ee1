using Microsoft.EntityFrameworkCore;
using Sutazai.Core;
using Sutazai.Persistence;

namespace Sutazai.Server.Identity;

/// <summary>
/// Deletes what no longer protects anything: rotated refresh tokens and revoked access tokens past their
/// expiry, and sign-in throttles whose lock and window have both lapsed. Hourly, on every node; the deletes
/// are idempotent, so nodes need not coordinate.
/// </summary>
public sealed partial class ExpiredCredentialSweeper(
    IDbContextFactory<SutazaiDbContext> contexts,
    StartupState startup,
    TimeProvider time,
    ILogger<ExpiredCredentialSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>Throttle rows older than this cannot hold a lock or a window any more.</summary>
    private static readonly TimeSpan ThrottleRetention = TimeSpan.FromDays(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await startup.WhenReady.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var swept = await SweepAsync(time.GetUtcNow(), stoppingToken);
                LogSwept(swept);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <param name="now">The moment to judge expiry by.</param>
    public async Task<int> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var swept = await db.ConsumedRefreshTokens.Where(t => t.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken);
        swept += await db.RevokedAccessTokens.Where(t => t.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken);
        var throttleCutoff = now - ThrottleRetention;
        swept += await db.LoginThrottles
            .Where(t => t.WindowStartedAt < throttleCutoff && (t.LockedUntil == null || t.LockedUntil < now))
            .ExecuteDeleteAsync(cancellationToken);
        return swept;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Swept {Count} expired credential rows")]
    private partial void LogSwept(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping expired credentials failed; trying again in an hour")]
    private partial void LogSweepFailed(Exception exception);
}
