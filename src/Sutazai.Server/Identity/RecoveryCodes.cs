using Sutazai.Core.Identity;

namespace Sutazai.Server.Identity;

/// <summary>Single-use codes that stand in for the authenticator when it is lost; stored only as hashes.</summary>
public static class RecoveryCodes
{
    public const int Count = 10;

    /// <summary>Replaces the user's codes with new ones and returns them; they are not shown again.</summary>
    public static IReadOnlyList<string> Issue(User user)
    {
        var codes = Enumerable.Range(0, Count).Select(_ => OpaqueTokens.NewRecoveryCode()).ToList();
        user.RecoveryCodeHashes = [.. codes.Select(c => OpaqueTokens.Hash(OpaqueTokens.NormalizeRecoveryCode(c)))];
        return codes;
    }

    /// <summary>Uses up the code when it is one of the user's unused ones.</summary>
    public static bool TryConsume(User user, string? code)
    {
        if (string.IsNullOrWhiteSpace(code) || code.Length > 64)
        {
            return false;
        }

        var hash = OpaqueTokens.Hash(OpaqueTokens.NormalizeRecoveryCode(code));
        if (!user.RecoveryCodeHashes.Contains(hash))
        {
            return false;
        }

        user.RecoveryCodeHashes = [.. user.RecoveryCodeHashes.Where(h => h != hash)];
        return true;
    }
}
