using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Sutazai.Persistence;

/// <summary>Where state lives, bound from <c>Sutazai:Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Sutazai:Storage";

    /// <summary><c>Sqlite</c> (a file in the data dir, the default) or <c>PostgreSql</c>.</summary>
    public string Provider { get; set; } = nameof(StorageProvider.Sqlite);

    /// <summary>Required for PostgreSQL; for SQLite it defaults to <c>sutazai.db</c> in the data dir.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations at start. When off, a node whose schema is behind stays unready and says why.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>Seconds a single database command may run.</summary>
    public int CommandTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// SQLite only: once the write-ahead log holds this many megabytes, the checkpointer holds this node's writes
    /// back for a moment to start the log again from its beginning; a log that grew to four times this is cut back
    /// to that size. Without it a node under steady load appends to the log for as long as it runs.
    /// </summary>
    public int SqliteLogRestartMegabytes { get; set; } = 16;

    public StorageProvider ProviderKind => Enum.Parse<StorageProvider>(Provider, ignoreCase: true);
}

public enum StorageProvider
{
    Sqlite,
    PostgreSql,
}

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        if (!Enum.TryParse<StorageProvider>(options.Provider, ignoreCase: true, out var provider) || int.TryParse(options.Provider, out _))
        {
            failures.Add($"Sutazai:Storage:Provider must be one of {string.Join(", ", Enum.GetNames<StorageProvider>())} (got '{options.Provider}').");
        }
        else if (provider == StorageProvider.PostgreSql && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("Sutazai:Storage:ConnectionString is required when Sutazai:Storage:Provider is PostgreSql, for example 'Host=127.0.0.1;Port=5432;Database=sutazai;Username=sutazai;Password=...'.");
        }

        if (failures.Count == 0 && !string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            try
            {
                _ = provider == StorageProvider.Sqlite
                    ? new SqliteConnectionStringBuilder(options.ConnectionString)
                    : (object)new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
            {
                // The value is not echoed: connection strings carry passwords.
                failures.Add($"Sutazai:Storage:ConnectionString is not a valid {provider} connection string: {e.GetType().Name}.");
            }
        }

        if (options.CommandTimeoutSeconds is < 1 or > 3600)
        {
            failures.Add($"Sutazai:Storage:CommandTimeoutSeconds must be between 1 and 3600 (got {options.CommandTimeoutSeconds}).");
        }

        if (options.SqliteLogRestartMegabytes is < 1 or > 1024)
        {
            failures.Add($"Sutazai:Storage:SqliteLogRestartMegabytes must be between 1 and 1024 (got {options.SqliteLogRestartMegabytes}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
