using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sutazai.Core;
using Sutazai.Core.Chat;

namespace Sutazai.Persistence.Content;

/// <summary>
/// Usage records, written behind each call's answer: those made at the same moment are stored with one INSERT in
/// one transaction, and a reader first waits for every record made before it asked.
/// </summary>
public sealed partial class EfChatHistoryStore(IDbContextFactory<SutazaiDbContext> contexts, ILogger<EfChatHistoryStore> logger)
    : IChatHistoryStore, IAsyncDisposable, IDisposable
{
    /// <summary>Records waiting to be stored before a caller waits for its own.</summary>
    private const int MaxBehind = 1000;

    private readonly GroupCommit<ChatHistoryEntry, bool> _writes = new(async (entries, cancellationToken) =>
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await RowsInsert.ExecuteAsync(db, entries, cancellationToken);
        return [.. entries.Select(_ => true)];
    }, linger: GroupCommit.BehindLinger);

    public ValueTask RecordAsync(ChatHistoryEntry entry) =>
        _writes.CommitBehindAsync(entry, MaxBehind, (lost, e) => LogRecordLost(e, lost.Id, lost.Model, lost.Operation));

    public Task FlushAsync() => _writes.FlushAsync();

    public ValueTask DisposeAsync() => _writes.DisposeAsync();

    public void Dispose() => _writes.Dispose();

    public async Task<IReadOnlyList<UsageRow>> UsageAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        await FlushAsync();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var calls = db.ChatHistory.AsNoTracking();
        if (query.From is { } from)
        {
            calls = calls.Where(c => c.CreatedAt >= from);
        }

        if (query.To is { } to)
        {
            calls = calls.Where(c => c.CreatedAt < to);
        }

        if (query.UserId is { } user)
        {
            calls = calls.Where(c => c.UserId == user);
        }

        if (query.Model is { } model)
        {
            calls = calls.Where(c => c.Model == model);
        }

        return query.GroupBy switch
        {
            UsageGrouping.Model => await SumAsync(calls, c => c.Model, k => k, cancellationToken),
            UsageGrouping.Backend => await SumAsync(calls, c => c.Backend, k => k, cancellationToken),
            UsageGrouping.Operation => await SumAsync(calls, c => c.Operation, k => k, cancellationToken),
            UsageGrouping.Agent => await SumAsync(calls, c => c.AgentUsed, k => k, cancellationToken),
            UsageGrouping.User => await SumAsync(calls, c => c.UserId, k => k?.ToString(), cancellationToken),
            UsageGrouping.ApiKey => await SumAsync(calls, c => c.ApiKeyId, k => k?.ToString(), cancellationToken),
            UsageGrouping.Task => await SumAsync(calls, c => c.TaskId, k => k?.ToString(), cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(query), query.GroupBy, "unknown grouping"),
        };
    }

    private static async Task<IReadOnlyList<UsageRow>> SumAsync<TKey>(
        IQueryable<ChatHistoryEntry> calls, Expression<Func<ChatHistoryEntry, TKey>> key, Func<TKey, string?> show, CancellationToken cancellationToken)
    {
        var sums = await calls.GroupBy(key)
            .Select(g => new
            {
                g.Key,
                Calls = g.LongCount(),
                Prompt = g.Sum(c => (long)c.PromptTokens),
                Completion = g.Sum(c => (long)c.CompletionTokens),
                Average = g.Average(c => c.ResponseTimeMs),
                Max = g.Max(c => c.ResponseTimeMs),
            })
            .ToListAsync(cancellationToken);
        return [.. sums.Select(s => new UsageRow(show(s.Key), s.Calls, s.Prompt, s.Completion, s.Average, s.Max)).OrderByDescending(r => r.Calls).ThenBy(r => r.Key, StringComparer.Ordinal)];
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Could not store the usage record {Id} of a {Operation} call to {Model}")]
    private partial void LogRecordLost(Exception exception, Guid id, string model, string operation);
}
