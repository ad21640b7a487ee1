using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sutazai.Core.Models;

namespace Sutazai.Server.Health;

/// <summary>
/// Each model the backends serve, with its state. Models never make the node unhealthy (everything else works
/// without them); a default model nobody serves, or a model that cannot be reached, makes it degraded and says so.
/// </summary>
internal sealed class ModelsHealthCheck(ModelGateway gateway) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var models = await gateway.ListModelsAsync(cancellationToken);
        var data = models.ToDictionary(m => m.Name, m => (object)$"{m.Status.ToString().ToLowerInvariant()} ({m.Backend}){(m.Detail is null || m.Status != ModelStatus.Unreachable ? "" : $": {m.Detail}")}");
        var problems = new List<string>();
        if (!models.Any(m => string.Equals(m.Name, gateway.DefaultModel, StringComparison.OrdinalIgnoreCase) && m.Status != ModelStatus.Unreachable))
        {
            problems.Add($"no backend serves the default model '{gateway.DefaultModel}' (Sutazai:Models)");
        }

        problems.AddRange(models.Where(m => m.Status == ModelStatus.Unreachable).Select(m => $"{m.Name} is unreachable"));
        return problems.Count == 0
            ? HealthCheckResult.Healthy($"{models.Count} model(s) served", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems), data: data);
    }
}
