using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;
using Sutazai.Persistence;

namespace Sutazai.Server.Identity;

/// <summary>
/// The keys that sign access tokens. The first start generates an ECDSA P-256 key and stores it, so tokens
/// stay valid across restarts and every node sharing the store verifies what any node signed.
/// </summary>
public sealed partial class SigningKeyRing(IDbContextFactory<SutazaiDbContext> contexts, TimeProvider time, ILogger<SigningKeyRing> logger)
{
    public const string Algorithm = "ES256";

    /// <returns>The key that signs new tokens, created when there is none.</returns>
    public async Task<SigningKey> EnsureActiveKeyAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var active = await ActiveKeyAsync(db, cancellationToken);
        if (active is not null)
        {
            return active;
        }

        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = new SigningKey
        {
            Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            Algorithm = Algorithm,
            PrivateKey = ecdsa.ExportPkcs8PrivateKey(),
            CreatedAt = time.GetUtcNow(),
        };
        // Two nodes starting at once may each store a key; both verify, and the newer one signs.
        db.SigningKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        LogKeyCreated(key.Id);
        return key;
    }

    private static async Task<SigningKey?> ActiveKeyAsync(SutazaiDbContext db, CancellationToken cancellationToken) =>
        (await db.SigningKeys.AsNoTracking().Where(k => k.RetiredAt == null).ToListAsync(cancellationToken))
            .OrderByDescending(k => k.CreatedAt)
            .FirstOrDefault();

    [LoggerMessage(Level = LogLevel.Information, Message = "Generated token signing key {KeyId}")]
    private partial void LogKeyCreated(string keyId);
}
