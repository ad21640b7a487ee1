namespace Sutazai.Core.Identity;

/// <summary>A named set of permissions.</summary>
public sealed class Role
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    public string Description { get; set; } = "";

    public List<string> Permissions { get; set; } = [];

    public bool IsBuiltIn { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A role given to a user.</summary>
public sealed class UserRole
{
    public Guid UserId { get; set; }

    public Guid RoleId { get; set; }

    public Role? Role { get; set; }

    public DateTimeOffset AssignedAt { get; set; }
}
