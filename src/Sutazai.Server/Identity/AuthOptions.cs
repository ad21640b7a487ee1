using Microsoft.Extensions.Options;

namespace Sutazai.Server.Identity;

/// <summary>Tokens, sessions, lockout and secrets, bound from <c>Sutazai:Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Sutazai:Auth";

    public string Issuer { get; set; } = "sutazai";

    public string Audience { get; set; } = "sutazai-api";

    public int AccessTokenMinutes { get; set; } = 15;

    /// <summary>How long a refresh token stays usable; each use moves the session's expiry this far ahead.</summary>
    public int RefreshTokenDays { get; set; } = 7;

    /// <summary>No session lives longer than this, however often it is refreshed.</summary>
    public int SessionMaxDays { get; set; } = 30;

    /// <summary>Failed sign-ins for one username within <see cref="LockoutWindowMinutes"/> before it is locked.</summary>
    public int LockoutThreshold { get; set; } = 5;

    public int LockoutWindowMinutes { get; set; } = 15;

    public int LockoutMinutes { get; set; } = 15;

    /// <summary>
    /// How long a node trusts what it read about a user, session, API key or revoked token before reading
    /// it again. Changes made on this node apply at once; changes made on another node within this delay.
    /// </summary>
    public int StateCacheSeconds { get; set; } = 5;

    /// <summary>
    /// Base64 of 32 random bytes that encrypts stored secrets (token signing keys, TOTP secrets). When empty,
    /// one is generated into <c>DataDir/keys/master.key</c>; nodes sharing a database must share this key.
    /// </summary>
    public string? MasterKey { get; set; }
}

public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        Range(failures, "AccessTokenMinutes", options.AccessTokenMinutes, 1, 1440);
        Range(failures, "RefreshTokenDays", options.RefreshTokenDays, 1, 365);
        Range(failures, "SessionMaxDays", options.SessionMaxDays, 1, 3650);
        Range(failures, "LockoutThreshold", options.LockoutThreshold, 1, 1000);
        Range(failures, "LockoutWindowMinutes", options.LockoutWindowMinutes, 1, 1440);
        Range(failures, "LockoutMinutes", options.LockoutMinutes, 1, 10080);
        Range(failures, "StateCacheSeconds", options.StateCacheSeconds, 0, 300);
        if (options.SessionMaxDays < options.RefreshTokenDays)
        {
            failures.Add($"Sutazai:Auth:SessionMaxDays ({options.SessionMaxDays}) must be at least Sutazai:Auth:RefreshTokenDays ({options.RefreshTokenDays}).");
        }

        if (string.IsNullOrWhiteSpace(options.Issuer) || string.IsNullOrWhiteSpace(options.Audience))
        {
            failures.Add("Sutazai:Auth:Issuer and Sutazai:Auth:Audience must not be empty.");
        }

        if (!string.IsNullOrEmpty(options.MasterKey) && !SecretProtector.IsValidKey(options.MasterKey))
        {
            failures.Add("Sutazai:Auth:MasterKey must be base64 of exactly 32 bytes (for example the output of `openssl rand -base64 32`).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Range(List<string> failures, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"Sutazai:Auth:{key} must be between {min} and {max} (got {value}).");
        }
    }
}
