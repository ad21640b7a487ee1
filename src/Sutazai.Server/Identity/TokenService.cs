using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Sutazai.Core.Identity;
using Sutazai.Persistence;

namespace Sutazai.Server.Identity;

/// <summary>
/// Sessions and the tokens that carry them: short-lived signed access tokens, and refresh tokens that rotate
/// on every use. A refresh token used twice means it leaked; its whole session ends.
/// </summary>
public sealed class TokenService(
    IDbContextFactory<SutazaiDbContext> contexts,
    SigningKeyRing keys,
    AuthStateStore state,
    IOptions<AuthOptions> options,
    TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public async Task<TokenPair> StartSessionAsync(User user, string authMethod, ClientInfo client, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var refreshToken = OpaqueTokens.NewRefreshToken();
        var absoluteExpiry = now.AddDays(settings.SessionMaxDays);
        var session = new Session
        {
            UserId = user.Id,
            RefreshTokenHash = OpaqueTokens.Hash(refreshToken),
            ExpiresAt = Min(now.AddDays(settings.RefreshTokenDays), absoluteExpiry),
            AbsoluteExpiresAt = absoluteExpiry,
            AuthMethod = authMethod,
            IpAddress = client.IpAddress,
            UserAgent = client.UserAgent,
            CreatedAt = now,
            LastAccessedAt = now,
        };
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.Sessions.Add(session);
        await db.SaveChangesAsync(cancellationToken);
        return Pair(user.Id, user.Username, user.SecurityStamp, session, refreshToken, now);
    }

    public async Task<RefreshOutcome> RefreshAsync(string refreshToken, ClientInfo client, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var hash = OpaqueTokens.Hash(refreshToken);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var session = await db.Sessions.SingleOrDefaultAsync(s => s.RefreshTokenHash == hash, cancellationToken);
        if (session is null)
        {
            var consumed = await db.ConsumedRefreshTokens.AsNoTracking().SingleOrDefaultAsync(t => t.TokenHash == hash, cancellationToken);
            if (consumed is null)
            {
                return new RefreshOutcome.Invalid("unknown refresh token");
            }

            var reused = await db.Sessions.SingleAsync(s => s.Id == consumed.SessionId, cancellationToken);
            if (reused.IsActive)
            {
                End(reused, "refresh_token_reuse", now);
                await db.SaveChangesAsync(cancellationToken);
                state.ForgetSession(reused.Id);
            }

            return new RefreshOutcome.Reused(reused.Id, reused.UserId);
        }

        if (!session.IsActive || session.ExpiresAt <= now || session.AbsoluteExpiresAt <= now)
        {
            return new RefreshOutcome.Invalid(session.IsActive ? "refresh token expired" : "session ended");
        }

        var user = await db.Users.AsNoTracking().SingleAsync(u => u.Id == session.UserId, cancellationToken);
        if (!user.IsActive)
        {
            return new RefreshOutcome.Invalid("user disabled");
        }

        var next = OpaqueTokens.NewRefreshToken();
        db.ConsumedRefreshTokens.Add(new ConsumedRefreshToken { TokenHash = hash, SessionId = session.Id, ConsumedAt = now, ExpiresAt = session.ExpiresAt });
        session.RefreshTokenHash = OpaqueTokens.Hash(next);
        session.ExpiresAt = Min(now.AddDays(options.Value.RefreshTokenDays), session.AbsoluteExpiresAt);
        session.LastAccessedAt = now;
        session.IpAddress = client.IpAddress;
        session.UserAgent = client.UserAgent;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The same token was refreshed concurrently and the other request won: this presentation is a reuse.
            return new RefreshOutcome.Invalid("refresh token already used");
        }

        return new RefreshOutcome.Refreshed(Pair(user.Id, user.Username, user.SecurityStamp, session, next, now), user.Id, user.Username);
    }

    /// <returns>False when the session does not exist or was already ended.</returns>
    public async Task<bool> EndSessionAsync(Guid sessionId, string reason, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var session = await db.Sessions.SingleOrDefaultAsync(s => s.Id == sessionId && s.IsActive, cancellationToken);
        if (session is null)
        {
            return false;
        }

        End(session, reason, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        state.ForgetSession(sessionId);
        return true;
    }

    public async Task<int> EndAllSessionsAsync(Guid userId, string reason, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var sessions = await db.Sessions.Where(s => s.UserId == userId && s.IsActive).ToListAsync(cancellationToken);
        var now = time.GetUtcNow();
        sessions.ForEach(s => End(s, reason, now));
        await db.SaveChangesAsync(cancellationToken);
        sessions.ForEach(s => state.ForgetSession(s.Id));
        return sessions.Count;
    }

    public async Task RevokeAccessTokenAsync(string tokenId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (!await db.RevokedAccessTokens.AnyAsync(t => t.TokenId == tokenId, cancellationToken))
        {
            db.RevokedAccessTokens.Add(new RevokedAccessToken { TokenId = tokenId, RevokedAt = time.GetUtcNow(), ExpiresAt = expiresAt });
            await db.SaveChangesAsync(cancellationToken);
        }

        state.ForgetAccessToken(tokenId);
    }

    /// <summary>Reads a token this server signed, even an expired one, so it can be revoked. Null when it is not ours.</summary>
    public async Task<JsonWebToken?> ReadOwnTokenAsync(string token)
    {
        var result = await Handler.ValidateTokenAsync(token, ValidationParameters(validateLifetime: false));
        return result.IsValid ? (JsonWebToken)result.SecurityToken : null;
    }

    /// <summary>The rules every access token must pass: our issuer and audience, our keys, ES256 only, not expired.</summary>
    public TokenValidationParameters ValidationParameters(bool validateLifetime = true) => new()
    {
        ValidIssuer = options.Value.Issuer,
        ValidAudience = options.Value.Audience,
        ValidAlgorithms = [SigningKeyRing.Algorithm],
        IssuerSigningKeyResolver = (_, _, kid, _) => keys.VerificationKeys.Where(k => k.KeyId == kid),
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = validateLifetime,
        LifetimeValidator = (notBefore, expires, _, _) =>
        {
            // Judged by the injected clock, so tests can let tokens expire without waiting.
            var now = time.GetUtcNow().UtcDateTime;
            var skew = TimeSpan.FromSeconds(30);
            return expires is { } exp && exp > now - skew && (notBefore is not { } nbf || nbf <= now + skew);
        },
        NameClaimType = SutazaiClaims.Name,
        RoleClaimType = SutazaiClaims.Role,
    };

    private TokenPair Pair(Guid userId, string username, string securityStamp, Session session, string refreshToken, DateTimeOffset now)
    {
        var expires = now.AddMinutes(options.Value.AccessTokenMinutes);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = keys.SigningCredentials,
            Claims = new Dictionary<string, object>
            {
                [SutazaiClaims.Subject] = userId.ToString(),
                [SutazaiClaims.Name] = username,
                [SutazaiClaims.SessionId] = session.Id.ToString(),
                [SutazaiClaims.TokenId] = Guid.NewGuid().ToString("N"),
                [SutazaiClaims.SecurityStamp] = securityStamp,
                [SutazaiClaims.AuthMethod] = session.AuthMethod,
            },
        };
        return new TokenPair(Handler.CreateToken(descriptor), expires, refreshToken, session.ExpiresAt, session.Id);
    }

    private static void End(Session session, string reason, DateTimeOffset now)
    {
        session.IsActive = false;
        session.EndedAt = now;
        session.EndReason = reason;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}

public sealed record TokenPair(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken, DateTimeOffset RefreshTokenExpiresAt, Guid SessionId);

public abstract record RefreshOutcome
{
    public sealed record Refreshed(TokenPair Tokens, Guid UserId, string Username) : RefreshOutcome;

    public sealed record Invalid(string Reason) : RefreshOutcome;

    /// <summary>A rotated-away token came back: its session has been ended.</summary>
    public sealed record Reused(Guid SessionId, Guid UserId) : RefreshOutcome;
}
