using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Orchestration;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>Agents' claims on every provider: one exclusive holder even under a race, expiry frees the target.</summary>
public abstract class ClaimStoreConformance<TStore> : InitializedStoreTest<TStore>
    where TStore : ITestStore, new()
{
    private IClaimStore Claims => Harness.Services.GetRequiredService<IClaimStore>();

    private DateTimeOffset Now => Harness.Time.GetUtcNow();

    [Fact]
    public async Task Racing_exclusive_claims_leave_exactly_one_holder_and_record_the_rest_as_conflicts()
    {
        var claims = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => Claims.ClaimAsync(Claim($"agent-{i}", "host:db-1"), Now, Cancellation), Cancellation)));

        var holder = Assert.Single(claims, c => c.Status == ClaimStatus.Active);
        Assert.Equal(11, claims.Count(c => c.Status == ClaimStatus.Conflict));
        Assert.All(claims.Where(c => c.Status == ClaimStatus.Conflict), c => Assert.Equal([holder.Agent], c.ConflictsWith));
        Assert.Equal(11, (await Claims.ConflictsAsync(Now.AddMinutes(-1), 100, Cancellation)).Count);
    }

    [Fact]
    public async Task A_lapsed_claim_expires_and_no_longer_blocks_the_target()
    {
        await Claims.ClaimAsync(Claim("a", "file:x", seconds: 30), Now, Cancellation);
        Harness.Time.Advance(TimeSpan.FromSeconds(31));

        var next = await Claims.ClaimAsync(Claim("b", "file:x"), Now, Cancellation);

        Assert.Equal(ClaimStatus.Active, next.Status);
        Assert.Equal(["b"], (await Claims.ActiveAsync("file:x", Now, Cancellation)).Select(c => c.Agent));
        Assert.Null(await Claims.ReleaseAsync("a", "file:x", Now, Cancellation));
    }

    private AgentClaim Claim(string agent, string target, int seconds = 300) =>
        new() { Agent = agent, Target = target, Mode = ClaimMode.Exclusive, ExpiresAt = Now.AddSeconds(seconds) };
}

public sealed class SqliteClaimStoreTests : ClaimStoreConformance<SqliteTestStore>;

public sealed class PostgreSqlClaimStoreTests : ClaimStoreConformance<PostgreSqlTestStore>;
