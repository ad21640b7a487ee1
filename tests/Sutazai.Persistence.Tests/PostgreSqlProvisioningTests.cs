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
        await using var store = new FixedStore(connectionString);
        await using var harness = StoreHarness.Create(store);

        await harness.InitializeAsync();

        await using var db = await harness.Contexts.CreateDbContextAsync(TestContext.Current.CancellationToken);
        Assert.Equal(7, db.Agents.Count());
    }

    /// <summary>Settings for a connection string the test chose, instead of a database made beforehand.</summary>
    private sealed class FixedStore(string connectionString) : ITestStore
    {
        private readonly TempDirectory _directory = new();

        public string Provider => "PostgreSql";

        public string DataDir => _directory.Path;

        public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Sutazai:DataDir"] = DataDir,
            ["Sutazai:Storage:Provider"] = Provider,
            ["Sutazai:Storage:ConnectionString"] = connectionString,
        };

        public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ExecuteAsync(string sql, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            _directory.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
