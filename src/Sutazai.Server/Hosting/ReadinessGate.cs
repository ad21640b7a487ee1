using Microsoft.AspNetCore.Mvc;
using Sutazai.Core;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Hosting;

/// <summary>
/// Until the node is ready, answers API calls with 503 and <c>Retry-After</c> instead of letting them meet a
/// store without its schema. Health, OpenAPI and the docs stay reachable.
/// </summary>
internal sealed class ReadinessGate(RequestDelegate next, StartupState state)
{
    private static readonly string[] AlwaysOpen = ["/health", "/openapi", "/docs"];

    public async Task InvokeAsync(HttpContext context)
    {
        if (state.IsReady || AlwaysOpen.Any(p => context.Request.Path.StartsWithSegments(p)))
        {
            await next(context);
            return;
        }

        context.Response.Headers.RetryAfter = "5";
        await Problems.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Type = ProblemTypes.Unavailable,
            Title = "SutazAI is starting",
            Detail = state.Status,
        });
    }
}
