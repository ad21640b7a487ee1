using Microsoft.Extensions.Options;

namespace Sutazai.Core.Models;

/// <summary>Model defaults, bound from <c>Sutazai:Models</c>.</summary>
public sealed class ModelOptions
{
    public const string Section = "Sutazai:Models";

    /// <summary>The model used when a request names none.</summary>
    public string DefaultModel { get; set; } = "tinyllama";

    /// <summary>Calls one model runs at once; more wait in line.</summary>
    public int MaxConcurrentCalls { get; set; } = 5;

    /// <summary>Calls that may wait for one model; past that a call is refused (503 with Retry-After).</summary>
    public int MaxQueuedCalls { get; set; } = 100;

    /// <summary>How long answers to deterministic calls (temperature 0 or a fixed seed) are reused; 0 turns the cache off.</summary>
    public int CacheSeconds { get; set; } = 300;

    /// <summary>How many answers the cache holds at most.</summary>
    public int CacheEntries { get; set; } = 1000;

    /// <summary>How long a backend may take to give the first token, and each next one (or a whole embedding call).</summary>
    public int TimeoutSeconds { get; set; } = 120;

    /// <summary>Times a call is tried again after a transient failure (unreachable, 5xx, timeout) before any token came.</summary>
    public int Retries { get; set; } = 2;

    /// <summary>First wait before a retry; it doubles each time, with jitter.</summary>
    public int RetryDelayMilliseconds { get; set; } = 250;

    /// <summary>A backend's circuit opens when at least this share of its calls failed within the sampling time...</summary>
    public double CircuitFailureRatio { get; set; } = 0.5;

    /// <summary>...and at least this many calls were made in it.</summary>
    public int CircuitMinimumCalls { get; set; } = 4;

    public int CircuitSamplingSeconds { get; set; } = 30;

    /// <summary>How long an open circuit refuses calls at once before one is let through to try the backend.</summary>
    public int CircuitBreakSeconds { get; set; } = 30;

    /// <summary>Per model, the models to try in order when its backend fails or its circuit is open.</summary>
    public Dictionary<string, List<string>> Fallbacks { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class ModelOptionsValidator : IValidateOptions<ModelOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DefaultModel) || options.DefaultModel.Length > 200)
        {
            failures.Add("Sutazai:Models:DefaultModel must name a model (1 to 200 characters), for example 'tinyllama'.");
        }

        if (options.MaxConcurrentCalls is < 1 or > 1000)
        {
            failures.Add($"Sutazai:Models:MaxConcurrentCalls must be between 1 and 1000 (got {options.MaxConcurrentCalls}).");
        }

        if (options.CacheSeconds < 0 || options.CacheEntries < 0)
        {
            failures.Add($"Sutazai:Models:CacheSeconds and CacheEntries must be 0 (off) or more (got {options.CacheSeconds}, {options.CacheEntries}).");
        }

        if (options.MaxQueuedCalls is < 0 or > 100_000)
        {
            failures.Add($"Sutazai:Models:MaxQueuedCalls must be between 0 and 100000 (got {options.MaxQueuedCalls}).");
        }

        if (options.TimeoutSeconds is < 1 or > 3600)
        {
            failures.Add($"Sutazai:Models:TimeoutSeconds must be between 1 and 3600 (got {options.TimeoutSeconds}).");
        }

        if (options.Retries is < 0 or > 10 || options.RetryDelayMilliseconds is < 0 or > 60_000)
        {
            failures.Add($"Sutazai:Models:Retries must be between 0 and 10 and RetryDelayMilliseconds between 0 and 60000 (got {options.Retries}, {options.RetryDelayMilliseconds}).");
        }

        if (options.CircuitFailureRatio is <= 0 or > 1 || options.CircuitMinimumCalls < 2 || options.CircuitSamplingSeconds < 1 || options.CircuitBreakSeconds < 1)
        {
            failures.Add("Sutazai:Models:CircuitFailureRatio must be above 0 and at most 1, CircuitMinimumCalls at least 2, CircuitSamplingSeconds and CircuitBreakSeconds at least 1.");
        }

        foreach (var (model, fallbacks) in options.Fallbacks)
        {
            if (fallbacks.Any(string.IsNullOrWhiteSpace) || fallbacks.Contains(model, StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"Sutazai:Models:Fallbacks:{model} must list other models by name.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
