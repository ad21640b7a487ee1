using Npgsql;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>Settings for a PostgreSQL connection string the test chose, instead of a database made beforehand.</summary>
internal sealed class FixedPostgreSqlStore(string connectionString) : ITestStore
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
