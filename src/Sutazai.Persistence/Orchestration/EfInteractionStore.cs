using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Orchestration;

namespace Sutazai.Persistence.Orchestration;

public sealed class EfInteractionStore(IDbContextFactory<SutazaiDbContext> contexts) : IInteractionStore
{
    public async Task<(AgentInteraction Interaction, bool Created)> AddAsync(AgentInteraction interaction, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (await FindAsync(db, interaction.InteractionId, cancellationToken) is { } existing)
        {
            return (existing, false);
        }

        db.AgentInteractions.Add(interaction);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return (interaction, true);
        }
        catch (DbUpdateException)
        {
            // Another node stored the same interaction id first.
            await using var fresh = await contexts.CreateDbContextAsync(cancellationToken);
            return (await FindAsync(fresh, interaction.InteractionId, cancellationToken) ?? throw new InvalidOperationException($"Interaction {interaction.InteractionId} could not be stored."), false);
        }
    }

    public async Task<AgentInteraction?> FindAsync(string interactionId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await FindAsync(db, interactionId, cancellationToken);
    }

    public async Task SetTaskAsync(string interactionId, Guid taskId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.AgentInteractions.Where(i => i.InteractionId == interactionId).ExecuteUpdateAsync(i => i.SetProperty(x => x.TaskId, taskId), cancellationToken);
    }

    public async Task<bool> CloseAsync(string interactionId, InteractionStatus status, string? error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var closed = await db.AgentInteractions
            .Where(i => i.InteractionId == interactionId && i.Status == InteractionStatus.Open)
            .ExecuteUpdateAsync(i => i.SetProperty(x => x.Status, status).SetProperty(x => x.Error, error).SetProperty(x => x.ClosedAt, now), cancellationToken);
        return closed == 1;
    }

    public async Task<IReadOnlyList<AgentInteraction>> ThreadAsync(string correlationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.AgentInteractions.AsNoTracking()
            .Where(i => i.CorrelationId == correlationId)
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id)
            .ToListAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AgentInteraction>> RecentAsync(string? agent, int limit, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.AgentInteractions.AsNoTracking();
        if (agent is not null)
        {
            query = query.Where(i => i.SourceAgent == agent || i.TargetAgent == agent);
        }

        return await query.OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Id).Take(limit).ToListAsync(cancellationToken);
    }

    private static Task<AgentInteraction?> FindAsync(SutazaiDbContext db, string interactionId, CancellationToken cancellationToken) =>
        db.AgentInteractions.AsNoTracking().SingleOrDefaultAsync(i => i.InteractionId == interactionId, cancellationToken);
}
