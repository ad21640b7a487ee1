using Sutazai.Core.Agents;

namespace Sutazai.Agents.BuiltIn;

/// <summary>
/// An agent whose work needs a part of the platform that is not built yet. Its actions are declared, so tasks
/// route to it, and each fails at once with a message that says what is missing; it never makes output up.
/// </summary>
public abstract class NotYetAvailableAgent : BuiltInAgent
{
    private readonly string _missing;

    protected NotYetAvailableAgent(string name, TimeProvider time, string missing, params (string Name, string Description)[] actions)
        : base(name, time)
    {
        _missing = missing;
        foreach (var (action, description) in actions)
        {
            Handle(new AgentAction(action, description), (_, _) =>
                Task.FromResult(AgentResult.Failure($"'{action}' is not available yet: it needs {missing}, which this build does not have.")));
        }
    }

    public override Task<AgentHealthReport> CheckHealthAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new AgentHealthReport(AgentHealthStatus.Degraded, $"answers ping only; its work needs {_missing}"));
}

public sealed class AiMetricsExporter(TimeProvider time) : NotYetAvailableAgent(
    BuiltInAgents.AiMetricsExporter,
    time,
    "the observability pipeline (Prometheus metrics of models and agents)",
    ("export_metrics", "Export ai_model_* and ai_agent_* metrics in Prometheus form."),
    ("model_metrics", "Latency, tokens and errors per model."),
    ("agent_metrics", "Runs, failures and latency per agent."));
