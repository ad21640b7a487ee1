using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Sutazai.Core;
using Sutazai.Core.Identity;
using Sutazai.Core.Security;

namespace Sutazai.Server.Identity;

public static class IdentityRegistration
{
    /// <summary>The scheme every endpoint authenticates with: a bearer access token or an API key.</summary>
    public const string Scheme = "Sutazai";

    /// <summary>Tokens far larger than ours are refused before anything is parsed.</summary>
    private const int MaximumTokenBytes = 8 * 1024;

    public static IServiceCollection AddSutazaiIdentity(this IServiceCollection services)
    {
        services.AddValidatedOptions<AuthOptions, AuthOptionsValidator>(AuthOptions.Section);
        services.AddValidatedOptions<BootstrapOptions, BootstrapOptionsValidator>(BootstrapOptions.Section);
        services.AddMemoryCache();
        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        services.AddSingleton<DecoyPassword>();
        services.AddSingleton<SecretProtector>();
        services.AddSingleton<ISecretProtector>(sp => sp.GetRequiredService<SecretProtector>());
        services.AddSingleton<SigningKeyRing>();
        services.AddSingleton<AuthStateStore>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<VerifiedTokenHandler>();
        services.AddSingleton<LoginThrottleService>();
        services.AddSingleton<TotpCodes>();
        services.AddSingleton<AdminBootstrapper>();
        services.AddSingleton<ExpiredCredentialSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<ExpiredCredentialSweeper>());

        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Bearer access token or API key", policy =>
                policy.ForwardDefaultSelector = context => ApiKeyAuthenticationHandler.FindKey(context.Request) is null
                    ? JwtBearerDefaults.AuthenticationScheme
                    : ApiKeyAuthenticationHandler.SchemeName)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<TokenService, AuthStateStore, VerifiedTokenHandler>(ConfigureJwtBearer);

        // Secure by default: an endpoint that declares nothing still needs a signed-in caller.
        services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().AddRequirements(new SignedInForEndpoints()).Build());
        services.AddSingleton<IAuthorizationHandler, SignedInForEndpoints>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        return services;
    }

    private static void ConfigureJwtBearer(JwtBearerOptions jwt, TokenService tokens, AuthStateStore state, VerifiedTokenHandler handler)
    {
        jwt.MapInboundClaims = false;
        jwt.TokenHandlers.Clear();
        handler.MapInboundClaims = false;
        handler.MaximumTokenSizeInBytes = MaximumTokenBytes;
        jwt.TokenHandlers.Add(handler);
        jwt.TokenValidationParameters = tokens.ValidationParameters();
        jwt.Events = new JwtBearerEvents
        {
            OnTokenValidated = async context =>
            {
                if (await CheckStillValidAsync(context.Principal!, state, context.HttpContext.RequestAborted) is { } rejection)
                {
                    context.Fail(new CredentialRejectedException(rejection));
                }
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                await AuthProblems.WriteUnauthorizedAsync(context.HttpContext, context.AuthenticateFailure);
            },
        };
    }

    /// <summary>A token with a valid signature may still be dead: revoked, its session ended, its user disabled or changed.</summary>
    /// <returns>Why the token is refused, or null when it is good; on success the principal gains its roles and permissions.</returns>
    private static async Task<string?> CheckStillValidAsync(System.Security.Claims.ClaimsPrincipal principal, AuthStateStore state, CancellationToken cancellationToken)
    {
        var tokenId = principal.FindFirst(SutazaiClaims.TokenId)?.Value;
        if (tokenId is null || principal.SessionIdOf() is not { } sessionId || !Guid.TryParse(principal.FindFirst(SutazaiClaims.Subject)?.Value, out var userId))
        {
            return "The access token lacks the claims SutazAI issues.";
        }

        if (await state.IsAccessTokenRevokedAsync(tokenId, cancellationToken))
        {
            return "The access token was revoked.";
        }

        var session = await state.GetOpenSessionAsync(sessionId, cancellationToken);
        if (session is null)
        {
            return "The session has ended; sign in again.";
        }

        var user = await state.GetUserAsync(userId, cancellationToken);
        if (user is not { IsActive: true })
        {
            return "The user is disabled.";
        }

        if (user.SecurityStamp != principal.FindFirst(SutazaiClaims.SecurityStamp)?.Value)
        {
            return "The user's credentials changed since this token was issued; sign in again.";
        }

        await state.TouchAsync(session, cancellationToken);
        var identity = (System.Security.Claims.ClaimsIdentity)principal.Identity!;
        identity.AddClaims(user.Roles.Select(r => new System.Security.Claims.Claim(SutazaiClaims.Role, r)));
        identity.AddClaims(user.Permissions.Select(p => new System.Security.Claims.Claim(SutazaiClaims.Permission, p)));
        return null;
    }

    /// <summary>
    /// The fallback rule: a mapped endpoint needs a signed-in caller. Requests that matched no endpoint, or only
    /// the framework's 405 and 415 answers, pass through so they get those answers: the public OpenAPI document
    /// lists every route anyway.
    /// </summary>
    private sealed class SignedInForEndpoints : AuthorizationHandler<SignedInForEndpoints>, IAuthorizationRequirement
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SignedInForEndpoints requirement)
        {
            var endpoint = (context.Resource as HttpContext)?.GetEndpoint();
            if (endpoint is not RouteEndpoint || context.User.Identity?.IsAuthenticated == true)
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }
}
