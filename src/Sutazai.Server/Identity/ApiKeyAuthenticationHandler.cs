using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Sutazai.Server.Identity;

/// <summary>
/// Authenticates <c>X-API-Key: szk_...</c> or <c>Authorization: Bearer szk_...</c> (so OpenAI-style clients
/// work unchanged). A key acts with its scopes, cut down to what its owner may do right now.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AuthStateStore state,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-API-Key";

    public static string? FindKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var header))
        {
            return header.ToString().Trim();
        }

        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer " + OpaqueTokens.ApiKeyPrefix, StringComparison.Ordinal) ? authorization["Bearer ".Length..].Trim() : null;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await AuthProblems.WriteUnauthorizedAsync(Context, result.Failure);
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = FindKey(Request);
        if (string.IsNullOrEmpty(presented))
        {
            return AuthenticateResult.NoResult();
        }

        if (!presented.StartsWith(OpaqueTokens.ApiKeyPrefix, StringComparison.Ordinal) || presented.Length > 200)
        {
            return AuthenticateResult.Fail(new CredentialRejectedException("The API key is malformed."));
        }

        var hash = OpaqueTokens.Hash(presented);
        var key = await state.FindApiKeyAsync(hash, Context.RequestAborted);
        var now = time.GetUtcNow();
        if (key is null || key.Revoked)
        {
            return AuthenticateResult.Fail(new CredentialRejectedException("The API key is unknown or revoked."));
        }

        if (key.ExpiresAt is { } expires && expires <= now)
        {
            return AuthenticateResult.Fail(new CredentialRejectedException("The API key has expired."));
        }

        var owner = await state.GetUserAsync(key.UserId, Context.RequestAborted);
        if (owner is not { IsActive: true })
        {
            return AuthenticateResult.Fail(new CredentialRejectedException("The API key's owner is disabled."));
        }

        await state.TouchAsync(key, hash, Context.RequestAborted);

        var claims = new List<Claim>
        {
            new(SutazaiClaims.Subject, owner.Id.ToString()),
            new(SutazaiClaims.Name, owner.Username),
            new(SutazaiClaims.ApiKeyId, key.Id.ToString()),
            new(SutazaiClaims.AuthMethod, "api_key"),
        };
        claims.AddRange(owner.Roles.Select(r => new Claim(SutazaiClaims.Role, r)));
        claims.AddRange(key.Scopes.Where(owner.Permissions.Contains).Select(p => new Claim(SutazaiClaims.Permission, p)));
        var identity = new ClaimsIdentity(claims, SchemeName, SutazaiClaims.Name, SutazaiClaims.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
