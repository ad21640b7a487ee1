namespace Sutazai.Core.Security;

/// <summary>Encrypts secrets that must be stored and read back (webhook secrets, TOTP secrets, signing keys).</summary>
public interface ISecretProtector
{
    string ProtectString(string plaintext);

    string UnprotectString(string protectedText);
}
