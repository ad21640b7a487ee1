using Sutazai.Agents.BuiltIn;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Resources;

namespace Sutazai.Agents.Resources;

/// <summary>
/// The allocator: hands out CPU, memory, GPUs and custom resources as leases with priority and expiry, shares
/// them fairly between requesters, and reports the pool's use. Tasks that declare needs are admitted through it.
/// </summary>
public sealed class ResourceArbitrationAgent : BuiltInAgent
{
    private readonly IAllocationStore _store;
    private readonly IResourcePool _pool;

    public ResourceArbitrationAgent(IAllocationStore store, IResourcePool pool, TimeProvider time)
        : base(BuiltInAgents.ResourceArbitrationAgent, time)
    {
        _store = store;
        _pool = pool;
        Handle<RequestInput>(new("allocate", "Ask for {cpu_cores, memory_mb, gpu_count, custom} for duration_minutes at a priority; granted now or queued fairly."), AllocateAsync);
        Handle<RequestIdInput>(new("status", "Where a request stands: granted, waiting (and why), released, expired or rejected."), StatusAsync);
        Handle<ExtendInput>(new("extend", "Lengthen a granted or waiting lease by some minutes."), ExtendAsync);
        Handle<RequestIdInput>(new("release", "Give a lease back; waiting requests that now fit are granted."), ReleaseAsync);
        Handle<EmptyInput>(new("usage", "The pool: capacity, granted, free, each requester's share, and the waiting line.", Permissions.SystemMonitor), UsageAsync);
    }

    private async Task<AgentResult> AllocateAsync(RequestInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var amounts = new ResourceAmounts(input.CpuCores, input.MemoryMb, input.GpuCount, input.Custom ?? new Dictionary<string, double>());
        if (amounts.IsEmpty || amounts.Parts().Any(p => p.Amount < 0))
        {
            return AgentResult.Failure("Ask for a positive amount of at least one resource (cpu_cores, memory_mb, gpu_count or a custom one), and nothing negative.");
        }

        if (input.Priority is < 1 or > 10 || input.DurationMinutes is < 1 or > 10_080)
        {
            return AgentResult.Failure("priority must be 1 to 10 and duration_minutes 1 to 10080.");
        }

        var requester = input.AgentId ?? (request.Caller.UserId is { } user ? $"user:{user}" : "system");
        var allocation = await _store.RequestAsync(
            new ResourceAllocation
            {
                RequestId = input.RequestId ?? $"req:{request.TaskId}",
                Requester = requester,
                UserId = request.Caller.UserId,
                CpuCores = amounts.CpuCores,
                MemoryMb = amounts.MemoryMb,
                GpuCount = amounts.GpuCount,
                Custom = new Dictionary<string, double>(amounts.Custom, StringComparer.Ordinal),
                Priority = input.Priority,
                DurationMinutes = input.DurationMinutes,
            },
            _pool.Capacity,
            Time.GetUtcNow(),
            cancellationToken);
        return AgentResult.Success(View(allocation));
    }

    private async Task<AgentResult> StatusAsync(RequestIdInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        await _store.ScheduleAsync(_pool.Capacity, Time.GetUtcNow(), cancellationToken);
        return await _store.FindAsync(input.RequestId, cancellationToken) is { } allocation
            ? AgentResult.Success(View(allocation))
            : AgentResult.Failure($"There is no request '{input.RequestId}'.");
    }

    private async Task<AgentResult> ExtendAsync(ExtendInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (input.Minutes is < 1 or > 10_080)
        {
            return AgentResult.Failure("minutes must be 1 to 10080.");
        }

        var allocation = await _store.ExtendAsync(input.RequestId, input.Minutes, Time.GetUtcNow(), cancellationToken);
        return allocation switch
        {
            null => AgentResult.Failure($"There is no request '{input.RequestId}'."),
            { Status: AllocationStatus.Granted or AllocationStatus.Pending } => AgentResult.Success(View(allocation)),
            _ => AgentResult.Failure($"'{input.RequestId}' is {allocation.Status.ToString().ToLowerInvariant()}; only granted or waiting leases can be extended."),
        };
    }

    private async Task<AgentResult> ReleaseAsync(RequestIdInput input, AgentRequest request, CancellationToken cancellationToken) =>
        await _store.ReleaseAsync(input.RequestId, _pool.Capacity, Time.GetUtcNow(), cancellationToken) is { } allocation
            ? AgentResult.Success(View(allocation))
            : AgentResult.Failure($"There is no request '{input.RequestId}'.");

    private async Task<AgentResult> UsageAsync(EmptyInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        await _store.ScheduleAsync(_pool.Capacity, now, cancellationToken);
        var open = await _store.OpenAsync(cancellationToken);
        var granted = open.Where(a => a.Status == AllocationStatus.Granted).ToList();
        var used = ResourceAmounts.Sum(granted.Select(a => a.Amounts));
        var capacity = _pool.Capacity;
        return AgentResult.Success(new
        {
            capacity = Amounts(capacity),
            granted = Amounts(used),
            free = Amounts(FairShareScheduler.Subtract(capacity, used)),
            requesters = granted.GroupBy(a => a.Requester).Select(g =>
            {
                var held = ResourceAmounts.Sum(g.Select(a => a.Amounts));
                return new { requester = g.Key, leases = g.Count(), held = Amounts(held), dominant_share = Math.Round(FairShareScheduler.DominantShare(held, capacity), 4) };
            }).OrderByDescending(r => r.dominant_share),
            leases = granted.Select(View),
            waiting = open.Where(a => a.Status == AllocationStatus.Pending).Select(View),
        });
    }

    private static object Amounts(ResourceAmounts amounts) => new
    {
        cpu_cores = Math.Round(amounts.CpuCores, 3),
        memory_mb = amounts.MemoryMb,
        gpu_count = amounts.GpuCount,
        custom = amounts.Custom,
    };

    private static object View(ResourceAllocation a) => new
    {
        request_id = a.RequestId,
        requester = a.Requester,
        task_id = a.TaskId,
        status = a.Status,
        reason = a.Reason,
        priority = a.Priority,
        amounts = Amounts(a.Amounts),
        duration_minutes = a.DurationMinutes,
        requested_at = a.RequestedAt,
        granted_at = a.GrantedAt,
        expires_at = a.ExpiresAt,
        ended_at = a.EndedAt,
    };

    /// <param name="AgentId">Who the lease is for (the original shape's agent_id); defaults to the submitting user.</param>
    public sealed record RequestInput(
        string? AgentId = null,
        string? RequestId = null,
        double CpuCores = 0,
        long MemoryMb = 0,
        int GpuCount = 0,
        Dictionary<string, double>? Custom = null,
        int Priority = 5,
        int DurationMinutes = 30);

    public sealed record RequestIdInput(string RequestId = "");

    public sealed record ExtendInput(string RequestId = "", int Minutes = 15);

    public sealed record EmptyInput;
}
