using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var options = storage.Value;
        if (options.ProviderKind == StorageProvider.Sqlite)
        {
            EnsureSqliteDirectory(StorageRegistration.SqliteConnectionString(options, platform.Value));
        }

        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            var known = db.Database.GetMigrations().ToHashSet();
            var applied = (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).ToList();
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

        var result = await SeedAsync(cancellationToken);
        LogSeeded(result.Added, result.Updated);
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
