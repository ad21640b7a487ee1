namespace Sutazai.Testing;

/// <summary>
/// A store for one test: an empty database plus the settings that point SutazAI at it. Tests written once
/// against this run on every provider (see the <c>*Conformance</c> classes).
/// </summary>
public interface ITestStore : IAsyncDisposable
{
    string Provider { get; }

    /// <summary>Configuration keys (<c>Sutazai:...</c>) that select this store and a data dir of its own.</summary>
    IReadOnlyDictionary<string, string?> Settings { get; }

    string DataDir { get; }

    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Runs SQL on the store directly, behind the server's back.</summary>
    Task ExecuteAsync(string sql, CancellationToken cancellationToken = default);
}

/// <summary>The embedded default: a SQLite file in a fresh data dir.</summary>
public sealed class SqliteTestStore : ITestStore
{
    private readonly TempDirectory _directory = new();

    public string Provider => "Sqlite";

    public string DataDir => _directory.Path;

    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Sutazai:DataDir"] = DataDir,
        ["Sutazai:Storage:Provider"] = Provider,
    };

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={System.IO.Path.Combine(DataDir, "sutazai.db")}");
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        // Pooled SQLite connections keep the file open; clearing them lets the directory go. Only this store's pools
        // (the platform's connection string and the checkpointer's): clearing every pool closed other tests' idle
        // connections, and SQLite checkpoints the log into the database when a file's last connection closes, under
        // a test that was checking the log.
        var file = System.IO.Path.Combine(DataDir, "sutazai.db");
        foreach (var connectionString in new[]
        {
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = file }.ToString(),
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = file, Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadWrite }.ToString(),
        })
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection(connectionString);
            Microsoft.Data.Sqlite.SqliteConnection.ClearPool(connection);
        }

        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A fresh database on the PostgreSQL server the test script started.</summary>
public sealed class PostgreSqlTestStore : ITestStore
{
    private readonly TempDirectory _directory = new();
    private TestDatabase? _database;

    public string Provider => "PostgreSql";

    public string DataDir => _directory.Path;

    public string ConnectionString => _database?.ConnectionString ?? throw new InvalidOperationException("Call InitializeAsync first.");

    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Sutazai:DataDir"] = DataDir,
        ["Sutazai:Storage:Provider"] = Provider,
        ["Sutazai:Storage:ConnectionString"] = ConnectionString,
    };

    public async Task InitializeAsync(CancellationToken cancellationToken = default) =>
        _database = await TestPostgres.CreateDatabaseAsync(cancellationToken);

    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _directory.Dispose();
    }
}
