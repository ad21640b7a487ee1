using Sutazai.Core.Identity;

namespace Sutazai.Server.Audit;

/// <summary>
/// Marks an endpoint as changing state. The audit middleware records every call to it, allowed or refused,
/// unless the handler records richer entries itself.
/// </summary>
/// <param name="Action">Dotted name, such as <c>user.update</c>.</param>
/// <param name="TargetType">What the route's <c>{id}</c> names, such as <c>user</c>.</param>
/// <param name="RecordedByHandler">The handler writes its own entries (sign-in and token endpoints do).</param>
/// <param name="WrittenBehind">
/// The entry is written behind the response (see <see cref="AuditLog.RecordBehindAsync"/>): for calls made so often
/// that waiting for each entry would be much of their time, such as model calls.
/// </param>
public sealed record Audited(string Action, string? TargetType, bool RecordedByHandler, bool WrittenBehind = false);

public static class AuditEndpointExtensions
{
    public static TBuilder Audited<TBuilder>(this TBuilder builder, string action, string? targetType = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new Audited(action, targetType, RecordedByHandler: false));

    /// <summary>Audited, with the entry written behind the response (<see cref="Audit.Audited.WrittenBehind"/>).</summary>
    public static TBuilder AuditedBehind<TBuilder>(this TBuilder builder, string action, string? targetType = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new Audited(action, targetType, RecordedByHandler: false, WrittenBehind: true));

    public static TBuilder AuditedByHandler<TBuilder>(this TBuilder builder, string action)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new Audited(action, null, RecordedByHandler: true));
}

/// <summary>Records calls to <see cref="Audited"/> endpoints with their outcome, after the response is decided.</summary>
internal sealed class AuditMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, AuditLog audit)
    {
        var audited = context.GetEndpoint()?.Metadata.GetMetadata<Audited>();
        if (audited is null || audited.RecordedByHandler)
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        catch
        {
            await RecordAsync(context, audit, audited, StatusCodes.Status500InternalServerError);
            throw;
        }

        await RecordAsync(context, audit, audited, context.Response.StatusCode);
    }

    private static async Task RecordAsync(HttpContext context, AuditLog audit, Audited audited, int status)
    {
        var outcome = status switch
        {
            < 400 => AuditOutcome.Success,
            StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => AuditOutcome.Denied,
            _ => AuditOutcome.Failure,
        };
        var target = context.Request.RouteValues.TryGetValue("id", out var id) ? id?.ToString()
            : context.Response.Headers.Location.ToString() is { Length: > 0 } location ? location[(location.LastIndexOf('/') + 1)..]
            : null;
        var auditEvent = new AuditEvent(audited.Action, outcome, audited.TargetType, target, new { method = context.Request.Method, path = context.Request.Path.Value, status });
        if (audited.WrittenBehind)
        {
            await audit.RecordBehindAsync(context, auditEvent);
        }
        else
        {
            await audit.RecordAsync(context, auditEvent);
        }
    }
}
