using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Audit;

/// <summary>Writes audit entries, each in its own unit of work so a failing request cannot take its record with it.</summary>
public sealed partial class AuditLog(IDbContextFactory<SutazaiDbContext> contexts, TimeProvider time, ILogger<AuditLog> logger) : IAuditSink
{
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

    public async Task RecordAsync(HttpContext context, AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        var principal = context.User;
        var signedIn = principal.Identity?.IsAuthenticated == true;
        var client = ClientInfo.From(context);
        var entry = new AuditEntry
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

        await SaveAsync(entry);
    }

    private async Task SaveAsync(AuditEntry entry)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            db.AuditLog.Add(entry);
            // Not cancelled with the request: a client that hangs up must not erase the record of what it did.
            await db.SaveChangesAsync(CancellationToken.None);
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
