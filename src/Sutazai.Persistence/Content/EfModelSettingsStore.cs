using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Models;

namespace Sutazai.Persistence.Content;

/// <summary>The default model is the model_registry row marked default; choosing another moves the mark in one transaction.</summary>
public sealed class EfModelSettingsStore(IDbContextFactory<SutazaiDbContext> contexts) : IModelSettingsStore
{
    public async Task<string?> GetDefaultModelAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // Two admins choosing at once on PostgreSQL could leave two marks; the later choice wins.
        return await db.Models.AsNoTracking().Where(m => m.IsDefault).OrderByDescending(m => m.UpdatedAt).Select(m => m.Name).FirstOrDefaultAsync(cancellationToken);
    }

    public async Task SetDefaultModelAsync(string model, string backend, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            await db.Models.Where(m => m.IsDefault && m.Name != model)
                .ExecuteUpdateAsync(m => m.SetProperty(x => x.IsDefault, false).SetProperty(x => x.UpdatedAt, now), cancellationToken);
            var entry = await db.Models.FirstOrDefaultAsync(m => m.Name == model, cancellationToken);
            if (entry is null)
            {
                db.Models.Add(new ModelEntry { Name = model, Backend = backend, Status = ModelStatus.Available, IsDefault = true, CreatedAt = now, UpdatedAt = now });
            }
            else
            {
                entry.IsDefault = true;
                entry.Backend = backend;
                entry.UpdatedAt = now;
            }

            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });
    }
}
