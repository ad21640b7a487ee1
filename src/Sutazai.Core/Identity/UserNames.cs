using System.Text.RegularExpressions;

namespace Sutazai.Core.Identity;

/// <summary>What a username may look like. Usernames are stored lower-case so sign-in ignores case.</summary>
public static partial class UserNames
{
    public static bool IsValidUsername(string? username) =>
        username is not null && ValidUsername().IsMatch(Normalize(username));

    public static string Normalize(string value) => value.Trim().ToLowerInvariant();

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{2,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidUsername();
}
