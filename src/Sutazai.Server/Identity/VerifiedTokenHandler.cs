using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Sutazai.Server.Identity;

/// <summary>
/// Validates access tokens like <see cref="JsonWebTokenHandler"/>, remembering the tokens whose signature it has
/// verified. A client sends the same token on every request for its lifetime, and checking an ES256 signature was
/// about a tenth of the server's CPU per API call. What can change between two uses of one token is checked again on
/// every use: its lifetime (by the injected clock) and that its signing key is still one we verify with. Anything
/// else about the caller (revocation, session, user) is checked per request after this, as before. Only successes
/// are remembered; a token differing in any byte is a different entry.
/// </summary>
internal sealed class VerifiedTokenHandler : JsonWebTokenHandler, IDisposable
{
    private const int Capacity = 10_000;

    private readonly MemoryCache _verified = new(new MemoryCacheOptions { SizeLimit = Capacity });

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (_verified.TryGetValue(token, out TokenValidationResult? known) && StillValid((JsonWebToken)known!.SecurityToken, validationParameters))
        {
            return Copy(known);
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken verified)
        {
            _verified.Set(token, Copy(result), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpiration = verified.ValidTo.AddMinutes(1) });
        }
        else
        {
            _verified.Remove(token);
        }

        return result;
    }

    public void Dispose() => _verified.Dispose();

    /// <summary>A valid result with its own identity: callers add claims to the one they get (roles, permissions).</summary>
    private static TokenValidationResult Copy(TokenValidationResult result) => new()
    {
        IsValid = true,
        SecurityToken = result.SecurityToken,
        ClaimsIdentity = result.ClaimsIdentity.Clone(),
        Issuer = result.Issuer,
        TokenType = result.TokenType,
    };

    private static bool StillValid(JsonWebToken token, TokenValidationParameters parameters) =>
        (!parameters.ValidateLifetime
            || (parameters.LifetimeValidator is { } lifetime && lifetime(token.ValidFrom == DateTime.MinValue ? null : token.ValidFrom, token.ValidTo, token, parameters)))
        && (parameters.IssuerSigningKeyResolver is not { } keys || keys(token.EncodedToken, token, token.Kid, parameters).Any());
}
