using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Sutazai.Core.Tasks;

namespace Sutazai.Core.Resources;

/// <summary>
/// Lets a task that declares resource needs start only once the arbiter grants them, and gives them back when the
/// attempt ends. The task's allocation has the request id <c>task:{id}</c>, so every node asks for the same one.
/// </summary>
public sealed class ResourceAdmission(IAllocationStore store, IResourcePool pool, IOptions<TaskOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<Guid, string> _waiting = new();

    public static string RequestIdFor(Guid taskId) => $"task:{taskId}";

    public static ResourceAmounts? NeedsOf(TaskItem task) =>
        task.ResourceNeedsJson is null ? null : JsonSerializer.Deserialize<ResourceAmounts>(task.ResourceNeedsJson, Json);

    public static string Serialize(ResourceAmounts needs) => JsonSerializer.Serialize(needs, Json);

    /// <returns>Null when the task may start now; otherwise why it waits.</returns>
    public async Task<string?> AdmitAsync(TaskItem task, CancellationToken cancellationToken)
    {
        if (NeedsOf(task) is not { IsEmpty: false } needs)
        {
            return null;
        }

        var settings = options.Value;
        var seconds = (task.TimeoutSeconds ?? settings.DefaultTimeoutSeconds) + settings.LeaseSeconds;
        var allocation = await store.RequestAsync(
            new ResourceAllocation
            {
                RequestId = RequestIdFor(task.Id),
                Requester = task.UserId is { } user ? $"user:{user}" : "system",
                TaskId = task.Id,
                UserId = task.UserId,
                CpuCores = needs.CpuCores,
                MemoryMb = needs.MemoryMb,
                GpuCount = needs.GpuCount,
                Custom = new Dictionary<string, double>(needs.Custom, StringComparer.Ordinal),
                Priority = task.Priority,
                DurationMinutes = (int)Math.Ceiling(seconds / 60.0),
            },
            pool.Capacity,
            time.GetUtcNow(),
            cancellationToken);
        if (allocation.Status == AllocationStatus.Granted)
        {
            _waiting.TryRemove(task.Id, out _);
            return null;
        }

        var reason = $"waiting for resources: {allocation.Reason ?? allocation.Status.ToString().ToLowerInvariant()}";
        _waiting[task.Id] = reason;
        return reason;
    }

    /// <summary>The tasks this node set aside for want of resources, with why; taking them clears the list.</summary>
    public IReadOnlyList<KeyValuePair<Guid, string>> TakeWaiting()
    {
        var taken = new List<KeyValuePair<Guid, string>>();
        foreach (var id in _waiting.Keys)
        {
            if (_waiting.TryRemove(id, out var reason))
            {
                taken.Add(new(id, reason));
            }
        }

        return taken;
    }

    /// <returns>True when the task held resources that are now free.</returns>
    public async Task<bool> ReleaseAsync(TaskItem task, CancellationToken cancellationToken)
    {
        if (task.ResourceNeedsJson is null)
        {
            return false;
        }

        var released = await store.ReleaseAsync(RequestIdFor(task.Id), pool.Capacity, time.GetUtcNow(), cancellationToken);
        return released is not null;
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
