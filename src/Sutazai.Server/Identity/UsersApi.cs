using System.ComponentModel.DataAnnotations;
using System.Net.Mail;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Api;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Identity;

/// <summary>Administering users and their roles.</summary>
public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/v1/users").WithTags("Users");
        users.MapGet("/", ListAsync).RequirePermission(Permissions.UserView).WithSummary("List users, filtered by name or e-mail and by state");
        users.MapPost("/", CreateAsync).RequirePermission(Permissions.UserCreate).Audited("user.create", "user")
            .WithSummary("Create a user (roles other than viewer also need role:assign)");
        users.MapGet("/{id:guid}", GetAsync).RequirePermission(Permissions.UserView).WithSummary("Get one user");
        users.MapPatch("/{id:guid}", UpdateAsync).RequirePermission(Permissions.UserUpdate).Audited("user.update", "user")
            .WithSummary("Change e-mail, password or active state; disabling ends the user's sessions and tokens");
        users.MapDelete("/{id:guid}", DeleteAsync).RequirePermission(Permissions.UserDelete).Audited("user.delete", "user")
            .WithSummary("Delete a user");
        users.MapPut("/{id:guid}/roles", SetRolesAsync).RequirePermission(Permissions.RoleAssign).Audited("user.roles", "user")
            .WithSummary("Replace a user's roles");

        app.MapGroup("/api/v1/roles").WithTags("Users")
            .MapGet("/", ListRolesAsync).RequirePermission(Permissions.UserView).WithSummary("The roles and the permissions each grants");
        return app;
    }

    private static async Task<Ok<Page<UserView>>> ListAsync(
        [AsParameters] PageQuery page, SutazaiDbContext db, [FromQuery(Name = "q")] string? search, [FromQuery(Name = "active")] bool? active, CancellationToken cancellationToken)
    {
        var query = db.Users.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(search))
        {
            var term = search.Trim().ToLowerInvariant();
            query = query.Where(u => u.Username.Contains(term) || u.Email.Contains(term));
        }

        if (active is { } isActive)
        {
            query = query.Where(u => u.IsActive == isActive);
        }

        var total = await query.CountAsync(cancellationToken);
        var users = await query.Include(u => u.Roles).ThenInclude(r => r.Role).OrderBy(u => u.Username)
            .Skip(page.Offset).Take(page.Limit).AsSplitQuery().ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<UserView>([.. users.Select(UserView.From)], total, page.Limit, page.Offset));
    }

    private static async Task<Results<Created<UserView>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateUserRequest request,
        ClaimsPrincipal caller,
        SutazaiDbContext db,
        IPasswordHasher<User> hasher,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var username = UserNames.Normalize(request.Username);
        var email = request.Email.Trim().ToLowerInvariant();
        var errors = new Dictionary<string, string[]>();
        if (!UserNames.IsValidUsername(username))
        {
            errors["username"] = ["Use 3 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit."];
        }

        if (!IsEmail(email))
        {
            errors["email"] = ["Use an e-mail address such as name@example.com."];
        }

        if (PasswordPolicy.Check(request.Password, username, email) is { Count: > 0 } passwordProblems)
        {
            errors["password"] = [.. passwordProblems];
        }

        var roleNames = request.Roles is { Count: > 0 } ? request.Roles.Select(r => r.Trim().ToLowerInvariant()).Distinct().ToList() : [BuiltInRoles.Viewer];
        var roles = await db.Roles.Where(r => roleNames.Contains(r.Name)).ToListAsync(cancellationToken);
        if (roles.Count != roleNames.Count)
        {
            errors["roles"] = [$"Unknown role(s): {string.Join(", ", roleNames.Except(roles.Select(r => r.Name)))}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, type: ProblemTypes.Validation);
        }

        if (roleNames.Any(r => r != BuiltInRoles.Viewer) && !caller.HasPermission(Permissions.RoleAssign))
        {
            return Problems.Forbidden("Creating a user with roles other than viewer needs the permission 'role:assign'.");
        }

        if (await db.Users.AnyAsync(u => u.Username == username || u.Email == email, cancellationToken))
        {
            return Problems.Conflict("A user with this username or e-mail already exists.");
        }

        var now = time.GetUtcNow();
        var user = new User { Username = username, Email = email, PasswordHash = "", CreatedAt = now, UpdatedAt = now, PasswordChangedAt = now };
        user.PasswordHash = hasher.HashPassword(user, request.Password);
        user.Roles = [.. roles.Select(r => new UserRole { RoleId = r.Id, Role = r, AssignedAt = now })];
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            return Problems.Conflict("A user with this username or e-mail already exists.");
        }

        return TypedResults.Created($"/api/v1/users/{user.Id}", UserView.From(user));
    }

    private static async Task<Results<Ok<UserView>, ProblemHttpResult>> GetAsync(Guid id, SutazaiDbContext db, CancellationToken cancellationToken) =>
        await FindAsync(db, id, cancellationToken) is { } user ? TypedResults.Ok(UserView.From(user)) : Problems.NotFound($"No user has the id {id}.");

    private static async Task<Results<Ok<UserView>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id,
        UpdateUserRequest request,
        ClaimsPrincipal caller,
        SutazaiDbContext db,
        IPasswordHasher<User> hasher,
        TokenService tokens,
        AuthStateStore state,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var user = await FindAsync(db, id, cancellationToken, tracked: true);
        if (user is null)
        {
            return Problems.NotFound($"No user has the id {id}.");
        }

        var errors = new Dictionary<string, string[]>();
        var email = request.Email?.Trim().ToLowerInvariant();
        if (email is not null && !IsEmail(email))
        {
            errors["email"] = ["Use an e-mail address such as name@example.com."];
        }

        if (request.Password is not null && PasswordPolicy.Check(request.Password, user.Username, email ?? user.Email) is { Count: > 0 } passwordProblems)
        {
            errors["password"] = [.. passwordProblems];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, type: ProblemTypes.Validation);
        }

        if (request.IsActive == false && user.IsActive)
        {
            if (user.Id == caller.UserId())
            {
                return Problems.Conflict("You cannot disable yourself.");
            }

            if (await IsLastActiveAdminAsync(db, user, cancellationToken))
            {
                return Problems.Conflict("This is the last active administrator; make another one first.");
            }
        }

        if (email is not null && email != user.Email)
        {
            if (await db.Users.AnyAsync(u => u.Email == email && u.Id != id, cancellationToken))
            {
                return Problems.Conflict("Another user has this e-mail address.");
            }

            user.Email = email;
        }

        var credentialsChanged = false;
        if (request.Password is not null)
        {
            user.PasswordHash = hasher.HashPassword(user, request.Password);
            user.PasswordChangedAt = time.GetUtcNow();
            credentialsChanged = true;
        }

        if (request.IsActive is { } active && active != user.IsActive)
        {
            user.IsActive = active;
            credentialsChanged |= !active;
        }

        user.UpdatedAt = time.GetUtcNow();
        if (credentialsChanged)
        {
            // Every access token carries the stamp; a new one makes them all stop working at once.
            user.SecurityStamp = Guid.NewGuid().ToString("N");
        }

        await db.SaveChangesAsync(cancellationToken);
        state.ForgetUser(user.Id);
        if (credentialsChanged)
        {
            await tokens.EndAllSessionsAsync(user.Id, user.IsActive ? "password_reset" : "user_disabled", cancellationToken);
        }

        return TypedResults.Ok(UserView.From(user));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, ClaimsPrincipal caller, SutazaiDbContext db, AuthStateStore state, CancellationToken cancellationToken)
    {
        var user = await FindAsync(db, id, cancellationToken, tracked: true);
        if (user is null)
        {
            return Problems.NotFound($"No user has the id {id}.");
        }

        if (user.Id == caller.UserId())
        {
            return Problems.Conflict("You cannot delete yourself.");
        }

        if (await IsLastActiveAdminAsync(db, user, cancellationToken))
        {
            return Problems.Conflict("This is the last active administrator; make another one first.");
        }

        db.Users.Remove(user);
        await db.SaveChangesAsync(cancellationToken);
        state.ForgetUser(id);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<UserView>, ValidationProblem, ProblemHttpResult>> SetRolesAsync(
        Guid id, SetRolesRequest request, SutazaiDbContext db, AuthStateStore state, TimeProvider time, CancellationToken cancellationToken)
    {
        var user = await FindAsync(db, id, cancellationToken, tracked: true);
        if (user is null)
        {
            return Problems.NotFound($"No user has the id {id}.");
        }

        var names = request.Roles.Select(r => r.Trim().ToLowerInvariant()).Distinct().ToList();
        var roles = await db.Roles.Where(r => names.Contains(r.Name)).ToListAsync(cancellationToken);
        if (roles.Count != names.Count)
        {
            return Problems.Validation("roles", $"Unknown role(s): {string.Join(", ", names.Except(roles.Select(r => r.Name)))}.");
        }

        var losesAdmin = user.Roles.Any(r => r.Role!.Name == BuiltInRoles.Admin) && !names.Contains(BuiltInRoles.Admin);
        if (losesAdmin && await IsLastActiveAdminAsync(db, user, cancellationToken))
        {
            return Problems.Conflict("This is the last active administrator; make another one first.");
        }

        var now = time.GetUtcNow();
        user.Roles.RemoveAll(r => !names.Contains(r.Role!.Name));
        foreach (var role in roles.Where(r => user.Roles.All(existing => existing.RoleId != r.Id)))
        {
            user.Roles.Add(new UserRole { UserId = user.Id, RoleId = role.Id, Role = role, AssignedAt = now });
        }

        user.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        // Permissions are read per request; forgetting the cached ones makes the change take effect at once.
        state.ForgetUser(user.Id);
        return TypedResults.Ok(UserView.From(user));
    }

    private static async Task<Ok<IReadOnlyList<RoleView>>> ListRolesAsync(SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var roles = await db.Roles.AsNoTracking().OrderBy(r => r.Name).ToListAsync(cancellationToken);
        return TypedResults.Ok<IReadOnlyList<RoleView>>([.. roles.Select(r => new RoleView(r.Name, r.Description, [.. r.Permissions.Order(StringComparer.Ordinal)], r.IsBuiltIn))]);
    }

    private static Task<User?> FindAsync(SutazaiDbContext db, Guid id, CancellationToken cancellationToken, bool tracked = false)
    {
        var users = tracked ? db.Users : db.Users.AsNoTracking();
        return users.Include(u => u.Roles).ThenInclude(r => r.Role).SingleOrDefaultAsync(u => u.Id == id, cancellationToken);
    }

    private static async Task<bool> IsLastActiveAdminAsync(SutazaiDbContext db, User user, CancellationToken cancellationToken)
    {
        if (!user.IsActive || user.Roles.All(r => r.Role!.Name != BuiltInRoles.Admin))
        {
            return false;
        }

        return !await db.Users.AnyAsync(u => u.Id != user.Id && u.IsActive && u.Roles.Any(r => r.Role!.Name == BuiltInRoles.Admin), cancellationToken);
    }

    private static bool IsEmail(string value) =>
        value.Length <= 200 && MailAddress.TryCreate(value, out var address) && address.Address == value;
}

public sealed record CreateUserRequest(
    [property: Required, StringLength(64)] string Username,
    [property: Required, StringLength(200)] string Email,
    [property: Required, StringLength(PasswordPolicy.MaximumLength)] string Password,
    IReadOnlyList<string>? Roles = null);

/// <summary>Only the fields present change.</summary>
public sealed record UpdateUserRequest(
    [property: StringLength(200)] string? Email = null,
    [property: StringLength(PasswordPolicy.MaximumLength)] string? Password = null,
    bool? IsActive = null);

public sealed record SetRolesRequest([property: Required, MaxLength(16)] IReadOnlyList<string> Roles);

public sealed record UserView(
    Guid Id, string Username, string Email, bool IsActive, IReadOnlyList<string> Roles, bool MfaEnabled,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? LastLoginAt)
{
    public static UserView From(User user) => new(
        user.Id, user.Username, user.Email, user.IsActive,
        [.. user.Roles.Select(r => r.Role?.Name).OfType<string>().Order(StringComparer.Ordinal)],
        user.MfaEnabled, user.CreatedAt, user.UpdatedAt, user.LastLoginAt);
}

public sealed record RoleView(string Name, string Description, IReadOnlyList<string> Permissions, bool IsBuiltIn);
