namespace Sutazai.Core.Identity;

/// <summary>
/// A long-lived credential for programs. Its permissions are its scopes, never more than its owner holds
/// at any time. Only a hash of the key is stored; the key itself is shown once.
/// </summary>
public sealed class ApiKey
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid UserId { get; set; }

    public required string Name { get; set; }

    /// <summary>The first characters of the key, so people can tell their keys apart.</summary>
    public required string Prefix { get; set; }

    public required string KeyHash { get; set; }

    public List<string> Scopes { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }
}
