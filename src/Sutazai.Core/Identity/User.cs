namespace Sutazai.Core.Identity;

/// <summary>A person or service account that signs in.</summary>
public sealed class User
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>Lower-case; sign-in ignores case.</summary>
    public required string Username { get; set; }

    /// <summary>Lower-case, so one address cannot be registered twice in different cases.</summary>
    public required string Email { get; set; }

    /// <summary>A slow, salted hash; the password itself is never stored or logged.</summary>
    public required string PasswordHash { get; set; }

    public bool IsActive { get; set; } = true;

    /// <summary>Changes whenever credentials or roles change, so tokens issued before are refused.</summary>
    public string SecurityStamp { get; set; } = Guid.NewGuid().ToString("N");

    public List<UserRole> Roles { get; set; } = [];

    public bool MfaEnabled { get; set; }

    /// <summary>The TOTP secret, encrypted with the installation's master key; set at enrolment, active once confirmed.</summary>
    public string? MfaSecretProtected { get; set; }

    /// <summary>The last TOTP time step accepted, so a code cannot be used twice.</summary>
    public long? MfaLastTimeStep { get; set; }

    /// <summary>Hashes of the unused single-use recovery codes.</summary>
    public List<string> RecoveryCodeHashes { get; set; } = [];

    public DateTimeOffset PasswordChangedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? LastLoginAt { get; set; }
}
