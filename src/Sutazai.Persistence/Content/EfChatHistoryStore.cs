using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Chat;

namespace Sutazai.Persistence.Content;

public sealed class EfChatHistoryStore(IDbContextFactory<SutazaiDbContext> contexts) : IChatHistoryStore
{
    public async Task AddAsync(ChatHistoryEntry entry, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.ChatHistory.Add(entry);
        await db.SaveChangesAsync(cancellationToken);
    }
}
