using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Resources;
using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>Resource leases on every provider: granted fairly, never beyond the pool, given back, expired.</summary>
public abstract class AllocationStoreConformance<TStore> : InitializedStoreTest<TStore>
    where TStore : ITestStore, new()
{
    private static readonly ResourceAmounts Pool = new(4, 4096, 0, new Dictionary<string, double> { ["licence"] = 1 });

    private IAllocationStore Allocations => Harness.Services.GetRequiredService<IAllocationStore>();

    private DateTimeOffset Now => Harness.Time.GetUtcNow();

    [Fact]
    public async Task A_request_that_fits_is_granted_with_an_expiry_and_asking_again_returns_it()
    {
        var first = await Allocations.RequestAsync(Ask("r1", "a", cores: 1, minutes: 10), Pool, Now, Cancellation);
        var again = await Allocations.RequestAsync(Ask("r1", "a", cores: 3, minutes: 10), Pool, Now, Cancellation);

        Assert.Equal(AllocationStatus.Granted, first.Status);
        Assert.Equal(Now.AddMinutes(10), first.ExpiresAt);
        Assert.Equal((first.Id, 1.0), (again.Id, again.CpuCores));
    }

    [Fact]
    public async Task Releasing_grants_the_next_in_line_and_a_released_request_can_be_asked_for_again()
    {
        var holder = await Allocations.RequestAsync(Ask("holder", "a", licence: 1), Pool, Now, Cancellation);
        var waiter = await Allocations.RequestAsync(Ask("waiter", "b", licence: 1), Pool, Now, Cancellation);

        Assert.Equal(AllocationStatus.Pending, waiter.Status);
        Assert.Contains("licence 1 wanted, 0 available", waiter.Reason, StringComparison.Ordinal);

        var released = await Allocations.ReleaseAsync("holder", Pool, Now, Cancellation);
        Assert.Equal(AllocationStatus.Released, released!.Status);
        Assert.Equal(AllocationStatus.Granted, (await Allocations.FindAsync("waiter", Cancellation))!.Status);

        var renewed = await Allocations.RequestAsync(Ask("holder", "a", licence: 1), Pool, Now, Cancellation);
        Assert.Equal((holder.Id, AllocationStatus.Pending), (renewed.Id, renewed.Status));
        Assert.Null(await Allocations.ReleaseAsync("nobody", Pool, Now, Cancellation));
    }

    [Fact]
    public async Task A_lapsed_lease_expires_and_its_room_goes_to_the_waiting_request_unless_extended()
    {
        await Allocations.RequestAsync(Ask("short", "a", licence: 1, minutes: 1), Pool, Now, Cancellation);
        await Allocations.RequestAsync(Ask("next", "b", licence: 1, minutes: 5), Pool, Now, Cancellation);

        var extended = await Allocations.ExtendAsync("short", 2, Now, Cancellation);
        Harness.Time.Advance(TimeSpan.FromSeconds(90));
        await Allocations.ScheduleAsync(Pool, Now, Cancellation);
        var stillHeld = await Allocations.FindAsync("short", Cancellation);
        Harness.Time.Advance(TimeSpan.FromMinutes(2));
        var granted = await Allocations.ScheduleAsync(Pool, Now, Cancellation);

        Assert.Equal(3, extended!.DurationMinutes);
        Assert.Equal(AllocationStatus.Granted, stillHeld!.Status);
        Assert.Equal("next", Assert.Single(granted).RequestId);
        Assert.Equal(AllocationStatus.Expired, (await Allocations.FindAsync("short", Cancellation))!.Status);
    }

    [Fact]
    public async Task Requests_the_pool_cannot_hold_are_rejected_with_the_reason()
    {
        var rejected = await Allocations.RequestAsync(Ask("huge", "a", cores: 64), Pool, Now, Cancellation);

        Assert.Equal(AllocationStatus.Rejected, rejected.Status);
        Assert.Contains("cpu_cores 64 wanted, 4 available", rejected.Reason, StringComparison.Ordinal);
        Assert.Empty(await Allocations.OpenAsync(Cancellation));
    }

    [Fact]
    public async Task Concurrent_requests_never_grant_more_than_the_pool()
    {
        var requests = Enumerable.Range(0, 24).Select(i => Task.Run(() => Allocations.RequestAsync(Ask($"c{i}", $"r{i % 5}", cores: 0.5), Pool, Now, Cancellation), Cancellation));

        await Task.WhenAll(requests);

        var open = await Allocations.OpenAsync(Cancellation);
        Assert.Equal(8, open.Count(a => a.Status == AllocationStatus.Granted));
        Assert.Equal(16, open.Count(a => a.Status == AllocationStatus.Pending));
    }

    [Fact]
    public async Task A_task_that_ended_gives_its_lease_back()
    {
        var now = Now;
        var task = (await Harness.Services.GetRequiredService<ITaskStore>().CreateAsync(new TaskItem { Title = "needs a licence", CreatedAt = now, DispatchScore = now.UtcTicks }, Cancellation)).Task;
        var lease = Ask("task", "user:x", licence: 1);
        lease.TaskId = task.Id;
        await Allocations.RequestAsync(lease, Pool, Now, Cancellation);
        await Allocations.RequestAsync(Ask("other", "y", licence: 1), Pool, Now, Cancellation);
        await using (var db = await Harness.Contexts.CreateDbContextAsync(Cancellation))
        {
            await db.Tasks.Where(t => t.Id == task.Id).ExecuteUpdateAsync(t => t.SetProperty(x => x.Status, TaskState.Cancelled), Cancellation);
        }

        var granted = await Allocations.ScheduleAsync(Pool, Now, Cancellation);

        Assert.Equal("other", Assert.Single(granted).RequestId);
        var ended = await Allocations.FindAsync("task", Cancellation);
        Assert.Equal((AllocationStatus.Released, "its task ended"), (ended!.Status, ended.Reason));
    }

    private static ResourceAllocation Ask(string requestId, string requester, double cores = 0, double licence = 0, int minutes = 30) => new()
    {
        RequestId = requestId,
        Requester = requester,
        CpuCores = cores,
        Custom = licence > 0 ? new Dictionary<string, double> { ["licence"] = licence } : [],
        DurationMinutes = minutes,
    };
}

public sealed class SqliteAllocationStoreTests : AllocationStoreConformance<SqliteTestStore>;

public sealed class PostgreSqlAllocationStoreTests : AllocationStoreConformance<PostgreSqlTestStore>;
