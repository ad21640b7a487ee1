using Microsoft.Extensions.Options;

namespace Sutazai.Core.Resources;

/// <summary>
/// The pool as this host has it: CPU cores and memory as the runtime sees them (both honour the cgroup limits of
/// a container), GPUs counted from the NVIDIA device nodes, custom resources from configuration. Settings in
/// <see cref="ResourcePoolOptions"/> override what was measured.
/// </summary>
public sealed class HostResourcePool(IOptions<ResourcePoolOptions> options) : IResourcePool
{
    public ResourceAmounts Capacity { get; } = Measure(options.Value);

    private static ResourceAmounts Measure(ResourcePoolOptions settings) => new(
        settings.CpuCores ?? Environment.ProcessorCount,
        settings.MemoryMb ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
        settings.GpuCount ?? CountNvidiaDevices(),
        new Dictionary<string, double>(settings.Custom, StringComparer.Ordinal));

    private static int CountNvidiaDevices() => Directory.Exists("/dev")
        ? Directory.EnumerateFiles("/dev", "nvidia*").Select(Path.GetFileName).Count(name => name!.Length > 6 && name[6..].All(char.IsAsciiDigit))
        : 0;
}
