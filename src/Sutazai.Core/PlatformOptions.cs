using Microsoft.Extensions.Options;

namespace Sutazai.Core;

/// <summary>Settings that belong to the whole installation, bound from <c>Sutazai</c>.</summary>
public sealed class PlatformOptions
{
    public const string Section = "Sutazai";

    /// <summary>Where the embedded shape keeps its state (database, vectors, keys). Relative paths resolve against the working directory.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>Names this node in leases and logs; defaults to the machine name and process id.</summary>
    public string? NodeName { get; set; }

    public string ResolvedDataDir => Path.GetFullPath(DataDir);

    public string ResolvedNodeName => string.IsNullOrWhiteSpace(NodeName) ? $"{Environment.MachineName}-{Environment.ProcessId}" : NodeName;
}

public sealed class PlatformOptionsValidator : IValidateOptions<PlatformOptions>
{
    public ValidateOptionsResult Validate(string? name, PlatformOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            return ValidateOptionsResult.Fail("Sutazai:DataDir must be a directory path (for example ./data); it is empty.");
        }

        if (options.DataDir.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            return ValidateOptionsResult.Fail($"Sutazai:DataDir '{options.DataDir}' contains characters a path cannot hold.");
        }

        if (options.NodeName is { Length: > 200 })
        {
            return ValidateOptionsResult.Fail("Sutazai:NodeName must be at most 200 characters.");
        }

        return ValidateOptionsResult.Success;
    }
}
