using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sutazai.Core.Identity;
using Sutazai.Persistence;

namespace Sutazai.Server.Identity;

/// <summary>
/// Creates the first administrator when the installation has none. There is no default password: it comes
/// from configuration, or is generated and shown once in the log.
/// </summary>
public sealed partial class AdminBootstrapper(
    IDbContextFactory<SutazaiDbContext> contexts,
    IPasswordHasher<User> hasher,
    IOptions<BootstrapOptions> options,
    TimeProvider time,
    ILogger<AdminBootstrapper> logger)
{
    private const string PasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    private const int GeneratedPasswordLength = 24;

    /// <returns>True when this call created the administrator.</returns>
    public async Task<bool> EnsureAdminAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var adminRole = await db.Roles.SingleAsync(r => r.Name == BuiltInRoles.Admin, cancellationToken);
        if (await db.UserRoles.AnyAsync(r => r.RoleId == adminRole.Id, cancellationToken))
        {
            return false;
        }

        var settings = options.Value;
        var generated = string.IsNullOrEmpty(settings.AdminPassword);
        var password = generated ? RandomNumberGenerator.GetString(PasswordAlphabet, GeneratedPasswordLength) : settings.AdminPassword!;
        var now = time.GetUtcNow();
        var username = UserNames.Normalize(settings.AdminUsername);
        var admin = await db.Users.Include(u => u.Roles).SingleOrDefaultAsync(u => u.Username == username, cancellationToken);
        if (admin is null)
        {
            admin = new User
            {
                Username = username,
                Email = settings.AdminEmail.Trim().ToLowerInvariant(),
                PasswordHash = "",
                CreatedAt = now,
                UpdatedAt = now,
            };
            db.Users.Add(admin);
        }

        // A user of that name without the role (an earlier admin was demoted or removed) is made admin again,
        // with a new password, so an installation can never be left without one.
        admin.PasswordHash = hasher.HashPassword(admin, password);
        admin.SecurityStamp = Guid.NewGuid().ToString("N");
        admin.IsActive = true;
        admin.UpdatedAt = now;
        admin.Roles.Add(new UserRole { RoleId = adminRole.Id, AssignedAt = now });

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another node created the administrator at the same moment; theirs stands.
            return false;
        }

        if (generated)
        {
            LogGeneratedPassword(username, password);
        }
        else
        {
            LogConfiguredPassword(username);
        }

        return true;
    }

    // The one log line that carries a secret, by design: it is written once, when the administrator is created.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Created administrator '{Username}' with generated password {InitialPassword} . It is shown only this once: sign in and change it.")]
    private partial void LogGeneratedPassword(string username, string initialPassword);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created administrator '{Username}' with the password from Sutazai:Bootstrap:AdminPassword")]
    private partial void LogConfiguredPassword(string username);
}
