using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Tests;

/// <summary>The access-token handler remembers verified signatures, but never past what a full validation would accept.</summary>
public sealed class VerifiedTokenHandlerTests : IDisposable
{
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsaSecurityKey _key;
    private DateTime _now = new(2026, 11, 27, 12, 0, 0, DateTimeKind.Utc);
    private bool _keyKnown = true;

    public VerifiedTokenHandlerTests() => _key = new ECDsaSecurityKey(_ecdsa) { KeyId = "k1" };

    public void Dispose() => _ecdsa.Dispose();

    [Fact]
    public async Task A_remembered_token_gives_each_caller_its_own_identity_and_still_expires_and_loses_its_key()
    {
        using var handler = new VerifiedTokenHandler { MapInboundClaims = false };
        var parameters = Parameters();
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "sutazai",
            Audience = "sutazai-api",
            IssuedAt = _now,
            NotBefore = _now,
            Expires = _now.AddMinutes(15),
            Claims = new Dictionary<string, object> { ["sub"] = "user-1" },
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.EcdsaSha256),
        });

        var first = await handler.ValidateTokenAsync(token, parameters);
        Assert.True(first.IsValid, first.Exception?.Message);
        first.ClaimsIdentity.AddClaim(new Claim("permission", "system:admin"));

        // Remembered: valid again, with the token's claims only (not what the first caller added).
        var second = await handler.ValidateTokenAsync(token, parameters);
        Assert.True(second.IsValid);
        Assert.NotSame(first.ClaimsIdentity, second.ClaimsIdentity);
        Assert.Equal("user-1", second.ClaimsIdentity.FindFirst("sub")?.Value);
        Assert.Null(second.ClaimsIdentity.FindFirst("permission"));

        // A tampered copy is not the remembered token.
        var parts = token.Split('.');
        var tampered = $"{parts[0]}.{parts[1]}.{(parts[2][0] == 'A' ? 'B' : 'A')}{parts[2][1..]}";
        Assert.False((await handler.ValidateTokenAsync(tampered, parameters)).IsValid);

        // Its signing key is no longer one we verify with: refused although remembered.
        _keyKnown = false;
        Assert.False((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        _keyKnown = true;
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);

        // Past its expiry by the injected clock: refused with the full validation's reason.
        _now = _now.AddMinutes(16);
        var expired = await handler.ValidateTokenAsync(token, parameters);
        Assert.False(expired.IsValid);
        Assert.IsAssignableFrom<SecurityTokenInvalidLifetimeException>(expired.Exception);
    }

    private TokenValidationParameters Parameters() => new()
    {
        ValidIssuer = "sutazai",
        ValidAudience = "sutazai-api",
        ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
        IssuerSigningKeyResolver = (_, _, kid, _) => _keyKnown && kid == _key.KeyId ? [_key] : [],
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        LifetimeValidator = (notBefore, expires, _, _) => expires > _now && (notBefore is not { } nbf || nbf <= _now),
    };
}
