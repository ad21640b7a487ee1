using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sutazai.Core.Tasks;

namespace Sutazai.Core.Agents;

/// <summary>Builds the agent that serves a registered external (HTTP) agent.</summary>
public interface IHttpAgentFactory
{
    IAgent Create(Agent definition);
}

/// <summary>Builds the agent that serves a declared LLM agent; null, saying why, when its definition cannot be used.</summary>
public interface ILlmAgentFactory
{
    IAgent? Create(Agent definition, out string? problem);
}

/// <summary>
/// Every registered agent with what runs it, its health and how busy it is on this node. Definitions come from
/// the store (so agents registered at run time on any node appear here on the next refresh); built-in agents
/// are matched to their implementations, HTTP agents get a client.
/// </summary>
public sealed partial class AgentDirectory(
    IAgentCatalog catalog,
    IServiceProvider services,
    IHttpAgentFactory httpAgents,
    TimeProvider time,
    ILogger<AgentDirectory> logger) : IDisposable
{
    // Resolved on first use: some built-in agents submit tasks themselves, so they depend on the engine, which
    // depends on this directory.
    private readonly Lazy<Dictionary<string, IAgent>> _builtIns = new(() => services.GetServices<IAgent>().ToDictionary(a => a.Name, StringComparer.Ordinal));
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private volatile IReadOnlyList<AgentEntry> _entries = [];

    /// <summary>Raised when agents were added, removed, changed or changed health, so waiting work can be routed again.</summary>
    public event Action? Changed;

    public IReadOnlyList<AgentEntry> Entries => _entries;

    public AgentEntry? Find(Guid id) => _entries.FirstOrDefault(e => e.Definition.Id == id);

    public AgentEntry? Find(string name) => _entries.FirstOrDefault(e => e.Definition.Name == name);

    /// <summary>Reloads definitions from the store, keeping each known agent's counters and health.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshGate.WaitAsync(cancellationToken);
        try
        {
            var definitions = await catalog.LoadAsync(cancellationToken);
            var previous = _entries.ToDictionary(e => e.Definition.Id);
            var next = new List<AgentEntry>(definitions.Count);
            foreach (var definition in definitions)
            {
                if (previous.TryGetValue(definition.Id, out var existing) && existing.Definition.UpdatedAt == definition.UpdatedAt)
                {
                    existing.Definition = definition;
                    next.Add(existing);
                    continue;
                }

                var (implementation, unavailable) = Implement(definition);
                next.Add(new AgentEntry(definition, implementation, unavailable, existing));
            }

            _entries = next;
        }
        finally
        {
            _refreshGate.Release();
        }

        Changed?.Invoke();
    }

    /// <summary>Asks every active agent whether it can take work, and records the answers with their latency.</summary>
    public async Task CheckHealthAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var changed = false;
        await Parallel.ForEachAsync(_entries.Where(e => e.Definition.IsActive), cancellationToken, async (entry, ct) =>
        {
            var started = time.GetTimestamp();
            AgentHealthReport report;
            if (entry.Implementation is null)
            {
                report = new AgentHealthReport(AgentHealthStatus.Unhealthy, entry.UnavailableReason);
            }
            else
            {
                using var timer = new CancellationTokenSource(timeout, time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
                try
                {
                    report = await entry.Implementation.CheckHealthAsync(linked.Token);
                }
                catch (OperationCanceledException) when (timer.IsCancellationRequested)
                {
                    report = new AgentHealthReport(AgentHealthStatus.Unhealthy, $"no health answer within {timeout.TotalSeconds:0.#} s");
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    report = new AgentHealthReport(AgentHealthStatus.Unhealthy, $"health check failed: {e.Message}");
                }
            }

            var latency = time.GetElapsedTime(started).TotalMilliseconds;
            var (successes, errors) = entry.TakeCounts();
            if (entry.Health != report.Status)
            {
                changed = true;
                LogHealthChanged(entry.Definition.Name, entry.Health, report.Status, report.Detail);
            }

            entry.SetHealth(report, latency);
            await catalog.RecordHealthAsync(entry.Definition.Id, report, latency, successes, errors, time.GetUtcNow(), ct);
        });

        if (changed)
        {
            Changed?.Invoke();
        }
    }

    public void Dispose() => _refreshGate.Dispose();

    private (IAgent? Implementation, string? Unavailable) Implement(Agent definition) => definition.Kind switch
    {
        AgentKind.BuiltIn when _builtIns.Value.TryGetValue(definition.Name, out var builtIn) => (builtIn, null),
        AgentKind.BuiltIn => (null, "no implementation of this built-in agent is installed in this build"),
        AgentKind.Http when !string.IsNullOrWhiteSpace(definition.Endpoint) => (httpAgents.Create(definition), null),
        AgentKind.Http => (null, "the HTTP agent has no endpoint"),
        AgentKind.Llm => Llm(definition),
        _ => (null, $"agents of kind {definition.Kind} cannot run here"),
    };

    private (IAgent? Implementation, string? Unavailable) Llm(Agent definition)
    {
        if (services.GetService<ILlmAgentFactory>() is not { } factory)
        {
            return (null, "this build runs no LLM agents");
        }

        var agent = factory.Create(definition, out var problem);
        return (agent, agent is null ? problem : null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Agent} is now {Status} (was {Previous}): {Detail}")]
    private partial void LogHealthChanged(string agent, AgentHealthStatus previous, AgentHealthStatus status, string? detail);
}

/// <summary>An agent as this node sees it: its definition, what runs it, its health and its current load here.</summary>
public sealed class AgentEntry
{
    private int _inFlight;
    private long _successes;
    private long _errors;

    public AgentEntry(Agent definition, IAgent? implementation, string? unavailableReason, AgentEntry? previous)
    {
        Definition = definition;
        Implementation = implementation;
        UnavailableReason = unavailableReason;
        ActionNames = implementation?.Actions.Select(a => a.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        if (previous is not null)
        {
            _inFlight = previous._inFlight;
            Health = previous.Health;
            HealthDetail = previous.HealthDetail;
            LatencyMs = previous.LatencyMs;
        }
        else
        {
            Health = definition.HealthStatus;
            HealthDetail = definition.HealthDetail;
            LatencyMs = definition.LastLatencyMs;
        }
    }

    public Agent Definition { get; internal set; }

    public IAgent? Implementation { get; }

    /// <summary>Why nothing can run this agent here, when nothing can.</summary>
    public string? UnavailableReason { get; }

    public IReadOnlySet<string> ActionNames { get; }

    public AgentHealthStatus Health { get; private set; }

    public string? HealthDetail { get; private set; }

    public double? LatencyMs { get; private set; }

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>How many more tasks it could take now: none when it cannot run or is unhealthy.</summary>
    public int FreeSlots => UnavailableReason is null && Definition.IsActive && Health != AgentHealthStatus.Unhealthy
        ? Math.Max(0, Definition.MaxConcurrency - InFlight)
        : 0;

    /// <summary>It could take work but every slot here is taken: tasks addressed to it wait without being looked at.</summary>
    public bool IsFull => UnavailableReason is null && Definition.IsActive && Health != AgentHealthStatus.Unhealthy && InFlight >= Definition.MaxConcurrency;

    /// <summary>An agent with no declared actions takes any action.</summary>
    public bool Offers(string? action) => action is null || Implementation is { Actions.Count: 0 } || ActionNames.Contains(action);

    public AgentAction? Action(string? action) => Implementation?.Actions.FirstOrDefault(a => a.Name == action);

    /// <summary>Takes one of the agent's slots on this node, unless all are taken.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _inFlight);
            if (current >= Definition.MaxConcurrency)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Release() => Interlocked.Decrement(ref _inFlight);

    public void CountSuccess() => Interlocked.Increment(ref _successes);

    public void CountError() => Interlocked.Increment(ref _errors);

    internal (long Successes, long Errors) TakeCounts() => (Interlocked.Exchange(ref _successes, 0), Interlocked.Exchange(ref _errors, 0));

    internal void SetHealth(AgentHealthReport report, double latencyMs)
    {
        Health = report.Status;
        HealthDetail = report.Detail;
        LatencyMs = latencyMs;
    }
}
