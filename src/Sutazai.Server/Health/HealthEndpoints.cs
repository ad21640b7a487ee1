using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Sutazai.Core;
using Sutazai.Persistence;
using Sutazai.Server.Hosting;
using Sutazai.Server.RateLimiting;

namespace Sutazai.Server.Health;

/// <summary>
/// <c>/health</c> (overall status with each dependency's status and latency), <c>/health/live</c> (the process
/// answers) and <c>/health/ready</c> (migrations and seeding are done and the store answers). Public by design.
/// </summary>
public static class HealthEndpoints
{
    /// <summary>Checks that decide readiness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Checks that are listed under <c>dependencies</c> in <c>/health</c>.</summary>
    public const string DependencyTag = "dependency";

    public static IHealthChecksBuilder AddSutazaiHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<StartupHealthCheck>("startup", tags: [ReadyTag])
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag, DependencyTag])
            .AddCheck<ModelsHealthCheck>("models", tags: [DependencyTag]);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        var statusCodes = new Dictionary<HealthStatus, int>
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status200OK,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        };

        Map(app, "/health", "Overall health with each dependency", new HealthCheckOptions { ResponseWriter = WriteReportAsync, ResultStatusCodes = statusCodes });
        Map(app, "/health/live", "Liveness", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteReportAsync, ResultStatusCodes = statusCodes });
        Map(app, "/health/ready", "Readiness", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteReportAsync, ResultStatusCodes = statusCodes });
        return app;

        // Public by design, never rate limited (probes poll), and read-only.
        static void Map(IEndpointRouteBuilder app, string path, string name, HealthCheckOptions options) =>
            app.MapHealthChecks(path, options)
                .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]))
                .WithTags("Health").WithDisplayName(name).AllowAnonymous().WithoutRateLimit();
    }

    private static Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        var node = context.RequestServices.GetRequiredService<NodeInfo>();
        var startup = context.RequestServices.GetRequiredService<StartupState>();
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var view = new HealthView(
            Status: Name(report.Status),
            Service: "sutazai",
            Version: NodeInfo.Version,
            Node: node.Name,
            StartedAt: node.StartedAt,
            UptimeSeconds: Math.Round(node.Uptime.TotalSeconds, 3),
            Ready: startup.IsReady,
            Startup: startup.Status,
            Dependencies: report.Entries
                .Where(e => e.Value.Tags.Contains(DependencyTag))
                .ToDictionary(e => e.Key, e => new DependencyView(
                    Name(e.Value.Status),
                    Math.Round(e.Value.Duration.TotalMilliseconds, 3),
                    e.Value.Description,
                    e.Value.Data.Count == 0 ? null : e.Value.Data.ToDictionary(d => d.Key, d => d.Value))));
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return JsonSerializer.SerializeAsync(context.Response.Body, view, json, context.RequestAborted);
    }

    private static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}

public sealed record HealthView(
    string Status,
    string Service,
    string Version,
    string Node,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    bool Ready,
    string Startup,
    IReadOnlyDictionary<string, DependencyView> Dependencies);

public sealed record DependencyView(string Status, double LatencyMs, string? Description, IReadOnlyDictionary<string, object>? Details);

/// <summary>Unhealthy until the node has migrated, seeded and bootstrapped; says what it is waiting for.</summary>
internal sealed class StartupHealthCheck(StartupState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.IsReady ? HealthCheckResult.Healthy(state.Status) : HealthCheckResult.Unhealthy(state.Status));
}
