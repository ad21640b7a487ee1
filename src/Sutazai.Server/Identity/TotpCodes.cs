using OtpNet;
using Sutazai.Core.Identity;

namespace Sutazai.Server.Identity;

/// <summary>TOTP (RFC 6238) secrets, enrolment URIs and code checks, with replay refused.</summary>
public sealed class TotpCodes(SecretProtector protector, TimeProvider time)
{
    public const string Issuer = "SutazAI";

    public sealed record Enrolment(string Secret, string OtpAuthUri, string ProtectedSecret);

    public Enrolment NewEnrolment(string username)
    {
        var secret = Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(20));
        var label = Uri.EscapeDataString($"{Issuer}:{username}");
        var uri = $"otpauth://totp/{label}?secret={secret}&issuer={Uri.EscapeDataString(Issuer)}&algorithm=SHA1&digits=6&period=30";
        return new Enrolment(secret, uri, protector.ProtectString(secret));
    }

    /// <summary>
    /// Checks <paramref name="code"/> against the user's secret, allowing one 30-second step of clock drift either
    /// way. A code from a step already used is refused. On success the user's last step is moved forward.
    /// </summary>
    public bool Verify(User user, string? code)
    {
        if (user.MfaSecretProtected is null || code is null || code.Length != 6 || !code.All(char.IsAsciiDigit))
        {
            return false;
        }

        var totp = new Totp(Base32Encoding.ToBytes(protector.UnprotectString(user.MfaSecretProtected)));
        if (!totp.VerifyTotp(time.GetUtcNow().UtcDateTime, code, out var step, new VerificationWindow(previous: 1, future: 1)))
        {
            return false;
        }

        if (user.MfaLastTimeStep is { } last && step <= last)
        {
            return false;
        }

        user.MfaLastTimeStep = step;
        return true;
    }
}
