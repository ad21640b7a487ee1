using Microsoft.Extensions.Options;

namespace Sutazai.Agents.Hardware;

/// <summary>
/// Where and on what the hardware-resource-optimizer may act, bound from <c>Sutazai:Agents:HardwareOptimizer</c>.
/// Everything is off or empty by default: an administrator opts each power in.
/// </summary>
public sealed class HardwareOptimizerOptions
{
    public const string Section = "Sutazai:Agents:HardwareOptimizer";

    /// <summary>Directories storage analysis may read.</summary>
    public List<string> StorageRoots { get; set; } = [];

    /// <summary>Directories whose old files disk clean-up may delete.</summary>
    public List<string> TempRoots { get; set; } = [];

    /// <summary>Directories whose old <c>*.log</c> files disk clean-up may compress.</summary>
    public List<string> LogRoots { get; set; } = [];

    /// <summary>Users whose processes CPU optimization may renice.</summary>
    public List<string> ReniceUsers { get; set; } = [];

    /// <summary>Allow dropping the kernel page cache (needs root); off by default because it slows the whole host for a while.</summary>
    public bool AllowDropCaches { get; set; }

    /// <summary>Allow removing stopped containers and dangling images through the container engine.</summary>
    public bool ContainerCleanup { get; set; }

    public string DockerSocket { get; set; } = "/var/run/docker.sock";

    /// <summary>Storage analysis stops after this many files, and says so.</summary>
    public int MaxScanFiles { get; set; } = 200_000;
}

public sealed class HardwareOptimizerOptionsValidator : IValidateOptions<HardwareOptimizerOptions>
{
    public ValidateOptionsResult Validate(string? name, HardwareOptimizerOptions options)
    {
        var failures = new List<string>();
        foreach (var (key, roots) in new[] { ("StorageRoots", options.StorageRoots), ("TempRoots", options.TempRoots), ("LogRoots", options.LogRoots) })
        {
            foreach (var root in roots.Where(r => !Path.IsPathFullyQualified(r) || Path.GetFullPath(r) == Path.GetPathRoot(Path.GetFullPath(r))))
            {
                failures.Add($"{HardwareOptimizerOptions.Section}:{key} entries must be absolute directories other than the file system root (got '{root}').");
            }
        }

        if (options.MaxScanFiles is < 1 or > 10_000_000)
        {
            failures.Add($"{HardwareOptimizerOptions.Section}:MaxScanFiles must be between 1 and 10000000 (got {options.MaxScanFiles}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
