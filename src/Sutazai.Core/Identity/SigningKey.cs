namespace Sutazai.Core.Identity;

/// <summary>A key that signs access tokens. Generated on first start and shared by every node through the store.</summary>
public sealed class SigningKey
{
    /// <summary>The <c>kid</c> placed in token headers.</summary>
    public required string Id { get; set; }

    public required string Algorithm { get; set; }

    /// <summary>The private key in PKCS#8 form, encrypted under the installation's master key.</summary>
    public required byte[] PrivateKey { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>After this instant the key no longer signs, but still verifies tokens it signed.</summary>
    public DateTimeOffset? RetiredAt { get; set; }
}
