using System.Security.Cryptography;
using System.Text;

namespace Sutazai.Server.Identity;

/// <summary>
/// Random bearer secrets (refresh tokens, API keys, recovery codes) and the hashes they are stored as.
/// They carry 256 bits of entropy, so a fast hash is as safe as a slow one and keeps lookups cheap.
/// </summary>
public static class OpaqueTokens
{
    public const string RefreshTokenPrefix = "szr_";
    public const string ApiKeyPrefix = "szk_";

    public static string NewRefreshToken() => RefreshTokenPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewApiKey() => ApiKeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>A recovery code of 80 random bits, in groups people can type: <c>ABCD-EFGH-JKLM-NPQR</c>.</summary>
    public static string NewRecoveryCode()
    {
        const string alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        var code = RandomNumberGenerator.GetString(alphabet, 16);
        return string.Join('-', code.Chunk(4).Select(c => new string(c)));
    }

    public static string NormalizeRecoveryCode(string code) => code.Trim().Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
