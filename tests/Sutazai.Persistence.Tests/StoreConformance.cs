using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Knowledge;
using Sutazai.Core.Models;
using Sutazai.Core.Tasks;
using Sutazai.Persistence.Seeding;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>Schema, migrations and seeding, written once and run against every store provider.</summary>
public abstract class StoreConformance<TStore> : IAsyncLifetime
    where TStore : ITestStore, new()
{
    /// <summary>The tables of the original system (ORIGINAL-SYSTEM.md), which the model must keep.</summary>
    public static readonly string[] OriginalTables =
    [
        "users", "agents", "tasks", "chat_history", "agent_executions", "system_metrics", "sessions",
        "agent_health", "model_registry", "vector_collections", "knowledge_documents", "orchestration_sessions",
        "api_usage_logs", "system_alerts",
    ];

    private readonly TStore _store = new();

    protected CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await _store.InitializeAsync(Cancellation);

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    [Fact]
    public async Task Migrations_go_up_down_to_nothing_and_up_again()
    {
        await using var harness = StoreHarness.Create(_store);
        await using var db = await harness.Contexts.CreateDbContextAsync(Cancellation);
        var migrator = db.GetService<IMigrator>();

        await migrator.MigrateAsync(cancellationToken: Cancellation);
        var afterUp = await TablesAsync(db);
        await migrator.MigrateAsync(Migration.InitialDatabase, cancellationToken: Cancellation);
        var afterDown = await TablesAsync(db);
        await migrator.MigrateAsync(cancellationToken: Cancellation);
        var afterUpAgain = await TablesAsync(db);

        Assert.Superset(OriginalTables.ToHashSet(), afterUp.ToHashSet());
        Assert.Superset(new HashSet<string> { "roles", "user_roles", "task_events", "task_templates", "signing_keys" }, afterUp.ToHashSet());
        Assert.DoesNotContain(afterDown, t => !t.StartsWith("__", StringComparison.Ordinal));
        Assert.Equal(afterUp.Order(), afterUpAgain.Order());
    }

    [Fact]
    public async Task Model_has_no_changes_missing_from_the_migrations()
    {
        await using var harness = StoreHarness.Create(_store);
        await using var db = await harness.Contexts.CreateDbContextAsync(Cancellation);

        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a migration: add one for both providers (see README).");
    }

    [Fact]
    public async Task Initializer_seeds_the_reference_data()
    {
        await using var harness = StoreHarness.Create(_store);

        await harness.InitializeAsync();

        await using var db = await harness.Contexts.CreateDbContextAsync(Cancellation);
        var agents = await db.Agents.AsNoTracking().ToListAsync(Cancellation);
        Assert.Equal(BuiltInAgents.All.Select(a => a.Name).Order(), agents.Select(a => a.Name).Order());
        Assert.All(agents, a => Assert.Equal(AgentKind.BuiltIn, a.Kind));
        var optimizer = agents.Single(a => a.Name == BuiltInAgents.HardwareResourceOptimizer);
        Assert.Contains("system-metrics", optimizer.Capabilities);
        Assert.Equal(8002, optimizer.Port);

        var model = await db.Models.AsNoTracking().SingleAsync(Cancellation);
        Assert.Equal("tinyllama", model.Name);
        Assert.Equal(ModelStatus.Unknown, model.Status);

        var collection = await db.VectorCollections.AsNoTracking().SingleAsync(Cancellation);
        Assert.Equal((ReferenceDataSeeder.DefaultCollectionName, VectorCollection.DefaultDimension), (collection.Name, collection.Dimension));

        var roles = await db.Roles.AsNoTracking().ToDictionaryAsync(r => r.Name, Cancellation);
        Assert.Equal(["admin", "developer", "operator", "viewer"], roles.Keys.Order());
        Assert.Equal(Permissions.All.Order(), roles["admin"].Permissions.Order());
        Assert.DoesNotContain(Permissions.SystemAdmin, roles["operator"].Permissions);

        var templates = await db.TaskTemplates.AsNoTracking().ToListAsync(Cancellation);
        Assert.Equal(BuiltInTaskTemplates.All.Count, templates.Count);
        Assert.All(templates, t => Assert.NotEmpty(t.RequiredCapabilities));
    }

    [Fact]
    public async Task Seeding_twice_changes_nothing()
    {
        await using var harness = StoreHarness.Create(_store);
        await harness.InitializeAsync();
        var before = await SnapshotAsync(harness);
        var seeder = harness.Services.GetRequiredService<ReferenceDataSeeder>();
        harness.Time.Advance(TimeSpan.FromHours(1));

        await using var db = await harness.Contexts.CreateDbContextAsync(Cancellation);
        var second = await seeder.SeedAsync(db, Cancellation);

        Assert.Equal((0, 0), (second.Added, second.Updated));
        Assert.Equal(before, await SnapshotAsync(harness));
    }

    [Fact]
    public async Task Seeding_keeps_changes_to_built_in_agents_and_restores_built_in_role_permissions()
    {
        await using var harness = StoreHarness.Create(_store);
        await harness.InitializeAsync();
        await using (var db = await harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            var agent = await db.Agents.SingleAsync(a => a.Name == BuiltInAgents.AiMetricsExporter, Cancellation);
            agent.MaxConcurrency = 17;
            var viewer = await db.Roles.SingleAsync(r => r.Name == BuiltInRoles.Viewer, Cancellation);
            viewer.Permissions = [.. viewer.Permissions, Permissions.SystemAdmin];
            await db.SaveChangesAsync(Cancellation);
        }

        await using (var db = await harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            var result = await harness.Services.GetRequiredService<ReferenceDataSeeder>().SeedAsync(db, Cancellation);
            Assert.Equal((0, 1), (result.Added, result.Updated));
        }

        await using (var db = await harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            Assert.Equal(17, (await db.Agents.SingleAsync(a => a.Name == BuiltInAgents.AiMetricsExporter, Cancellation)).MaxConcurrency);
            Assert.DoesNotContain(Permissions.SystemAdmin, (await db.Roles.SingleAsync(r => r.Name == BuiltInRoles.Viewer, Cancellation)).Permissions);
        }
    }

    [Fact]
    public async Task Two_nodes_initializing_one_store_at_once_leave_one_copy_of_everything()
    {
        await using var first = StoreHarness.Create(_store);
        await using var second = StoreHarness.Create(_store);

        await Task.WhenAll(first.InitializeAsync(), second.InitializeAsync());

        await using var db = await first.Contexts.CreateDbContextAsync(Cancellation);
        Assert.Equal(BuiltInAgents.All.Count, await db.Agents.CountAsync(Cancellation));
        Assert.Equal(BuiltInRoles.All.Count, await db.Roles.CountAsync(Cancellation));
        Assert.Equal(1, await db.Models.CountAsync(Cancellation));
    }

    [Fact]
    public async Task Initializing_a_new_database_logs_no_error()
    {
        await using var harness = StoreHarness.Create(_store, logging: builder => builder.AddFakeLogging());

        await harness.InitializeAsync();

        var errors = harness.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Level >= LogLevel.Error).Select(r => $"{r.Category}: {r.Message}");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Initializer_refuses_to_touch_a_schema_behind_when_migrating_on_start_is_off()
    {
        await using var harness = StoreHarness.Create(_store, new Dictionary<string, string?> { ["Sutazai:Storage:MigrateOnStart"] = "false" });

        var error = await Assert.ThrowsAsync<SchemaMismatchException>(harness.InitializeAsync);

        Assert.Contains("MigrateOnStart", error.Message, StringComparison.Ordinal);
        Assert.Contains("Initial", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_queue_order_reads_back_by_priority_then_age()
    {
        await using var harness = StoreHarness.Create(_store);
        await harness.InitializeAsync();
        var start = harness.Time.GetUtcNow();
        await using (var db = await harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            db.Tasks.AddRange(
                new TaskItem { Title = "late-high", Priority = 1, Status = TaskState.Queued, CreatedAt = start.AddSeconds(3) },
                new TaskItem { Title = "early-low", Priority = 9, Status = TaskState.Queued, CreatedAt = start },
                new TaskItem { Title = "early-high", Priority = 1, Status = TaskState.Queued, CreatedAt = start.AddSeconds(1) },
                new TaskItem { Title = "done", Priority = 1, Status = TaskState.Completed, CreatedAt = start });
            await db.SaveChangesAsync(Cancellation);
        }

        await using var read = await harness.Contexts.CreateDbContextAsync(Cancellation);
        var order = await read.Tasks
            .Where(t => t.Status == TaskState.Queued && t.CreatedAt >= start)
            .OrderBy(t => t.Priority).ThenBy(t => t.CreatedAt)
            .Select(t => t.Title)
            .ToListAsync(Cancellation);

        Assert.Equal(["early-high", "late-high", "early-low"], order);
    }

    private async Task<string> SnapshotAsync(StoreHarness harness)
    {
        await using var db = await harness.Contexts.CreateDbContextAsync(Cancellation);
        var snapshot = new
        {
            Agents = await db.Agents.AsNoTracking().OrderBy(a => a.Name).ToListAsync(Cancellation),
            Roles = await db.Roles.AsNoTracking().OrderBy(r => r.Name).ToListAsync(Cancellation),
            Models = await db.Models.AsNoTracking().OrderBy(m => m.Name).ToListAsync(Cancellation),
            Collections = await db.VectorCollections.AsNoTracking().OrderBy(c => c.Name).ToListAsync(Cancellation),
            Templates = await db.TaskTemplates.AsNoTracking().OrderBy(t => t.Name).ToListAsync(Cancellation),
        };
        return JsonSerializer.Serialize(snapshot);
    }

    private async Task<List<string>> TablesAsync(SutazaiDbContext db) =>
        _store.Provider == "Sqlite"
            ? await db.Database.SqlQueryRaw<string>("SELECT name AS \"Value\" FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").ToListAsync(Cancellation)
            : await db.Database.SqlQueryRaw<string>("SELECT table_name AS \"Value\" FROM information_schema.tables WHERE table_schema = 'public'").ToListAsync(Cancellation);
}

public sealed class SqliteStoreTests : StoreConformance<SqliteTestStore>;

public sealed class PostgreSqlStoreTests : StoreConformance<PostgreSqlTestStore>;
