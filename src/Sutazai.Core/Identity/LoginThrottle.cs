namespace Sutazai.Core.Identity;

/// <summary>
/// Failed sign-ins counted per typed username, whether or not such a user exists, so lockout neither
/// reveals which accounts exist nor can be avoided by guessing names.
/// </summary>
public sealed class LoginThrottle
{
    /// <summary>The normalized username that was typed.</summary>
    public required string Username { get; set; }

    public int Failures { get; set; }

    public DateTimeOffset WindowStartedAt { get; set; }

    public DateTimeOffset? LockedUntil { get; set; }
}
