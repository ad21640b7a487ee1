using OpenTelemetry.Metrics;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Monitoring;

/// <summary>Prometheus metrics at <c>/metrics</c> (needs system:monitor; a scrape can send an API key as its bearer token).</summary>
public static class MetricsEndpoints
{
    public static IServiceCollection AddSutazaiMetrics(this IServiceCollection services)
    {
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(ModelMetrics.MeterName)
            // Every scrape sees now, not a copy kept from the last one.
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    public static WebApplication MapMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics")
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get]))
            .RequirePermission(Permissions.SystemMonitor)
            .WithTags("Monitoring");
        // Made now, so the first scrape already shows the cache and the lines, before any call.
        _ = app.Services.GetRequiredService<ModelGateway>().Metrics;
        return app;
    }
}
