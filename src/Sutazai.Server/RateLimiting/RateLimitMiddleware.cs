using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Sutazai.Core.Limits;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.RateLimiting;

/// <summary>
/// Counts each call against its caller (API key, else user, else client IP) in one-minute windows and answers
/// 429 with <c>Retry-After</c> past the limit. Every limited response carries <c>RateLimit-*</c> headers.
/// </summary>
internal sealed class RateLimitMiddleware(RequestDelegate next, IRateLimitCounter counter, IOptionsMonitor<RateLimitOptions> options, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public async Task InvokeAsync(HttpContext context)
    {
        var settings = options.CurrentValue;
        var endpoint = context.GetEndpoint();
        if (!settings.Enabled || endpoint?.Metadata.GetMetadata<NotRateLimited>() is not null)
        {
            await next(context);
            return;
        }

        var group = endpoint?.Metadata.GetMetadata<RateLimitGroup>()?.Name ?? RateLimitGroups.Api;
        var (authenticatedLimit, anonymousLimit) = settings.LimitsFor(group);
        var principal = context.User;
        var (partition, limit) = principal.Identity?.IsAuthenticated == true
            ? (principal.ApiKeyIdOf() is { } keyId ? $"key:{keyId}" : $"user:{principal.UserId()}", authenticatedLimit)
            : ($"ip:{context.Connection.RemoteIpAddress}", anonymousLimit);

        var hit = await counter.HitAsync($"rl:{group}:{partition}", Window, context.RequestAborted);
        var now = time.GetUtcNow();
        var reset = Problems.RetryAfterSeconds(hit.ResetsAt, now).ToString(CultureInfo.InvariantCulture);
        var headers = context.Response.Headers;
        headers["RateLimit-Policy"] = $"{limit};w={(int)Window.TotalSeconds}";
        headers["RateLimit-Limit"] = limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = Math.Max(0, limit - hit.Count).ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = reset;
        if (hit.Count <= limit)
        {
            await next(context);
            return;
        }

        headers.RetryAfter = reset;
        await Problems.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Type = ProblemTypes.TooManyRequests,
            Title = "Too many requests",
            Detail = $"The limit for '{group}' is {limit} requests a minute for this {(partition.StartsWith("ip:", StringComparison.Ordinal) ? "address" : "caller")}; try again in {reset} s.",
        });
    }
}
