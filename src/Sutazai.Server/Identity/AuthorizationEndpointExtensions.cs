namespace Sutazai.Server.Identity;

/// <summary>What an endpoint needs: a permission, or only a signed-in caller. Recorded as metadata so tests and docs can read it.</summary>
public static class AuthorizationEndpointExtensions
{
    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, string permission)
        where TBuilder : IEndpointConventionBuilder =>
        builder
            .RequireAuthorization(policy => policy.RequireAuthenticatedUser().RequireClaim(SutazaiClaims.Permission, permission))
            .WithMetadata(new RequiredPermission(permission));

    /// <summary>Any signed-in caller; the handler limits them to their own resources.</summary>
    public static TBuilder RequireSignedIn<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization().WithMetadata(new RequiredPermission(null));
}

/// <param name="Permission">The permission needed, or null when any signed-in caller may call.</param>
public sealed record RequiredPermission(string? Permission);
