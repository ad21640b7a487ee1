using Microsoft.Extensions.Options;

namespace Sutazai.Core.Resources;

/// <summary>
/// The resource pool, bound from <c>Sutazai:Resources</c>. CPU, memory and GPUs are measured from the host unless
/// set here; custom resources (licences, API quota, a shared device) exist only when configured.
/// </summary>
public sealed class ResourcePoolOptions
{
    public const string Section = "Sutazai:Resources";

    public double? CpuCores { get; set; }

    public long? MemoryMb { get; set; }

    public int? GpuCount { get; set; }

    public Dictionary<string, double> Custom { get; set; } = new(StringComparer.Ordinal);
}

public sealed class ResourcePoolOptionsValidator : IValidateOptions<ResourcePoolOptions>
{
    private static readonly string[] Reserved = ["cpu_cores", "memory_mb", "gpu_count"];

    public ValidateOptionsResult Validate(string? name, ResourcePoolOptions options)
    {
        var failures = new List<string>();
        if (options.CpuCores is <= 0 || options.MemoryMb is <= 0 || options.GpuCount is < 0)
        {
            failures.Add($"{ResourcePoolOptions.Section}:CpuCores and MemoryMb must be positive and GpuCount not negative when set.");
        }

        foreach (var (resource, capacity) in options.Custom)
        {
            if (capacity <= 0 || Reserved.Contains(resource) || !System.Text.RegularExpressions.Regex.IsMatch(resource, "^[a-z][a-z0-9_-]{0,63}$"))
            {
                failures.Add($"{ResourcePoolOptions.Section}:Custom:{resource} must be a lower-case name (not {string.Join(", ", Reserved)}) with a positive capacity.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
