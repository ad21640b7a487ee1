using Microsoft.EntityFrameworkCore;

namespace Sutazai.Persistence;

/// <summary>
/// Work that must not interleave with itself across nodes: one transaction holding a named lock (a
/// transaction-scoped advisory lock on PostgreSQL; SQLite's immediate transactions already admit one writer).
/// </summary>
internal static class SerializedWork
{
    public const long ResourcePool = 0x5A7A_A100_0002;
    public const long AgentClaims = 0x5A7A_A100_0003;

    public static async Task<T> RunAsync<T>(IDbContextFactory<SutazaiDbContext> contexts, long lockKey, Func<SutazaiDbContext, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (db.Database.IsNpgsql())
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({lockKey})", cancellationToken);
        }

        var result = await work(db);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }
}
