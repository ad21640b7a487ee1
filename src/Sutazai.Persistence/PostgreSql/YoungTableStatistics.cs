using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sutazai.Persistence.PostgreSql;

/// <summary>
/// On PostgreSQL, gathers the statistics of the task table itself while it is young, every few seconds once a
/// fifth of it has changed. A statement Npgsql has prepared keeps the plan PostgreSQL made for it until the
/// table's statistics are next gathered, and autovacuum looks at a table about once a minute. A new database's
/// task table can grow from nothing to tens of thousands of tasks in that minute, and a plan made in its first
/// seconds, when scanning the few pages there were was cheaper than looking tasks up by key, went on scanning the
/// whole table for every claim (50-80 ms each, a third of the usual throughput in a bench run). Gathering
/// statistics makes every node re-plan; past <see cref="Young"/> rows no new plan would scan, and autovacuum's
/// pace is enough.
/// </summary>
public sealed partial class YoungTableStatistics(
    IOptions<StorageOptions> storage, IDbContextFactory<SutazaiDbContext> contexts, TimeProvider time, ILogger<YoungTableStatistics> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>The rows below which a table counts as young.</summary>
    public const long Young = 10_000;

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

    /// <summary>Gathers the statistics of the young tables that have changed by a fifth (and at least 50 rows) since they were last gathered.</summary>
    /// <returns>The tables whose statistics were gathered.</returns>
    public async Task<IReadOnlyList<string>> AnalyzeAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var due = await db.Database.SqlQuery<string>($"""
            SELECT relname AS "Value" FROM pg_stat_user_tables
            WHERE schemaname = current_schema() AND relname = ANY ({Analyze.Keys.ToArray()})
              AND n_live_tup < {Young} AND n_mod_since_analyze > GREATEST(50, n_live_tup / 5)
            """).ToListAsync(cancellationToken);
        foreach (var table in due)
        {
            await db.Database.ExecuteSqlRawAsync(Analyze[table], cancellationToken);
        }

        return due;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gathering the statistics of young tables failed; the next round tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
