using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sutazai.Core.Tasks;
using Sutazai.Persistence.PostgreSql;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>
/// A dispatch round on PostgreSQL reads the queue it returns, not the backlog, also once its statement is prepared
/// and planned generically (the plan PostgreSQL keeps for a prepared statement after a few runs, made without the
/// parameters' values) and with statistics that say one agent owns every task. Such plans walked every task of a
/// busy agent, or every queued task, for each agent in each round. Maintenance likewise reads what it acts on, not
/// the history.
/// </summary>
public sealed class PostgreSqlDispatchPlanTests
{
    private const int Backlog = 400;

    [Fact]
    public async Task A_prepared_generic_peek_reads_only_about_as_many_index_entries_as_tasks_it_returns()
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var database = await PlanDatabase.CreateAsync();
        var setup = database.Setup;
        Guid busy, idle;
        await using (var db = await setup.Contexts.CreateDbContextAsync(cancellation))
        {
            (busy, idle) = (await db.Agents.OrderBy(a => a.Name).Select(a => a.Id).Take(2).ToListAsync(cancellation)) switch { [var a, var b] => (a, b), _ => throw new InvalidOperationException("two agents expected") };
        }

        var now = setup.Time.GetUtcNow();
        var creations = setup.Services.GetRequiredService<ITaskStore>();
        await Task.WhenAll(Enumerable.Range(0, Backlog).Select(i =>
            creations.CreateAsync(new TaskItem { Title = $"queued {i}", AgentId = busy, CreatedAt = now, DispatchScore = now.UtcTicks + i }, cancellation)));

        // Statistics as autovacuum would gather them mid-run: one agent owns every task.
        var harness = await database.MeasureAsync(cancellation);
        var tasks = harness.Services.GetRequiredService<ITaskStore>();
        var window = new DispatchWindow(now) { PerAgent = new Dictionary<Guid, int> { [busy] = 2, [idle] = 2 }, Unaddressed = 2, Head = 2 };
        for (var i = 0; i < 3; i++)
        {
            // Npgsql prepares a statement on its second run.
            await tasks.PeekDispatchableAsync(window, cancellation);
        }

        var before = await IndexEntriesReadAsync(harness, cancellation);
        var peeked = await tasks.PeekDispatchableAsync(window, cancellation);
        var read = await IndexEntriesReadAsync(harness, cancellation) - before;

        Assert.Equal(["queued 0", "queued 1"], peeked.Select(t => t.Title));
        var prepared = await PreparedAsync(harness, cancellation);
        Assert.Contains(prepared, s => s.Contains("unnest", StringComparison.Ordinal));
        Assert.InRange(read, 2, 10);
    }

    [Fact]
    public async Task Maintenance_finds_lapsed_leases_and_passed_deadlines_without_reading_every_task()
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var database = await PlanDatabase.CreateAsync();
        var setup = database.Setup;
        var agent = await FirstAgentAsync(setup, cancellation);

        // A history of finished tasks and a backlog without deadlines; one task held by a node that died, one queued
        // past its deadline.
        var now = setup.Time.GetUtcNow();
        var store = setup.Services.GetRequiredService<ITaskStore>();
        await FinishedHistoryAsync(setup, agent, now, cancellation);

        await QueueAsync(store, agent, now, History / 3, cancellation);

        var held = (await store.CreateAsync(new TaskItem { Title = "held", AgentId = agent, MaxRetries = 3, CreatedAt = now, DispatchScore = now.UtcTicks }, cancellation)).Task;
        await store.AssignAsync([new TaskAssignment(held.Id, 0, agent, "run")], "dead-node", now, now.AddSeconds(10), cancellation);
        var overdue = (await store.CreateAsync(new TaskItem { Title = "overdue", AgentId = agent, Deadline = now.AddSeconds(5), CreatedAt = now, DispatchScore = now.UtcTicks }, cancellation)).Task;
        var harness = await database.MeasureAsync(cancellation);
        var tasks = harness.Services.GetRequiredService<ITaskStore>();
        for (var i = 0; i < 3; i++)
        {
            // Prepared from the second run on; nothing has lapsed or passed its deadline yet.
            Assert.Empty(await tasks.RequeueLapsedAsync(now, 1, _ => null, cancellation));
            Assert.Empty(await tasks.ExpireOverdueAsync(now, _ => null, cancellation));
        }

        var before = await RowsScannedAsync(harness, cancellation);
        var requeued = await tasks.RequeueLapsedAsync(now.AddSeconds(11), 1, _ => null, cancellation);
        var expired = await tasks.ExpireOverdueAsync(now.AddSeconds(11), _ => null, cancellation);
        var scanned = await RowsScannedAsync(harness, cancellation) - before;

        Assert.Equal([held.Id], requeued);
        Assert.Equal([overdue.Id], expired.Select(t => t.Id));
        Assert.Equal(0, scanned);
    }

    [Fact]
    public async Task Claims_and_finishes_find_their_tasks_by_key_whatever_the_statistics_say_of_the_states()
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var database = await PlanDatabase.CreateAsync();
        var setup = database.Setup;
        var agent = await FirstAgentAsync(setup, cancellation);

        // Statistics gathered over a finished history, so they say nothing is queued or running; then a backlog.
        var now = setup.Time.GetUtcNow();
        var store = setup.Services.GetRequiredService<ITaskStore>();
        await FinishedHistoryAsync(setup, agent, now, cancellation);
        await using (var db = await setup.Contexts.CreateDbContextAsync(cancellation))
        {
            await db.Database.ExecuteSqlRawAsync("ANALYZE tasks", cancellation);
        }

        var backlog = await QueueAsync(store, agent, now, History / 3, cancellation);
        await using (var db = await setup.Contexts.CreateDbContextAsync(cancellation))
        {
            // And as many running, as another node's batch would leave them.
            var running = backlog.Skip(History / 6).ToList();
            await db.Tasks.Where(t => running.Contains(t.Id))
                .ExecuteUpdateAsync(t => t.SetProperty(x => x.Status, TaskState.Running).SetProperty(x => x.LeaseOwner, "node-b"), cancellation);
        }

        // Planned with the guards' values (as PostgreSQL plans a statement's first runs, and keeps doing when that
        // looks cheaper), and generically.
        var claimable = new Queue<Guid>(backlog.Take(History / 6));
        foreach (var planning in new[] { "force_custom_plan", "force_generic_plan" })
        {
            var harness = await database.MeasureAsync(cancellation, planning, analyze: false);
            var tasks = harness.Services.GetRequiredService<ITaskStore>();
            long scanned = 0, read = 0;
            for (var i = 0; i < 4; i++)
            {
                // Prepared from the second run on; the last is measured.
                var (scannedBefore, readBefore) = (await RowsScannedAsync(harness, cancellation), await IndexEntriesReadAsync(harness, cancellation));
                await ClaimAndFinishTwoAsync(tasks, claimable, agent, now, cancellation);
                (scanned, read) = (await RowsScannedAsync(harness, cancellation) - scannedBefore, await IndexEntriesReadAsync(harness, cancellation) - readBefore);
            }

            // Each task is read by key when claimed and when finished, and once for each row inserted that refers to it
            // (each read passing the index entries its earlier versions left).
            Assert.Equal(0, scanned);
            Assert.InRange(read, 4, 40);
        }
    }

    /// <param name="analyzedAt">Null: the statements are planned before statistics were ever gathered.</param>
    [Theory]
    [InlineData(null, 3000)]
    [InlineData(100, 10_000)]
    public async Task Claims_and_finishes_planned_while_the_table_was_new_still_find_their_tasks_by_key_once_it_has_grown(int? analyzedAt, int growth)
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var database = await PlanDatabase.CreateAsync();
        var setup = database.Setup;
        var agent = await FirstAgentAsync(setup, cancellation);

        // A new database's first tasks, with statistics never gathered or gathered at once (as a node's first round
        // would): the statements are prepared and planned now, as they were in a new node's first seconds; then the
        // table grows by thousands of tasks.
        var now = setup.Time.GetUtcNow();
        var store = setup.Services.GetRequiredService<ITaskStore>();
        var first = new Queue<Guid>(await QueueAsync(store, agent, now, analyzedAt ?? 100, cancellation));
        var harness = await database.MeasureAsync(cancellation, analyze: analyzedAt is not null);
        var tasks = harness.Services.GetRequiredService<ITaskStore>();
        for (var i = 0; i < 3; i++)
        {
            await ClaimAndFinishTwoAsync(tasks, first, agent, now, cancellation);
        }

        // Through the measuring connection, whose counts a test can flush.
        var grown = new Queue<Guid>(await QueueAsync(tasks, agent, now, growth, cancellation));
        await RowsScannedAsync(harness, cancellation);
        // What a node does every few seconds.
        Assert.Equal(["tasks"], await ActivatorUtilities.CreateInstance<GrowingTableStatistics>(harness.Services).AnalyzeAsync(cancellation));
        var (scannedBefore, readBefore) = (await RowsScannedAsync(harness, cancellation), await IndexEntriesReadAsync(harness, cancellation));
        await ClaimAndFinishTwoAsync(tasks, grown, agent, now, cancellation);
        var (scanned, read) = (await RowsScannedAsync(harness, cancellation) - scannedBefore, await IndexEntriesReadAsync(harness, cancellation) - readBefore);

        Assert.Equal(0, scanned);
        Assert.InRange(read, 4, 40);
    }

    [Fact]
    public async Task Statistics_are_gathered_again_only_once_the_table_has_doubled()
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var database = await PlanDatabase.CreateAsync();
        var setup = database.Setup;
        var agent = await FirstAgentAsync(setup, cancellation);
        var now = setup.Time.GetUtcNow();
        var harness = await database.MeasureAsync(cancellation, analyze: false);
        var tasks = harness.Services.GetRequiredService<ITaskStore>();
        var statistics = ActivatorUtilities.CreateInstance<GrowingTableStatistics>(harness.Services);

        async Task<IReadOnlyList<string>> GrowAndAnalyzeAsync(int rows)
        {
            await QueueAsync(tasks, agent, now, rows, cancellation);
            await RowsScannedAsync(harness, cancellation);
            return await statistics.AnalyzeAsync(cancellation);
        }

        Assert.Empty(await GrowAndAnalyzeAsync(60));
        Assert.Equal(["tasks"], await GrowAndAnalyzeAsync(100));
        Assert.Empty(await GrowAndAnalyzeAsync(150));
        Assert.Equal(["tasks"], await GrowAndAnalyzeAsync(100));
    }

    private const int History = 3000;

    /// <summary>Stores <see cref="History"/> tasks of the agent, all completed.</summary>
    private static async Task FinishedHistoryAsync(StoreHarness harness, Guid agent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var store = harness.Services.GetRequiredService<ITaskStore>();
        await Task.WhenAll(Enumerable.Range(0, History).Select(i =>
            store.CreateAsync(new TaskItem { Title = $"done {i}", AgentId = agent, CreatedAt = now, DispatchScore = now.UtcTicks + i }, cancellationToken)));
        await using var db = await harness.Contexts.CreateDbContextAsync(cancellationToken);
        await db.Tasks.ExecuteUpdateAsync(t => t.SetProperty(x => x.Status, TaskState.Completed).SetProperty(x => x.CompletedAt, now), cancellationToken);
    }

    /// <summary>Queues tasks for the agent, in order.</summary>
    private static async Task<List<Guid>> QueueAsync(ITaskStore store, Guid agent, DateTimeOffset now, int count, CancellationToken cancellationToken) =>
        [.. (await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            store.CreateAsync(new TaskItem { Title = $"waiting {i}", AgentId = agent, CreatedAt = now, DispatchScore = now.UtcTicks + i }, cancellationToken)))).Select(c => c.Task.Id)];

    private static async Task<Guid> FirstAgentAsync(StoreHarness harness, CancellationToken cancellationToken)
    {
        await using var db = await harness.Contexts.CreateDbContextAsync(cancellationToken);
        return await db.Agents.OrderBy(a => a.Name).Select(a => a.Id).FirstAsync(cancellationToken);
    }

    /// <summary>Claims the next two queued tasks on node-a and finishes them, as a dispatch round and a run would.</summary>
    private static async Task ClaimAndFinishTwoAsync(ITaskStore tasks, Queue<Guid> queued, Guid agent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var claimed = await tasks.AssignAsync([.. new[] { queued.Dequeue(), queued.Dequeue() }.Select(id => new TaskAssignment(id, 0, agent, "run"))], "node-a", now, now.AddSeconds(30), cancellationToken);
        var finished = await tasks.FinishAsync(
            [.. claimed.Select(t => new TaskOutcome(t.Id, agent, 1, TaskState.Completed, "done", "{}", null, "{}", now, now.AddSeconds(1), null, null))], "node-a", cancellationToken);
        Assert.Equal(2, claimed.Count);
        Assert.Equal([true, true], finished);
    }

    /// <summary>Rows of <c>tasks</c> read by scanning the whole table so far.</summary>
    private static Task<long> RowsScannedAsync(StoreHarness harness, CancellationToken cancellationToken) =>
        StatisticAsync(harness, $"SELECT coalesce(seq_tup_read, 0)::bigint AS \"Value\" FROM pg_stat_user_tables WHERE relname = 'tasks'", cancellationToken);

    /// <summary>Index entries read from <c>tasks</c> so far (database-wide; nothing else reads it meanwhile).</summary>
    private static Task<long> IndexEntriesReadAsync(StoreHarness harness, CancellationToken cancellationToken) =>
        StatisticAsync(harness, $"SELECT coalesce(sum(idx_tup_read), 0)::bigint AS \"Value\" FROM pg_stat_user_indexes WHERE relname = 'tasks'", cancellationToken);

    /// <summary>A cumulative statistic, this session's pending counts flushed first.</summary>
    private static async Task<long> StatisticAsync(StoreHarness harness, FormattableString query, CancellationToken cancellationToken)
    {
        await using var db = await harness.Contexts.CreateDbContextAsync(cancellationToken);
        // The flush happens when the session goes idle after this statement.
        await db.Database.ExecuteSqlRawAsync("SELECT pg_stat_force_next_flush()", cancellationToken);
        return await db.Database.SqlQuery<long>(query).SingleAsync(cancellationToken);
    }

    private static async Task<List<string>> PreparedAsync(StoreHarness harness, CancellationToken cancellationToken)
    {
        await using var db = await harness.Contexts.CreateDbContextAsync(cancellationToken);
        return await PreparedStatements.ListAsync(db, cancellationToken);
    }

    /// <summary>
    /// A new database with the schema (autovacuum off for its tasks) and a harness to fill it; then, once filled,
    /// harnesses to measure with: one pooled connection, so the session that ran the statements is the one whose
    /// counts a test flushes; every prepared statement planned generically; statistics read fresh, not from a snapshot.
    /// The filling harness has one pooled connection too, and its counts are flushed before each measurement: a
    /// session that sent counts under a second ago keeps new ones until it has been idle for 10 s, so a filling
    /// session's scans (7,000 rows: the updates that finished a history and ran a backlog) arrived in the middle of a
    /// measurement in one CI run.
    /// </summary>
    private sealed class PlanDatabase : IAsyncDisposable
    {
        private readonly TestDatabase _database;
        private readonly FixedPostgreSqlStore _setupStore;
        private readonly List<(FixedPostgreSqlStore Store, StoreHarness Harness)> _measured = [];

        private PlanDatabase(TestDatabase database, FixedPostgreSqlStore setupStore, StoreHarness setup)
        {
            _database = database;
            _setupStore = setupStore;
            Setup = setup;
        }

        public StoreHarness Setup { get; }

        public static async Task<PlanDatabase> CreateAsync()
        {
            var name = $"sutazai_plan_{Guid.NewGuid():N}";
            var connectionString = new NpgsqlConnectionStringBuilder(TestPostgres.ServerConnectionString) { Database = name }.ConnectionString;
            // Initialization holds a lock on one connection while it seeds on another; it reads no task.
            await using (var initialization = new FixedPostgreSqlStore(connectionString))
            await using (var harness = StoreHarness.Create(initialization))
            {
                await harness.InitializeAsync();
                // Statistics are gathered when a test says so. Autovacuum analyzed the tasks mid-test in one of six
                // runs, and the rule under test then found nothing to do.
                await using var db = await harness.Contexts.CreateDbContextAsync();
                await db.Database.ExecuteSqlRawAsync("ALTER TABLE tasks SET (autovacuum_enabled = false)");
            }

            var setupStore = new FixedPostgreSqlStore(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 1 }.ConnectionString);
            return new PlanDatabase(new TestDatabase(name, connectionString), setupStore, StoreHarness.Create(setupStore));
        }

        /// <summary>
        /// Gathers the tasks' statistics as they are now (unless told not to) and flushes the filling session's counts,
        /// then opens a harness to measure with.
        /// </summary>
        /// <param name="planning">How PostgreSQL plans prepared statements (<c>plan_cache_mode</c>).</param>
        public async Task<StoreHarness> MeasureAsync(CancellationToken cancellationToken, string planning = "force_generic_plan", bool analyze = true)
        {
            await using (var db = await Setup.Contexts.CreateDbContextAsync(cancellationToken))
            {
                if (analyze)
                {
                    await db.Database.ExecuteSqlRawAsync("ANALYZE tasks", cancellationToken);
                }

                // Done before the session reports itself idle, which is before the statement's answer is complete.
                await db.Database.ExecuteSqlRawAsync("SELECT pg_stat_force_next_flush()", cancellationToken);
            }

            var measured = new NpgsqlConnectionStringBuilder(_database.ConnectionString)
            {
                MaxPoolSize = 1,
                Options = $"-c plan_cache_mode={planning} -c stats_fetch_consistency=none",
            }.ConnectionString;
            var store = new FixedPostgreSqlStore(measured);
            var harness = StoreHarness.Create(store);
            _measured.Add((store, harness));
            return harness;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var (store, harness) in _measured)
            {
                await harness.DisposeAsync();
                await store.DisposeAsync();
            }

            await Setup.DisposeAsync();
            await _setupStore.DisposeAsync();
            await _database.DisposeAsync();
        }
    }
}
