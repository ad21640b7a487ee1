using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sutazai.Persistence.PostgreSql;

/// <summary>
/// On PostgreSQL, gathers the statistics of the task table itself, every few seconds, once it holds more than twice
/// the rows its statistics last counted. A statement Npgsql has prepared keeps the plan PostgreSQL made for it until
/// the table's statistics are next gathered, and autovacuum looks at a table about once a minute. A new database's
/// task table can grow from nothing to tens of thousands of tasks in that minute, and a plan made in its first
/// seconds, when scanning the few pages there were was cheaper than looking tasks up by key, went on scanning the
/// whole table for every claim (50-80 ms each, a third of the usual throughput in a bench run). Gathering
/// statistics makes every node re-plan. Doubling, not a share of rows changed, is the rule: plans depend on the
/// table's size, a growing table doubles only a few dozen times in its life, and a table that stays the size it
/// is is left to autovacuum.
/// </summary>
public sealed partial class GrowingTableStatistics(
    IOptions<StorageOptions> storage, IDbContextFactory<SutazaiDbContext> contexts, TimeProvider time, ILogger<GrowingTableStatistics> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Rows below which a table's statistics are not worth gathering.</summary>
    private const long Few = 100;

    /// <summary>The tables watched, each with its statement.</summary>
    private static readonly Dictionary<string, string> Analyze = new() { ["tasks"] = "ANALYZE tasks" };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (storage.Value.ProviderKind != StorageProvider.PostgreSql)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await AnalyzeAsync(stoppingToken);
                }
                catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException)
                {
                    LogFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Gathers the statistics of the watched tables that hold more than twice the rows their statistics last counted
    /// (or were never gathered), once they hold more than a few.
    /// </summary>
    /// <returns>The tables whose statistics were gathered.</returns>
    public async Task<IReadOnlyList<string>> AnalyzeAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // reltuples is what the planner was last told: -1 until statistics were first gathered.
        var due = await db.Database.SqlQuery<string>($"""
            SELECT s.relname AS "Value" FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
            WHERE s.schemaname = current_schema() AND s.relname = ANY ({Analyze.Keys.ToArray()})
              AND s.n_live_tup > GREATEST({Few}, 2 * c.reltuples)
            """).ToListAsync(cancellationToken);
        foreach (var table in due)
        {
            await db.Database.ExecuteSqlRawAsync(Analyze[table], cancellationToken);
        }

        return due;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gathering the statistics of grown tables failed; the next round tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
