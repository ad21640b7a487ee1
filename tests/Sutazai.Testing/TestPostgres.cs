using Npgsql;

namespace Sutazai.Testing;

/// <summary>
/// The PostgreSQL server that <c>scripts/test.sh</c> starts for the test run. Each test fixture gets a
/// database of its own, dropped when the fixture is done.
/// </summary>
public static class TestPostgres
{
    public const string Variable = "SUTAZAI_TEST_POSTGRES";

    /// <summary>The connection string of the server's maintenance database.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set. Run the tests with scripts/test.sh, which installs and starts PostgreSQL and sets it.");

    public static async Task<TestDatabase> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = $"sutazai_test_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var builder = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name };
        return new TestDatabase(name, builder.ConnectionString);
    }
}

/// <summary>A database that exists for one fixture.</summary>
public sealed class TestDatabase(string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;

    public string ConnectionString { get; } = connectionString;

    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(TestPostgres.ServerConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
