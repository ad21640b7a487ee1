using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sutazai.Core;
using Sutazai.Core.Models;

namespace Sutazai.Server.Health;

/// <summary>
/// Each backend (reachable, latency, circuit) and each model it serves. Models never make the node unhealthy
/// (everything else works without them); a backend that cannot be reached or whose circuit is open, a default
/// model nobody serves, or a model that cannot be loaded makes it degraded and says so. Until the node is ready the
/// model registry may not exist yet (migrations run), so nothing is asked of it.
/// </summary>
internal sealed class ModelsHealthCheck(ModelGateway gateway, StartupState startup) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!startup.IsReady)
        {
            return HealthCheckResult.Degraded($"not checked until the node is ready ({startup.Status})");
        }

        var backends = await gateway.BackendStatesAsync(cancellationToken);
        var defaultModel = await gateway.DefaultModelAsync(cancellationToken);
        var models = backends.SelectMany(b => b.Models).ToList();
        var data = new Dictionary<string, object>();
        foreach (var backend in backends)
        {
            data[$"backend:{backend.Backend}"] = backend.Reachable
                ? $"reachable in {backend.LatencyMs:0.#} ms, circuit {backend.Circuit}{(backend.Error is null ? "" : $", last failure: {backend.Error}")}"
                : $"unreachable ({backend.Error}), circuit {backend.Circuit}";
        }

        foreach (var model in models)
        {
            data[model.Name] = $"{model.Status.ToString().ToLowerInvariant()} ({model.Backend}){(model.Detail is null || model.Status != ModelStatus.Unreachable ? "" : $": {model.Detail}")}";
        }

        var problems = new List<string>();
        problems.AddRange(backends.Where(b => !b.Reachable).Select(b => $"backend {b.Backend} is unreachable: {b.Error}"));
        problems.AddRange(backends.Where(b => b.Reachable && b.Circuit != "closed").Select(b => $"backend {b.Backend} has its circuit {b.Circuit}"));
        if (!models.Any(m => string.Equals(m.Name, defaultModel, StringComparison.OrdinalIgnoreCase) && m.Status != ModelStatus.Unreachable))
        {
            problems.Add($"no backend serves the default model '{defaultModel}' (Sutazai:Models)");
        }

        problems.AddRange(models.Where(m => m.Status == ModelStatus.Unreachable).Select(m => $"{m.Name} is unreachable"));
        return problems.Count == 0
            ? HealthCheckResult.Healthy($"{models.Count} model(s) served by {backends.Count} backend(s)", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems), data: data);
    }
}
