using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sutazai.Core.Monitoring;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>SQLite's writers line up in the process instead of meeting the file lock.</summary>
public sealed class SqliteWriteGateTests() : InitializedStoreTest<SqliteTestStore>(new Dictionary<string, string?> { ["Sutazai:Storage:CommandTimeoutSeconds"] = "1" })
{
    [Fact]
    public async Task Many_writers_at_once_all_get_their_turn()
    {
        var writes = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            await using var db = await Harness.Contexts.CreateDbContextAsync(Cancellation);
            db.SystemMetrics.Add(new SystemMetric { Name = "gate", Value = i, RecordedAt = Harness.Time.GetUtcNow() });
            await db.SaveChangesAsync(Cancellation);
        }, Cancellation));

        await Task.WhenAll(writes);

        await using var check = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        Assert.Equal(40, await check.SystemMetrics.CountAsync(m => m.Name == "gate", Cancellation));
    }

    [Fact]
    public async Task A_write_that_waits_on_a_transaction_its_caller_holds_fails_with_the_reason_instead_of_hanging()
    {
        await using var outer = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        await using var transaction = await outer.Database.BeginTransactionAsync(Cancellation);
        outer.SystemMetrics.Add(new SystemMetric { Name = "outer", Value = 1, RecordedAt = Harness.Time.GetUtcNow() });
        await outer.SaveChangesAsync(Cancellation);

        await using var inner = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        inner.SystemMetrics.Add(new SystemMetric { Name = "inner", Value = 2, RecordedAt = Harness.Time.GetUtcNow() });
        var refused = await Assert.ThrowsAsync<DbUpdateException>(() => inner.SaveChangesAsync(Cancellation));

        var timeout = Assert.IsType<TimeoutException>(refused.InnerException);
        Assert.Contains("Sutazai:Storage:CommandTimeoutSeconds", timeout.Message, StringComparison.Ordinal);
        await transaction.CommitAsync(Cancellation);
        Assert.Equal(1, await outer.SystemMetrics.CountAsync(m => m.Name == "outer", Cancellation));
    }

    [Fact]
    public async Task Commits_leave_the_log_to_the_checkpointer_which_folds_it_into_the_database_when_the_node_stops()
    {
        var checkpointer = Harness.Services.GetServices<IHostedService>().OfType<Sqlite.SqliteCheckpointer>().Single();
        await checkpointer.StartAsync(Cancellation);
        await using (var db = await Harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            db.SystemMetrics.AddRange(Enumerable.Range(0, 2000).Select(i => new SystemMetric { Name = "wal", Value = i, RecordedAt = Harness.Time.GetUtcNow() }));
            await db.SaveChangesAsync(Cancellation);
            await db.Database.OpenConnectionAsync(Cancellation);
            await using var pragma = db.Database.GetDbConnection().CreateCommand();
            pragma.CommandText = "PRAGMA wal_autocheckpoint";
            Assert.Equal(0L, await pragma.ExecuteScalarAsync(Cancellation));
        }

        var log = new FileInfo(Path.Combine(Store.DataDir, "sutazai.db-wal"));
        Assert.True(log.Length > 100_000, $"the log holds the commits ({log.Length} bytes)");

        await checkpointer.StopAsync(Cancellation);

        log.Refresh();
        Assert.Equal(0, log.Length);
        await using var check = await Harness.Contexts.CreateDbContextAsync(Cancellation);
        Assert.Equal(2000, await check.SystemMetrics.CountAsync(m => m.Name == "wal", Cancellation));
    }
}
