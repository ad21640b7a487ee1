using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Resources;

namespace Sutazai.Core.Tasks;

/// <summary>
/// Runs tasks on this node. The dispatcher takes due tasks from the store in dispatch order, routes each to the
/// best agent with a free slot, and claims it with a lease; a worker then runs the agent under the task's timeout,
/// deadline and cancellation, and records the outcome (with retries and backoff). A maintenance loop renews this
/// node's leases, stops tasks someone cancelled elsewhere, requeues tasks of nodes that died and times out
/// queued tasks past their deadline. Nothing lives only here: a node can die at any moment.
/// </summary>
public sealed partial class TaskEngine : BackgroundService
{
    private static readonly JsonElement EmptyInput = JsonDocument.Parse("{}").RootElement.Clone();

    private readonly ITaskStore _store;

    /// <summary>Attempts that end together are stored together.</summary>
    private readonly GroupCommit<TaskOutcome, bool> _finishes;
    private readonly AgentDirectory _agents;
    private readonly TaskEventHub _events;
    private readonly IAuditSink _audit;
    private readonly ResourceAdmission _admission;
    private readonly StartupState _startup;
    private readonly TimeProvider _time;
    private readonly ILogger<TaskEngine> _logger;
    private readonly TaskOptions _options;
    private readonly string _node;
    private readonly ConcurrentDictionary<Guid, RunningTask> _running = new();

    /// <summary>Claims being stored; their runs start when they are.</summary>
    private readonly ConcurrentDictionary<Task, bool> _claims = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Tasks the last look read beyond the free slots, taken by the next rounds without looking again.</summary>
    private readonly DispatchReadAhead _readAhead = new();

    /// <summary>Wakes the dispatcher to look when a retry of a task that ran here comes due.</summary>
    private readonly WakeSchedule _retries;
    private readonly Random _jitter = new();

    public TaskEngine(
        ITaskStore store,
        AgentDirectory agents,
        TaskEventHub events,
        IAuditSink audit,
        ResourceAdmission admission,
        StartupState startup,
        IOptions<TaskOptions> options,
        IOptions<PlatformOptions> platform,
        TimeProvider time,
        ILogger<TaskEngine> logger)
    {
        _store = store;
        _agents = agents;
        _events = events;
        _audit = audit;
        _admission = admission;
        _startup = startup;
        _time = time;
        _logger = logger;
        _options = options.Value;
        _node = platform.Value.ResolvedNodeName;
        _finishes = new GroupCommit<TaskOutcome, bool>((outcomes, cancellationToken) => store.FinishAsync(outcomes, _node, cancellationToken));
        _retries = new WakeSchedule(time, Wake);
        _agents.Changed += Wake;
    }

    public string Node => _node;

    /// <summary>Tasks running on this node now.</summary>
    public int RunningCount => _running.Count;

    /// <summary>Tells the dispatcher there may be new work anywhere in the queue, instead of letting it wait for its next poll.</summary>
    public void Wake()
    {
        _readAhead.Invalidate();
        Signal();
    }

    /// <summary>Tells the dispatcher a task with this dispatch score was queued for this agent (or for none).</summary>
    public void Queued(Guid? agentId, long dispatchScore)
    {
        _readAhead.Queued(agentId, dispatchScore);
        Signal();
    }

    /// <summary>Wakes the dispatcher for a freed slot: the queue is as it was.</summary>
    private void Signal() => _wake.Writer.TryWrite(true);

    /// <summary>Stops a task running on this node now; false when it is not running here.</summary>
    public bool CancelLocal(Guid taskId, string reason)
    {
        if (!_running.TryGetValue(taskId, out var running))
        {
            return false;
        }

        running.Cancel(reason);
        return true;
    }

    public override void Dispose()
    {
        _retries.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.DispatcherEnabled)
        {
            return;
        }

        await _startup.WhenReady.WaitAsync(stoppingToken);
        await _agents.RefreshAsync(stoppingToken);
        var maintenance = MaintainAsync(stoppingToken);
        var health = WatchHealthAsync(stoppingToken);
        try
        {
            await DispatchLoopAsync(stoppingToken);
        }
        finally
        {
            // In-flight work sees the stopping token, records itself as queued again and lets go of its lease.
            await Task.WhenAll(_claims.Keys);
            await Task.WhenAll(_running.Values.Select(r => r.Completion));
            await _finishes.DisposeAsync();
            await Task.WhenAll(maintenance, health).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task DispatchLoopAsync(CancellationToken stoppingToken)
    {
        // One ticker for the whole loop: a tick that comes while a round is under way is kept, not lost.
        using var ticker = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.PollMilliseconds), _time);
        var tick = ticker.WaitForNextTickAsync(stoppingToken).AsTask();
        var wake = _wake.Reader.WaitToReadAsync(stoppingToken).AsTask();
        var ticked = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            // A round places no more tasks than the agents can take now. When none can take any, only the poll
            // looks (to set aside tasks nobody can take, with their reason); a freed slot wakes the loop anyway.
            var free = Math.Min(_options.Workers - _running.Count, _agents.Entries.Sum(a => a.FreeSlots));
            if (free == 0 && ticked && _running.Count < _options.Workers)
            {
                free = 1;
            }

            var round = new DispatchRound(0, 0);
            if (free > 0)
            {
                try
                {
                    round = await DispatchOnceAsync(free, ticked, stoppingToken);
                    ticked = false;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogDispatchFailed(e);
                }
            }

            // Go again at once while there may be more: every slot filled, or tasks nobody can take were set aside
            // and routable ones may be waiting behind them.
            if ((round.Assigned > 0 && round.Assigned == free) || (round.Deferred > 0 && round.Assigned < free))
            {
                continue;
            }

            // Otherwise wait to be woken (new work, a free slot, an agent change) or for the next poll, which finds
            // retries and set-aside tasks coming due.
            try
            {
                var woken = await Task.WhenAny(tick, wake);
                await woken;
                ticked = woken == tick;
                if (ticked)
                {
                    tick = ticker.WaitForNextTickAsync(stoppingToken).AsTask();
                }
                else
                {
                    _wake.Reader.TryRead(out _);
                    wake = _wake.Reader.WaitToReadAsync(stoppingToken).AsTask();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task<DispatchRound> DispatchOnceAsync(int free, bool ticked, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var candidates = new List<TaskItem>();
        var assignments = new List<(TaskAssignment Assignment, AgentEntry Agent)>();
        var assigned = new HashSet<Guid>();
        var deferrals = new List<TaskDeferral>();
        var left = new List<TaskItem>();

        // Routes tasks in dispatch order into the free slots. What is left (waiting for a busy agent, or beyond the free
        // slots) is kept as the next look-ahead. Returns whether slots are still free while some task waited for a busy
        // agent: tasks further on may be for others.
        async Task<bool> PlaceAsync(IReadOnlyList<TaskItem> batch)
        {
            var sawBusy = false;
            foreach (var task in batch)
            {
                if (_running.ContainsKey(task.Id) || assigned.Contains(task.Id))
                {
                    continue;
                }

                if (assignments.Count >= free)
                {
                    left.Add(task);
                    continue;
                }

                var decision = TaskRouter.Route(task, _agents.Entries);
                if (decision.Agent is { } agent && agent.TryAcquire())
                {
                    if (await _admission.AdmitAsync(task, cancellationToken) is { } waitingForResources)
                    {
                        // A release on this node brings it back at once; the short delay bounds how long a release elsewhere takes to be seen.
                        agent.Release();
                        deferrals.Add(new TaskDeferral(task.Id, waitingForResources, now.AddSeconds(2)));
                        continue;
                    }

                    assignments.Add((new TaskAssignment(task.Id, task.Attempt, agent.Definition.Id, decision.Reason), agent));
                    assigned.Add(task.Id);
                }
                else if (!decision.Busy && decision.Agent is null)
                {
                    deferrals.Add(new TaskDeferral(task.Id, decision.Reason, now + DeferDelay(task, now)));
                }
                else
                {
                    sawBusy = true;
                    left.Add(task);
                }
            }

            return sawBusy && assignments.Count < free;
        }

        try
        {
            // First the tasks the last look read ahead (the poll looks at the whole queue instead), then a look if
            // agents with free slots may have work beyond them.
            var ahead = ticked ? [] : _readAhead.Take();
            candidates.AddRange(ahead);
            await PlaceAsync(ahead);
            if (assignments.Count < free && (ticked || _readAhead.MustLook(_agents.Entries, left)))
            {
                left.Clear();
                await LookAsync(free, ticked, now, candidates, assigned.Count, PlaceAsync, cancellationToken);
            }

            _readAhead.Keep(left);
            await _store.DeferAsync(deferrals, cancellationToken);
        }
        catch
        {
            // Nothing was claimed: the slots taken for it are free again.
            _readAhead.Invalidate();
            foreach (var (_, agent) in assignments)
            {
                agent.Release();
            }

            throw;
        }

        foreach (var task in candidates.Where(t => deferrals.Any(d => d.TaskId == t.Id)).DistinctBy(t => t.Id))
        {
            var reason = deferrals.First(d => d.TaskId == task.Id).Reason;
            if (reason != task.RoutingReason)
            {
                // Subscribers hear why a task waits only when the reason changes, not at every look.
                _events.Publish(new TaskChange(task.Id, task.UserId, TaskState.Queued, reason, now, null, task.Attempt));
                LogUnroutable(task.Id, reason);
            }
        }

        if (assignments.Count == 0)
        {
            return new DispatchRound(0, deferrals.Count);
        }

        // Each run is registered before the store assigns it: a cancel that comes the moment the assignment is
        // visible must find this run, not nothing, nor the entry of an earlier attempt still being recorded.
        var runs = assignments.ToDictionary(a => a.Assignment.TaskId, _ => new RunningTask());
        foreach (var (id, run) in runs)
        {
            _running[id] = run;
        }

        var claim = ClaimAsync(assignments, runs, now, cancellationToken);
        _claims[claim] = true;
        _ = claim.ContinueWith(c => _claims.TryRemove(c, out _), TaskScheduler.Default);
        return new DispatchRound(assignments.Count, deferrals.Count);
    }

    /// <summary>
    /// Reads due tasks from the store and places them. Per agent only as many as it has room for, and twice its slots
    /// more to read ahead (<see cref="ReadAhead"/>): tasks waiting for a full agent are not read at all. Tasks addressed to no agent come in pages a
    /// little larger than the free slots; when some whose agents turn out busy fill a page, the next page reads on
    /// past them, so they never hide tasks another agent could take. Agents that cannot take work now, and the head
    /// of the whole queue, are looked at when the poll ticks, so their tasks are set aside with the reason. Tasks
    /// whose claims are still being stored (see <see cref="ClaimAsync"/>) or were placed this round are still queued
    /// in the store: every look reads past them.
    /// </summary>
    /// <param name="placed">How many tasks this round placed before looking.</param>
    private async Task LookAsync(
        int free, bool ticked, DateTimeOffset now, List<TaskItem> candidates, int placed, Func<IReadOnlyList<TaskItem>, Task<bool>> placeAsync, CancellationToken cancellationToken)
    {
        _readAhead.BeginLook();
        var pending = _running.Count(r => !r.Value.Started) + placed;
        var window = new DispatchWindow(now)
        {
            PerAgent = _agents.Entries
                .Where(a => a.FreeSlots > 0 || (ticked && !a.IsFull))
                .ToDictionary(a => a.Definition.Id, a => (a.FreeSlots > 0 ? a.FreeSlots + ReadAhead(a) : UnavailableLook) + pending),
            Unaddressed = Math.Min(free - placed, MaxReadAhead) + 8 + pending,
            Head = ticked ? UnavailableLook : 0,
        };
        var perAgent = window.PerAgent;
        var unaddressedEmptied = false;
        for (var page = 0; page < MaxPagesPerRound; page++)
        {
            var batch = await _store.PeekDispatchableAsync(window, cancellationToken);
            candidates.AddRange(batch);
            if (page == 0)
            {
                // Fewer than asked for: the agent's whole queue was read.
                var read = batch.Where(t => t.AgentId is not null).CountBy(t => t.AgentId!.Value).ToDictionary();
                _readAhead.Emptied([.. perAgent.Where(a => read.GetValueOrDefault(a.Key) < a.Value).Select(a => a.Key)]);
            }

            var wantMore = await placeAsync(batch);
            var unaddressed = batch.Where(t => t.AgentId is null).ToList();
            unaddressedEmptied = unaddressed.Count < window.Unaddressed;
            if (!wantMore || unaddressedEmptied)
            {
                break;
            }

            var last = unaddressed[^1].DispatchScore;
            window = new DispatchWindow(now)
            {
                Unaddressed = window.Unaddressed,
                FromScore = last,
                AlreadyRead = [.. candidates.Where(t => t.AgentId is null && t.DispatchScore == last).Select(t => t.Id)],
            };
        }

        _readAhead.UnaddressedEmptied(unaddressedEmptied);
    }

    /// <summary>
    /// Stores the round's assignments and starts the runs this node won. The next round does not wait for it: a slot
    /// freed meanwhile is looked at while the claim is under way.
    /// </summary>
    private async Task ClaimAsync(List<(TaskAssignment Assignment, AgentEntry Agent)> assignments, Dictionary<Guid, RunningTask> runs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var leaseUntil = now.AddSeconds(_options.LeaseSeconds);
        IReadOnlyList<TaskItem> won;
        try
        {
            won = await _store.AssignAsync([.. assignments.Select(a => a.Assignment)], _node, now, leaseUntil, cancellationToken);
        }
        catch (Exception e)
        {
            foreach (var (id, run) in runs)
            {
                Unregister(id, run);
            }

            foreach (var (_, agent) in assignments)
            {
                agent.Release();
            }

            // As when a round fails: the next poll tries again.
            if (e is not OperationCanceledException)
            {
                LogDispatchFailed(e);
            }

            return;
        }

        var wonIds = won.ToDictionary(t => t.Id);
        var lost = false;
        foreach (var (assignment, agent) in assignments)
        {
            var running = runs[assignment.TaskId];
            if (!wonIds.TryGetValue(assignment.TaskId, out var task))
            {
                Unregister(assignment.TaskId, running);
                agent.Release();
                lost = true;
                continue;
            }

            _events.Publish(new TaskChange(task.Id, task.UserId, TaskState.Assigned, assignment.Reason, now, agent.Definition.Name, task.Attempt));
            _events.Publish(new TaskChange(task.Id, task.UserId, TaskState.Running, $"started on {_node}", now, agent.Definition.Name, task.Attempt));
            running.Started = true;
            running.Completion = Task.Run(() => RunAsync(task, agent, running, now, cancellationToken), CancellationToken.None);
        }

        if (lost)
        {
            Wake();
        }
    }

    /// <summary>A round reads at most this many pages of candidates; the poll or a freed slot goes on from the head.</summary>
    private const int MaxPagesPerRound = 4;

    /// <summary>How many tasks of an agent that cannot take work, or of the whole queue, the poll looks at.</summary>
    private const int UnavailableLook = 8;

    /// <summary>At most how many tasks an agent with free slots has read ahead for it, and how many unaddressed ones a page holds beyond a few.</summary>
    private const int MaxReadAhead = 64;

    /// <summary>
    /// How many tasks a look reads ahead for an agent with free slots: enough to refill all its slots twice before the
    /// next look (each look cost the dispatcher about half a millisecond of CPU, and the database as much).
    /// </summary>
    private static int ReadAhead(AgentEntry agent) => Math.Clamp(2 * agent.Definition.MaxConcurrency, 16, MaxReadAhead);

    /// <summary>
    /// How long a task nobody can take is set aside: briefly at first, then a tenth of how long it has waited, at
    /// most five minutes, so a large backlog of such tasks costs little to carry.
    /// </summary>
    private TimeSpan DeferDelay(TaskItem task, DateTimeOffset now)
    {
        var minimum = TimeSpan.FromSeconds(_options.UnroutableRetrySeconds);
        var proportional = (now - task.CreatedAt) / 10;
        return proportional < minimum ? minimum : proportional > TimeSpan.FromMinutes(5) ? TimeSpan.FromMinutes(5) : proportional;
    }

    private readonly record struct DispatchRound(int Assigned, int Deferred);

    /// <param name="started">When the task was stored as running (with its assignment).</param>
    private async Task RunAsync(TaskItem task, AgentEntry agent, RunningTask running, DateTimeOffset started, CancellationToken stoppingToken)
    {
        var released = false;
        try
        {
            var timeout = TimeSpan.FromSeconds(task.TimeoutSeconds ?? _options.DefaultTimeoutSeconds);
            if (task.Deadline is { } deadline && deadline - started < timeout)
            {
                timeout = deadline - started;
            }

            using var timer = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : TimeSpan.FromTicks(1), _time);
            var outcome = await ExecuteAsync(task, agent, running, started, timer, timeout, stoppingToken);

            // The agent is done with it: its slot takes the next task while this outcome is being stored.
            agent.Release();
            released = true;
            Signal();
            task.Status = outcome.NextState;
            task.ResultJson = outcome.ResultJson;
            task.ErrorMessage = outcome.Error;
            task.CompletedAt = outcome.FinishedAt;
            var webhook = outcome.NextState is TaskState.Queued ? null : TaskWebhooks.For(task, outcome.FinishedAt);

            // An audited action's entry is written before its outcome is stored: whoever reads the task finished
            // (the API, not only the events) finds the entry, and an outcome that cannot be stored still leaves the
            // record of what the agent did.
            if (agent.Action(task.Action) is { Audited: true })
            {
                await RecordAuditAsync(task, agent, outcome);
            }

            var applied = await _finishes.CommitAsync(outcome with { Webhook = webhook });

            // Whoever hears the attempt ended finds its resources back in the pool (a retry asks again).
            if (await _admission.ReleaseAsync(task, CancellationToken.None))
            {
                var waiting = _admission.TakeWaiting();
                await _store.DeferAsync([.. waiting.Select(w => new TaskDeferral(w.Key, w.Value, _time.GetUtcNow()))], CancellationToken.None);
                Wake();
            }

            if (applied)
            {
                _events.Publish(new TaskChange(task.Id, task.UserId, outcome.NextState, outcome.Reason, outcome.FinishedAt, agent.Definition.Name, task.Attempt));
                if (outcome.RetryAt is { } retryAt)
                {
                    _retries.At(retryAt);
                }
            }
        }
        catch (Exception e)
        {
            // The store did not take the outcome; the lease will lapse and another attempt will follow.
            LogRunFailed(e, task.Id);
        }
        finally
        {
            if (!released)
            {
                agent.Release();
            }

            Unregister(task.Id, running);
            Signal();
        }
    }

    /// <summary>Only this attempt's entry: a retry of the same task may already be registered under the same id.</summary>
    private void Unregister(Guid taskId, RunningTask running)
    {
        _running.TryRemove(new KeyValuePair<Guid, RunningTask>(taskId, running));
        running.Dispose();
    }

    /// <summary>What an audited action did, who asked for it, and how it ended; the report is kept up to 16 KB.</summary>
    private Task RecordAuditAsync(TaskItem task, AgentEntry agent, TaskOutcome outcome)
    {
        const int maxReport = 16 * 1024;
        var report = outcome.ResultJson is { Length: > maxReport } full ? full[..maxReport] + "…" : outcome.ResultJson;
        return _audit.RecordAsync(new AuditEntry
        {
            OccurredAt = outcome.FinishedAt,
            ActorUserId = task.UserId,
            Action = $"agent.{agent.Definition.Name}.{task.Action}",
            TargetType = "task",
            TargetId = task.Id.ToString(),
            Outcome = outcome.NextState == TaskState.Completed ? AuditOutcome.Success : AuditOutcome.Failure,
            DetailsJson = JsonSerializer.Serialize(new { input = task.PayloadJson ?? "{}", state = outcome.NextState, error = outcome.Error, report }),
        }, CancellationToken.None);
    }

    private async Task<TaskOutcome> ExecuteAsync(
        TaskItem task, AgentEntry agent, RunningTask running, DateTimeOffset started, CancellationTokenSource timer, TimeSpan timeout, CancellationToken stoppingToken)
    {
        var input = task.PayloadJson is null ? EmptyInput : JsonSerializer.Deserialize<JsonElement>(task.PayloadJson);
        var request = new AgentRequest(
            task.Id,
            task.Action ?? "",
            input,
            task.IdempotencyKey ?? task.Id.ToString("N"),
            task.Attempt,
            task.Deadline,
            new AgentCaller(task.UserId, null, task.SubmitterPermissions.ToHashSet(StringComparer.Ordinal)));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, running.Token, timer.Token);

        TaskOutcome Outcome(TaskState state, string reason, string? result = null, string? error = null, DateTimeOffset? retryAt = null) =>
            new(task.Id, agent.Definition.Id, task.Attempt, state, reason, result, error, task.PayloadJson ?? "{}", started, _time.GetUtcNow(), retryAt, null);

        AgentResult result;
        try
        {
            result = await agent.Implementation!.ExecuteAsync(request, linked.Token);
        }
        catch (OperationCanceledException) when (running.IsCancellationRequested)
        {
            agent.CountError();
            return Outcome(TaskState.Cancelled, running.Reason ?? "cancelled", error: running.Reason ?? "cancelled");
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            agent.CountError();
            var why = task.Deadline is { } d && _time.GetUtcNow() >= d ? "the deadline passed while it ran" : $"it ran longer than its timeout of {timeout.TotalSeconds:0.#} s";
            return Retry(why, TaskState.TimedOut);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return Outcome(TaskState.Queued, $"node {_node} is shutting down; queued again", error: null);
        }
        catch (Exception e)
        {
            agent.CountError();
            LogAgentThrew(e, agent.Definition.Name, task.Id);
            return Retry($"the agent failed: {e.Message}", TaskState.Failed);
        }

        switch (result)
        {
            case AgentResult.Succeeded succeeded:
                agent.CountSuccess();
                return Outcome(TaskState.Completed, "the agent finished", result: succeeded.Output.GetRawText());
            case AgentResult.Failed failed:
                agent.CountError();
                return failed.Retryable ? Retry(failed.Error, TaskState.Failed) : Outcome(TaskState.Failed, $"the agent failed: {failed.Error}", error: failed.Error);
            default:
                throw new InvalidOperationException($"Unknown agent result {result}.");
        }

        TaskOutcome Retry(string error, TaskState finalState)
        {
            var deadlinePassed = task.Deadline is { } d && _time.GetUtcNow() >= d;
            if (task.Attempt > task.MaxRetries || deadlinePassed)
            {
                var why = task.MaxRetries == 0 ? error : $"{error} (attempt {task.Attempt} of {task.MaxRetries + 1})";
                return Outcome(finalState, why, error: error);
            }

            var delay = RetryBackoff.Delay(task.Attempt, TimeSpan.FromSeconds(_options.RetryBaseDelaySeconds), TimeSpan.FromSeconds(_options.RetryMaxDelaySeconds), _jitter);
            var retryAt = _time.GetUtcNow() + delay;
            return Outcome(TaskState.Queued, $"{error}; retry {task.Attempt} of {task.MaxRetries} in {delay.TotalSeconds:0.#} s", error: error, retryAt: retryAt);
        }
    }

    private async Task MaintainAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, _options.LeaseSeconds / 3.0)), _time);
        do
        {
            try
            {
                await MaintainOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogMaintenanceFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One round of lease renewal, remote cancellation, takeover of lapsed tasks and deadline expiry.</summary>
    public async Task MaintainOnceAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        // Runs still being assigned are not renewed: the store does not hold them for this node yet.
        var held = _running.Where(r => r.Value.Started).Select(r => r.Key).ToList();
        var renewal = await _store.RenewLeasesAsync(held, _node, now.AddSeconds(_options.LeaseSeconds), cancellationToken);
        foreach (var id in renewal.CancelRequested)
        {
            CancelLocal(id, "cancelled on request");
        }

        foreach (var id in renewal.Lost)
        {
            CancelLocal(id, "this node lost its lease on the task");
        }

        var requeued = await _store.RequeueLapsedAsync(now, _options.LeaseLapseAllowance, t => TaskWebhooks.For(t, now), cancellationToken);
        foreach (var id in requeued)
        {
            LogRequeued(id);
        }

        var expired = await _store.ExpireOverdueAsync(now, t => TaskWebhooks.For(t, now), cancellationToken);
        foreach (var task in expired)
        {
            _events.Publish(new TaskChange(task.Id, task.UserId, TaskState.TimedOut, "the deadline passed before an agent could start it", now, null, task.Attempt));
        }

        if (requeued.Count > 0)
        {
            Wake();
        }
    }

    private async Task WatchHealthAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.HealthCheckSeconds), _time);
        do
        {
            try
            {
                await _agents.RefreshAsync(stoppingToken);
                await _agents.CheckHealthAsync(TimeSpan.FromSeconds(Math.Min(10, _options.HealthCheckSeconds)), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogHealthRoundFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>A task running here, and how to stop it.</summary>
    private sealed class RunningTask : IDisposable
    {
        private readonly ReasonedCancellation _cancel = new();

        public CancellationToken Token => _cancel.Token;

        public bool IsCancellationRequested => _cancel.IsCancellationRequested;

        public string? Reason => _cancel.Reason;

        public Task Completion { get; set; } = Task.CompletedTask;

        private volatile bool _started;

        /// <summary>The store has assigned it to this node and it has been handed to its agent.</summary>
        public bool Started { get => _started; set => _started = value; }

        public void Cancel(string reason) => _cancel.Cancel(reason);

        public void Dispose() => _cancel.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatching failed; trying again at the next poll")]
    private partial void LogDispatchFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Task {TaskId} stays queued: {Reason}")]
    private partial void LogUnroutable(Guid taskId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recording task {TaskId} failed; its lease will lapse and it will run again")]
    private partial void LogRunFailed(Exception exception, Guid taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent} threw while running task {TaskId}")]
    private partial void LogAgentThrew(Exception exception, string agent, Guid taskId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task maintenance failed; trying again shortly")]
    private partial void LogMaintenanceFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} was queued again after its node's lease lapsed")]
    private partial void LogRequeued(Guid taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking agent health failed; trying again next round")]
    private partial void LogHealthRoundFailed(Exception exception);
}

