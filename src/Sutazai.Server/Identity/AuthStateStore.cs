using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Sutazai.Persistence;

namespace Sutazai.Server.Identity;

/// <summary>
/// What every authenticated request needs to know from the store: is the user still active and with what
/// permissions, is the session still open, is the API key still valid, was this token revoked. Read through
/// a short cache (<see cref="AuthOptions.StateCacheSeconds"/>); every change on this node evicts at once.
/// </summary>
public sealed class AuthStateStore(IDbContextFactory<SutazaiDbContext> contexts, IMemoryCache cache, IOptions<AuthOptions> options, TimeProvider time)
{
    private static readonly TimeSpan TouchResolution = TimeSpan.FromMinutes(1);

    private TimeSpan Ttl => TimeSpan.FromSeconds(options.Value.StateCacheSeconds);

    public ValueTask<UserAuthState?> GetUserAsync(Guid userId, CancellationToken cancellationToken) =>
        GetOrLoadAsync($"auth:user:{userId}", async db =>
        {
            var user = await db.Users.AsNoTracking()
                .Where(u => u.Id == userId)
                .Select(u => new { u.Id, u.Username, u.IsActive, u.SecurityStamp, Roles = u.Roles.Select(r => new { r.Role!.Name, r.Role.Permissions }).ToList() })
                .SingleOrDefaultAsync(cancellationToken);
            return user is null
                ? null
                : new UserAuthState(
                    user.Id,
                    user.Username,
                    user.IsActive,
                    user.SecurityStamp,
                    user.Roles.Select(r => r.Name).Order(StringComparer.Ordinal).ToList(),
                    user.Roles.SelectMany(r => r.Permissions).ToHashSet(StringComparer.Ordinal));
        });

    /// <returns>The session when it is open, otherwise null.</returns>
    public async ValueTask<SessionAuthState?> GetOpenSessionAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        var session = await GetOrLoadAsync($"auth:session:{sessionId}", db =>
            db.Sessions.AsNoTracking().Where(s => s.Id == sessionId).Select(s => new SessionAuthState(s.Id, s.IsActive, s.AbsoluteExpiresAt, s.LastAccessedAt)).SingleOrDefaultAsync(cancellationToken));
        return session is { IsActive: true } && session.AbsoluteExpiresAt > time.GetUtcNow() ? session : null;
    }

    /// <summary>Records use of a session or key, at most once a minute each, so busy callers do not write on every request.</summary>
    public async Task TouchAsync(SessionAuthState session, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - session.LastAccessedAt < TouchResolution)
        {
            return;
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Sessions.Where(s => s.Id == session.Id).ExecuteUpdateAsync(s => s.SetProperty(x => x.LastAccessedAt, now), cancellationToken);
        ForgetSession(session.Id);
    }

    public async Task TouchAsync(ApiKeyAuthState key, string keyHash, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (key.LastUsedAt is { } lastUsed && now - lastUsed < TouchResolution)
        {
            return;
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.ApiKeys.Where(k => k.Id == key.Id).ExecuteUpdateAsync(k => k.SetProperty(x => x.LastUsedAt, now), cancellationToken);
        ForgetApiKey(keyHash);
    }

    public async ValueTask<bool> IsAccessTokenRevokedAsync(string tokenId, CancellationToken cancellationToken)
    {
        var revoked = await GetOrLoadAsync($"auth:jti:{tokenId}", async db =>
            await db.RevokedAccessTokens.AsNoTracking().AnyAsync(t => t.TokenId == tokenId, cancellationToken) ? RevokedMarker.Instance : null);
        return revoked is not null;
    }

    public ValueTask<ApiKeyAuthState?> FindApiKeyAsync(string keyHash, CancellationToken cancellationToken) =>
        GetOrLoadAsync($"auth:apikey:{keyHash}", db =>
            db.ApiKeys.AsNoTracking()
                .Where(k => k.KeyHash == keyHash)
                .Select(k => new ApiKeyAuthState(k.Id, k.UserId, k.Name, k.Scopes, k.ExpiresAt, k.RevokedAt != null, k.LastUsedAt))
                .SingleOrDefaultAsync(cancellationToken));

    public void ForgetUser(Guid userId) => cache.Remove($"auth:user:{userId}");

    public void ForgetSession(Guid sessionId) => cache.Remove($"auth:session:{sessionId}");

    public void ForgetAccessToken(string tokenId) => cache.Remove($"auth:jti:{tokenId}");

    public void ForgetApiKey(string keyHash) => cache.Remove($"auth:apikey:{keyHash}");

    private async ValueTask<T?> GetOrLoadAsync<T>(string key, Func<SutazaiDbContext, Task<T?>> load)
        where T : class
    {
        if (cache.TryGetValue(key, out T? cached))
        {
            return cached;
        }

        await using var db = await contexts.CreateDbContextAsync();
        var value = await load(db);
        if (Ttl > TimeSpan.Zero)
        {
            cache.Set(key, value, Ttl);
        }

        return value;
    }
}

public sealed record UserAuthState(Guid Id, string Username, bool IsActive, string SecurityStamp, IReadOnlyList<string> Roles, IReadOnlySet<string> Permissions);

internal sealed class RevokedMarker
{
    public static readonly RevokedMarker Instance = new();
}

public sealed record SessionAuthState(Guid Id, bool IsActive, DateTimeOffset AbsoluteExpiresAt, DateTimeOffset LastAccessedAt);

public sealed record ApiKeyAuthState(Guid Id, Guid UserId, string Name, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt, bool Revoked, DateTimeOffset? LastUsedAt);
