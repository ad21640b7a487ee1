using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Sutazai.Core;
using Sutazai.Core.Security;

namespace Sutazai.Server.Identity;

/// <summary>
/// Encrypts secrets that must be stored and read back (token signing keys, TOTP secrets) with AES-256-GCM
/// under the installation's master key, which never enters the database.
/// </summary>
public sealed partial class SecretProtector : ISecretProtector
{
    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public SecretProtector(IOptions<AuthOptions> auth, IOptions<PlatformOptions> platform, ILogger<SecretProtector> logger)
    {
        _key = string.IsNullOrEmpty(auth.Value.MasterKey)
            ? LoadOrCreateKeyFile(Path.Combine(platform.Value.ResolvedDataDir, "keys", "master.key"), logger)
            : Convert.FromBase64String(auth.Value.MasterKey);
    }

    public static bool IsValidKey(string base64)
    {
        var buffer = new byte[KeySize + 1];
        return Convert.TryFromBase64String(base64, buffer, out var written) && written == KeySize;
    }

    public byte[] Protect(ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length));
        return output;
    }

    /// <exception cref="CryptographicException">The data was encrypted under another master key, or altered.</exception>
    public byte[] Unprotect(ReadOnlySpan<byte> protectedData)
    {
        if (protectedData.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("The protected data is too short.");
        }

        var length = protectedData.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(protectedData[..NonceSize], protectedData.Slice(NonceSize, length), protectedData[(NonceSize + length)..], plaintext);
        return plaintext;
    }

    public string ProtectString(string plaintext) => Convert.ToBase64String(Protect(System.Text.Encoding.UTF8.GetBytes(plaintext)));

    public string UnprotectString(string protectedText) => System.Text.Encoding.UTF8.GetString(Unprotect(Convert.FromBase64String(protectedText)));

    private static byte[] LoadOrCreateKeyFile(string path, ILogger logger)
    {
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            return IsValidKey(existing)
                ? Convert.FromBase64String(existing)
                : throw new InvalidOperationException($"{path} does not hold a base64 key of {KeySize} bytes.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = RandomNumberGenerator.GetBytes(KeySize);
        // Readable by this user only; created with those permissions so it is never briefly world-readable.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(Convert.ToBase64String(key));
        }

        LogKeyCreated(logger, path);
        return key;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Generated the master key at {Path}; nodes sharing this database need the same key (Sutazai:Auth:MasterKey)")]
    private static partial void LogKeyCreated(ILogger logger, string path);
}
