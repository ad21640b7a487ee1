using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Orchestration;

namespace Sutazai.Persistence.Orchestration;

/// <summary>Claims on EF Core; every claim is decided under one lock, so two nodes never both grant a collision.</summary>
public sealed class EfClaimStore(IDbContextFactory<SutazaiDbContext> contexts) : IClaimStore
{
    public Task<AgentClaim> ClaimAsync(AgentClaim claim, DateTimeOffset now, CancellationToken cancellationToken) =>
        SerializedWork.RunAsync(contexts, SerializedWork.AgentClaims, async db =>
        {
            await ExpireAsync(db, now, cancellationToken);
            var live = await db.AgentClaims.Where(c => c.Status == ClaimStatus.Active && c.Target == claim.Target).ToListAsync(cancellationToken);
            var collisions = ClaimRules.Collisions(claim, live);
            claim.CreatedAt = now;
            if (collisions.Count > 0)
            {
                claim.Status = ClaimStatus.Conflict;
                claim.ConflictsWith = [.. collisions.Select(c => c.Agent).Distinct().Order(StringComparer.Ordinal)];
                claim.Reason = string.Join("; ", collisions.Select(c => $"{c.Agent} holds {(c.Mode == ClaimMode.Exclusive ? "an exclusive" : "a shared")} claim until {c.ExpiresAt:O}{(c.Purpose.Length > 0 ? $" ({c.Purpose})" : "")}"));
                claim.EndedAt = now;
                db.AgentClaims.Add(claim);
            }
            else if (live.FirstOrDefault(c => c.Agent == claim.Agent) is { } own)
            {
                // The agent already holds the target: the claim is renewed (and may change mode).
                (own.Mode, own.ExpiresAt, own.Purpose) = (claim.Mode, claim.ExpiresAt, claim.Purpose);
                claim = own;
            }
            else
            {
                claim.Status = ClaimStatus.Active;
                db.AgentClaims.Add(claim);
            }

            await db.SaveChangesAsync(cancellationToken);
            return claim;
        }, cancellationToken);

    public Task<AgentClaim?> ReleaseAsync(string agent, string target, DateTimeOffset now, CancellationToken cancellationToken) =>
        SerializedWork.RunAsync(contexts, SerializedWork.AgentClaims, async db =>
        {
            var claim = await db.AgentClaims.SingleOrDefaultAsync(c => c.Status == ClaimStatus.Active && c.Agent == agent && c.Target == target, cancellationToken);
            if (claim is not null)
            {
                claim.Status = ClaimStatus.Released;
                claim.EndedAt = now;
                await db.SaveChangesAsync(cancellationToken);
            }

            return claim;
        }, cancellationToken);

    public async Task<IReadOnlyList<AgentClaim>> ActiveAsync(string? target, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.AgentClaims.AsNoTracking().Where(c => c.Status == ClaimStatus.Active && c.ExpiresAt > now);
        if (target is not null)
        {
            query = query.Where(c => c.Target == target);
        }

        return await query.OrderBy(c => c.Target).ThenBy(c => c.CreatedAt).Take(1000).ToListAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AgentClaim>> ConflictsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.AgentClaims.AsNoTracking()
            .Where(c => c.Status == ClaimStatus.Conflict && c.CreatedAt >= since)
            .OrderByDescending(c => c.CreatedAt).ThenByDescending(c => c.Id)
            .Take(limit)
            .ToListAsync(cancellationToken);
    }

    private static Task<int> ExpireAsync(SutazaiDbContext db, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.AgentClaims
            .Where(c => c.Status == ClaimStatus.Active && c.ExpiresAt <= now)
            .ExecuteUpdateAsync(c => c.SetProperty(x => x.Status, ClaimStatus.Expired).SetProperty(x => x.EndedAt, now), cancellationToken);
}
