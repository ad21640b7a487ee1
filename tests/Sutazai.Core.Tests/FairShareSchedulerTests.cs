using Sutazai.Core.Resources;

namespace Sutazai.Core.Tests;

public sealed class FairShareSchedulerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);

    private static readonly ResourceAmounts Pool = new(4, 8192, 0, new Dictionary<string, double> { ["licence"] = 2 });

    private static ResourceAllocation Ask(string requester, double cores, int priority = 5, int secondsAfter = 0, double licences = 0) => new()
    {
        RequestId = $"{requester}-{Guid.NewGuid():N}",
        Requester = requester,
        CpuCores = cores,
        Custom = licences > 0 ? new Dictionary<string, double> { ["licence"] = licences } : [],
        Priority = priority,
        RequestedAt = T0.AddSeconds(secondsAfter),
    };

    [Fact]
    public void Everything_that_fits_is_granted_in_one_decision()
    {
        var a = Ask("a", 1);
        var b = Ask("b", 2, secondsAfter: 1);

        var decision = FairShareScheduler.Decide(Pool, [], [a, b]);

        Assert.Equal([a, b], decision.Grant);
        Assert.Empty(decision.Wait);
        Assert.Empty(decision.Reject);
    }

    [Fact]
    public void A_more_urgent_request_is_served_before_an_older_one()
    {
        var held = Ask("x", 3);
        var old = Ask("a", 1, priority: 8);
        var urgent = Ask("b", 1, priority: 1, secondsAfter: 60);

        var decision = FairShareScheduler.Decide(Pool, [held], [old, urgent]);

        Assert.Equal([urgent], decision.Grant);
        var (waiting, reason) = Assert.Single(decision.Wait);
        Assert.Same(old, waiting);
        Assert.Contains("cpu_cores 1 wanted, 0 available", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void At_equal_priority_the_requester_holding_less_goes_first()
    {
        // "hog" already holds half the cores; "newcomer" asked later but holds nothing.
        var held = Ask("hog", 2);
        var hogAgain = Ask("hog", 2);
        var newcomer = Ask("newcomer", 2, secondsAfter: 30);

        var decision = FairShareScheduler.Decide(Pool, [held], [hogAgain, newcomer]);

        Assert.Equal([newcomer], decision.Grant);
        Assert.Same(hogAgain, Assert.Single(decision.Wait).Allocation);
    }

    [Fact]
    public void Dominant_share_counts_the_scarcest_resource()
    {
        // One of two licences is half the pool, although it is few cores: "licensed" is the bigger holder.
        var licensed = Ask("licensed", 0.5, licences: 1);
        var cores = Ask("cores", 1);

        Assert.Equal(0.5, FairShareScheduler.DominantShare(licensed.Amounts, Pool));
        Assert.Equal(0.25, FairShareScheduler.DominantShare(cores.Amounts, Pool));

        var fromLicensed = Ask("licensed", 3, secondsAfter: 1);
        var fromCores = Ask("cores", 3, secondsAfter: 2);
        var decision = FairShareScheduler.Decide(new ResourceAmounts(5, 8192, 0, Pool.Custom), [licensed, cores], [fromLicensed, fromCores]);
        Assert.Equal([fromCores], decision.Grant);
    }

    [Fact]
    public void Within_a_priority_and_share_it_is_first_come_first_served()
    {
        var held = Ask("x", 3);
        var first = Ask("a", 1, secondsAfter: 1);
        var second = Ask("b", 1, secondsAfter: 2);

        var decision = FairShareScheduler.Decide(Pool, [held], [second, first]);

        Assert.Equal([first], decision.Grant);
        Assert.Same(second, Assert.Single(decision.Wait).Allocation);
    }

    [Fact]
    public void A_large_request_at_the_head_is_not_passed_by_smaller_ones_behind_it()
    {
        var held = Ask("x", 2);
        var large = Ask("a", 3, secondsAfter: 1);
        var small = Ask("b", 1, secondsAfter: 2);

        var decision = FairShareScheduler.Decide(Pool, [held], [large, small]);

        Assert.Empty(decision.Grant);
        Assert.Equal([large, small], decision.Wait.Select(w => w.Allocation));
        Assert.Contains("in line behind 1", decision.Wait[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Requests_the_pool_could_never_hold_are_rejected_not_queued()
    {
        var tooMany = Ask("a", 16);
        var unknown = new ResourceAllocation { RequestId = "u", Requester = "b", Custom = new() { ["tpu"] = 1 }, RequestedAt = T0 };
        var fits = Ask("c", 1);

        var decision = FairShareScheduler.Decide(Pool, [], [tooMany, unknown, fits]);

        Assert.Equal([fits], decision.Grant);
        Assert.Equal(2, decision.Reject.Count);
        Assert.Contains("cpu_cores 16 wanted, 4 available", decision.Reject[0].Reason, StringComparison.Ordinal);
        Assert.Contains("tpu 1 wanted, 0 configured (unknown resource)", decision.Reject[1].Reason, StringComparison.Ordinal);
    }
}
