namespace Sutazai.Core.Identity;

/// <summary>
/// A signed-in session. Its refresh tokens form one family: each use rotates the token, and presenting one
/// that was already rotated ends the session. Tokens are stored only as hashes.
/// </summary>
public sealed class Session
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid UserId { get; set; }

    /// <summary>Hash of the refresh token that may be used next.</summary>
    public required string RefreshTokenHash { get; set; }

    /// <summary>When the current refresh token lapses; each rotation moves it forward, up to <see cref="AbsoluteExpiresAt"/>.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset AbsoluteExpiresAt { get; set; }

    public bool IsActive { get; set; } = true;

    /// <summary>How the user proved who they were: <c>password</c> or <c>password+totp</c> or <c>password+recovery</c>.</summary>
    public string AuthMethod { get; set; } = "password";

    public string? UserAgent { get; set; }

    public string? IpAddress { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset LastAccessedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Why the session ended: <c>logout</c>, <c>revoked</c>, <c>refresh_token_reuse</c>, <c>user_disabled</c>, ...</summary>
    public string? EndReason { get; set; }
}

/// <summary>A refresh token that was rotated away. Seeing it again means it leaked, and its session is ended.</summary>
public sealed class ConsumedRefreshToken
{
    public required string TokenHash { get; set; }

    public Guid SessionId { get; set; }

    public DateTimeOffset ConsumedAt { get; set; }

    /// <summary>After this it would be refused anyway and the row can go.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>An access token refused before its expiry.</summary>
public sealed class RevokedAccessToken
{
    /// <summary>The token's <c>jti</c>.</summary>
    public required string TokenId { get; set; }

    public DateTimeOffset RevokedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
