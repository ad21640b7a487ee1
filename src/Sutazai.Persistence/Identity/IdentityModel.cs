using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;

namespace Sutazai.Persistence.Identity;

internal static class IdentityModel
{
    public static void Configure(ModelBuilder model)
    {
        model.Entity<User>(user =>
        {
            user.ToTable("users");
            user.Property(u => u.Username).HasMaxLength(ModelLimits.Name);
            user.Property(u => u.Email).HasMaxLength(ModelLimits.Name);
            // Both are stored lower-cased (see User), so these indexes make uniqueness ignore case.
            user.HasIndex(u => u.Username).IsUnique();
            user.HasIndex(u => u.Email).IsUnique();
            user.Property(u => u.PasswordHash).HasMaxLength(ModelLimits.Key);
            user.Property(u => u.SecurityStamp).HasMaxLength(64).IsConcurrencyToken();
            user.HasMany(u => u.Roles).WithOne().HasForeignKey(r => r.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<Role>(role =>
        {
            role.ToTable("roles");
            role.Property(r => r.Name).HasMaxLength(ModelLimits.Name);
            role.HasIndex(r => r.Name).IsUnique();
        });

        model.Entity<UserRole>(link =>
        {
            link.ToTable("user_roles");
            link.HasKey(r => new { r.UserId, r.RoleId });
            link.HasOne(r => r.Role).WithMany().HasForeignKey(r => r.RoleId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<Session>(session =>
        {
            session.ToTable("sessions");
            session.Property(s => s.TokenHash).HasMaxLength(128);
            session.HasIndex(s => s.TokenHash).IsUnique();
            session.HasIndex(s => new { s.UserId, s.IsActive });
            session.HasOne<User>().WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
            session.Property(s => s.UserAgent).HasMaxLength(ModelLimits.Key);
            session.Property(s => s.IpAddress).HasMaxLength(64);
        });

        model.Entity<SigningKey>(key =>
        {
            key.ToTable("signing_keys");
            key.Property(k => k.Id).HasMaxLength(64);
            key.Property(k => k.Algorithm).HasMaxLength(16);
        });
    }
}
