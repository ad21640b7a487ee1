using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sutazai.Persistence.Sqlite;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>The write-ahead log stays bounded while writers and readers never stop.</summary>
public sealed class SqliteCheckpointerTests() : InitializedStoreTest<SqliteTestStore>(new Dictionary<string, string?> { ["Sutazai:Storage:SqliteLogRestartMegabytes"] = "1" })
{
    private const int Rounds = 60;
    private const int RowsPerTransaction = 20;

    [Fact]
    public async Task Under_steady_writes_and_reads_the_log_is_restarted_and_cut_back_instead_of_growing()
    {
        var checkpointer = Harness.Services.GetServices<IHostedService>().OfType<SqliteCheckpointer>().Single();
        var log = new FileInfo(Path.Combine(Store.DataDir, "sutazai.db-wal"));
        using var writing = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var reader = Task.Run(async () =>
        {
            var reads = 0;
            while (!writing.IsCancellationRequested)
            {
                await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
                await db.SystemMetrics.CountAsync(m => m.Value > 50, Cancellation);
                reads++;
            }

            return reads;
        }, Cancellation);

        // Each round overlaps writes, as on a busy node; without restarts the log would hold every one of them
        // (21-45 MB in runs with restarts turned off: random keys touch many index pages).
        var checkpoints = new List<Checkpoint>();
        long largest = 0;
        for (var round = 0; round < Rounds; round++)
        {
            await WriteAsync(5);
            var checkpoint = Task.Run(() => checkpointer.CheckpointAsync(Cancellation), Cancellation);
            await WriteAsync(5);
            checkpoints.Add(Assert.IsType<Checkpoint>(await checkpoint));
            log.Refresh();
            largest = Math.Max(largest, log.Length);
        }

        await writing.CancelAsync();
        Assert.True(await reader > 0);
        Assert.Contains(checkpoints, c => c is { Mode: "RESTART", Complete: true });
        Assert.True(largest < 8 * 1024 * 1024, $"the log stays near the 4 MB it is cut back to (largest {largest} bytes)");
        await using var check = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        Assert.Equal(Rounds * 10 * RowsPerTransaction, await check.SystemMetrics.CountAsync(Cancellation));
    }

    private async Task WriteAsync(int transactions)
    {
        for (var i = 0; i < transactions; i++)
        {
            await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
            await db.Database.ExecuteSqlRawAsync(
                $"INSERT INTO system_metrics (metric_name, metric_value, tags, recorded_at) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {RowsPerTransaction}) SELECT hex(randomblob(100)), i, json_object(), 0 FROM n",
                Cancellation);
        }
    }
}
