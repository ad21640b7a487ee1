namespace Sutazai.Server.RateLimiting;

/// <summary>Endpoint groups that share a limit. Endpoints without a group count toward <see cref="Api"/>.</summary>
public static class RateLimitGroups
{
    public const string Api = "api";
    public const string Auth = "auth";
}

/// <summary>The rate-limit group an endpoint counts toward.</summary>
public sealed record RateLimitGroup(string Name);

/// <summary>The endpoint is not rate limited (health probes, docs).</summary>
public sealed record NotRateLimited;

public static class RateLimitEndpointExtensions
{
    public static TBuilder WithRateLimitGroup<TBuilder>(this TBuilder builder, string group)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new RateLimitGroup(group));

    public static TBuilder WithoutRateLimit<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new NotRateLimited());
}
