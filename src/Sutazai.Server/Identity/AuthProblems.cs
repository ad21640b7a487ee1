using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;
using Microsoft.IdentityModel.Tokens;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Identity;

/// <summary>401 and 403 as problem details that say what was wrong, without echoing the credential.</summary>
public static class AuthProblems
{
    public static ValueTask WriteUnauthorizedAsync(HttpContext context, Exception? failure)
    {
        var reason = Describe(failure);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = failure is null
            ? "Bearer realm=\"sutazai\""
            : $"Bearer realm=\"sutazai\", error=\"invalid_token\", error_description=\"{reason}\"";
        return Problems.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status401Unauthorized,
            Type = ProblemTypes.Unauthorized,
            Title = "Authentication required",
            Detail = reason,
        });
    }

    private static string Describe(Exception? failure) => failure switch
    {
        null => "Send a bearer access token (POST /api/v1/auth/token) or an API key (X-API-Key header).",
        CredentialRejectedException rejected => rejected.Message,
        SecurityTokenInvalidLifetimeException or SecurityTokenExpiredException => "The access token has expired; refresh it or sign in again.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The access token's signature is not valid.",
        SecurityTokenInvalidAlgorithmException => "The access token is not signed with an accepted algorithm.",
        SecurityTokenInvalidIssuerException or SecurityTokenInvalidAudienceException => "The access token was not issued for this server.",
        SecurityTokenNoExpirationException => "The access token has no expiry.",
        _ => "The access token is malformed.",
    };
}

/// <summary>A credential that was well formed but is no longer accepted; its message is safe to show.</summary>
public sealed class CredentialRejectedException(string message) : Exception(message);

/// <summary>Answers a refused authorization with a 403 problem that names the missing permission.</summary>
internal sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var permission = context.GetEndpoint()?.Metadata.GetMetadata<RequiredPermission>()?.Permission;
        await Problems.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status403Forbidden,
            Type = ProblemTypes.Forbidden,
            Title = "Permission denied",
            Detail = permission is null ? "You may not do this." : $"This needs the permission '{permission}'.",
        });
    }
}
