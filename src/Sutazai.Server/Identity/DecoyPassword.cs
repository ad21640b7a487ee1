using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Sutazai.Core.Identity;

namespace Sutazai.Server.Identity;

/// <summary>A hash nobody knows the password of, checked when a sign-in names no user, so that costs as much as a wrong password.</summary>
public sealed class DecoyPassword(IPasswordHasher<User> hasher)
{
    private static readonly User Nobody = new() { Username = "nobody", Email = "nobody@invalid", PasswordHash = "" };
    private readonly Lazy<string> _hash = new(() => hasher.HashPassword(Nobody, Convert.ToHexString(RandomNumberGenerator.GetBytes(32))));

    public PasswordVerificationResult Verify(string password)
    {
        hasher.VerifyHashedPassword(Nobody, _hash.Value, password);
        return PasswordVerificationResult.Failed;
    }
}
