using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;

namespace Sutazai.Persistence.Identity;

internal static class IdentityModel
{
    public static void Configure(ModelBuilder model, JsonColumns json)
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
            user.Property(u => u.MfaSecretProtected).HasMaxLength(ModelLimits.Key);
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
            session.Property(s => s.RefreshTokenHash).HasMaxLength(128);
            session.HasIndex(s => s.RefreshTokenHash).IsUnique();
            session.Property(s => s.AuthMethod).HasMaxLength(32);
            session.Property(s => s.EndReason).HasMaxLength(64);
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

        model.Entity<ConsumedRefreshToken>(token =>
        {
            token.ToTable("consumed_refresh_tokens");
            token.HasKey(t => t.TokenHash);
            token.Property(t => t.TokenHash).HasMaxLength(128);
            token.HasIndex(t => t.ExpiresAt);
            token.HasOne<Session>().WithMany().HasForeignKey(t => t.SessionId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<RevokedAccessToken>(token =>
        {
            token.ToTable("revoked_access_tokens");
            token.HasKey(t => t.TokenId);
            token.Property(t => t.TokenId).HasMaxLength(64);
            token.HasIndex(t => t.ExpiresAt);
        });

        model.Entity<ApiKey>(key =>
        {
            key.ToTable("api_keys");
            key.Property(k => k.Name).HasMaxLength(ModelLimits.Name);
            key.Property(k => k.Prefix).HasMaxLength(32);
            key.Property(k => k.KeyHash).HasMaxLength(128);
            key.HasIndex(k => k.KeyHash).IsUnique();
            key.HasIndex(k => k.UserId);
            key.HasOne<User>().WithMany().HasForeignKey(k => k.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<AuditEntry>(entry =>
        {
            entry.ToTable("audit_log");
            entry.Property(e => e.ActorName).HasMaxLength(ModelLimits.Name);
            entry.Property(e => e.Action).HasMaxLength(ModelLimits.Name);
            entry.Property(e => e.TargetType).HasMaxLength(64);
            entry.Property(e => e.TargetId).HasMaxLength(ModelLimits.Name);
            entry.Property(e => e.IpAddress).HasMaxLength(64);
            entry.Property(e => e.UserAgent).HasMaxLength(ModelLimits.Key);
            entry.Property(e => e.TraceId).HasMaxLength(64);
            json.Apply(entry.Property(e => e.DetailsJson).HasColumnName("details"));
            // No foreign keys: the record outlives the users and keys it names.
            entry.HasIndex(e => e.OccurredAt);
            entry.HasIndex(e => new { e.Action, e.OccurredAt });
            entry.HasIndex(e => new { e.ActorUserId, e.OccurredAt });
            entry.HasIndex(e => new { e.TargetType, e.TargetId });
        });

        model.Entity<LoginThrottle>(throttle =>
        {
            throttle.ToTable("login_throttles");
            throttle.HasKey(t => t.Username);
            throttle.Property(t => t.Username).HasMaxLength(ModelLimits.Name);
        });
    }
}
