using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Sutazai.Bench;

/// <summary>
/// The task engine end to end: no-op tasks created through the API, routed, run by a built-in agent's
/// <c>ping</c> and their results stored; throughput under load and dispatch latency (created → started) when idle.
/// Hangfire runs the same shape of work on the same kind of storage in the same run, for the ratio.
/// </summary>
internal static class TaskScenario
{
    private const string Agent = "task-assignment-coordinator";

    public static Command Command()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "Clients creating tasks at once", DefaultValueFactory = _ => 32 };
        var seconds = new Option<int>("--seconds") { Description = "Seconds of task creation under load", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup-seconds") { Description = "Seconds of the same load before measuring; the JIT's tiering settles about 30 s after start", DefaultValueFactory = _ => 30 };
        var samples = new Option<int>("--latency-samples") { Description = "Tasks run one at a time for dispatch latency", DefaultValueFactory = _ => 300 };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string; SQLite when absent" };
        var hangfire = new Option<bool>("--hangfire") { Description = "Run Hangfire side by side", DefaultValueFactory = _ => true };
        var poll = new Option<int>("--hangfire-poll-ms") { Description = "Hangfire's queue poll interval on either storage (its default is 15 s)", DefaultValueFactory = _ => 50 };
        var rounds = new Option<int>("--rounds") { Description = "Runs of both systems, one after the other; more than one prints the median of the ratios", DefaultValueFactory = _ => 1 };
        rounds.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--rounds must be at least 1");
            }
        });
        var command = new Command("tasks", "No-op task throughput and dispatch latency, and the same against Hangfire.") { concurrency, seconds, warmup, samples, postgres, hangfire, poll, rounds };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(concurrency), TimeSpan.FromSeconds(parse.GetValue(seconds)), TimeSpan.FromSeconds(parse.GetValue(warmup)), parse.GetValue(samples), parse.GetValue(postgres),
            parse.GetValue(hangfire) ? TimeSpan.FromMilliseconds(parse.GetValue(poll)) : null, parse.GetValue(rounds), cancellationToken));
        return command;
    }

    /// <param name="hangfirePoll">Null: no Hangfire.</param>
    private static async Task<int> RunAsync(int concurrency, TimeSpan duration, TimeSpan warmup, int samples, string? postgres, TimeSpan? hangfirePoll, int rounds, CancellationToken cancellationToken)
    {
        var storage = postgres is null ? "sqlite" : "postgresql";
        Console.WriteLine($"{"system",-22} {"storage",-11} {"tasks",7} {"tasks/s",9} {"load p50",9} {"load p99",9} {"idle p50",9} {"idle p99",9} {"cpu/task",9} {"failed",7}   (dispatch ms: created -> started; cpu: ms of the worker process's CPU per task under load)");
        var ratios = new List<double>(rounds);
        for (var round = 0; round < rounds; round++)
        {
            if (await RunRoundAsync(concurrency, duration, warmup, samples, postgres, storage, hangfirePoll, cancellationToken) is { } ratio)
            {
                ratios.Add(ratio);
            }
        }

        if (rounds > 1 && hangfirePoll is not null)
        {
            var counted = ratios.Count == 0 ? "none" : $"median {Percentile(ratios, 0.50):0.0}x, lowest {ratios.Min():0.0}x, highest {ratios.Max():0.0}x";
            Console.WriteLine($"{"ratios",-22} {storage,-11} throughput over {ratios.Count} of {rounds} rounds with Hangfire figures: {counted}");
        }

        return 0;
    }

    /// <summary>One run of SutazAI, then of Hangfire when asked; returns the throughput ratio, or null without Hangfire figures.</summary>
    private static async Task<double?> RunRoundAsync(int concurrency, TimeSpan duration, TimeSpan warmup, int samples, string? postgres, string storage, TimeSpan? hangfirePoll, CancellationToken cancellationToken)
    {
        QueueFigures ours;
        await using (var server = await ServerUnderTest.StartAsync(postgres, cancellationToken))
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = server.Address };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await server.SignInAsync(http, cancellationToken));

            // The same parallelism Hangfire's workers get; built-in agents start at 4.
            using var widened = await http.PatchAsJsonAsync($"/api/v1/agents/{Agent}", new { max_concurrency = HangfireQueue.WorkerCount }, cancellationToken);
            widened.EnsureSuccessStatusCode();
            ours = await MeasureAsync(new SutazaiQueue(http, server), concurrency, duration, warmup, samples, cancellationToken);
        }

        Print("sutazai", storage, ours);
        if (hangfirePoll is not { } poll)
        {
            return null;
        }

        var dataDir = Directory.CreateTempSubdirectory("sutazai-bench-hangfire-");
        try
        {
            await using var queue = HangfireQueue.Start(postgres, dataDir.FullName, poll, concurrency);
            var theirs = await MeasureAsync(queue, concurrency, duration, warmup, samples, cancellationToken);
            Print($"hangfire {HangfireQueue.Version}", storage, theirs);
            var ratio = ours.TasksPerSecond / theirs.TasksPerSecond;
            Console.WriteLine($"{"ratio",-22} {storage,-11} throughput {ratio:0.0}x, dispatch p99 {theirs.IdleP99Ms / ours.IdleP99Ms:0.0}x lower ({queue.Settings})");
            return ratio;
        }
        catch (TimeoutException stalled)
        {
            Console.WriteLine($"{$"hangfire {HangfireQueue.Version}",-22} {storage,-11} no figures: {stalled.Message}");
            return null;
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    private static void Print(string system, string storage, QueueFigures figures) =>
        Console.WriteLine($"{system,-22} {storage,-11} {figures.Tasks,7} {figures.TasksPerSecond,9:0} {figures.LoadP50Ms,9:0.00} {figures.LoadP99Ms,9:0.00} {figures.IdleP50Ms,9:0.00} {figures.IdleP99Ms,9:0.00} {figures.CpuMsPerTask,9:0.00} {figures.Failed,7}");

    /// <summary>
    /// Throughput: <paramref name="concurrency"/> producers create no-op tasks for <paramref name="duration"/>, then all
    /// are waited for; tasks/s is their number over the time from the first creation to the last completion.
    /// Idle dispatch latency: one task at a time, each waited for before the next.
    /// </summary>
    private static async Task<QueueFigures> MeasureAsync(IBenchQueue queue, int concurrency, TimeSpan duration, TimeSpan warmup, int samples, CancellationToken cancellationToken)
    {
        // Warm-up under the same load (connections, JIT tiers, caches), then the measured run.
        await ProduceAsync(queue, concurrency, warmup, cancellationToken);
        await queue.WaitForAllAsync(cancellationToken);
        queue.Reset();
        // On standard error, for profilers to start sampling at: the warm-up's read-back takes a while.
        await Console.Error.WriteLineAsync($"measuring for {duration.TotalSeconds:0} s");
        var cpuBefore = queue.WorkerCpuTime;
        await ProduceAsync(queue, concurrency, duration, cancellationToken);
        var load = await queue.WaitForAllAsync(cancellationToken);
        var cpu = load.DrainedCpuTime - cpuBefore;

        queue.Reset();
        var idleLatencies = new List<double>(samples);
        var idleFailed = 0;
        for (var i = 0; i < samples; i++)
        {
            await queue.EnqueueAsync(cancellationToken);
            var one = await queue.WaitForAllAsync(cancellationToken);
            idleLatencies.AddRange(one.DispatchMs);
            idleFailed += one.Failed;
            queue.Reset();
        }

        return new QueueFigures(
            load.Completed,
            load.Failed + idleFailed,
            load.Completed / load.Span.TotalSeconds,
            Percentile(load.DispatchMs, 0.50),
            Percentile(load.DispatchMs, 0.99),
            Percentile(idleLatencies, 0.50),
            Percentile(idleLatencies, 0.99),
            cpu.TotalMilliseconds / Math.Max(1, load.Completed + load.Failed));
    }

    private static async Task ProduceAsync(IBenchQueue queue, int concurrency, TimeSpan duration, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                await queue.EnqueueAsync(cancellationToken);
            }
        }));
    }

    private static double Percentile(IReadOnlyList<double> values, double quantile)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
    }

    /// <summary>SutazAI through its API: tasks are created over HTTP; completion and times are read back from the API.</summary>
    private sealed class SutazaiQueue(HttpClient http, ServerUnderTest server) : IBenchQueue
    {
        private readonly HashSet<Guid> _ids = [];

        public TimeSpan WorkerCpuTime => server.CpuTime;

        public async Task EnqueueAsync(CancellationToken cancellationToken)
        {
            using var response = await http.PostAsJsonAsync("/api/v1/tasks", new { title = "no-op", agent = Agent, action = "ping" }, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"Creating a task answered {response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }

            var id = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid();
            lock (_ids)
            {
                _ids.Add(id);
            }
        }

        public async Task<QueueRun> WaitForAllAsync(CancellationToken cancellationToken)
        {
            HashSet<Guid> ids;
            lock (_ids)
            {
                ids = [.. _ids];
            }

            if (ids.Count == 1)
            {
                // One task: follow its live stream, which ends when the task does (no polling load on the server).
                await using var stream = await http.GetStreamAsync($"/api/v1/tasks/{ids.Single()}/stream", cancellationToken);
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync(cancellationToken) is not null)
                {
                }
            }

            // Times come from the stored tasks, so how often this looks only decides when the figures are read. Each
            // look counts and sorts the whole backlog: looking often would load the store it measures.
            while (await CountAsync("queued,assigned,running", cancellationToken) > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }

            var drainedCpuTime = WorkerCpuTime;

            // Newest first: page until every task of this run was seen.
            var tasks = new List<JsonElement>();
            for (var offset = 0; tasks.Count < ids.Count; offset += 200)
            {
                var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/tasks?agent={Agent}&limit=200&offset={offset}", cancellationToken);
                var items = page.GetProperty("items").EnumerateArray().ToList();
                tasks.AddRange(items.Where(t => ids.Contains(t.GetProperty("id").GetGuid())));
                if (items.Count < 200)
                {
                    break;
                }
            }

            DateTimeOffset Time(JsonElement task, string field) => task.GetProperty(field).GetDateTimeOffset();
            var completed = tasks.Where(t => t.GetProperty("status").GetString() == "completed").ToList();
            return new QueueRun(
                completed.Count,
                tasks.Count - completed.Count,
                [.. completed.Select(t => (Time(t, "started_at") - Time(t, "created_at")).TotalMilliseconds)],
                completed.Count == 0 ? TimeSpan.Zero : completed.Max(t => Time(t, "completed_at")) - completed.Min(t => Time(t, "created_at")),
                drainedCpuTime);
        }

        public void Reset()
        {
            lock (_ids)
            {
                _ids.Clear();
            }
        }

        private async Task<int> CountAsync(string statuses, CancellationToken cancellationToken) =>
            (await http.GetFromJsonAsync<JsonElement>($"/api/v1/tasks?status={statuses}&limit=1", cancellationToken)).GetProperty("total").GetInt32();
    }
}

internal interface IBenchQueue
{
    /// <summary>CPU time used so far by the process that stores and runs the tasks.</summary>
    TimeSpan WorkerCpuTime { get; }

    Task EnqueueAsync(CancellationToken cancellationToken);

    /// <summary>Waits until everything enqueued since the last reset has run.</summary>
    Task<QueueRun> WaitForAllAsync(CancellationToken cancellationToken);

    void Reset();
}

/// <param name="Span">From the first task's creation to the last one's completion.</param>
/// <param name="DrainedCpuTime">The worker process's CPU time when the last task had run (before the figures were read back).</param>
internal sealed record QueueRun(int Completed, int Failed, IReadOnlyList<double> DispatchMs, TimeSpan Span, TimeSpan DrainedCpuTime);

internal sealed record QueueFigures(int Tasks, int Failed, double TasksPerSecond, double LoadP50Ms, double LoadP99Ms, double IdleP50Ms, double IdleP99Ms, double CpuMsPerTask);
