using System.Security.Claims;

namespace Sutazai.Server.Identity;

/// <summary>The claims SutazAI puts in access tokens and on authenticated principals.</summary>
public static class SutazaiClaims
{
    public const string Subject = "sub";
    public const string Name = "name";
    public const string SessionId = "sid";
    public const string TokenId = "jti";
    public const string SecurityStamp = "sst";
    public const string AuthMethod = "amr";
    public const string ApiKeyId = "key";
    public const string Permission = "perm";
    public const string Role = "role";

    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(Subject), out var id) ? id : throw new InvalidOperationException("The principal has no user id.");

    public static string Username(this ClaimsPrincipal principal) => principal.FindFirstValue(Name) ?? "";

    public static Guid? SessionIdOf(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(SessionId), out var id) ? id : null;

    public static Guid? ApiKeyIdOf(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(ApiKeyId), out var id) ? id : null;

    public static bool HasPermission(this ClaimsPrincipal principal, string permission) =>
        principal.HasClaim(Permission, permission);

    public static IReadOnlySet<string> PermissionsOf(this ClaimsPrincipal principal) =>
        principal.FindAll(Permission).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
}
