namespace Sutazai.Server.Identity;

/// <summary>What a password must be: long, not built from the account's own name, not a row of one character.</summary>
public static class PasswordPolicy
{
    public const int MinimumLength = 12;
    public const int MaximumLength = 256;
    private const int MinimumDistinctCharacters = 5;

    /// <returns>What is wrong with the password, or an empty list when it is acceptable.</returns>
    public static IReadOnlyList<string> Check(string? password, string username, string? email)
    {
        var problems = new List<string>();
        if (string.IsNullOrEmpty(password) || password.Length < MinimumLength)
        {
            problems.Add($"The password must be at least {MinimumLength} characters.");
            return problems;
        }

        if (password.Length > MaximumLength)
        {
            problems.Add($"The password must be at most {MaximumLength} characters.");
        }

        if (password.Distinct().Count() < MinimumDistinctCharacters)
        {
            problems.Add($"The password must use at least {MinimumDistinctCharacters} different characters.");
        }

        var localPart = email?.Split('@')[0];
        if (password.Contains(username, StringComparison.OrdinalIgnoreCase)
            || (localPart is { Length: >= 3 } && password.Contains(localPart, StringComparison.OrdinalIgnoreCase)))
        {
            problems.Add("The password must not contain the username or e-mail name.");
        }

        return problems;
    }
}
