using Polly.CircuitBreaker;

namespace Sutazai.Core.Models;

/// <summary>No backend serves the model asked for.</summary>
public sealed class UnknownModelException(string model, IReadOnlyList<string> backends)
    : Exception(backends.Count == 0
        ? $"No model backend is configured, so model '{model}' cannot be served (see Sutazai:Models in the README)."
        : $"No backend ({string.Join(", ", backends)}) serves a model named '{model}'.")
{
    public string Model { get; } = model;
}

/// <summary>
/// The backend that serves the model failed (after its retries), or its circuit is open; says which and why, and
/// what the fallbacks tried before it said.
/// </summary>
public sealed class ModelBackendException(string backend, string model, Exception inner, ModelBackendException? earlier = null)
    : Exception(Describe(backend, model, inner, earlier), inner)
{
    public string Backend { get; } = backend;

    public string Model { get; } = model;

    /// <summary>The backend's circuit is open: it is not being called until this much time has passed.</summary>
    public TimeSpan? RetryAfter { get; } = inner is BrokenCircuitException broken ? broken.RetryAfter ?? TimeSpan.FromSeconds(1) : null;

    private static string Describe(string backend, string model, Exception inner, ModelBackendException? earlier)
    {
        var why = inner is BrokenCircuitException broken
            ? $"its circuit is open after repeated failures (last: {broken.InnerException?.Message ?? "see /health"})"
            : inner.Message;
        var now = $"Backend '{backend}' failed while serving model '{model}': {why}";
        return earlier is null ? now : $"{now}. Before that: {earlier.Message}";
    }
}
