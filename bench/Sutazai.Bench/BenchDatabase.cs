using Npgsql;

namespace Sutazai.Bench;

/// <summary>
/// A new PostgreSQL database for one system in one run, on the server the caller names, dropped afterwards. Every
/// system starts as empty as the others, and nothing a run leaves behind (tasks, keys under another master key)
/// weighs on the next.
/// </summary>
internal sealed class BenchDatabase : IDisposable
{
    private readonly string _admin;
    private readonly string _name;

    private BenchDatabase(string admin, string name, string connectionString)
    {
        _admin = admin;
        _name = name;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static BenchDatabase Create(string connectionString, string system)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        target.Database = $"{target.Database}_{system}_{Environment.ProcessId}";
        var admin = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres" }.ConnectionString;
        var database = new BenchDatabase(admin, target.Database, target.ConnectionString);
        database.Execute($"DROP DATABASE IF EXISTS \"{target.Database}\" WITH (FORCE)");
        database.Execute($"CREATE DATABASE \"{target.Database}\"");
        return database;
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        Execute($"DROP DATABASE IF EXISTS \"{_name}\" WITH (FORCE)");
    }

    private void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(_admin);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
