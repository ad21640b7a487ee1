using Microsoft.Extensions.Options;

namespace Sutazai.Server.RateLimiting;

/// <summary>
/// Requests per minute, bound from <c>Sutazai:RateLimits</c>: per user, per API key, and per client IP for
/// anonymous calls. Groups (<c>api</c>, <c>auth</c>, ...) can override the defaults.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "Sutazai:RateLimits";

    public bool Enabled { get; set; } = true;

    public int AuthenticatedPerMinute { get; set; } = 100;

    public int AnonymousPerMinute { get; set; } = 10;

    /// <summary>Per-group overrides, keyed by group name, for example <c>Sutazai:RateLimits:Groups:auth:AnonymousPerMinute</c>.</summary>
    public Dictionary<string, RateLimitGroupOptions> Groups { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public (int Authenticated, int Anonymous) LimitsFor(string group) =>
        Groups.TryGetValue(group, out var overrides)
            ? (overrides.AuthenticatedPerMinute ?? AuthenticatedPerMinute, overrides.AnonymousPerMinute ?? AnonymousPerMinute)
            : (AuthenticatedPerMinute, AnonymousPerMinute);
}

public sealed class RateLimitGroupOptions
{
    public int? AuthenticatedPerMinute { get; set; }

    public int? AnonymousPerMinute { get; set; }
}

public sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var failures = new List<string>();
        Check(failures, "AuthenticatedPerMinute", options.AuthenticatedPerMinute);
        Check(failures, "AnonymousPerMinute", options.AnonymousPerMinute);
        foreach (var (group, limits) in options.Groups)
        {
            Check(failures, $"Groups:{group}:AuthenticatedPerMinute", limits.AuthenticatedPerMinute);
            Check(failures, $"Groups:{group}:AnonymousPerMinute", limits.AnonymousPerMinute);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, string key, int? value)
    {
        if (value is < 1 or > 10_000_000)
        {
            failures.Add($"Sutazai:RateLimits:{key} must be between 1 and 10000000 requests per minute (got {value}).");
        }
    }
}
