using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Agents;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Agents;

public sealed class EfAgentCatalog(IDbContextFactory<SutazaiDbContext> contexts) : IAgentCatalog
{
    public async Task<IReadOnlyList<Agent>> LoadAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Agents.AsNoTracking().OrderBy(a => a.Name).ToListAsync(cancellationToken);
    }

    public async Task RecordHealthAsync(Guid agentId, AgentHealthReport report, double latencyMs, long successes, long errors, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Agents.Where(a => a.Id == agentId).ExecuteUpdateAsync(a => a
            .SetProperty(x => x.HealthStatus, report.Status)
            .SetProperty(x => x.HealthDetail, report.Detail)
            .SetProperty(x => x.LastHeartbeatAt, at)
            .SetProperty(x => x.LastLatencyMs, latencyMs)
            .SetProperty(x => x.SuccessCount, x => x.SuccessCount + successes)
            .SetProperty(x => x.ErrorCount, x => x.ErrorCount + errors), cancellationToken);
        var totals = await db.Agents.AsNoTracking().Where(a => a.Id == agentId).Select(a => new { a.SuccessCount, a.ErrorCount }).SingleOrDefaultAsync(cancellationToken);
        if (totals is not null)
        {
            db.AgentHealth.Add(new AgentHealthSample
            {
                AgentId = agentId,
                Status = report.Status.ToString().ToLowerInvariant(),
                RecordedAt = at,
                ResponseTimeMs = latencyMs,
                SuccessCount = totals.SuccessCount,
                ErrorCount = totals.ErrorCount,
                MetadataJson = report.Detail is null ? null : System.Text.Json.JsonSerializer.Serialize(new { detail = report.Detail }),
            });
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}
