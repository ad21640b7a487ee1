using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Sutazai.Persistence;

/// <summary>Reports whether the store answers a round trip.</summary>
public sealed class DatabaseHealthCheck(IDbContextFactory<SutazaiDbContext> contexts, IOptions<StorageOptions> storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var provider = storage.Value.ProviderKind.ToString();
        var data = new Dictionary<string, object> { ["provider"] = provider };
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            return await db.Database.CanConnectAsync(cancellationToken)
                ? HealthCheckResult.Healthy($"{provider} answers", data)
                : HealthCheckResult.Unhealthy($"{provider} cannot be reached", data: data);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"{provider} failed: {e.GetType().Name}", e, data);
        }
    }
}
