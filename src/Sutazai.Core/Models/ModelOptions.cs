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

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
