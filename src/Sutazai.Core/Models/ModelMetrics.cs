using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sutazai.Core.Models;

/// <summary>
/// The gateway's measurements, as <see cref="System.Diagnostics.Metrics"/> instruments of the meter
/// <see cref="MeterName"/> (exported to Prometheus as <c>ai_model_*</c>): answered calls, tokens and time per
/// model and backend; failures by reason; the response cache's hits, misses and hit ratio; calls running and
/// waiting per model.
/// </summary>
public sealed class ModelMetrics
{
    public const string MeterName = "Sutazai.Models";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _failures;

    /// <param name="node">The node's name, a tag of the meter: each node (or test server in one process) counts its own.</param>
    public ModelMetrics(IMeterFactory? meters, string node, ResponseCache cache, Func<IEnumerable<(string Model, int Running, int Waiting)>> lines)
    {
        var options = new MeterOptions(MeterName) { Tags = [new KeyValuePair<string, object?>("node", node)] };
        var meter = meters?.Create(options) ?? new Meter(options);
        _requests = meter.CreateCounter<long>("ai_model_requests", description: "Model calls answered, by model, backend and operation (chat, embed), and whether from the cache.");
        _tokens = meter.CreateCounter<long>("ai_model_tokens", description: "Tokens of answered calls, by model and direction (prompt, completion).");
        _duration = meter.CreateHistogram<double>("ai_model_request_duration", unit: "s", description: "Time from call to last token, by model and operation.");
        _failures = meter.CreateCounter<long>("ai_model_failures", description: "Model calls that failed, by model, backend and reason (backend, busy, stopped).");
        meter.CreateObservableCounter("ai_model_cache_hits", () => cache.Hits, description: "Deterministic calls answered from the response cache.");
        meter.CreateObservableCounter("ai_model_cache_misses", () => cache.Misses, description: "Deterministic calls the response cache could not answer.");
        meter.CreateObservableGauge("ai_model_cache_hit_ratio", () => cache.HitRatio, description: "Hits over lookups since the node started (0 before any).");
        meter.CreateObservableGauge("ai_model_calls_running", () => lines().Select(l => new Measurement<int>(l.Running, new KeyValuePair<string, object?>("model", l.Model))), description: "Calls running now, per model.");
        meter.CreateObservableGauge("ai_model_calls_waiting", () => lines().Select(l => new Measurement<int>(l.Waiting, new KeyValuePair<string, object?>("model", l.Model))), description: "Calls waiting for a turn now, per model.");
    }

    public void Answered(string operation, string model, string backend, bool cached, long promptTokens, long completionTokens, TimeSpan duration)
    {
        var tags = new TagList { { "model", model }, { "backend", backend }, { "operation", operation }, { "cached", cached ? "true" : "false" } };
        _requests.Add(1, tags);
        _tokens.Add(promptTokens, new TagList { { "model", model }, { "direction", "prompt" } });
        _tokens.Add(completionTokens, new TagList { { "model", model }, { "direction", "completion" } });
        _duration.Record(duration.TotalSeconds, new TagList { { "model", model }, { "operation", operation } });
    }

    public void Failed(string model, string backend, string reason) =>
        _failures.Add(1, new TagList { { "model", model }, { "backend", backend }, { "reason", reason } });
}
