using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sutazai.Core.Identity;
using Sutazai.Persistence;

namespace Sutazai.Server.Identity;

/// <summary>
/// Locks a username for a while after repeated failed sign-ins. Counted per typed name in the store, so the
/// lock holds across nodes and behaves the same whether or not the account exists.
/// </summary>
public sealed class LoginThrottleService(IDbContextFactory<SutazaiDbContext> contexts, IOptions<AuthOptions> options, TimeProvider time)
{
    /// <returns>When the lock lifts, or null when sign-in may be tried.</returns>
    public async Task<DateTimeOffset?> LockedUntilAsync(string username, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var throttle = await db.LoginThrottles.AsNoTracking().SingleOrDefaultAsync(t => t.Username == Key(username), cancellationToken);
        return throttle?.LockedUntil is { } until && until > time.GetUtcNow() ? until : null;
    }

    /// <returns>When the lock lifts if this failure locked the name, otherwise null.</returns>
    public async Task<DateTimeOffset?> RecordFailureAsync(string username, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        for (var attempt = 0; ; attempt++)
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var throttle = await db.LoginThrottles.SingleOrDefaultAsync(t => t.Username == Key(username), cancellationToken);
            if (throttle is null)
            {
                throttle = new LoginThrottle { Username = Key(username), WindowStartedAt = now };
                db.LoginThrottles.Add(throttle);
            }
            else if (now - throttle.WindowStartedAt > TimeSpan.FromMinutes(settings.LockoutWindowMinutes))
            {
                throttle.WindowStartedAt = now;
                throttle.Failures = 0;
                throttle.LockedUntil = null;
            }

            throttle.Failures++;
            if (throttle.Failures >= settings.LockoutThreshold)
            {
                throttle.LockedUntil = now.AddMinutes(settings.LockoutMinutes);
                throttle.Failures = 0;
                throttle.WindowStartedAt = now;
            }

            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return throttle.LockedUntil;
            }
            catch (DbUpdateException) when (attempt < 3)
            {
                // A concurrent failure for the same name inserted the row first; count again on top of it.
            }
        }
    }

    public async Task ResetAsync(string username, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.LoginThrottles.Where(t => t.Username == Key(username)).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>Typed names can be anything; the key is bounded so a huge name cannot bloat the table.</summary>
    private static string Key(string username) => username.Length <= 190 ? username : "sha256:" + OpaqueTokens.Hash(username);
}
