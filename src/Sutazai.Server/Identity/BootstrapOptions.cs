using System.Net.Mail;
using Microsoft.Extensions.Options;
using Sutazai.Core.Identity;

namespace Sutazai.Server.Identity;

/// <summary>The first administrator, bound from <c>Sutazai:Bootstrap</c>. Used only when no administrator exists.</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Sutazai:Bootstrap";

    public const int MinimumPasswordLength = 12;

    public string AdminUsername { get; set; } = "admin";

    public string AdminEmail { get; set; } = "admin@localhost";

    /// <summary>When empty, a random password is generated and written to the log once.</summary>
    public string? AdminPassword { get; set; }
}

public sealed class BootstrapOptionsValidator : IValidateOptions<BootstrapOptions>
{
    public ValidateOptionsResult Validate(string? name, BootstrapOptions options)
    {
        var failures = new List<string>();
        if (!UserNames.IsValidUsername(options.AdminUsername))
        {
            failures.Add($"Sutazai:Bootstrap:AdminUsername must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-' (got '{options.AdminUsername}').");
        }

        if (!MailAddress.TryCreate(options.AdminEmail, out _))
        {
            failures.Add($"Sutazai:Bootstrap:AdminEmail must be an e-mail address (got '{options.AdminEmail}').");
        }

        if (!string.IsNullOrEmpty(options.AdminPassword) && options.AdminPassword.Length < BootstrapOptions.MinimumPasswordLength)
        {
            // The value is never echoed.
            failures.Add($"Sutazai:Bootstrap:AdminPassword must be at least {BootstrapOptions.MinimumPasswordLength} characters, or left empty to have one generated.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
