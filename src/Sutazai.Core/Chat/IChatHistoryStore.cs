namespace Sutazai.Core.Chat;

/// <summary>Where every model call is recorded: who asked, what, what came back, tokens and time.</summary>
public interface IChatHistoryStore
{
    /// <summary>
    /// Records a call behind its answer: returns once the record is queued (it is stored a moment later, with
    /// others made at the same time), and waits only when the store has fallen far behind. A record that cannot be
    /// stored is logged as critical. Readers here see every record made before they asked.
    /// </summary>
    ValueTask RecordAsync(ChatHistoryEntry entry);

    /// <summary>Waits until every record made before now is stored.</summary>
    Task FlushAsync();

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
