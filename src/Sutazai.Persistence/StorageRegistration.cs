using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Sutazai.Core;
using Sutazai.Core.Chat;
using Sutazai.Core.Models;
using Sutazai.Core.Orchestration;
using Sutazai.Core.Resources;
using Sutazai.Core.Tasks;
using Sutazai.Persistence.Agents;
using Sutazai.Persistence.Content;
using Sutazai.Persistence.Orchestration;
using Sutazai.Persistence.PostgreSql;
using Sutazai.Persistence.Resources;
using Sutazai.Persistence.Seeding;
using Sutazai.Persistence.Sqlite;
using Sutazai.Persistence.Tasks;

namespace Sutazai.Persistence;

public static class StorageRegistration
{
    /// <summary>
    /// Registers the store. Both providers' context factories are registered; the validated
    /// <see cref="StorageOptions"/> pick one when the first context is created.
    /// </summary>
    public static IServiceCollection AddSutazaiPersistence(this IServiceCollection services)
    {
        services.AddValidatedOptions<StorageOptions, StorageOptionsValidator>(StorageOptions.Section);

        services.AddPooledDbContextFactory<SqliteSutazaiDbContext>((sp, builder) =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var platform = sp.GetRequiredService<IOptions<PlatformOptions>>().Value;
            ConfigureSqlite(builder, SqliteConnectionString(storage, platform), storage);
        });
        services.AddPooledDbContextFactory<PostgreSqlSutazaiDbContext>((sp, builder) =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            ConfigurePostgreSql(builder, PostgreSqlConnectionString(storage.ConnectionString!), storage.CommandTimeoutSeconds);
        });

        services.TryAddSingleton<IDbContextFactory<SutazaiDbContext>>(sp =>
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.ProviderKind switch
            {
                StorageProvider.PostgreSql => new BaseContextFactory<PostgreSqlSutazaiDbContext>(sp.GetRequiredService<IDbContextFactory<PostgreSqlSutazaiDbContext>>()),
                _ => new BaseContextFactory<SqliteSutazaiDbContext>(sp.GetRequiredService<IDbContextFactory<SqliteSutazaiDbContext>>()),
            });
        services.TryAddScoped(sp => sp.GetRequiredService<IDbContextFactory<SutazaiDbContext>>().CreateDbContext());
        services.TryAddSingleton<ReferenceDataSeeder>();
        services.TryAddSingleton<ITaskStore, EfTaskStore>();
        services.TryAddSingleton<ITaskQueries, EfTaskQueries>();
        services.TryAddSingleton<IAllocationStore, EfAllocationStore>();
        services.TryAddSingleton<IInteractionStore, EfInteractionStore>();
        services.TryAddSingleton<IClaimStore, EfClaimStore>();
        services.TryAddSingleton<IChatHistoryStore, EfChatHistoryStore>();
        services.TryAddSingleton<IModelSettingsStore, EfModelSettingsStore>();
        services.TryAddSingleton<IAgentCatalog, EfAgentCatalog>();
        services.TryAddSingleton<DatabaseInitializer>();
        services.AddHostedService<SqliteCheckpointer>();
        services.TryAddSingleton<GrowingTableStatistics>();
        services.AddHostedService(sp => sp.GetRequiredService<GrowingTableStatistics>());
        return services;
    }

    /// <summary>The SQLite connection string in effect: the configured one, or <c>sutazai.db</c> in the data dir.</summary>
    public static string SqliteConnectionString(StorageOptions storage, PlatformOptions platform) =>
        string.IsNullOrWhiteSpace(storage.ConnectionString)
            ? new SqliteConnectionStringBuilder { DataSource = Path.Combine(platform.ResolvedDataDir, "sutazai.db") }.ToString()
            : storage.ConnectionString;

    /// <summary>
    /// The PostgreSQL connection string in effect: the configured one, with two Npgsql defaults it does not set itself.
    /// <list type="bullet">
    /// <item><c>Max Auto Prepare</c> <see cref="AutoPrepared"/>: a statement is prepared on its second use and kept
    /// while the connection is pooled. The same few statements run thousands of times a second (the dispatcher's,
    /// task creation, usage records), and planning them each time cost PostgreSQL more CPU than running them.
    /// <c>Max Auto Prepare=0</c> turns it off, for a pooler that does not keep prepared statements (PgBouncer before
    /// 1.21 in transaction mode).</item>
    /// <item><c>No Reset On Close</c>: a connection goes back to the pool without its session being reset (seven
    /// statements on its next use once statements are prepared, about one reset per task). SutazAI leaves no session
    /// state behind: its advisory locks are transaction-scoped or released where taken, and it never SETs, LISTENs
    /// or makes temporary tables.</item>
    /// </list>
    /// </summary>
    public static string PostgreSqlConnectionString(string configured)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = configured }.Keys.Cast<string>()
            .Select(k => k.Replace(" ", "", StringComparison.Ordinal))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var effective = new NpgsqlConnectionStringBuilder(configured);
        if (!given.Contains("MaxAutoPrepare"))
        {
            effective.MaxAutoPrepare = AutoPrepared;
            effective.AutoPrepareMinUsages = 2;
        }

        if (!given.Contains("NoResetOnClose"))
        {
            effective.NoResetOnClose = true;
        }

        return effective.ConnectionString;
    }

    /// <summary>Statements kept prepared per PostgreSQL connection by default: more than the hot ones, few enough to hold little memory.</summary>
    public const int AutoPrepared = 64;

    /// <summary>One write gate per database file in this process, shared by every context that opens it.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SqliteWriteGate> WriteGates = new(StringComparer.Ordinal);

    /// <summary>The write gate of the database file behind <paramref name="connectionString"/>.</summary>
    internal static SqliteWriteGate WriteGate(string connectionString, StorageOptions storage) =>
        WriteGates.GetOrAdd(connectionString, _ => new SqliteWriteGate(TimeSpan.FromSeconds(storage.CommandTimeoutSeconds)));

    /// <summary>Where EF Core records the migrations applied.</summary>
    internal const string MigrationsHistoryTable = "__ef_migrations_history";

    internal static DbContextOptionsBuilder ConfigureSqlite(DbContextOptionsBuilder builder, string connectionString, StorageOptions storage) =>
        builder
            .UseSqlite(connectionString, sqlite => sqlite
                .MigrationsAssembly(typeof(SqliteSutazaiDbContext).Assembly.FullName)
                .MigrationsHistoryTable(MigrationsHistoryTable)
                .CommandTimeout(storage.CommandTimeoutSeconds))
            .AddInterceptors(new SqliteConnectionSettings(storage), WriteGate(connectionString, storage))
            .UseSnakeCaseNamingConvention()
            .ConfigureWarnings(IgnoreSingleByKeyWarning);

    internal static DbContextOptionsBuilder ConfigurePostgreSql(DbContextOptionsBuilder builder, string connectionString, int commandTimeout) =>
        builder
            .UseNpgsql(connectionString, npgsql => npgsql
                .MigrationsAssembly(typeof(PostgreSqlSutazaiDbContext).Assembly.FullName)
                .MigrationsHistoryTable(MigrationsHistoryTable)
                .CommandTimeout(commandTimeout))
            .UseSnakeCaseNamingConvention()
            .ConfigureWarnings(IgnoreSingleByKeyWarning);

    /// <summary>
    /// <c>Single</c> on a unique key with a collection included reads as "a row limit without an order"; the key
    /// makes the order irrelevant, and paged queries always order.
    /// </summary>
    private static void IgnoreSingleByKeyWarning(Microsoft.EntityFrameworkCore.Diagnostics.WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.CoreEventId.RowLimitingOperationWithoutOrderByWarning);

    /// <summary>Hands out the provider's context as the shared base type.</summary>
    private sealed class BaseContextFactory<TContext>(IDbContextFactory<TContext> inner) : IDbContextFactory<SutazaiDbContext>
        where TContext : SutazaiDbContext
    {
        public SutazaiDbContext CreateDbContext() => inner.CreateDbContext();
    }
}
