using System.Collections.Concurrent;
using System.Diagnostics;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.SQLite;

namespace Sutazai.Bench;

/// <summary>
/// Hangfire 1.8 in this process with a no-op job, on SQLite (Hangfire.Storage.SQLite) or PostgreSQL
/// (Hangfire.PostgreSql), both polling their queue every 50 ms. Jobs are enqueued in-process, which spares Hangfire the HTTP
/// hop SutazAI's tasks take. A job counts as completed when its Succeeded state is applied.
/// </summary>
internal sealed class HangfireQueue : IBenchQueue, IAsyncDisposable
{
    private static readonly ConcurrentDictionary<Guid, Timing> Timings = new();
    private static readonly SucceededRecorder Recorder = new();

    private readonly BackgroundJobServer _server;
    private readonly BackgroundJobClient _client;
    private readonly ConcurrentDictionary<Guid, bool> _enqueued = new();
    private readonly BenchDatabase? _database;
    private int _pending;

    private HangfireQueue(JobStorage storage, string settings, BenchDatabase? database = null)
    {
        Settings = settings;
        _database = database;
        GlobalJobFilters.Filters.Add(Recorder);
        Recorder.Succeeded = OnSucceeded;
        _client = new BackgroundJobClient(storage);
        _server = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = WorkerCount }, storage);
    }

    public static string Version => typeof(BackgroundJob).Assembly.GetName().Version!.ToString(3);

    /// <summary>Hangfire's own default: five workers per core, at most 20.</summary>
    public static int WorkerCount => Math.Min(Environment.ProcessorCount * 5, 20);

    public string Settings { get; }

    /// <summary>A job that stays enqueued for good is reported instead of waited for.</summary>
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(60);

    /// <summary>Hangfire runs in this process; the producers' share of it is small next to storing and running jobs.</summary>
    public TimeSpan WorkerCpuTime => Process.GetCurrentProcess().TotalProcessorTime;

    /// <param name="producers">How many enqueue at once: each blocks a pool thread for its enqueue.</param>
    public static HangfireQueue Start(string? postgres, string dataDir, TimeSpan poll, int producers)
    {
        // Hangfire's client blocks its thread. Without threads for every producer up front, the pool adds them one at a
        // time (about two a second) while every thread it has is blocked, and Hangfire would wait on the bench.
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, producers + WorkerCount + Environment.ProcessorCount), completionPorts);
        if (postgres is null)
        {
            var storage = new SQLiteStorage(Path.Combine(dataDir, "hangfire.db"), new SQLiteStorageOptions { QueuePollInterval = poll });
            return new HangfireQueue(storage, $"Hangfire.Storage.SQLite, queue poll {poll.TotalMilliseconds:0} ms, {WorkerCount} workers");
        }

        // Not its LISTEN/NOTIFY long polling: in this bench that left a job enqueued for good in several runs (a
        // known fault: hangfire-postgres/Hangfire.PostgreSql#410, a lost listener connection is not reopened).
        var options = new PostgreSqlStorageOptions { QueuePollInterval = poll, PrepareSchemaIfNecessary = true, UseSlidingInvisibilityTimeout = true };
#pragma warning disable CS0618 // the connection-string constructor is the one that takes options in 1.21
        var database = BenchDatabase.Create(postgres, "hangfire");
        var pg = new PostgreSqlStorage(database.ConnectionString, _ => { }, options);
#pragma warning restore CS0618
        return new HangfireQueue(pg, $"Hangfire.PostgreSql, queue poll {poll.TotalMilliseconds:0} ms, {WorkerCount} workers", database);
    }

    /// <summary>
    /// An enqueue is a few milliseconds. One taking this long is Hangfire's storage stalled (seen on PostgreSQL: every
    /// producer's enqueue hung for some 13 s, 32 jobs in a 15 s run), and a ratio against that would say nothing.
    /// </summary>
    private static readonly TimeSpan EnqueueStallLimit = TimeSpan.FromSeconds(5);

    /// <summary>Hangfire's client is synchronous; each enqueue runs on the thread pool so producers work side by side.</summary>
    public Task EnqueueAsync(CancellationToken cancellationToken) => Task.Run(
        () =>
        {
            var id = Guid.NewGuid();
            var started = Stopwatch.GetTimestamp();
            Timings[id] = new Timing(started);
            _enqueued[id] = true;
            Interlocked.Increment(ref _pending);
            _client.Enqueue(() => NoOpJob.Run(id));
            if (Stopwatch.GetElapsedTime(started) is var took && took > EnqueueStallLimit)
            {
                throw new TimeoutException($"one enqueue took {took.TotalSeconds:0.0} s (the storage stalled)");
            }
        },
        cancellationToken);

    public async Task<QueueRun> WaitForAllAsync(CancellationToken cancellationToken)
    {
        // Completion times are recorded by the jobs themselves; this only notices that the last one came.
        var pending = Volatile.Read(ref _pending);
        var progressed = Stopwatch.GetTimestamp();
        while (pending > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1), cancellationToken);
            var now = Volatile.Read(ref _pending);
            if (now != pending)
            {
                (pending, progressed) = (now, Stopwatch.GetTimestamp());
            }
            else if (Stopwatch.GetElapsedTime(progressed) > StallLimit)
            {
                throw new TimeoutException($"Hangfire ran none of its {pending} pending job(s) for {StallLimit.TotalSeconds:0} s");
            }
        }

        var drainedCpuTime = WorkerCpuTime;

        var timings = _enqueued.Keys.Select(id => Timings[id]).ToList();
        var first = timings.Min(t => t.Enqueued);
        var last = timings.Max(t => t.Succeeded!.Value);
        return new QueueRun(
            timings.Count,
            0,
            [.. timings.Select(t => Stopwatch.GetElapsedTime(t.Enqueued, t.Started!.Value).TotalMilliseconds)],
            Stopwatch.GetElapsedTime(first, last),
            drainedCpuTime);
    }

    public void Reset()
    {
        foreach (var id in _enqueued.Keys)
        {
            Timings.TryRemove(id, out _);
        }

        _enqueued.Clear();
    }

    private void OnSucceeded(Guid id)
    {
        if (_enqueued.ContainsKey(id) && Timings.TryGetValue(id, out var timing) && timing.Succeeded is null)
        {
            timing.Succeeded = Stopwatch.GetTimestamp();
            Interlocked.Decrement(ref _pending);
        }
    }

    public ValueTask DisposeAsync()
    {
        _server.SendStop();
        _server.Dispose();
        GlobalJobFilters.Filters.Remove(Recorder);
        _database?.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed class Timing(long enqueued)
    {
        public long Enqueued { get; } = enqueued;

        public long? Started { get; set; }

        public long? Succeeded { get; set; }
    }

    /// <summary>The job: records when it began, does nothing else.</summary>
    public static class NoOpJob
    {
        public static void Run(Guid id)
        {
            if (Timings.TryGetValue(id, out var timing))
            {
                timing.Started = Stopwatch.GetTimestamp();
            }
        }
    }

    private sealed class SucceededRecorder : JobFilterAttribute, IApplyStateFilter
    {
        public Action<Guid>? Succeeded { get; set; }

        public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
        {
            if (context.NewState is SucceededState && context.BackgroundJob.Job.Args is [Guid id])
            {
                Succeeded?.Invoke(id);
            }
        }

        public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
        {
        }
    }
}
