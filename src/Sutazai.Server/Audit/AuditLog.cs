using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Audit;

/// <summary>
/// Writes audit entries in their own unit of work, so a failing request cannot take its record with it. Entries
/// written at the same moment share one INSERT in one transaction; each writer waits until its entry is stored,
/// except for entries written behind (<see cref="RecordBehindAsync"/>). Readers call <see cref="FlushAsync"/> first.
/// </summary>
public sealed partial class AuditLog(IDbContextFactory<SutazaiDbContext> contexts, TimeProvider time, ILogger<AuditLog> logger) : IAuditSink, IAsyncDisposable, IDisposable
{
    /// <summary>Entries written behind that may wait to be stored before a writer waits for its own.</summary>
    private const int MaxBehind = 1000;

    private readonly GroupCommit<AuditEntry, bool> _writes = new(async (entries, cancellationToken) =>
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await RowsInsert.ExecuteAsync(db, entries, cancellationToken);
        return [.. entries.Select(_ => true)];
    }, linger: GroupCommit.BehindLinger);

    /// <summary>Waits until every entry recorded before now is stored.</summary>
    public Task FlushAsync() => _writes.FlushAsync();

    public ValueTask DisposeAsync() => _writes.DisposeAsync();

    public void Dispose() => _writes.Dispose();

    /// <summary>Records an entry an engine made, with no request behind it (an audited agent action, say).</summary>
    public async Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        if (entry.ActorUserId is { } userId && entry.ActorName is null)
        {
            await using var names = await contexts.CreateDbContextAsync(cancellationToken);
            entry.ActorName = await names.Users.Where(u => u.Id == userId).Select(u => u.Username).SingleOrDefaultAsync(cancellationToken);
        }

        await SaveAsync(entry);
    }

    public Task RecordAsync(HttpContext context, AuditEvent auditEvent, CancellationToken cancellationToken = default) => SaveAsync(Entry(context, auditEvent));

    /// <summary>
    /// Records an entry without waiting for it to be stored (it is, a moment later, with the others made then),
    /// unless the log has fallen far behind; an entry that cannot be stored is logged as critical. For requests
    /// made so often that waiting for each entry would be much of their time.
    /// </summary>
    public ValueTask RecordBehindAsync(HttpContext context, AuditEvent auditEvent) =>
        _writes.CommitBehindAsync(Entry(context, auditEvent), MaxBehind, (lost, e) => LogAuditWriteFailed(e, lost.Action, lost.Outcome));

    private AuditEntry Entry(HttpContext context, AuditEvent auditEvent)
    {
        var principal = context.User;
        var signedIn = principal.Identity?.IsAuthenticated == true;
        var client = ClientInfo.From(context);
        return new AuditEntry
        {
            OccurredAt = time.GetUtcNow(),
            ActorUserId = auditEvent.ActorUserId ?? (signedIn ? principal.UserId() : null),
            ActorName = Truncate(auditEvent.ActorName ?? (signedIn ? principal.Username() : null), 200),
            ApiKeyId = signedIn ? principal.ApiKeyIdOf() : null,
            Action = auditEvent.Action,
            TargetType = auditEvent.TargetType,
            TargetId = Truncate(auditEvent.TargetId, 200),
            Outcome = auditEvent.Outcome,
            IpAddress = client.IpAddress,
            UserAgent = client.UserAgent,
            DetailsJson = auditEvent.Details is null ? null : JsonSerializer.Serialize(auditEvent.Details),
            TraceId = Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier,
        };
    }

    private async Task SaveAsync(AuditEntry entry)
    {
        try
        {
            // Not cancelled with the request: a client that hangs up must not erase the record of what it did.
            await _writes.CommitAsync(entry);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            LogAuditWriteFailed(e, entry.Action, entry.Outcome);
            throw;
        }
    }

    private static string? Truncate(string? value, int length) => value is null || value.Length <= length ? value : value[..length];

    [LoggerMessage(Level = LogLevel.Critical, Message = "Could not write the audit entry for {Action} ({Outcome})")]
    private partial void LogAuditWriteFailed(Exception exception, string action, AuditOutcome outcome);
}

/// <param name="Details">Extra facts worth keeping; never a secret.</param>
public sealed record AuditEvent(
    string Action,
    AuditOutcome Outcome,
    string? TargetType = null,
    string? TargetId = null,
    object? Details = null,
    Guid? ActorUserId = null,
    string? ActorName = null);
