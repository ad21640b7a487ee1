using System.Reflection;
using Microsoft.Extensions.Options;
using Sutazai.Core;

namespace Sutazai.Server.Hosting;

/// <summary>Who this node is and since when: shown by <c>/health</c> and used in leases and logs.</summary>
public sealed class NodeInfo(IOptions<PlatformOptions> platform, TimeProvider time)
{
    public string Name { get; } = platform.Value.ResolvedNodeName;

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public static string Version { get; } =
        typeof(NodeInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public TimeSpan Uptime => time.GetUtcNow() - StartedAt;
}
