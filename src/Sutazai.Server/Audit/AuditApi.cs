using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Api;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Audit;

/// <summary>Reading the audit log. There is deliberately no way to change or delete entries through the API.</summary>
public static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/audit").WithTags("Audit");
        api.MapGet("/", ListAsync).RequirePermission(Permissions.AuditView)
            .WithSummary("Audit entries, newest first, filtered by action, actor, target, outcome and time");
        return api;
    }

    private static async Task<Results<Ok<Page<AuditEntryView>>, ValidationProblem>> ListAsync(
        [AsParameters] PageQuery page,
        [AsParameters] AuditQuery filter,
        SutazaiDbContext db,
        AuditLog audit,
        CancellationToken cancellationToken)
    {
        // Entries written behind their responses (model calls) are stored before they are looked for.
        await audit.FlushAsync();
        var query = db.AuditLog.AsNoTracking();
        if (filter.Action is { Length: > 0 } action)
        {
            query = action.EndsWith('.') ? query.Where(e => e.Action.StartsWith(action)) : query.Where(e => e.Action == action);
        }

        if (filter.Actor is { Length: > 0 } actor)
        {
            var actorName = UserNames.Normalize(actor);
            query = Guid.TryParse(actor, out var actorId) ? query.Where(e => e.ActorUserId == actorId) : query.Where(e => e.ActorName == actorName);
        }

        if (filter.TargetType is { Length: > 0 } targetType)
        {
            query = query.Where(e => e.TargetType == targetType);
        }

        if (filter.TargetId is { Length: > 0 } targetId)
        {
            query = query.Where(e => e.TargetId == targetId);
        }

        if (filter.Outcome is { Length: > 0 } outcomeText)
        {
            if (!Enum.TryParse<AuditOutcome>(outcomeText, ignoreCase: true, out var outcome) || !Enum.IsDefined(outcome))
            {
                return Problems.Validation("outcome", "Use success, failure or denied.");
            }

            query = query.Where(e => e.Outcome == outcome);
        }

        if (filter.From is { } from)
        {
            query = query.Where(e => e.OccurredAt >= from);
        }

        if (filter.To is { } to)
        {
            query = query.Where(e => e.OccurredAt < to);
        }

        var total = await query.CountAsync(cancellationToken);
        var entries = await query.OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id)
            .Skip(page.Offset).Take(page.Limit).ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<AuditEntryView>([.. entries.Select(AuditEntryView.From)], total, page.Limit, page.Offset));
    }
}

/// <param name="Action">An exact action, or a prefix ending in a dot (<c>auth.</c>).</param>
/// <param name="Actor">A user id or username.</param>
public sealed record AuditQuery(
    [FromQuery(Name = "action")] string? Action = null,
    [FromQuery(Name = "actor")] string? Actor = null,
    [FromQuery(Name = "target_type")] string? TargetType = null,
    [FromQuery(Name = "target_id")] string? TargetId = null,
    [FromQuery(Name = "outcome")] string? Outcome = null,
    [FromQuery(Name = "from")] DateTimeOffset? From = null,
    [FromQuery(Name = "to")] DateTimeOffset? To = null);

public sealed record AuditEntryView(
    long Id,
    DateTimeOffset OccurredAt,
    Guid? ActorUserId,
    string? ActorName,
    Guid? ApiKeyId,
    string Action,
    string? TargetType,
    string? TargetId,
    AuditOutcome Outcome,
    string? IpAddress,
    string? UserAgent,
    JsonElement? Details,
    string? TraceId)
{
    public static AuditEntryView From(AuditEntry entry) => new(
        entry.Id, entry.OccurredAt, entry.ActorUserId, entry.ActorName, entry.ApiKeyId, entry.Action, entry.TargetType, entry.TargetId,
        entry.Outcome, entry.IpAddress, entry.UserAgent,
        entry.DetailsJson is null ? null : JsonSerializer.Deserialize<JsonElement>(entry.DetailsJson), entry.TraceId);
}
