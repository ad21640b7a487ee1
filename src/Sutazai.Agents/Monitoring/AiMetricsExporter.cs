using System.Globalization;
using System.Text;
using Sutazai.Agents.BuiltIn;
using Sutazai.Core.Agents;
using Sutazai.Core.Chat;
using Sutazai.Core.Identity;
using Sutazai.Core.Models;

namespace Sutazai.Agents.Monitoring;

/// <summary>
/// Metrics about models and agents, from what was recorded: every answered model call's usage record (all nodes,
/// from the store), this node's response cache and lines, and the agents' health and counts. <c>export_metrics</c>
/// gives them in the Prometheus text format as <c>ai_model_*</c> and <c>ai_agent_*</c>.
/// </summary>
public sealed class AiMetricsExporter : BuiltInAgent
{
    private readonly ModelGateway _gateway;
    private readonly IChatHistoryStore _usage;
    private readonly AgentDirectory _agents;

    public AiMetricsExporter(ModelGateway gateway, IChatHistoryStore usage, AgentDirectory agents, TimeProvider time)
        : base(BuiltInAgents.AiMetricsExporter, time)
    {
        _gateway = gateway;
        _usage = usage;
        _agents = agents;
        Handle<WindowInput>(new("model_metrics", "Calls, tokens and latency per model over the last {since_minutes} (default 60; 0 for all time), with this node's cache and lines.", Permissions.SystemMonitor), ModelMetricsAsync);
        Handle<WindowInput>(new("agent_metrics", "Health, load, successes and errors per agent.", Permissions.SystemMonitor), (_, _, _) => Task.FromResult(AgentResult.Success(new { agents = AgentRows() })));
        Handle<WindowInput>(new("export_metrics", "ai_model_* and ai_agent_* in the Prometheus text format (model counts over all time).", Permissions.SystemMonitor), ExportAsync);
    }

    private async Task<AgentResult> ModelMetricsAsync(WindowInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (input.SinceMinutes is < 0 or > 525_600)
        {
            return AgentResult.Failure("since_minutes must be 0 (all time) to 525600 (a year).");
        }

        var from = input.SinceMinutes == 0 ? (DateTimeOffset?)null : Time.GetUtcNow().AddMinutes(-input.SinceMinutes);
        var models = await _usage.UsageAsync(new UsageQuery(UsageGrouping.Model, from), cancellationToken);
        var cache = _gateway.Cache;
        return AgentResult.Success(new
        {
            since = from,
            models = models.Select(m => new { model = m.Key, calls = m.Calls, prompt_tokens = m.PromptTokens, completion_tokens = m.CompletionTokens, average_ms = Math.Round(m.AverageMs, 3), max_ms = Math.Round(m.MaxMs, 3) }),
            cache = new { hits = cache.Hits, misses = cache.Misses, hit_ratio = Math.Round(cache.HitRatio, 6) },
            lines = _gateway.Lines().Select(l => new { model = l.Model, running = l.Running, waiting = l.Waiting }),
        });
    }

    private async Task<AgentResult> ExportAsync(WindowInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var models = await _usage.UsageAsync(new UsageQuery(UsageGrouping.Model), cancellationToken);
        var text = new StringBuilder();
        Metric(text, "ai_model_requests_total", "counter", "Model calls answered, all nodes.", models.Select(m => (Labels(("model", m.Key)), (double)m.Calls)));
        Metric(text, "ai_model_tokens_total", "counter", "Tokens of answered model calls, all nodes.",
            models.SelectMany(m => new[] { (Labels(("model", m.Key), ("direction", "prompt")), (double)m.PromptTokens), (Labels(("model", m.Key), ("direction", "completion")), (double)m.CompletionTokens) }));
        Metric(text, "ai_model_latency_average_milliseconds", "gauge", "Mean time per answered call.", models.Select(m => (Labels(("model", m.Key)), m.AverageMs)));
        Metric(text, "ai_model_cache_hits_total", "counter", "Calls answered from this node's response cache.", [("", (double)_gateway.Cache.Hits)]);
        Metric(text, "ai_model_cache_misses_total", "counter", "Cacheable calls this node's response cache could not answer.", [("", (double)_gateway.Cache.Misses)]);
        Metric(text, "ai_model_cache_hit_ratio", "gauge", "Hits over lookups on this node.", [("", _gateway.Cache.HitRatio)]);
        Metric(text, "ai_model_calls_waiting", "gauge", "Calls waiting for a turn on this node.", _gateway.Lines().Select(l => (Labels(("model", l.Model)), (double)l.Waiting)));
        var agents = AgentRows();
        Metric(text, "ai_agent_up", "gauge", "1 when the agent can take work.", agents.Select(a => (Labels(("agent", a.Name)), a.Up ? 1d : 0d)));
        Metric(text, "ai_agent_in_flight", "gauge", "Tasks the agent runs on this node now.", agents.Select(a => (Labels(("agent", a.Name)), (double)a.InFlight)));
        Metric(text, "ai_agent_tasks_total", "counter", "Tasks the agent finished, by outcome.",
            agents.SelectMany(a => new[] { (Labels(("agent", a.Name), ("outcome", "success")), (double)a.Successes), (Labels(("agent", a.Name), ("outcome", "error")), (double)a.Errors) }));
        return AgentResult.Success(new { content_type = "text/plain; version=0.0.4", text = text.ToString() });
    }

    private List<AgentRow> AgentRows() =>
    [
        .. _agents.Entries.OrderBy(e => e.Definition.Name, StringComparer.Ordinal).Select(e => new AgentRow(
            e.Definition.Name, e.Definition.Kind.ToString().ToLowerInvariant(), e.Health.ToString().ToLowerInvariant(), e.FreeSlots > 0 || e.IsFull,
            e.InFlight, e.Definition.SuccessCount, e.Definition.ErrorCount, e.LatencyMs)),
    ];

    private static void Metric(StringBuilder text, string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        foreach (var (labels, value) in samples)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{labels} {value.ToString("R", CultureInfo.InvariantCulture)}\n");
        }
    }

    private static string Labels(params (string Name, string? Value)[] labels) =>
        "{" + string.Join(",", labels.Select(l => $"{l.Name}=\"{(l.Value ?? "").Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"")) + "}";

    public sealed record WindowInput(int SinceMinutes = 60);

    public sealed record AgentRow(string Name, string Kind, string Health, bool Up, int InFlight, long Successes, long Errors, double? LatencyMs);
}
