using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;
using Sutazai.Core.Identity;
using Sutazai.Persistence;

namespace Sutazai.Server.Identity;

/// <summary>
/// The keys that sign access tokens. The first start generates an ECDSA P-256 key and stores it encrypted
/// under the master key, so tokens stay valid across restarts and every node sharing the store verifies what
/// any node signed. Keys are loaded into memory at start.
/// </summary>
public sealed partial class SigningKeyRing(
    IDbContextFactory<SutazaiDbContext> contexts,
    SecretProtector protector,
    TimeProvider time,
    ILogger<SigningKeyRing> logger)
{
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    private volatile Loaded? _loaded;

    /// <summary>Signs new tokens with the newest active key.</summary>
    public SigningCredentials SigningCredentials =>
        (_loaded ?? throw new InvalidOperationException("Signing keys are not loaded yet.")).Signing;

    /// <summary>Every key a token may have been signed with, active or retired.</summary>
    public IReadOnlyList<SecurityKey> VerificationKeys => _loaded?.Verification ?? [];

    /// <summary>Creates the first key when there is none, then loads all keys.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var stored = await db.SigningKeys.AsNoTracking().ToListAsync(cancellationToken);
        if (!stored.Any(k => k.RetiredAt is null))
        {
            using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var key = new SigningKey
            {
                Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
                Algorithm = Algorithm,
                PrivateKey = protector.Protect(ecdsa.ExportPkcs8PrivateKey()),
                CreatedAt = time.GetUtcNow(),
            };
            // Two nodes starting at once may each store a key; both verify, and the newer one signs.
            db.SigningKeys.Add(key);
            await db.SaveChangesAsync(cancellationToken);
            LogKeyCreated(key.Id);
            stored.Add(key);
        }

        var verification = new List<SecurityKey>();
        foreach (var key in stored)
        {
            byte[] pkcs8;
            try
            {
                pkcs8 = protector.Unprotect(key.PrivateKey);
            }
            catch (CryptographicException e)
            {
                throw new InvalidOperationException(
                    $"Token signing key {key.Id} cannot be decrypted: it was stored under another master key. Give every node the same Sutazai:Auth:MasterKey.", e);
            }

            var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
            verification.Add(new ECDsaSecurityKey(ecdsa) { KeyId = key.Id });
        }

        var newest = stored.Where(k => k.RetiredAt is null).OrderByDescending(k => k.CreatedAt).First();
        var signingKey = verification.Single(k => k.KeyId == newest.Id);
        _loaded = new Loaded(new SigningCredentials(signingKey, Algorithm), verification);
    }

    private sealed record Loaded(SigningCredentials Signing, IReadOnlyList<SecurityKey> Verification);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generated token signing key {KeyId}")]
    private partial void LogKeyCreated(string keyId);
}
