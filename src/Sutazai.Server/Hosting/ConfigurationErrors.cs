using Microsoft.Extensions.Options;

namespace Sutazai.Server.Hosting;

/// <summary>Turns a configuration failure at start into a message that says which key to fix, instead of a stack trace.</summary>
public static class ConfigurationErrors
{
    public static bool TryReport(Exception exception, TextWriter output)
    {
        IEnumerable<string>? failures = exception switch
        {
            OptionsValidationException validation => validation.Failures,
            InvalidOperationException { Message: var message } when message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) => [message],
            _ => null,
        };
        if (failures is null)
        {
            return false;
        }

        output.WriteLine("SutazAI cannot start; fix the configuration (appsettings.json, or environment variables such as SUTAZAI__SERVER__PORT):");
        foreach (var failure in failures)
        {
            output.WriteLine($"  - {failure}");
        }

        return true;
    }
}
