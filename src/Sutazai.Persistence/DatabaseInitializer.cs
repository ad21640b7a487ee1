using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Sutazai.Core;
using Sutazai.Persistence.Seeding;

namespace Sutazai.Persistence;

/// <summary>Brings the store to the schema this build expects and puts the reference data in.</summary>
public sealed partial class DatabaseInitializer(
    IDbContextFactory<SutazaiDbContext> contexts,
    ReferenceDataSeeder seeder,
    IOptions<StorageOptions> storage,
    IOptions<PlatformOptions> platform,
    ILogger<DatabaseInitializer> logger)
{
    /// <summary>An arbitrary constant that names SutazAI's initialization lock among PostgreSQL advisory locks.</summary>
    private const long InitializationLockKey = 0x5A7A_A100_0001;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var options = storage.Value;
        if (options.ProviderKind == StorageProvider.Sqlite)
        {
            EnsureSqliteDirectory(StorageRegistration.SqliteConnectionString(options, platform.Value));
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var postgres = options.ProviderKind == StorageProvider.PostgreSql;
        if (postgres)
        {
            await EnsurePostgreSqlDatabaseAsync(db, cancellationToken);
        }

        await db.Database.OpenConnectionAsync(cancellationToken);
        if (postgres)
        {
            // Nodes starting together take turns: a session-level lock held across every migration and the seed,
            // which EF Core's own per-migration locking does not give on PostgreSQL.
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({InitializationLockKey})", cancellationToken);
        }

        try
        {
            await MigrateAsync(db, options, cancellationToken);
            var result = await SeedAsync(cancellationToken);
            LogSeeded(result.Added, result.Updated);
        }
        finally
        {
            if (postgres)
            {
                await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({InitializationLockKey})", CancellationToken.None);
            }

            await db.Database.CloseConnectionAsync();
        }
    }

    private async Task MigrateAsync(SutazaiDbContext db, StorageOptions options, CancellationToken cancellationToken)
    {
        var known = db.Database.GetMigrations().ToHashSet();
        var history = db.GetService<IHistoryRepository>();
        bool recorded;
        if (options.ProviderKind == StorageProvider.PostgreSql)
        {
            // EF Core learns whether its history table exists by querying it, and logs the failure as an error: twice
            // on a new database (here and inside MigrateAsync). The catalog answers without failing; a missing table
            // is made before migrating (which would make it anyway), so that MigrateAsync's query finds it.
            recorded = await db.Database
                .SqlQuery<bool>($"SELECT to_regclass({StorageRegistration.MigrationsHistoryTable}) IS NOT NULL AS \"Value\"")
                .SingleAsync(cancellationToken);
            if (!recorded && options.MigrateOnStart)
            {
                await history.CreateIfNotExistsAsync(cancellationToken);
            }
        }
        else
        {
            recorded = await history.ExistsAsync(cancellationToken);
        }

        var applied = recorded ? (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).ToList() : [];
        var unknown = applied.Where(m => !known.Contains(m)).ToList();
        if (unknown.Count > 0)
        {
            throw new SchemaMismatchException(
                $"The database has migrations this build does not know ({string.Join(", ", unknown)}): it was upgraded by a newer SutazAI. Run that version, or restore a backup.");
        }

        var pending = known.Except(applied).Order(StringComparer.Ordinal).ToList();
        if (pending.Count > 0)
        {
            if (!options.MigrateOnStart)
            {
                throw new SchemaMismatchException(
                    $"The database schema is behind this build ({pending.Count} migration(s) pending: {string.Join(", ", pending)}) and Sutazai:Storage:MigrateOnStart is false. Apply them, or set it to true.");
            }

            LogApplyingMigrations(pending.Count, options.ProviderKind);
            await db.Database.MigrateAsync(cancellationToken);
        }

        if (options.ProviderKind == StorageProvider.Sqlite)
        {
            // WAL lets readers go on while a writer commits; the mode is stored in the file.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
    }

    private async Task<SeedResult> SeedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            return await seeder.SeedAsync(db, cancellationToken);
        }
        catch (DbUpdateException e)
        {
            // Another node seeded the same rows between our read and our write; one more pass finds them.
            LogSeedRace(e.InnerException?.Message ?? e.Message);
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            return await seeder.SeedAsync(db, cancellationToken);
        }
    }

    /// <summary>Creates the database when the configured user may and it is missing; a node that loses the race to create it carries on.</summary>
    private static async Task EnsurePostgreSqlDatabaseAsync(SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var creator = db.GetService<IRelationalDatabaseCreator>();
        if (await creator.ExistsAsync(cancellationToken))
        {
            return;
        }

        try
        {
            await creator.CreateAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
        }
    }

    private static void EnsureSqliteDirectory(string connectionString)
    {
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(dataSource) || dataSource == ":memory:" || dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Count} migration(s) to the {Provider} store")]
    private partial void LogApplyingMigrations(int count, StorageProvider provider);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reference data seeded: {Added} row(s) added, {Updated} updated")]
    private partial void LogSeeded(int added, int updated);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Seeding raced with another node ({Reason}); seeding again")]
    private partial void LogSeedRace(string reason);
}

/// <summary>The store's schema is not the one this build expects, and it will not be changed automatically.</summary>
public sealed class SchemaMismatchException(string message) : Exception(message);
