using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Api;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;
using Sutazai.Server.RateLimiting;

namespace Sutazai.Server.Identity;

/// <summary>Signing in and out, tokens, sessions, password changes and MFA, all for the caller's own account.</summary>
public static class AuthApi
{
    public static RouteGroupBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/auth").WithTags("Auth").WithRateLimitGroup(RateLimitGroups.Auth);
        api.MapPost("/token", SignInAsync).AllowAnonymous().AuditedByHandler("auth.login")
            .WithSummary("Sign in with username and password (and a TOTP or recovery code once MFA is on); returns an access and a refresh token");
        api.MapPost("/refresh", RefreshAsync).AllowAnonymous().AuditedByHandler("auth.refresh")
            .WithSummary("Exchange a refresh token for new tokens; the old refresh token stops working");
        api.MapPost("/logout", LogoutAsync).RequireSignedIn().AuditedByHandler("auth.logout")
            .WithSummary("End the current session: its refresh token and this access token stop working");
        api.MapPost("/revoke", RevokeAsync).RequireSignedIn().AuditedByHandler("auth.revoke")
            .WithSummary("Revoke an access token or a refresh token (and its session) of your own");
        api.MapGet("/me", MeAsync).RequireSignedIn().WithSummary("Who the caller is, with roles and permissions");
        api.MapPost("/password", ChangePasswordAsync).RequireSignedIn().AuditedByHandler("auth.password_change")
            .WithSummary("Change your password; every session ends");
        api.MapGet("/sessions", ListSessionsAsync).RequireSignedIn()
            .WithSummary("Your sessions; with user_id and user:view, another user's");
        api.MapDelete("/sessions/{id:guid}", EndSessionAsync).RequireSignedIn().Audited("session.end", "session")
            .WithSummary("End one of your sessions; with user:update, anyone's");
        api.MapPost("/mfa/enroll", EnrollMfaAsync).RequireSignedIn().AuditedByHandler("mfa.enroll")
            .WithSummary("Start TOTP enrolment: returns the secret and an otpauth:// URI for an authenticator app");
        api.MapPost("/mfa/confirm", ConfirmMfaAsync).RequireSignedIn().AuditedByHandler("mfa.enable")
            .WithSummary("Confirm enrolment with a current code; MFA is on from then and recovery codes are returned once");
        api.MapPost("/mfa/disable", DisableMfaAsync).RequireSignedIn().AuditedByHandler("mfa.disable")
            .WithSummary("Turn MFA off, proving the password and a current TOTP or recovery code");
        return api;
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> SignInAsync(
        TokenRequest request,
        HttpContext http,
        SutazaiDbContext db,
        IPasswordHasher<User> hasher,
        DecoyPassword decoy,
        LoginThrottleService throttle,
        TokenService tokens,
        TotpCodes totp,
        AuditLog audit,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var username = UserNames.Normalize(request.Username);
        if (await throttle.LockedUntilAsync(username, cancellationToken) is { } lockedUntil)
        {
            await audit.RecordAsync(http, new AuditEvent("auth.login", AuditOutcome.Denied, Details: new { reason = "locked" }, ActorName: username), cancellationToken);
            return Problems.TooManyRequests("Too many failed sign-ins for this username; try again later.", lockedUntil, time.GetUtcNow(), http);
        }

        var user = await db.Users.SingleOrDefaultAsync(u => u.Username == username, cancellationToken);
        // An unknown name costs the same hashing work as a wrong password, so timing does not tell them apart.
        var verified = user is null
            ? decoy.Verify(request.Password)
            : hasher.VerifyHashedPassword(user, user.PasswordHash, request.Password);
        if (user is null || verified == PasswordVerificationResult.Failed || !user.IsActive)
        {
            return await FailAsync("invalid_credentials", user?.Id);
        }

        if (verified == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, request.Password);
        }

        var method = "password";
        if (user.MfaEnabled)
        {
            if (string.IsNullOrEmpty(request.TotpCode) && string.IsNullOrEmpty(request.RecoveryCode))
            {
                await audit.RecordAsync(http, new AuditEvent("auth.login", AuditOutcome.Failure, Details: new { reason = "mfa_required" }, ActorUserId: user.Id, ActorName: username), cancellationToken);
                return Problems.Unauthorized(ProblemTypes.MfaRequired, "A second factor is required", "Send totp_code (from your authenticator app) or recovery_code with your username and password.");
            }

            if (totp.Verify(user, request.TotpCode))
            {
                method = "password+totp";
            }
            else if (RecoveryCodes.TryConsume(user, request.RecoveryCode))
            {
                method = "password+recovery";
            }
            else
            {
                return await FailAsync("invalid_mfa_code", user.Id);
            }
        }

        user.LastLoginAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await throttle.ResetAsync(username, cancellationToken);
        var pair = await tokens.StartSessionAsync(user, method, ClientInfo.From(http), cancellationToken);
        await audit.RecordAsync(http, new AuditEvent("auth.login", AuditOutcome.Success, "session", pair.SessionId.ToString(), new { method }, user.Id, username), cancellationToken);
        return TypedResults.Ok(TokenResponse.From(pair, time.GetUtcNow()));

        async Task<ProblemHttpResult> FailAsync(string reason, Guid? userId)
        {
            var locked = await throttle.RecordFailureAsync(username, cancellationToken);
            await audit.RecordAsync(http, new AuditEvent("auth.login", AuditOutcome.Failure, Details: new { reason }, ActorUserId: userId, ActorName: username), cancellationToken);
            if (locked is not null)
            {
                await audit.RecordAsync(http, new AuditEvent("auth.lockout", AuditOutcome.Success, "username", username, new { until = locked }, userId, username), cancellationToken);
            }

            return Problems.Unauthorized(ProblemTypes.InvalidCredentials, "Sign-in failed", "The username or password is wrong.");
        }
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> RefreshAsync(
        RefreshRequest request, HttpContext http, TokenService tokens, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var outcome = await tokens.RefreshAsync(request.RefreshToken, ClientInfo.From(http), cancellationToken);
        switch (outcome)
        {
            case RefreshOutcome.Refreshed refreshed:
                await audit.RecordAsync(http, new AuditEvent("auth.refresh", AuditOutcome.Success, "session", refreshed.Tokens.SessionId.ToString(), ActorUserId: refreshed.UserId, ActorName: refreshed.Username), cancellationToken);
                return TypedResults.Ok(TokenResponse.From(refreshed.Tokens, time.GetUtcNow()));
            case RefreshOutcome.Reused reused:
                await audit.RecordAsync(http, new AuditEvent("auth.refresh_reuse", AuditOutcome.Denied, "session", reused.SessionId.ToString(), ActorUserId: reused.UserId), cancellationToken);
                return Problems.Unauthorized(ProblemTypes.InvalidGrant, "Refresh token reused", "This refresh token was already used, so it may have leaked: its session has been ended. Sign in again.");
            case RefreshOutcome.Invalid invalid:
                await audit.RecordAsync(http, new AuditEvent("auth.refresh", AuditOutcome.Failure, Details: new { reason = invalid.Reason }), cancellationToken);
                return Problems.Unauthorized(ProblemTypes.InvalidGrant, "Refresh token not accepted", $"The refresh token cannot be used: {invalid.Reason}.");
            default:
                throw new InvalidOperationException($"Unexpected refresh outcome {outcome}.");
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> LogoutAsync(ClaimsPrincipal user, HttpContext http, TokenService tokens, AuditLog audit, CancellationToken cancellationToken)
    {
        if (user.SessionIdOf() is not { } sessionId)
        {
            return Problems.BadRequest("An API key has no session; revoke the key with DELETE /api/v1/api-keys/{id}.");
        }

        await tokens.EndSessionAsync(sessionId, "logout", cancellationToken);
        await RevokeCurrentAccessTokenAsync(user, tokens, cancellationToken);
        await audit.RecordAsync(http, new AuditEvent("auth.logout", AuditOutcome.Success, "session", sessionId.ToString()), cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        RevokeRequest request, ClaimsPrincipal user, HttpContext http, SutazaiDbContext db, TokenService tokens, AuditLog audit, CancellationToken cancellationToken)
    {
        var caller = user.UserId();
        var mayRevokeOthers = user.HasPermission(Permissions.UserUpdate);
        if (request.Token.StartsWith(OpaqueTokens.RefreshTokenPrefix, StringComparison.Ordinal))
        {
            var hash = OpaqueTokens.Hash(request.Token);
            var sessionId = await db.Sessions.Where(s => s.RefreshTokenHash == hash).Select(s => (Guid?)s.Id).SingleOrDefaultAsync(cancellationToken)
                ?? await db.ConsumedRefreshTokens.Where(t => t.TokenHash == hash).Select(t => (Guid?)t.SessionId).SingleOrDefaultAsync(cancellationToken);
            var owner = sessionId is null ? null : await db.Sessions.Where(s => s.Id == sessionId).Select(s => (Guid?)s.UserId).SingleAsync(cancellationToken);
            if (sessionId is { } id && owner is { } ownerId)
            {
                if (ownerId != caller && !mayRevokeOthers)
                {
                    return await DeniedAsync("refresh_token");
                }

                await tokens.EndSessionAsync(id, "revoked", cancellationToken);
                await audit.RecordAsync(http, new AuditEvent("auth.revoke", AuditOutcome.Success, "session", id.ToString(), new { token_type = "refresh_token" }), cancellationToken);
            }
        }
        else if (await tokens.ReadOwnTokenAsync(request.Token) is { } accessToken)
        {
            var ownerId = Guid.TryParse(accessToken.Subject, out var parsed) ? parsed : Guid.Empty;
            if (ownerId != caller && !mayRevokeOthers)
            {
                return await DeniedAsync("access_token");
            }

            await tokens.RevokeAccessTokenAsync(accessToken.Id, new DateTimeOffset(accessToken.ValidTo, TimeSpan.Zero), cancellationToken);
            await audit.RecordAsync(http, new AuditEvent("auth.revoke", AuditOutcome.Success, "access_token", accessToken.Id, new { token_type = "access_token" }), cancellationToken);
        }

        // As RFC 7009 asks, a token that is unknown or already dead is not an error.
        return TypedResults.NoContent();

        async Task<ProblemHttpResult> DeniedAsync(string tokenType)
        {
            await audit.RecordAsync(http, new AuditEvent("auth.revoke", AuditOutcome.Denied, Details: new { token_type = tokenType }), cancellationToken);
            return Problems.Forbidden("The token belongs to another user; revoking it needs the permission 'user:update'.");
        }
    }

    private static async Task<Ok<MeView>> MeAsync(ClaimsPrincipal principal, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var id = principal.UserId();
        var user = await db.Users.AsNoTracking().Include(u => u.Roles).ThenInclude(r => r.Role).SingleAsync(u => u.Id == id, cancellationToken);
        return TypedResults.Ok(new MeView(
            UserView.From(user),
            [.. principal.PermissionsOf().Order(StringComparer.Ordinal)],
            principal.FindFirstValue(SutazaiClaims.AuthMethod) ?? "",
            principal.SessionIdOf(),
            principal.ApiKeyIdOf()));
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> ChangePasswordAsync(
        ChangePasswordRequest request,
        ClaimsPrincipal principal,
        HttpContext http,
        SutazaiDbContext db,
        IPasswordHasher<User> hasher,
        TokenService tokens,
        AuthStateStore state,
        AuditLog audit,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var user = await db.Users.SingleAsync(u => u.Id == principal.UserId(), cancellationToken);
        if (hasher.VerifyHashedPassword(user, user.PasswordHash, request.CurrentPassword) == PasswordVerificationResult.Failed)
        {
            await audit.RecordAsync(http, new AuditEvent("auth.password_change", AuditOutcome.Failure, "user", user.Id.ToString(), new { reason = "wrong_current_password" }), cancellationToken);
            return Problems.Forbidden("The current password is wrong.");
        }

        if (PasswordPolicy.Check(request.NewPassword, user.Username, user.Email) is { Count: > 0 } problems)
        {
            return Problems.Validation("new_password", [.. problems]);
        }

        user.PasswordHash = hasher.HashPassword(user, request.NewPassword);
        user.PasswordChangedAt = user.UpdatedAt = time.GetUtcNow();
        user.SecurityStamp = Guid.NewGuid().ToString("N");
        await db.SaveChangesAsync(cancellationToken);
        state.ForgetUser(user.Id);
        var ended = await tokens.EndAllSessionsAsync(user.Id, "password_changed", cancellationToken);
        await audit.RecordAsync(http, new AuditEvent("auth.password_change", AuditOutcome.Success, "user", user.Id.ToString(), new { sessions_ended = ended }), cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Page<SessionView>>, ProblemHttpResult>> ListSessionsAsync(
        [AsParameters] PageQuery page,
        ClaimsPrincipal principal,
        SutazaiDbContext db,
        [FromQuery(Name = "user_id")] Guid? userId,
        [FromQuery(Name = "include_ended")] bool? includeEnded,
        CancellationToken cancellationToken)
    {
        var owner = userId ?? principal.UserId();
        if (owner != principal.UserId() && !principal.HasPermission(Permissions.UserView))
        {
            return Problems.Forbidden("Listing another user's sessions needs the permission 'user:view'.");
        }

        var query = db.Sessions.AsNoTracking().Where(s => s.UserId == owner);
        if (includeEnded != true)
        {
            query = query.Where(s => s.IsActive);
        }

        var total = await query.CountAsync(cancellationToken);
        var sessions = await query.OrderByDescending(s => s.LastAccessedAt).Skip(page.Offset).Take(page.Limit).ToListAsync(cancellationToken);
        var current = principal.SessionIdOf();
        return TypedResults.Ok(new Page<SessionView>([.. sessions.Select(s => SessionView.From(s, current))], total, page.Limit, page.Offset));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> EndSessionAsync(
        Guid id, ClaimsPrincipal principal, SutazaiDbContext db, TokenService tokens, CancellationToken cancellationToken)
    {
        var owner = await db.Sessions.Where(s => s.Id == id).Select(s => (Guid?)s.UserId).SingleOrDefaultAsync(cancellationToken);
        if (owner is null || (owner != principal.UserId() && !principal.HasPermission(Permissions.UserUpdate)))
        {
            // Another user's session is reported as missing, not as forbidden, so ids cannot be probed.
            return Problems.NotFound($"You have no session {id}.");
        }

        await tokens.EndSessionAsync(id, owner == principal.UserId() ? "ended_by_user" : "ended_by_admin", cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<MfaEnrolmentView>, ProblemHttpResult>> EnrollMfaAsync(
        PasswordConfirmation request,
        ClaimsPrincipal principal,
        HttpContext http,
        SutazaiDbContext db,
        IPasswordHasher<User> hasher,
        TotpCodes totp,
        AuditLog audit,
        CancellationToken cancellationToken)
    {
        var user = await db.Users.SingleAsync(u => u.Id == principal.UserId(), cancellationToken);
        if (user.MfaEnabled)
        {
            return Problems.Conflict("MFA is already on. Disable it first to enrol a new authenticator.");
        }

        if (hasher.VerifyHashedPassword(user, user.PasswordHash, request.Password) == PasswordVerificationResult.Failed)
        {
            await audit.RecordAsync(http, new AuditEvent("mfa.enroll", AuditOutcome.Failure, "user", user.Id.ToString(), new { reason = "wrong_password" }), cancellationToken);
            return Problems.Forbidden("The password is wrong.");
        }

        var enrolment = totp.NewEnrolment(user.Username);
        user.MfaSecretProtected = enrolment.ProtectedSecret;
        user.MfaLastTimeStep = null;
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(http, new AuditEvent("mfa.enroll", AuditOutcome.Success, "user", user.Id.ToString()), cancellationToken);
        return TypedResults.Ok(new MfaEnrolmentView(enrolment.Secret, enrolment.OtpAuthUri));
    }

    private static async Task<Results<Ok<RecoveryCodesView>, ProblemHttpResult>> ConfirmMfaAsync(
        MfaCodeRequest request, ClaimsPrincipal principal, HttpContext http, SutazaiDbContext db, TotpCodes totp, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var user = await db.Users.SingleAsync(u => u.Id == principal.UserId(), cancellationToken);
        if (user.MfaEnabled || user.MfaSecretProtected is null)
        {
            return Problems.Conflict(user.MfaEnabled ? "MFA is already on." : "Start enrolment first: POST /api/v1/auth/mfa/enroll.");
        }

        if (!totp.Verify(user, request.Code))
        {
            await audit.RecordAsync(http, new AuditEvent("mfa.enable", AuditOutcome.Failure, "user", user.Id.ToString(), new { reason = "invalid_code" }), cancellationToken);
            return Problems.Forbidden("The code does not match; check the authenticator app's clock and try the current code.");
        }

        var codes = RecoveryCodes.Issue(user);
        user.MfaEnabled = true;
        user.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(http, new AuditEvent("mfa.enable", AuditOutcome.Success, "user", user.Id.ToString()), cancellationToken);
        return TypedResults.Ok(new RecoveryCodesView(codes));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DisableMfaAsync(
        DisableMfaRequest request,
        ClaimsPrincipal principal,
        HttpContext http,
        SutazaiDbContext db,
        IPasswordHasher<User> hasher,
        TotpCodes totp,
        AuditLog audit,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var user = await db.Users.SingleAsync(u => u.Id == principal.UserId(), cancellationToken);
        if (!user.MfaEnabled)
        {
            return Problems.Conflict("MFA is not on.");
        }

        var proven = hasher.VerifyHashedPassword(user, user.PasswordHash, request.Password) != PasswordVerificationResult.Failed
            && (totp.Verify(user, request.Code) || RecoveryCodes.TryConsume(user, request.Code));
        if (!proven)
        {
            await audit.RecordAsync(http, new AuditEvent("mfa.disable", AuditOutcome.Failure, "user", user.Id.ToString(), new { reason = "not_proven" }), cancellationToken);
            return Problems.Forbidden("The password or the code is wrong.");
        }

        user.MfaEnabled = false;
        user.MfaSecretProtected = null;
        user.MfaLastTimeStep = null;
        user.RecoveryCodeHashes = [];
        user.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(http, new AuditEvent("mfa.disable", AuditOutcome.Success, "user", user.Id.ToString()), cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task RevokeCurrentAccessTokenAsync(ClaimsPrincipal user, TokenService tokens, CancellationToken cancellationToken)
    {
        if (user.FindFirstValue(SutazaiClaims.TokenId) is { } tokenId && long.TryParse(user.FindFirstValue("exp"), out var expires))
        {
            await tokens.RevokeAccessTokenAsync(tokenId, DateTimeOffset.FromUnixTimeSeconds(expires), cancellationToken);
        }
    }
}

public sealed record TokenRequest(
    [property: Required, StringLength(200)] string Username,
    [property: Required, StringLength(1024)] string Password,
    [property: StringLength(16)] string? TotpCode = null,
    [property: StringLength(64)] string? RecoveryCode = null);

public sealed record RefreshRequest([property: Required, StringLength(200)] string RefreshToken);

public sealed record RevokeRequest([property: Required, StringLength(16384)] string Token);

public sealed record ChangePasswordRequest(
    [property: Required, StringLength(1024)] string CurrentPassword,
    [property: Required, StringLength(1024)] string NewPassword);

public sealed record PasswordConfirmation([property: Required, StringLength(1024)] string Password);

public sealed record MfaCodeRequest([property: Required, StringLength(64)] string Code);

public sealed record DisableMfaRequest([property: Required, StringLength(1024)] string Password, [property: Required, StringLength(64)] string Code);

/// <param name="ExpiresIn">Seconds the access token is valid.</param>
/// <param name="RefreshExpiresIn">Seconds the refresh token is valid, unless used first.</param>
public sealed record TokenResponse(string AccessToken, string TokenType, long ExpiresIn, string RefreshToken, long RefreshExpiresIn, Guid SessionId)
{
    public static TokenResponse From(TokenPair pair, DateTimeOffset now) => new(
        pair.AccessToken,
        "Bearer",
        (long)(pair.AccessTokenExpiresAt - now).TotalSeconds,
        pair.RefreshToken,
        (long)(pair.RefreshTokenExpiresAt - now).TotalSeconds,
        pair.SessionId);
}

public sealed record MeView(UserView User, IReadOnlyList<string> Permissions, string AuthMethod, Guid? SessionId, Guid? ApiKeyId);

public sealed record SessionView(
    Guid Id, Guid UserId, bool IsActive, bool IsCurrent, string AuthMethod, string? IpAddress, string? UserAgent,
    DateTimeOffset CreatedAt, DateTimeOffset LastAccessedAt, DateTimeOffset ExpiresAt, DateTimeOffset? EndedAt, string? EndReason)
{
    public static SessionView From(Session s, Guid? current) => new(
        s.Id, s.UserId, s.IsActive, s.Id == current, s.AuthMethod, s.IpAddress, s.UserAgent, s.CreatedAt, s.LastAccessedAt, s.ExpiresAt, s.EndedAt, s.EndReason);
}

public sealed record MfaEnrolmentView(string Secret, string OtpauthUri);

public sealed record RecoveryCodesView(IReadOnlyList<string> RecoveryCodes);
