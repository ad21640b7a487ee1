using System.Net;
using Microsoft.Extensions.Options;

namespace Sutazai.Server.Hosting;

/// <summary>How the HTTP server listens, bound from <c>Sutazai:Server</c>.</summary>
public sealed class ServerOptions
{
    public const string Section = "Sutazai:Server";

    /// <summary>TCP port; 0 picks a free one (the address in use is logged).</summary>
    public int Port { get; set; } = 10010;

    /// <summary><c>localhost</c> (loopback only, the default), <c>any</c> (every interface), or an IP address.</summary>
    public string ListenAddress { get; set; } = "localhost";

    /// <summary>Largest request body accepted, in bytes; larger ones are refused with 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>How long in-flight requests and background work get to finish on shutdown.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;
}

public sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var failures = new List<string>();
        if (options.Port is < 0 or > 65535)
        {
            failures.Add($"Sutazai:Server:Port must be between 0 and 65535 (got {options.Port}); 0 picks a free port.");
        }

        if (!IsListenAddress(options.ListenAddress))
        {
            failures.Add($"Sutazai:Server:ListenAddress must be 'localhost', 'any' or an IP address (got '{options.ListenAddress}').");
        }

        if (options.MaxRequestBodyBytes is < 1024 or > 1L << 32)
        {
            failures.Add($"Sutazai:Server:MaxRequestBodyBytes must be between 1024 and 4294967296 (got {options.MaxRequestBodyBytes}).");
        }

        if (options.ShutdownTimeoutSeconds is < 1 or > 600)
        {
            failures.Add($"Sutazai:Server:ShutdownTimeoutSeconds must be between 1 and 600 (got {options.ShutdownTimeoutSeconds}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool IsListenAddress(string? value) =>
        value is not null && (value.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || value.Equals("any", StringComparison.OrdinalIgnoreCase)
            || IPAddress.TryParse(value, out _));
}
