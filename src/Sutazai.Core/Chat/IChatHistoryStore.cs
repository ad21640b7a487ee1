namespace Sutazai.Core.Chat;

/// <summary>Where every model call is recorded: who asked, what, what came back, tokens and time.</summary>
public interface IChatHistoryStore
{
    Task AddAsync(ChatHistoryEntry entry, CancellationToken cancellationToken);

    /// <summary>Calls, tokens and time summed per group, busiest first.</summary>
    Task<IReadOnlyList<UsageRow>> UsageAsync(UsageQuery query, CancellationToken cancellationToken);
}

/// <summary>What usage to sum, and by what: <see cref="UsageGrouping"/>.</summary>
public sealed record UsageQuery(UsageGrouping GroupBy, DateTimeOffset? From = null, DateTimeOffset? To = null, Guid? UserId = null, string? Model = null);

public enum UsageGrouping
{
    Model,
    Backend,
    User,
    ApiKey,
    Agent,
    Task,
    Operation,
}

/// <summary>One group's usage; <see cref="Key"/> is null for calls without that attribute (no agent, no key, ...).</summary>
public sealed record UsageRow(string? Key, long Calls, long PromptTokens, long CompletionTokens, double AverageMs, double MaxMs);
