using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

public sealed class PostgreSqlProvisioningTests
{
    [Fact]
    public async Task A_database_that_does_not_exist_yet_is_created_and_initialized()
    {
        var name = $"sutazai_fresh_{Guid.NewGuid():N}";
        var connectionString = new NpgsqlConnectionStringBuilder(TestPostgres.ServerConnectionString) { Database = name, Pooling = false }.ConnectionString;
        await using var database = new TestDatabase(name, connectionString);
        await using var store = new FixedPostgreSqlStore(connectionString);
        await using var harness = StoreHarness.Create(store);

        await harness.InitializeAsync();

        await using var db = await harness.Contexts.CreateDbContextAsync(TestContext.Current.CancellationToken);
        Assert.Equal(7, db.Agents.Count());
    }

    [Fact]
    public async Task Statements_that_run_again_are_prepared_and_sessions_kept_unless_the_connection_string_says_otherwise()
    {
        NpgsqlConnectionStringBuilder Effective(string configured) => new(StorageRegistration.PostgreSqlConnectionString(configured));
        var defaults = Effective("Host=db");
        Assert.Equal((StorageRegistration.AutoPrepared, true), (defaults.MaxAutoPrepare, defaults.NoResetOnClose));
        var given = Effective("Host=db;Max Auto Prepare=0;No Reset On Close=false");
        Assert.Equal((0, false), (given.MaxAutoPrepare, given.NoResetOnClose));
        Assert.Equal(3, Effective("Host=db;max auto prepare=3").MaxAutoPrepare);

        var name = $"sutazai_prepared_{Guid.NewGuid():N}";
        var connectionString = new NpgsqlConnectionStringBuilder(TestPostgres.ServerConnectionString) { Database = name }.ConnectionString;
        await using var database = new TestDatabase(name, connectionString);
        await using var store = new FixedPostgreSqlStore(connectionString);
        await using var harness = StoreHarness.Create(store);
        await harness.InitializeAsync();

        var cancellation = TestContext.Current.CancellationToken;
        await using var db = await harness.Contexts.CreateDbContextAsync(cancellation);
        await db.Database.OpenConnectionAsync(cancellation);
        for (var i = 0; i < 3; i++)
        {
            await db.Agents.Where(a => a.Name != "").CountAsync(cancellation);
        }

        var prepared = await PreparedStatements.ListAsync(db, cancellation);
        Assert.Contains(prepared, s => s.Contains("FROM agents", StringComparison.Ordinal));
    }
}
