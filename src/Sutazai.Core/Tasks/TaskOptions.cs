using Microsoft.Extensions.Options;

namespace Sutazai.Core.Tasks;

/// <summary>How the task engine dispatches, leases, retries and ages work, bound from <c>Sutazai:Tasks</c>.</summary>
public sealed class TaskOptions
{
    public const string Section = "Sutazai:Tasks";

    /// <summary>Run the dispatcher on this node. A node with it off still accepts and serves tasks.</summary>
    public bool DispatcherEnabled { get; set; } = true;

    /// <summary>Tasks this node runs at once, over all agents.</summary>
    public int Workers { get; set; } = 64;

    /// <summary>How long a node's claim on a task lasts without renewal; renewed every third of it.</summary>
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>Waiting this long is worth one step of priority, so low-priority work is never starved.</summary>
    public int AgingSeconds { get; set; } = 60;

    /// <summary>How often the dispatcher looks for work when nothing wakes it.</summary>
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>How long a task nobody can take waits before the router looks at it again.</summary>
    public int UnroutableRetrySeconds { get; set; } = 5;

    public int DefaultTimeoutSeconds { get; set; } = 300;

    public int MaxTimeoutSeconds { get; set; } = 86_400;

    public int RetryBaseDelaySeconds { get; set; } = 2;

    public int RetryMaxDelaySeconds { get; set; } = 300;

    public int MaxRetriesLimit { get; set; } = 20;

    /// <summary>
    /// How many times a task whose node died under it is run again beyond its own retries: a crash is not the
    /// task's failure, but a task that keeps killing its node must stop somewhere.
    /// </summary>
    public int LeaseLapseAllowance { get; set; } = 3;

    /// <summary>How often each agent's health is checked.</summary>
    public int HealthCheckSeconds { get; set; } = 15;
}

public sealed class TaskOptionsValidator : IValidateOptions<TaskOptions>
{
    public ValidateOptionsResult Validate(string? name, TaskOptions options)
    {
        var failures = new List<string>();
        void Range(string key, int value, int min, int max)
        {
            if (value < min || value > max)
            {
                failures.Add($"Sutazai:Tasks:{key} must be between {min} and {max} (got {value}).");
            }
        }

        Range(nameof(options.Workers), options.Workers, 1, 10_000);
        Range(nameof(options.LeaseSeconds), options.LeaseSeconds, 1, 3600);
        Range(nameof(options.AgingSeconds), options.AgingSeconds, 1, 86_400);
        Range(nameof(options.PollMilliseconds), options.PollMilliseconds, 10, 60_000);
        Range(nameof(options.UnroutableRetrySeconds), options.UnroutableRetrySeconds, 1, 3600);
        Range(nameof(options.DefaultTimeoutSeconds), options.DefaultTimeoutSeconds, 1, options.MaxTimeoutSeconds);
        Range(nameof(options.MaxTimeoutSeconds), options.MaxTimeoutSeconds, 1, 30 * 86_400);
        Range(nameof(options.RetryBaseDelaySeconds), options.RetryBaseDelaySeconds, 0, 3600);
        Range(nameof(options.RetryMaxDelaySeconds), options.RetryMaxDelaySeconds, options.RetryBaseDelaySeconds, 86_400);
        Range(nameof(options.MaxRetriesLimit), options.MaxRetriesLimit, 0, 1000);
        Range(nameof(options.LeaseLapseAllowance), options.LeaseLapseAllowance, 0, 100);
        Range(nameof(options.HealthCheckSeconds), options.HealthCheckSeconds, 1, 3600);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
