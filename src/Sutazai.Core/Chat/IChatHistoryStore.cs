namespace Sutazai.Core.Chat;

/// <summary>Where every model call is recorded: who asked, what, what came back, tokens and time.</summary>
public interface IChatHistoryStore
{
    Task AddAsync(ChatHistoryEntry entry, CancellationToken cancellationToken);
}
